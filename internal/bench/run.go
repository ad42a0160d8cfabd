package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1µs to a minute, to three
// significant digits.
const (
	histMin    = 1
	histMax    = int64(time.Minute / time.Microsecond)
	histDigits = 3
)

// pass is one stretch of load against one layout.
type pass struct {
	label    string // for the progress line, e.g. "split mix"
	mix      Mix
	clients  int
	rate     float64 // open loop, requests per second; 0 is closed loop
	warmup   time.Duration
	duration time.Duration // the measured window, when requests is 0
	requests int64         // measured requests, when not 0
}

// sendFunc sends one request of an operation and judges the answer.
type sendFunc func(ctx context.Context, op Op, rng *rand.Rand) result

// measurement is what a pass saw.
type measurement struct {
	start, end time.Time // the measured window
	ops        map[Op]*opRecord
	// sold, checkouts and unanswered count every checkout, those of the
	// warm-up too: the invariants are about everything sent.
	sold       map[string]int64 // product → units in checkouts that succeeded
	checkouts  int64            // checkouts sent
	unanswered int64            // checkouts that got no HTTP answer
}

// opRecord is the measured requests of one operation.
type opRecord struct {
	// hist holds the latency of every measured request that got an
	// answer that is not an error, in microseconds.
	hist     *hdrhistogram.Histogram
	outcomes map[string]int64 // expected outcomes: ok, declined, out_of_stock
	errors   map[string]int64 // by code
}

func newOpRecord() *opRecord {
	return &opRecord{hist: hdrhistogram.New(histMin, histMax, histDigits), outcomes: map[string]int64{}, errors: map[string]int64{}}
}

// runner drives one pass: clients workers that each send a request, wait
// for its answer and send the next (closed loop), or send on a fixed
// schedule (open loop).
type runner struct {
	p    pass
	send sendFunc

	begin, windowStart, windowEnd time.Time

	claimed      atomic.Int64 // measured requests handed out, with --requests
	done, failed atomic.Int64 // every request so far, for the progress line

	mu      sync.Mutex
	m       *measurement
	lastEnd time.Time // when the last measured request was answered
}

// runPass sends the pass's load and returns what it measured. atWindow is
// called when the measured window opens, after the warm-up. progress,
// when not nil, gets a line refreshed every second.
func runPass(ctx context.Context, p pass, send sendFunc, progress io.Writer, atWindow func()) (*measurement, error) {
	r := &runner{p: p, send: send, m: &measurement{ops: map[Op]*opRecord{}, sold: map[string]int64{}}}
	for _, op := range p.mix.Active() {
		r.m.ops[op] = newOpRecord()
	}
	r.begin = time.Now()
	r.windowStart = r.begin.Add(p.warmup)
	r.windowEnd = r.windowStart.Add(p.duration)

	window := time.AfterFunc(p.warmup, atWindow)
	defer window.Stop()
	stopProgress := r.showProgress(progress)
	var wg sync.WaitGroup
	for w := range p.clients {
		wg.Go(func() { r.worker(ctx, w) })
	}
	wg.Wait()
	stopProgress()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.m.start, r.m.end = r.windowStart, r.measuredUntil()
	return r.m, nil
}

// measuredUntil is the end of the measured window, the denominator of
// throughput. The closed loop sends for exactly the duration. The open
// loop sends every request due in the duration, however late: when the
// layout falls behind, the window lasts until the last is answered, so
// throughput is what was answered, not what was asked. A count of
// requests lasts until the last is answered.
func (r *runner) measuredUntil() time.Time {
	end := r.windowEnd
	if r.p.requests > 0 || (r.p.rate > 0 && r.lastEnd.After(end)) {
		end = r.lastEnd
	}
	return maxTime(end, r.windowStart)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (r *runner) worker(ctx context.Context, w int) {
	rng := rand.New(rand.NewPCG(rand.Uint64(), uint64(w)))
	var interval time.Duration
	var next time.Time
	if r.p.rate > 0 {
		// Each worker sends its share of the rate on its own schedule,
		// staggered; a late answer delays the next send, and that delay
		// counts in its latency, which is measured from when it was due.
		interval = time.Duration(float64(time.Second) * float64(r.p.clients) / r.p.rate)
		next = r.begin.Add(time.Duration(float64(time.Second) * float64(w) / r.p.rate))
	}
	for ctx.Err() == nil {
		due := time.Now()
		if r.p.rate > 0 {
			due, next = next, next.Add(interval)
			if !sleepUntil(ctx, due) {
				return
			}
		}
		measured := !due.Before(r.windowStart)
		if r.p.requests == 0 && !due.Before(r.windowEnd) {
			return
		}
		if measured && r.p.requests > 0 && r.claimed.Add(1) > r.p.requests {
			return
		}
		op := r.p.mix.Pick(rng)
		res := r.send(ctx, op, rng)
		r.record(op, res, due, time.Now(), measured)
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *runner) record(op Op, res result, due, end time.Time, measured bool) {
	r.done.Add(1)
	if res.failed {
		r.failed.Add(1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if op == OpCheckout {
		r.m.checkouts++
		if res.unanswered {
			r.m.unanswered++
		}
		for _, it := range res.sold {
			r.m.sold[it.ProductID] += it.Quantity
		}
	}
	if !measured {
		return
	}
	if end.After(r.lastEnd) {
		r.lastEnd = end
	}
	rec := r.m.ops[op]
	if res.failed {
		rec.errors[res.outcome]++
		return
	}
	rec.outcomes[res.outcome]++
	us := min(max(end.Sub(due).Microseconds(), histMin), histMax)
	_ = rec.hist.RecordValue(us) // in range by construction
}

// showProgress refreshes one line on w every second — label, elapsed
// time, the last second's request rate and the errors so far — until the
// returned function is called, which clears it. With w nil it does
// nothing.
func (r *runner) showProgress(w io.Writer) (stop func()) {
	if w == nil {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		last, lastAt := int64(0), time.Now()
		for {
			select {
			case <-quit:
				fmt.Fprint(w, "\r\033[K")
				return
			case now := <-tick.C:
				done := r.done.Load()
				rate := float64(done-last) / now.Sub(lastAt).Seconds()
				last, lastAt = done, now
				fmt.Fprintf(w, "\r\033[K%-20s %-18s %8.0f req/s %8d errors", r.p.label, r.phase(now), rate, r.failed.Load())
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

// phase says how far the pass is, e.g. "warm-up 2s/3s" or "12s/20s".
func (r *runner) phase(now time.Time) string {
	if now.Before(r.windowStart) {
		return fmt.Sprintf("warm-up %.0fs/%.0fs", now.Sub(r.begin).Seconds(), r.p.warmup.Seconds())
	}
	if r.p.requests > 0 {
		return fmt.Sprintf("%d/%d req", min(r.claimed.Load(), r.p.requests), r.p.requests)
	}
	return fmt.Sprintf("%.0fs/%.0fs", now.Sub(r.windowStart).Seconds(), r.p.duration.Seconds())
}
