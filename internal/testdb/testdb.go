// Package testdb gives tests real databases: a SQLite file in a temporary
// directory always, and a fresh PostgreSQL schema when
// BAZAAR_TEST_POSTGRES_DSN names a server (.ci/run always sets it).
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/migrations"
)

// PostgresEnv names the PostgreSQL server tests may use.
const PostgresEnv = "BAZAAR_TEST_POSTGRES_DSN"

// Engine makes DSNs of empty databases of one kind.
type Engine struct {
	Name string
	// New returns the DSN of a new, empty database named after name.
	New func(t testing.TB, name string) string
}

// Engines returns SQLite, and PostgreSQL when its DSN is set.
func Engines() []Engine {
	engines := []Engine{{Name: "sqlite", New: SQLite}}
	if os.Getenv(PostgresEnv) != "" {
		engines = append(engines, Engine{Name: "postgres", New: Postgres})
	}
	return engines
}

// SQLite returns the path of a new SQLite file in the test's temp dir.
func SQLite(t testing.TB, name string) string {
	return filepath.Join(t.TempDir(), name+".db")
}

// Postgres creates a schema of its own for the test and returns a DSN whose
// search_path points at it, so tests never see each other's tables. The
// schema is dropped when the test ends.
func Postgres(t testing.TB, name string) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(PostgresEnv + " is not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + name + "_" + hex.EncodeToString(b[:])
	if err := exec(base, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("PostgreSQL at %s: %v", PostgresEnv, err)
	}
	t.Cleanup(func() { _ = exec(base, "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// exec runs one statement on its own short-lived connection: tests hold no
// idle administrative connections, which PostgreSQL counts against its limit.
func exec(dsn, statement string) error {
	db, err := database.Open(context.Background(), dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Exec(statement).Error
}

// Open returns a new database of module on this engine with the module's
// migrations applied, closed when the test ends, whose transactions
// rehearse (database.DB.RehearseTransactions).
func (e Engine) Open(t testing.TB, module string) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, e.New(t, module))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// Every transaction function runs twice, as SQLite's batcher may run
	// it: what only works once fails here, on both engines.
	if err := db.RehearseTransactions(); err != nil {
		t.Fatal(err)
	}
	fsys, err := migrations.For(module)
	if err == nil {
		err = db.MigrateUp(ctx, module, fsys)
	}
	if err != nil {
		t.Fatal(err)
	}
	return db
}
