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

// With rehearsal on, a transaction function runs twice and only its second
// run counts: a function with a side effect outside its transaction shows
// it, and the writes of the first run are gone.
func TestRehearsedTransactionsRunTwice(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := database.Open(ctx, engine.New(t, "rehearsal"))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			require.NoError(t, db.RehearseTransactions())
			require.NoError(t, db.Exec(`CREATE TABLE things (id TEXT PRIMARY KEY)`).Error)

			runs := 0
			err = database.Transaction(ctx, db.DB, "test.insert", func(tx *gorm.DB) error {
				runs++ // the kind of side effect rehearsal is there to expose
				return tx.Exec(`INSERT INTO things (id) VALUES ('a')`).Error
			})
			require.NoError(t, err, "the first run's row is gone before the second inserts it again")
			require.Equal(t, 2, runs)

			refused := errors.New("no")
			runs = 0
			err = database.Transaction(ctx, db.DB, "test.refuse", func(tx *gorm.DB) error {
				runs++
				if err := tx.Exec(`INSERT INTO things (id) VALUES ('b')`).Error; err != nil {
					return err
				}
				return refused
			})
			require.ErrorIs(t, err, refused)
			require.Equal(t, 2, runs)

			var p database.Pipeline
			p.Exec(nil, `INSERT INTO things (id) VALUES ('c')`)
			decided := 0
			require.NoError(t, p.Run(ctx, db.DB, "test.pipeline", func(*database.Pipeline) error { decided++; return nil }))
			if engine.Name == "sqlite" {
				require.Equal(t, 2, decided, "on SQLite a pipeline is a transaction on the batcher, and rehearses too")
			}

			var ids []string
			require.NoError(t, db.Raw(`SELECT id FROM things ORDER BY id`).Scan(&ids).Error)
			require.Equal(t, []string{"a", "c"}, ids)
		})
	}
}
