package database_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/testdb"
)

// A pipeline is one transaction on every engine: all of it commits, or
// none of it, whether a statement fails or decide says no.
func TestPipelineIsOneTransaction(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := database.Open(ctx, engine.New(t, "pipeline"))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			require.NoError(t, db.Exec(`CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL)`).Error)
			count := func() (n int64) {
				require.NoError(t, db.Raw(`SELECT COALESCE(SUM(n), 0) FROM things`).Scan(&n).Error)
				return n
			}

			// Without decide: the statements commit together.
			var p database.Pipeline
			var inserted int64
			p.Exec(&inserted, `INSERT INTO things (id, n) VALUES (?, ?), (?, ?)`, "a", 1, "b", 2)
			p.Exec(nil, `UPDATE things SET n = n + ? WHERE id = ?`, 10, "a")
			require.NoError(t, p.Run(ctx, db.DB, "test.insert", nil))
			require.EqualValues(t, 2, inserted)
			require.EqualValues(t, 13, count())

			// A failing statement undoes the ones before it, and its
			// error reads as gorm's.
			p = database.Pipeline{}
			p.Exec(nil, `UPDATE things SET n = n + 100 WHERE id = ?`, "b")
			p.Exec(nil, `INSERT INTO things (id, n) VALUES (?, ?)`, "a", 1)
			require.ErrorIs(t, p.Run(ctx, db.DB, "test.duplicate", nil), gorm.ErrDuplicatedKey)
			require.EqualValues(t, 13, count(), "nothing of a failed pipeline stays")

			// decide sees counts and rows; its error rolls back.
			p = database.Pipeline{}
			var updated int64
			var seen []string
			p.Exec(&updated, `UPDATE things SET n = n + 1 WHERE n < ?`, 5)
			p.Query(func(scan func(dest ...any) error) error {
				var id string
				err := scan(&id)
				seen = append(seen, id)
				return err
			}, `SELECT id FROM things ORDER BY id`)
			errNo := errors.New("no")
			err = p.Run(ctx, db.DB, "test.refused", func(*database.Pipeline) error {
				require.EqualValues(t, 1, updated, "b (2) is below 5; a (11) is not")
				require.Equal(t, []string{"a", "b"}, seen)
				return errNo
			})
			require.ErrorIs(t, err, errNo)
			require.EqualValues(t, 13, count(), "a refused pipeline changes nothing")

			// decide's own statements commit with the rest. (A lock is
			// taken on PostgreSQL; SQLite, which has no FOR UPDATE and
			// needs none, skips it.)
			p = database.Pipeline{}
			p.Lock(`SELECT 1 FROM things WHERE id = ? FOR UPDATE`, "a")
			p.Exec(&updated, `UPDATE things SET n = n + 1 WHERE id = ?`, "a")
			err = p.Run(ctx, db.DB, "test.then", func(then *database.Pipeline) error {
				require.EqualValues(t, 1, updated)
				then.Exec(nil, `INSERT INTO things (id, n) VALUES (?, ?)`, "c", 100)
				return nil
			})
			require.NoError(t, err)
			require.EqualValues(t, 114, count())

			// ... and fail with it too.
			p = database.Pipeline{}
			p.Exec(nil, `UPDATE things SET n = 0`)
			err = p.Run(ctx, db.DB, "test.then_fails", func(then *database.Pipeline) error {
				then.Exec(nil, `INSERT INTO things (id, n) VALUES (?, ?)`, "c", 1)
				return nil
			})
			require.ErrorIs(t, err, gorm.ErrDuplicatedKey)
			require.EqualValues(t, 114, count())

			// Inside a transaction, a pipeline is part of it.
			err = db.Transaction(func(tx *gorm.DB) error {
				var p database.Pipeline
				p.Exec(&updated, `UPDATE things SET n = n + ? WHERE id = ?`, 1000, "a")
				if err := p.Run(ctx, tx, "test.nested", nil); err != nil {
					return err
				}
				require.EqualValues(t, 1, updated)
				return errNo
			})
			require.ErrorIs(t, err, errNo)
			require.EqualValues(t, 114, count(), "rolled back with the transaction around it")

			// The connection is back in the pool outside any transaction:
			// a plain statement afterwards commits on its own.
			require.NoError(t, db.Exec(`UPDATE things SET n = 1`).Error)
			require.EqualValues(t, 3, count())
		})
	}
}
