package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/bazaar-shop/bazaar/internal/testdb"
)

// BenchmarkBareCheckout is the yardstick the checkout targets are set
// against: the bare database work of a checkout — reserve, insert the
// payment, mark it paid, commit the stock: four short transactions through
// plain gorm, 32 goroutines, no HTTP, none of the shop's code — on one SQLite
// file (synchronous NORMAL and FULL) and on PostgreSQL. It reports
// checkouts/s. The targets are fractions of it (0.67 on SQLite, 0.73 with
// FULL, 0.52 on PostgreSQL); run it beside `bazaar bench` to read the
// shop's figures as fractions on any machine (docs/performance.md).
//
//	go test -run '^$' -bench BareCheckout -benchtime 10s ./internal/bench
func BenchmarkBareCheckout(b *testing.B) {
	sqliteFile := func(synchronous string) func(b *testing.B) string {
		return func(b *testing.B) string {
			return "file:" + filepath.Join(b.TempDir(), "shop.db") +
				"?_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate&_synchronous=" + synchronous
		}
	}
	engines := []struct {
		name string
		dsn  func(b *testing.B) string // a new, empty database for each run of the benchmark
	}{
		{"sqlite-normal", sqliteFile("NORMAL")},
		{"sqlite-full", sqliteFile("FULL")},
	}
	if os.Getenv(testdb.PostgresEnv) != "" {
		engines = append(engines, struct {
			name string
			dsn  func(b *testing.B) string
		}{"postgres", func(b *testing.B) string { return testdb.Postgres(b, "bare") }})
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			db := bareDB(b, e.dsn(b))
			var n atomic.Int64
			b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0))) // 32 goroutines
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := bareCheckout(db, fmt.Sprintf("pay_%d", n.Add(1)), fmt.Sprintf("p%d", rand.IntN(1000))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "checkouts/s")
		})
	}
}

// bareDB opens dsn with gorm as its documentation shows, and creates a
// catalogue of 1,000 products with plenty of stock.
func bareDB(b *testing.B, dsn string) *gorm.DB {
	b.Helper()
	var dialector gorm.Dialector = sqlite.Open(dsn)
	if strings.HasPrefix(dsn, "postgres") {
		dialector = postgres.Open(dsn)
	}
	db, err := gorm.Open(dialector, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		b.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sqlDB.Close() })
	if db.Dialector.Name() == "sqlite" {
		sqlDB.SetMaxOpenConns(1) // one writer: queue in Go, not on the file lock
	} else {
		sqlDB.SetMaxOpenConns(10)
		sqlDB.SetMaxIdleConns(10)
	}
	for _, stmt := range []string{
		`CREATE TABLE stock (product_id TEXT PRIMARY KEY, on_hand BIGINT NOT NULL, reserved BIGINT NOT NULL)`,
		`CREATE TABLE payments (id TEXT PRIMARY KEY, status TEXT NOT NULL, amount BIGINT NOT NULL, product_id TEXT NOT NULL)`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			b.Fatal(err)
		}
	}
	for i := range 1000 {
		if err := db.Exec(`INSERT INTO stock VALUES (?, ?, 0)`, fmt.Sprintf("p%d", i), int64(1)<<40).Error; err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// bareCheckout is one checkout's database work, nothing else.
func bareCheckout(db *gorm.DB, id, product string) error {
	steps := []func(tx *gorm.DB) error{
		func(tx *gorm.DB) error { // reserve
			return tx.Exec(`UPDATE stock SET reserved = reserved + 1 WHERE product_id = ? AND on_hand - reserved >= 1`, product).Error
		},
		func(tx *gorm.DB) error { // insert the payment
			return tx.Exec(`INSERT INTO payments (id, status, amount, product_id) VALUES (?, 'pending', 1000, ?)`, id, product).Error
		},
		func(tx *gorm.DB) error { // mark it paid
			return tx.Exec(`UPDATE payments SET status = 'paid' WHERE id = ? AND status = 'pending'`, id).Error
		},
		func(tx *gorm.DB) error { // commit the stock
			return tx.Exec(`UPDATE stock SET on_hand = on_hand - 1, reserved = reserved - 1 WHERE product_id = ?`, product).Error
		},
	}
	for _, step := range steps {
		if err := db.Transaction(step); err != nil {
			return err
		}
	}
	return nil
}
