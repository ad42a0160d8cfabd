// Package database opens a module's own database from its DSN, applies
// that module's migrations and runs its writes. The same store code runs on
// SQLite and PostgreSQL; this is the one place that knows the difference.
//
// A store writes in one of three ways, and which one follows from what the
// write needs:
//
//   - One statement that stands alone (a key created, a last-used time
//     stamped): gorm's builder on the store's *gorm.DB. A statement is its
//     own transaction on both engines — and on SQLite its own commit,
//     outside the batches below: a write made by every checkout goes
//     through Transaction even when it is one statement.
//   - Several statements that must commit together, where a later one
//     depends on what an earlier one read (a product updated and its event
//     recorded, an idempotency claim taken): Transaction. The function gets
//     a tx and must use only that.
//   - Several statements that do not need one another's results, or need
//     them only to decide, before the commit, whether to commit (a
//     reservation: take the stock, then check that every line was
//     available): a Pipeline with a decide function. On PostgreSQL it costs
//     one or two round trips instead of one per statement plus two, which on
//     a checkout's hot path is most of the cost; on SQLite it is a
//     Transaction.
//
// The rule that comes with the last two: on SQLite, transactions are
// batched on the one writer (see batcher), and a function whose batch fails
// runs again, so only its last run counts. A transaction function, and a
// pipeline's decide, must leave nothing behind outside its transaction that
// a second run would not set again — no counter bumped, no slice appended
// to, no message sent. Tests cannot forget this: internal/testdb opens
// every database with RehearseTransactions, which runs each transaction
// function twice on both engines (and each decide on SQLite, where
// pipelines are transactions).
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/plugin/dbresolver"
)

// Kind is the database engine behind a DSN.
type Kind string

const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// sqliteParams make SQLite behave under concurrent writers: WAL lets readers
// run beside the writer, _txlock=immediate takes the write lock when a
// transaction begins (so two writers never deadlock upgrading a read lock),
// and the busy timeout makes a writer wait for the lock instead of failing.
// Each connection keeps its prepared statements, so a statement is parsed
// once, not on every call.
var sqliteParams = map[string]string{
	"_journal_mode":    "WAL",
	"_busy_timeout":    "10000",
	"_txlock":          "immediate",
	"_foreign_keys":    "on",
	"_synchronous":     "NORMAL",
	"_stmt_cache_size": "64",
}

// Parse tells which engine a DSN names and returns the DSN its driver wants.
// Accepted: postgres://… or postgresql://…, sqlite://path, file:path, or a
// plain file path.
func Parse(dsn string, opts ...Option) (Kind, string, error) {
	switch {
	case dsn == "":
		return "", "", errors.New("the DSN is empty")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			// url's error quotes the whole DSN, password and all: say less.
			return "", "", errors.New("invalid PostgreSQL DSN: it is not a valid URL (check the escaping of the password)")
		}
		return Postgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite://"):
		return sqliteDSN(strings.TrimPrefix(dsn, "sqlite://"), opts)
	case strings.HasPrefix(dsn, "file:"):
		return sqliteDSN(strings.TrimPrefix(dsn, "file:"), opts)
	case strings.Contains(dsn, "://"):
		return "", "", fmt.Errorf("unsupported DSN scheme in %q: use postgres://, sqlite:// or a file path", redact(dsn))
	default:
		return sqliteDSN(dsn, opts)
	}
}

