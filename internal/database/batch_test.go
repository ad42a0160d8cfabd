package database_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
)

// SQLite's write transactions share commits, yet each keeps its own
// outcome: one that fails, or panics, is undone alone.
func TestSQLiteTransactionsKeepTheirOwnOutcome(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, filepath.Join(t.TempDir(), "shop.db"))
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Exec(`CREATE TABLE things (id INTEGER PRIMARY KEY, owner INTEGER)`).Error)
	require.NoError(t, db.Exec(`INSERT INTO things (id, owner) VALUES (0, 0)`).Error)

	const n = 60
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = database.Transaction(ctx, db.DB, "things.add", func(tx *gorm.DB) error {
				// Two rows per transaction: all or nothing.
				if err := tx.Exec(`INSERT INTO things (id, owner) VALUES (?, ?)`, 1000+i, i).Error; err != nil {
					return err
				}
				switch {
				case i%10 == 3:
					return tx.Exec(`INSERT INTO things (id, owner) VALUES (0, ?)`, i).Error // duplicate id
				case i%10 == 7:
					panic("a bug in one transaction")
				}
				return tx.Exec(`INSERT INTO things (id, owner) VALUES (?, ?)`, 2000+i, i).Error
			})
		})
	}
	wg.Wait()

	var owners []int
	require.NoError(t, db.Raw(`SELECT owner FROM things WHERE id > 0 ORDER BY id`).Scan(&owners).Error)
	want := map[int]int{}
	for i, err := range errs {
		switch i % 10 {
		case 3:
			require.ErrorIs(t, err, gorm.ErrDuplicatedKey, "transaction %d", i)
		case 7:
			require.ErrorContains(t, err, "panicked", "transaction %d", i)
		default:
			require.NoError(t, err, "transaction %d", i)
			want[i] = 2
		}
	}
	got := map[int]int{}
	for _, o := range owners {
		got[o]++
	}
	require.Equal(t, want, got, "the failed transactions left nothing; the others left both rows")

	// One at a time (a batch of one) the same holds.
	err = database.Transaction(ctx, db.DB, "things.alone", func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO things (id, owner) VALUES (3000, 99)`).Error; err != nil {
			return err
		}
		panic("a bug")
	})
	require.ErrorContains(t, err, "panicked")
	var left int64
	require.NoError(t, db.Raw(`SELECT COUNT(*) FROM things WHERE owner = 99`).Scan(&left).Error)
	require.Zero(t, left)
}

func TestSQLiteTransactionsAfterCloseFail(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, filepath.Join(t.TempDir(), "shop.db"))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	err = database.Transaction(ctx, db.DB, "things.late", func(tx *gorm.DB) error { return nil })
	require.Error(t, err)

	// A caller that gave up before its transaction began changes nothing.
	db, err = database.Open(ctx, filepath.Join(t.TempDir(), "shop.db"))
	require.NoError(t, err)
	defer db.Close()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	err = database.Transaction(gone, db.DB, "things.cancelled", func(tx *gorm.DB) error { ran = true; return nil })
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
	require.False(t, ran)
}

// Transactions that wait together share one SQLite transaction; one whose
// caller gives up while it waits leaves; one started with a transaction's
// tx runs inside it instead of waiting for itself.
func TestSQLiteTransactionsWaitingTogetherShareACommit(t *testing.T) {
	ctx := context.Background()
	db := thingsDB(t)
	release := holdWriter(db, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO things (id) VALUES (0)`).Error
	})

	// A caller with a deadline that passes while it waits gives up.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err := database.Transaction(short, db.DB, "things.impatient", func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO things (id) VALUES (-1)`).Error
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// Ten more queue up behind the first; they run as one batch.
	const n = 10
	var mu sync.Mutex
	txs := map[string]bool{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			require.NoError(t, database.Transaction(ctx, db.DB, "things.add", func(tx *gorm.DB) error {
				mu.Lock()
				txs[fmt.Sprintf("%p", tx.Statement.ConnPool)] = true
				mu.Unlock()
				// A nested call with tx joins this transaction.
				return database.Transaction(ctx, tx, "things.nested", func(tx *gorm.DB) error {
					return tx.Exec(`INSERT INTO things (id) VALUES (?)`, i+1).Error
				})
			}))
		})
	}
	queued(t, db, n) // the ten wait together
	require.NoError(t, release())
	wg.Wait()

	require.Less(t, len(txs), n, "transactions that waited together shared SQLite transactions")
	var count int64
	require.NoError(t, db.Raw(`SELECT COUNT(*) FROM things`).Scan(&count).Error)
	require.Equal(t, int64(n+1), count, "the impatient caller wrote nothing")

	w := db.Writes()
	require.Equal(t, int64(n+1), w.Transactions, "the metrics count every transaction that ran")
	require.Less(t, w.Batches, w.Transactions, "and fewer commits")
	require.Positive(t, w.Waited)
}

