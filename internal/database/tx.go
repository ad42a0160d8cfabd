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
