package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// batcher runs the write transactions of one SQLite database several at a
// time. SQLite has one writer; when every transaction takes the writer's
// connection in turn, each pays its own COMMIT and each hand-over waits for
// the Go scheduler while the others queue. Here one goroutine works through
// the queue instead: the transactions waiting together share one BEGIN …
// COMMIT. When one of them fails, the batch is undone and run again with
// each transaction in a savepoint of its own, so the one that fails is
// undone alone and the others commit; a transaction may therefore run
// twice, and only the last run counts. A caller hears back only once its
// work is committed, or has failed.
type batcher struct {
	db       *gorm.DB
	writer   *sql.DB // db's pool: its one connection
	queue    chan *job
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	// walFrames is the length of the write-ahead log in pages, as the last
	// background checkpoint saw it.
	walFrames atomic.Int64

	// For the metrics: batches committed (or failed), transactions run,
	// the time callers waited for their turn, in nanoseconds, the rewinds
	// of the log (RESTART checkpoints that completed), and the log's length
	// as the last background checkpoint saw it (walFrames, but not reset by
	// a rewind).
	batches, transactions, waited, rewinds, logPages atomic.Int64

	// reruns counts batches run again, each transaction in a savepoint,
	// because one of their transactions failed.
	reruns atomic.Int64

	// queued is how many callers wait for the batcher to take their job.
	queued atomic.Int64

	// careful is how many batches, after a rerun, go straight to
	// savepoints (only the batcher's goroutine uses it).
	careful int

	// checkpointErrors counts background checkpoints that failed: a log
	// that can no longer be copied back grows until the disk is full, and
	// this is how anyone hears of it.
	checkpointErrors atomic.Int64
}

// WriteStats counts an SQLite database's write transactions and batches,
// and tells how long its write-ahead log is.
type WriteStats struct {
	Batches      int64         // BEGIN … COMMITs
	Transactions int64         // the transactions they held
	Waited       time.Duration // summed over transactions: from the call to its batch
	Queued       int64         // transactions waiting for their batch right now
	LogPages     int64         // pages in the write-ahead log, as the last checkpoint saw it
	Rewinds      int64         // times the writer started the log over
	// CheckpointErrors counts background checkpoints that failed.
	CheckpointErrors int64
	// Reruns counts batches run a second time, each transaction in a
	// savepoint, because one of their transactions failed.
	Reruns int64
}

// job is one caller's transaction.
type job struct {
	ctx    context.Context // checked before the job starts, not during
	fn     func(tx *gorm.DB) error
	result chan error
}

// maxBatch bounds how many transactions share a COMMIT, and so how long the
// first of them waits for the last.
const maxBatch = 64

const batcherName = "bazaar:sqlite-batcher"

// errClosed answers transactions sent after the database was closed.
var errClosed = errors.New("the database is closed")

// errBatcherGone answers transactions whose batcher stopped without an
// answer for them; it should never happen.
var errBatcherGone = errors.New("the database's writer stopped")

func newBatcher(db *gorm.DB, writer *sql.DB, name string) *batcher {
	// Unbuffered: a caller waits on the send until the batcher takes its
	// job, and after close no job can slip into a queue nobody reads.
	b := &batcher{db: db, writer: writer, queue: make(chan *job), stop: make(chan struct{}), done: make(chan struct{})}
	// The label names the database in CPU profiles: the writer goroutine
	// is where a database's write throughput is spent.
	go pprof.Do(context.Background(), pprof.Labels("sqlite_writer", name), func(context.Context) { b.run() })
	return b
}

// Name and Initialize make the batcher a gorm plugin, which is how
// Transaction finds it from a *gorm.DB.
func (b *batcher) Name() string                 { return batcherName }
func (b *batcher) Initialize(db *gorm.DB) error { return nil }

func batcherOf(db *gorm.DB) *batcher {
	b, _ := db.Config.Plugins[batcherName].(*batcher)
	return b
}

// do runs fn in the next batch and returns its outcome. A caller whose ctx
// ends while it waits for its turn leaves; once the batcher has taken the
// job, it waits for the outcome even if ctx ends: a caller that left then
// could be told "failed" about work that commits.
func (b *batcher) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	j := &job{ctx: ctx, fn: fn, result: make(chan error, 1)}
	start := time.Now()
	b.queued.Add(1)
	select {
	case b.queue <- j:
		b.queued.Add(-1)
		b.waited.Add(int64(time.Since(start)))
	case <-ctx.Done():
		b.queued.Add(-1)
		return ctx.Err()
	case <-b.stop:
		b.queued.Add(-1)
		return errClosed
	case <-b.done:
		b.queued.Add(-1)
		return errBatcherGone
	}
	select {
	case err := <-j.result:
		return err
	case <-b.done:
		select {
		case err := <-j.result:
			return err
		default:
			return errBatcherGone
		}
	}
}

func (b *batcher) run() {
	defer close(b.done)
	for {
		select {
		case <-b.stop:
			return
		case first := <-b.queue:
			batch := []*job{first}
			// Before the batch closes, let the goroutines that are about
			// to queue a write do so. Under load, many are one step away
			// (a request whose previous write just committed): a yield
			// lets them join this COMMIT instead of paying their own, and
			// batches grow from about 2 transactions to about 8. When no
			// other goroutine is ready to run, it returns at once: no
			// wait is added to a lone write.
			runtime.Gosched()
		more:
			for len(batch) < maxBatch {
				select {
				case j := <-b.queue:
					batch = append(batch, j)
				default:
					break more
				}
			}
			b.commit(batch)
			if b.walFrames.Load() > walRewindFrames {
				b.rewindWAL()
			}
		}
	}
}

