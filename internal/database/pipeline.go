package database

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/otel/codes"
	"gorm.io/gorm"
)

// A Pipeline is a write transaction whose statements do not need one
// another's results, so that PostgreSQL can be sent them all at once. A
// transaction of n statements through gorm waits for n+2 round trips
// (BEGIN, each statement, COMMIT); a pipeline waits for one, or two when it
// must look at what its statements did before it commits. On a shared
// server those round trips, not the statements, are most of the cost of a
// checkout. On SQLite, where there are no round trips, a pipeline is an
// ordinary Transaction on the writer.
//
// Statements use ? placeholders, as everywhere else in the stores.
type Pipeline struct {
	steps []step
}

// step is one queued statement: an Exec counts the rows it changed into
// affected (when not nil); a Query hands each row it returns to row; a Lock
// only takes row locks.
type step struct {
	sql      string
	args     []any
	affected *int64
	row      func(scan func(dest ...any) error) error
	lock     bool
}

// Exec queues a statement. Once the pipeline has run, *affected (unless nil)
// holds the number of rows it changed.
func (p *Pipeline) Exec(affected *int64, sql string, args ...any) {
	p.steps = append(p.steps, step{sql: sql, args: args, affected: affected})
}

// Query queues a statement that returns rows (a SELECT, or RETURNING), and
// calls row for each with the function that scans it.
func (p *Pipeline) Query(row func(scan func(dest ...any) error) error, sql string, args ...any) {
	p.steps = append(p.steps, step{sql: sql, args: args, row: row})
}

// Lock queues a statement that only takes row locks (SELECT … FOR UPDATE),
// so that what follows sees rows no concurrent transaction is changing.
// SQLite, whose one writer already shuts out every other, skips it.
func (p *Pipeline) Lock(sql string, args ...any) {
	p.steps = append(p.steps, step{sql: sql, args: args, lock: true})
}

// Run runs the queued statements in one transaction of db, in a span named
// name. With decide nil they commit together or not at all. Otherwise,
// once they have run and before the commit, decide looks at what they did
// (the counts and rows given to Exec and Query): an error from it rolls
// everything back and is Run's error. decide may queue statements on then;
// they run in the same transaction, before the commit.
func (p *Pipeline) Run(ctx context.Context, db *gorm.DB, name string, decide func(then *Pipeline) error) error {
	_, inTx := db.Statement.ConnPool.(gorm.TxCommitter)
	if db.Dialector.Name() != "postgres" || inTx {
		return Transaction(ctx, db, name, func(tx *gorm.DB) error { return p.runEach(tx, decide) })
	}
	ctx, span := startSpan(ctx, db, name)
	defer span.End()
	if err := p.sendToPostgres(ctx, db, decide); err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "transaction failed")
		return err
	}
	return nil
}

// runEach runs the pipeline one statement at a time in transaction tx,
// straight on the transaction's connection: the statements are plain SQL,
// so gorm has nothing to build, and on SQLite's one writer every
// microsecond saved is one more checkout.
func (p *Pipeline) runEach(tx *gorm.DB, decide func(then *Pipeline) error) error {
	conn, ctx := tx.Statement.ConnPool, tx.Statement.Context
	postgres := tx.Dialector.Name() == "postgres" // a pipeline nested in a gorm transaction
	for _, s := range p.steps {
		if s.lock && !postgres {
			continue
		}
		query := s.sql
		if postgres {
			query = numbered(query)
		}
		if err := s.runOn(ctx, conn, query); err != nil {
			return translate(tx, err)
		}
	}
	if decide == nil {
		return nil
	}
	var then Pipeline
	if err := decide(&then); err != nil {
		return err
	}
	return then.runEach(tx, nil)
}

// runOn runs the step's statement, written as query, on conn.
func (s step) runOn(ctx context.Context, conn gorm.ConnPool, query string) error {
	if s.row == nil {
		res, err := conn.ExecContext(ctx, query, s.args...)
		if err != nil {
			return err
		}
		if s.affected != nil {
			if *s.affected, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		return nil
	}
	rows, err := conn.QueryContext(ctx, query, s.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := s.row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// translate turns a driver's error into gorm's where gorm has one (a unique
// violation is gorm.ErrDuplicatedKey on every engine), as gorm itself does.
func translate(db *gorm.DB, err error) error {
	if t, ok := db.Dialector.(gorm.ErrorTranslator); ok && err != nil {
		return t.Translate(err)
	}
	return err
}

// sendToPostgres sends the pipeline as one batch on a connection of db's
// pool: without decide, in the implicit transaction PostgreSQL gives a
// batch; with it, in a transaction the batch begins, committed by a second
// round trip once decide agrees.
func (p *Pipeline) sendToPostgres(ctx context.Context, db *gorm.DB, decide func(then *Pipeline) error) error {
	pool, err := db.DB()
	if err != nil {
		return err
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("pipeline: the PostgreSQL driver is %T, not pgx", driverConn)
		}
		return p.send(ctx, c.Conn(), decide)
	})
	return translate(db, err)
}

func (p *Pipeline) send(ctx context.Context, conn *pgx.Conn, decide func(then *Pipeline) error) error {
	b := &pgx.Batch{}
	if decide != nil {
		b.BeginTx(pgx.TxOptions{})
	}
	p.queue(b)
	br := conn.SendBatch(ctx, b)
	err := br.Close() // runs the callbacks of every queued statement, in order
	if decide == nil {
		return err
	}
	tx := br.Tx()
	if err == nil {
		var then Pipeline
		if err = decide(&then); err == nil && len(then.steps) > 0 {
			more := &pgx.Batch{}
			then.queue(more)
			err = tx.SendBatch(ctx, more).Close()
		}
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx)) // a cancelled ctx must not leave the connection in a transaction
		return err
	}
	return tx.Commit(ctx)
}

func (p *Pipeline) queue(b *pgx.Batch) {
	for _, s := range p.steps {
		q := b.Queue(numbered(s.sql), s.args...)
		if s.row == nil {
			q.Exec(func(tag pgconn.CommandTag) error {
				if s.affected != nil {
					*s.affected = tag.RowsAffected()
				}
				return nil
			})
			continue
		}
		q.Query(func(rows pgx.Rows) error {
			for rows.Next() {
				if err := s.row(rows.Scan); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	}
}

// numbered turns ? placeholders into PostgreSQL's $1, $2, …; the stores'
// statements have no ? inside string literals.
func numbered(sql string) string {
	n := strings.Count(sql, "?")
	if n == 0 {
		return sql
	}
	var b strings.Builder
	b.Grow(len(sql) + 2*n)
	i := 0
	for part := range strings.SplitSeq(sql, "?") {
		if i > 0 {
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(i))
		}
		b.WriteString(part)
		i++
	}
	return b.String()
}
