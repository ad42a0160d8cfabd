package database_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
)

// A read outside a transaction must not wait for SQLite's one writer.
func TestSQLiteReadsDoNotQueueBehindTheWriter(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, filepath.Join(t.TempDir(), "shop.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	require.NoError(t, db.Exec(`CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)`).Error)
	require.NoError(t, db.Exec(`INSERT INTO things (id, name) VALUES (1, 'before')`).Error)
	require.ElementsMatch(t, []string{"read", "write"}, keys(db.Pools()))

	writing, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`UPDATE things SET name = 'during' WHERE id = 1`).Error; err != nil {
				return err
			}
			close(writing)
			<-release
			return nil
		})
	}()
	<-writing

	// The writer's only connection is taken; a read still answers, with
	// the last committed value.
	readCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var name string
	require.NoError(t, db.WithContext(readCtx).Raw(`SELECT name FROM things WHERE id = 1`).Scan(&name).Error)
	require.Equal(t, "before", name)

	close(release)
	require.NoError(t, <-done)
	require.NoError(t, db.Raw(`SELECT name FROM things WHERE id = 1`).Scan(&name).Error)
	require.Equal(t, "during", name, "a read after the commit sees it")

	// The read pool refuses writes, so nothing can bypass the writer's queue.
	var readers = db.Pools()["read"]
	_, err = readers.ExecContext(ctx, `UPDATE things SET name = 'sneaky'`)
	require.Error(t, err)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// synchronous is NORMAL unless configured, and a DSN's own setting wins.
func TestSQLiteSynchronous(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, query string
		opts        []database.Option
		want        int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{"default", "", nil, 1},
		{"configured", "", []database.Option{database.Synchronous("full")}, 2},
		{"the DSN wins", "?_synchronous=NORMAL", []database.Option{database.Synchronous("full")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := database.Open(ctx, filepath.Join(t.TempDir(), "shop.db")+tc.query, tc.opts...)
			require.NoError(t, err)
			defer db.Close()
			var mode int
			require.NoError(t, db.Raw(`PRAGMA synchronous`).Scan(&mode).Error)
			require.Equal(t, tc.want, mode)
		})
	}
}

// Each transaction is a span, the child of the request's span, marked
// failed when the transaction fails.
func TestTransactionSpan(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, filepath.Join(t.TempDir(), "shop.db"))
	require.NoError(t, err)
	defer db.Close()
	spans := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	ctx, parent := provider.Tracer("test").Start(ctx, "POST /v1/things")

	require.NoError(t, database.Transaction(ctx, db.DB, "things.create", func(tx *gorm.DB) error {
		return tx.Exec(`CREATE TABLE things (id INTEGER PRIMARY KEY)`).Error
	}))
	err = database.Transaction(ctx, db.DB, "things.break", func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO nowhere VALUES (1)`).Error
	})
	require.Error(t, err)
	parent.End()

	ended := spans.Ended()
	require.Len(t, ended, 3)
	for i, want := range []string{"things.create", "things.break"} {
		s := ended[i]
		require.Equal(t, want, s.Name())
		require.Equal(t, parent.SpanContext().SpanID(), s.Parent().SpanID())
		require.Equal(t, parent.SpanContext().TraceID(), s.SpanContext().TraceID())
		require.Contains(t, s.Attributes(), attribute.String("db.system.name", "sqlite"))
	}
	require.Equal(t, codes.Unset, ended[0].Status().Code)
	require.Equal(t, codes.Error, ended[1].Status().Code)

	// Without a span in ctx there is nothing to record, and nothing is.
	require.NoError(t, database.Transaction(context.Background(), db.DB, "things.untraced", func(tx *gorm.DB) error { return nil }))
	require.Len(t, spans.Ended(), 3)
}

// The writer never stops to copy the write-ahead log into the database
// file; a background checkpoint does, soon after.
func TestSQLiteCheckpointsInTheBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shop.db")
	db, err := database.Open(context.Background(), path)
	require.NoError(t, err)
	defer db.Close()
	var every int
	require.NoError(t, db.Raw(`PRAGMA wal_autocheckpoint`).Scan(&every).Error)
	require.Zero(t, every, "the writer does not checkpoint")

	require.NoError(t, db.Exec(`CREATE TABLE things (id INTEGER PRIMARY KEY, body BLOB)`).Error)
	for i := range 200 {
		require.NoError(t, db.Exec(`INSERT INTO things (id, body) VALUES (?, zeroblob(4000))`, i).Error)
	}
	require.Eventually(t, func() bool {
		info, err := os.Stat(path)
		return err == nil && info.Size() > 200*4000
	}, 5*time.Second, 20*time.Millisecond, "the rows reach the database file")
}

// A background checkpoint that fails is counted, for the metrics: while
// checkpoints fail, the log grows, and nobody would know.
func TestSQLiteCheckpointErrorsAreCounted(t *testing.T) {
	db, err := database.Open(context.Background(), filepath.Join(t.TempDir(), "shop.db"))
	require.NoError(t, err)
	defer db.Close()
	require.Zero(t, db.Writes().CheckpointErrors)

	// The checkpoints run on the read pool; with it gone, every one fails.
	require.NoError(t, db.Pools()["read"].Close())
	require.Eventually(t, func() bool { return db.Writes().CheckpointErrors >= 2 },
		5*time.Second, 20*time.Millisecond, "failed checkpoints are counted")
}

// Under a steady stream of writes, with readers reading all along, the
// write-ahead log is rewound now and then instead of growing with every
// page ever written (which it does if nothing makes it start over).
func TestSQLiteLogStaysBounded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shop.db")
	db, err := database.Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Exec(`CREATE TABLE things (id INTEGER PRIMARY KEY, body BLOB)`).Error)

	readCtx, stopReading := context.WithCancel(ctx)
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for i := 0; readCtx.Err() == nil; i++ {
				var n int64
				_ = db.WithContext(readCtx).Raw(`SELECT length(body) FROM things WHERE id = ?`, i%1000).Scan(&n).Error
			}
		})
	}
	// 128 MiB through the log, a page per row: eight times what it may hold.
	const rows = 32 * 1024
	for i := range rows {
		require.NoError(t, database.Transaction(ctx, db.DB, "things.add", func(tx *gorm.DB) error {
			return tx.Exec(`INSERT INTO things (id, body) VALUES (?, zeroblob(4000))`, i).Error
		}))
	}
	stopReading()
	readers.Wait()

	info, err := os.Stat(path + "-wal")
	require.NoError(t, err)
	require.Less(t, info.Size(), int64(rows*4096/2), "the log was rewound, not only appended to")
	require.Positive(t, db.Writes().Rewinds, "the metrics count the rewinds")
}