// A batch runs its transactions without savepoints; when one fails, the
// batch is undone and run again with a savepoint each: the others commit
// once (those before the failed one having run twice), and the one that
// fails gets its own error. The batches right after take savepoints from
// the start.
func TestSQLiteBatchWithAFailureRunsAgain(t *testing.T) {
	ctx := context.Background()
	db := thingsDB(t)
	errFull := errors.New("no room for this one")

	// batch runs n transactions, the one numbered failing failing after
	// its write, as one batch: a first transaction holds the writer while
	// they queue. It returns their errors and how often each ran.
	batch := func(n, failing, firstID int) ([]error, []int64) {
		release := holdWriter(db, nil)
		runs := make([]atomic.Int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = database.Transaction(ctx, db.DB, "things.add", func(tx *gorm.DB) error {
					runs[i].Add(1)
					if err := tx.Exec(`INSERT INTO things (id) VALUES (?)`, firstID+i).Error; err != nil {
						return err
					}
					if i == failing {
						return errFull // after its write, which must be undone
					}
					return nil
				})
			})
		}
		queued(t, db, n) // they wait together
		require.NoError(t, release())
		wg.Wait()
		counts := make([]int64, n)
		for i := range runs {
			counts[i] = runs[i].Load()
		}
		return errs, counts
	}

	errs, runs := batch(6, 3, 0)
	var ids []int
	require.NoError(t, db.Raw(`SELECT id FROM things ORDER BY id`).Scan(&ids).Error)
	require.Equal(t, []int{0, 1, 2, 4, 5}, ids, "each committed once; the failed one left nothing")
	for i, err := range errs {
		if i == 3 {
			require.ErrorIs(t, err, errFull, "the failed one hears its own error")
			require.Equal(t, int64(2), runs[i], "it failed in both runs of the batch")
			continue
		}
		require.NoError(t, err, "transaction %d", i)
		require.Contains(t, []int64{1, 2}, runs[i], "transaction %d", i)
	}
	w := db.Writes()
	require.Equal(t, int64(1), w.Reruns)
	require.Equal(t, int64(2), w.Batches, "the held one, then the six together")

	// Failures come in runs: the next batch takes savepoints from the
	// start, and nothing of it runs twice.
	errs, runs = batch(4, 0, 100)
	require.ErrorIs(t, errs[0], errFull)
	for i := 1; i < 4; i++ {
		require.NoError(t, errs[i])
	}
	require.Equal(t, []int64{1, 1, 1, 1}, runs)
	require.Equal(t, int64(1), db.Writes().Reruns, "no second rerun")
}

// thingsDB opens an SQLite database with an empty table of things.
func thingsDB(t *testing.T) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), filepath.Join(t.TempDir(), "shop.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Exec(`CREATE TABLE things (id INTEGER PRIMARY KEY)`).Error)
	return db
}

// holdWriter starts a transaction that holds db's writer, so that the
// transactions sent meanwhile queue up as one batch. release lets it run
// then (when not nil) and commit, and returns its outcome.
func holdWriter(db *database.DB, then func(tx *gorm.DB) error) (release func() error) {
	started, released := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- database.Transaction(context.Background(), db.DB, "things.hold", func(tx *gorm.DB) error {
			close(started)
			<-released
			if then == nil {
				return nil
			}
			return then(tx)
		})
	}()
	<-started
	return func() error {
		close(released)
		return <-held
	}
}

// queued waits until n transactions wait for the writer.
func queued(t *testing.T, db *database.DB, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return db.Writes().Queued == int64(n) }, 10*time.Second, time.Millisecond,
		"%d transactions should be waiting for the writer", n)
}