func sqliteDSN(pathAndQuery string, opts []Option) (Kind, string, error) {
	path, rawQuery, _ := strings.Cut(pathAndQuery, "?")
	if path == "" {
		return "", "", errors.New("the SQLite DSN names no file")
	}
	if path == ":memory:" || strings.Contains(rawQuery, "mode=memory") {
		return "", "", errors.New("in-memory SQLite is not supported: each pooled connection would see its own empty database")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", "", fmt.Errorf("invalid SQLite DSN parameters: %w", err)
	}
	for _, opt := range opts {
		opt(q)
	}
	for k, v := range sqliteParams {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	return SQLite, "file:" + path + "?" + q.Encode(), nil
}

// redact hides a password in a DSN before it reaches a message or a log.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// DB is one module's database handle.
type DB struct {
	*gorm.DB
	Kind Kind
	// readers is SQLite's pool of read-only connections; nil on PostgreSQL.
	readers *sql.DB
	// stopCheckpoints ends SQLite's background checkpoints.
	stopCheckpoints func()
	// batcher runs SQLite's write transactions; nil on PostgreSQL.
	batcher *batcher
}

// checkpointInterval is how often SQLite's write-ahead log is copied back
// into the database file, in the background.
const checkpointInterval = 100 * time.Millisecond

// readPoolSize is the number of SQLite read connections: WAL lets them read
// beside the one writer, and more than the CPUs buys nothing.
func readPoolSize() int { return max(4, runtime.GOMAXPROCS(0)) }

// Option tunes how Open connects.
type Option func(q url.Values)

// Synchronous sets SQLite's synchronous mode ("normal" or "full") unless
// the DSN sets _synchronous itself. PostgreSQL ignores it.
func Synchronous(mode string) Option {
	return func(q url.Values) {
		if mode != "" && !q.Has("_synchronous") {
			q.Set("_synchronous", strings.ToUpper(mode))
		}
	}
}

// Open connects to dsn, creating the SQLite file's directory when needed.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	kind, driverDSN, err := Parse(dsn, opts...)
	if err != nil {
		return nil, err
	}
	var dialector gorm.Dialector
	var path string // SQLite's file
	switch kind {
	case SQLite:
		path = strings.TrimPrefix(strings.SplitN(driverDSN, "?", 2)[0], "file:")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		dialector = sqlite.Open(driverDSN)
	case Postgres:
		dialector = postgres.Open(driverDSN)
	}
	gdb, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		TranslateError:         true, // unique violations become gorm.ErrDuplicatedKey on both engines
		SkipDefaultTransaction: true, // we open transactions where they matter, nowhere else
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", kind, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	db := &DB{DB: gdb, Kind: kind}
	if kind == SQLite {
		// SQLite has one writer at a time. One connection makes the pool the
		// queue instead of a race for the file lock ("database is locked");
		// write transactions queue in the batcher, bounded by their context.
		sqlDB.SetMaxOpenConns(1)
		// Reads must not queue behind writes: plain SELECTs outside a
		// transaction go to a pool of read-only connections (dbresolver
		// routes them); everything else stays on the writer.
		if db.readers, err = sql.Open("sqlite3", queryOnly(driverDSN)); err != nil {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("open SQLite readers: %w", err)
		}
		db.readers.SetMaxOpenConns(readPoolSize())
		db.readers.SetMaxIdleConns(readPoolSize())
		err = gdb.Use(dbresolver.Register(dbresolver.Config{
			Replicas: []gorm.Dialector{sqlite.Dialector{DriverName: "sqlite3", Conn: db.readers}},
		}))
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("route SQLite reads: %w", err)
		}
	} else {
		// Every module of every replica has its own pool, and PostgreSQL
		// allows 100 connections by default: keep each pool modest.
		sqlDB.SetMaxOpenConns(10)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxIdleTime(time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", kind, redact(dsn), err)
	}
	if kind == SQLite {
		// Left to itself, SQLite copies the write-ahead log back into the
		// database file inside a commit, every 1000 pages, while every other
		// writer waits for it. A read connection does it in the background
		// instead; a checkpoint does not need the write lock. (Should the
		// pool ever open its writer again, that connection checkpoints the
		// old way: slower, never wrong.)
		if err := gdb.Exec(`PRAGMA wal_autocheckpoint = 0`).Error; err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("configure SQLite checkpoints: %w", err)
		}
		db.batcher = newBatcher(gdb, sqlDB, filepath.Base(path))
		db.stopCheckpoints = db.checkpoint(checkpointInterval)
		if err := gdb.Use(db.batcher); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("batch SQLite writes: %w", err)
		}
	}
	return db, nil
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// queryOnly is a SQLite driver DSN for connections that refuse to write,
// whatever the DSN it comes from says.
func queryOnly(driverDSN string) string {
	path, rawQuery, _ := strings.Cut(driverDSN, "?")
	q, _ := url.ParseQuery(rawQuery) // built by sqliteDSN: valid
	q.Set("_query_only", "true")
	return path + "?" + q.Encode()
}

// Writes counts the write transactions of a SQLite database and the batches
// they shared, and tells the length of its write-ahead log; zero on
// PostgreSQL.
func (d *DB) Writes() WriteStats {
	if d.batcher == nil {
		return WriteStats{}
	}
	return WriteStats{Batches: d.batcher.batches.Load(), Transactions: d.batcher.transactions.Load(),
		Waited: time.Duration(d.batcher.waited.Load()), LogPages: d.batcher.logPages.Load(),
		Rewinds: d.batcher.rewinds.Load(), CheckpointErrors: d.batcher.checkpointErrors.Load(),
		Reruns: d.batcher.reruns.Load(), Queued: d.batcher.queued.Load()}
}

// Pools returns the connection pools, by role ("write", "read"), for the
// metrics. On PostgreSQL one pool does both.
func (d *DB) Pools() map[string]*sql.DB {
	pools := map[string]*sql.DB{}
	if sqlDB, err := d.DB.DB(); err == nil {
		pools["write"] = sqlDB
	}
	if d.readers != nil {
		pools["read"] = d.readers
	}
	return pools
}

// checkpoint copies the write-ahead log into the database file every
// interval until the returned func is called (which waits for it to stop).
func (d *DB) checkpoint(interval time.Duration) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// PASSIVE never waits for readers or the writer; what it
				// cannot copy now, the next round does. It reports the
				// log's length, which tells the writer when to rewind it.
				var busy, frames, copied int64
				err := d.readers.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
				switch {
				case err == nil:
					d.batcher.walFrames.Store(frames)
					d.batcher.logPages.Store(frames)
				case ctx.Err() == nil: // not the stop
					d.batcher.checkpointErrors.Add(1)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Close closes the connection pools.
func (d *DB) Close() error {
	if d.batcher != nil {
		d.batcher.close()
	}
	if d.stopCheckpoints != nil {
		d.stopCheckpoints()
	}
	var errList []error
	if d.readers != nil {
		errList = append(errList, d.readers.Close())
	}
	sqlDB, err := d.DB.DB()
	if err == nil {
		err = sqlDB.Close()
	}
	return errors.Join(append(errList, err)...)
}