// commit runs a batch in one transaction and tells each caller its outcome.
func (b *batcher) commit(batch []*job) {
	b.batches.Add(1)
	b.transactions.Add(int64(len(batch)))
	if len(batch) == 1 {
		// Alone, a job needs no savepoint: its transaction is its own.
		j := batch[0]
		if err := j.ctx.Err(); err != nil {
			j.result <- err
			return
		}
		j.result <- b.db.Transaction(func(tx *gorm.DB) error { return safely(j.fn, tx) })
		return
	}
	if b.careful > 0 {
		b.careful--
		b.commitEach(batch)
		return
	}
	if b.commitAll(batch) {
		return
	}
	// A job failed, and the whole batch was undone. Run it again with each
	// job in a savepoint of its own, so the one that fails is undone alone.
	// Failures come in runs (a product sold out, a flood of repeats), and a
	// batch run twice costs more than savepoints: the next batches take
	// savepoints from the start.
	b.reruns.Add(1)
	b.careful = carefulBatches
	b.commitEach(batch)
}

// carefulBatches is how many batches after a rerun take savepoints at once.
const carefulBatches = 16

// commitAll runs the batch's jobs one after another in one transaction, as
// if they were one: nearly every job succeeds, and a savepoint for each
// (two more statements) would cost about a fifth of the writer's time. If
// every job succeeds it commits, answers every caller and reports true. If
// one fails, it rolls everything back, answers no one and reports false.
func (b *batcher) commitAll(batch []*job) bool {
	var gaveUp []int // jobs whose callers left before they began
	errFailed := errors.New("a job of the batch failed")
	err := b.db.Transaction(func(tx *gorm.DB) error {
		for i, j := range batch {
			if j.ctx.Err() != nil {
				gaveUp = append(gaveUp, i)
				continue
			}
			if err := safely(j.fn, tx); err != nil {
				return errFailed
			}
		}
		return nil
	})
	if errors.Is(err, errFailed) {
		return false
	}
	for i, j := range batch {
		switch {
		case slices.Contains(gaveUp, i):
			j.result <- j.ctx.Err()
		case err != nil:
			j.result <- fmt.Errorf("write batch failed: %w", err)
		default:
			j.result <- nil
		}
	}
	return true
}

// commitEach runs the batch in one transaction, each job in a savepoint of
// its own, so one that fails is undone alone and the others commit.
func (b *batcher) commitEach(batch []*job) {
	results := make([]error, len(batch))
	ran := make([]bool, len(batch))
	err := b.db.Transaction(func(tx *gorm.DB) error {
		for i, j := range batch {
			if err := j.ctx.Err(); err != nil {
				results[i] = err // its caller gave up before it began
				continue
			}
			ran[i] = true
			if err := tx.SavePoint("job").Error; err != nil {
				return err
			}
			if results[i] = safely(j.fn, tx); results[i] != nil {
				// If SQLite already undid the whole transaction (it does
				// on I/O errors, for one), the savepoint is gone, this
				// fails, and so does every job of the batch.
				if err := tx.RollbackTo("job").Error; err != nil {
					return err
				}
			}
			if err := tx.Exec("RELEASE job").Error; err != nil {
				return err
			}
		}
		return nil
	})
	for i, j := range batch {
		if err != nil && ran[i] {
			// Nothing of the batch was committed, and a job's own failure
			// may have come from an earlier job's write that is gone too.
			results[i] = fmt.Errorf("write batch failed: %w", err)
		}
		j.result <- results[i]
	}
}

// walRewindFrames is how long the write-ahead log may grow, in pages
// (16 MiB at SQLite's 4 KiB pages), before the writer rewinds it.
const walRewindFrames = 4096

// rewindWAL makes the next write start the write-ahead log from its
// beginning. SQLite rewinds the log only when a writer begins while every
// page of it has been copied into the database and no reader still reads
// it; under a steady stream of reads and writes that moment never comes by
// itself, and the log grows without end (each commit appending to new
// blocks of an ever larger file, which the filesystem must first allocate
// and zero). A RESTART checkpoint copies the little the background
// checkpoints have not copied yet, then waits for the readers of the log to
// move on: the app's readers take a millisecond or less, so the wait is cut
// short at rewindWait; a longer reader only makes this round fail, and the
// next round tries again. Writes wait meanwhile, so it runs between batches.
func (b *batcher) rewindWAL() {
	b.walFrames.Store(0)
	// One connection for the three statements, the busy timeout being the
	// connection's. (database/sql, not gorm: gorm's resolver would take
	// another connection from the pool, and the writer has only one.)
	ctx := context.Background()
	conn, err := b.writer.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	var timeout int64
	if err := conn.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&timeout); err != nil {
		return
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, rewindWait.Milliseconds())); err != nil {
		return
	}
	var busy, frames, copied int64
	err = conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &frames, &copied)
	if err == nil && busy == 0 {
		b.rewinds.Add(1)
	} // busy: a reader held on, and the next round tries again
	_, _ = conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, timeout))
}

// rewindWait bounds how long a rewind waits for the log's readers.
const rewindWait = 20 * time.Millisecond

// safely runs fn, turning a panic into its error: the batcher's goroutine
// must outlive one bad job.
func safely(fn func(tx *gorm.DB) error, tx *gorm.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("transaction panicked: %v", r)
		}
	}()
	return fn(tx)
}

// close stops the batcher once the batch in hand is committed.
func (b *batcher) close() {
	b.stopOnce.Do(func() { close(b.stop) })
	<-b.done
}
