package database

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

const tracerName = "github.com/bazaar-shop/bazaar/internal/database"

// Transaction runs fn in a transaction of db, inside a span called name
// ("inventory.reserve"), so a trace shows where a request waited for its
// database. The span's tracer comes from the span in ctx: a request traced
// by the process's provider gets child spans from it, and work with no span
// in ctx pays for none.
//
// On SQLite, fn runs on the database's writer goroutine, batched with other
// transactions (see batcher): it must use only tx, never the outer db. It
// may run twice, when another transaction of its batch failed: the first
// run is rolled back, so fn must leave nothing behind outside tx that a
// second run does not overwrite.
func Transaction(ctx context.Context, db *gorm.DB, name string, fn func(tx *gorm.DB) error) error {
	ctx, span := startSpan(ctx, db, name)
	defer span.End()
	if _, ok := db.Config.Plugins[rehearsalName]; ok {
		fn = rehearsed(fn)
	}
	var err error
	_, inTx := db.Statement.ConnPool.(gorm.TxCommitter)
	if b := batcherOf(db); b != nil && !inTx {
		err = b.do(ctx, fn) // SQLite: in the writer's next batch
	} else {
		// PostgreSQL, or called with a transaction's tx: gorm nests it
		// in a savepoint (queueing it would wait for itself).
		err = db.WithContext(ctx).Transaction(fn)
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "transaction failed")
	}
	return err
}

// startSpan starts the span of a transaction of db called name.
func startSpan(ctx context.Context, db *gorm.DB, name string) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(tracerName).Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", db.Name())))
}

const rehearsalName = "bazaar:rehearsal"

// rehearsal marks a database whose transactions rehearse (see
// DB.RehearseTransactions).
type rehearsal struct{}

func (rehearsal) Name() string              { return rehearsalName }
func (rehearsal) Initialize(*gorm.DB) error { return nil }

// RehearseTransactions makes every Transaction on d (and every Pipeline on
// SQLite, where a pipeline is a transaction) run its function twice: once
// in a savepoint that is rolled back, whatever it returned, then for real.
// It is for tests (internal/testdb turns it on for every database it
// opens): a function that leaves something behind outside its transaction
// — a counter bumped, a slice appended to, an id handed out — shows it at
// once on either engine, instead of only when SQLite's batcher happens to
// run it twice.
func (d *DB) RehearseTransactions() error { return d.DB.Use(rehearsal{}) }

func rehearsed(fn func(tx *gorm.DB) error) func(tx *gorm.DB) error {
	return func(tx *gorm.DB) error {
		if err := tx.SavePoint("rehearsal").Error; err != nil {
			return err
		}
		_ = fn(tx)
		if err := tx.RollbackTo("rehearsal").Error; err != nil {
			return err
		}
		return fn(tx)
	}
}
