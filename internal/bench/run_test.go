package bench

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// slowServer answers one request at a time, each in 10ms, like a server
// with one worker.
type slowServer struct {
	mu   sync.Mutex
	sent atomic.Int64
}

func (s *slowServer) send(ctx context.Context, op Op, _ *rand.Rand) result {
	s.sent.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	time.Sleep(10 * time.Millisecond)
	if op == OpCheckout {
		return result{outcome: outcomeOK, sold: []item{{ProductID: "p", Quantity: 2}}}
	}
	return result{outcome: "http_500", failed: true}
}

// TestClosedLoop: the warm-up is sent but not counted, throughput is what
// the server can do, and every checkout is in the ledger, the warm-up's
// too.
func TestClosedLoop(t *testing.T) {
	s := &slowServer{}
	windowOpened := make(chan time.Time, 1)
	p := pass{mix: Only(OpCheckout), clients: 4, warmup: 200 * time.Millisecond, duration: 500 * time.Millisecond}
	began := time.Now()
	m, err := runPass(context.Background(), p, s.send, nil, func() { windowOpened <- time.Now() })
	require.NoError(t, err)

	// Bounds below are what the 10ms server allows at least; the upper
	// ones are loose, for a busy machine.
	require.WithinDuration(t, began.Add(p.warmup), <-windowOpened, time.Second)
	require.Equal(t, p.duration, m.end.Sub(m.start))
	rec := m.ops[OpCheckout]
	n := rec.hist.TotalCount()
	require.True(t, n >= 5 && n <= 52, "at most one answer per 10ms for 500ms, got %d", n)
	require.Less(t, rec.hist.TotalCount(), s.sent.Load()-10, "the warm-up's 20 are not counted")
	require.Equal(t, s.sent.Load(), m.checkouts, "the ledger has every checkout")
	require.Equal(t, 2*m.checkouts, m.sold["p"])
	// Four clients queue on one worker: each waits for the three others.
	p50 := float64(rec.hist.ValueAtQuantile(50)) / 1000
	require.True(t, p50 >= 35 && p50 < 1000, "p50 %vms", p50)
}

// TestOpenLoopCountsTheQueue: asked for more than the server can answer,
// the open loop measures latency from when each request was due, so the
// growing queue shows, where the closed loop would hide it.
func TestOpenLoopCountsTheQueue(t *testing.T) {
	s := &slowServer{}
	p := pass{mix: Only(OpCheckout), clients: 1, rate: 200, duration: 400 * time.Millisecond}
	m, err := runPass(context.Background(), p, s.send, nil, func() {})
	require.NoError(t, err)
	h := m.ops[OpCheckout].hist
	require.EqualValues(t, 80, h.TotalCount(), "every request due in 400ms, one each 5ms, is sent")
	window := m.end.Sub(m.start)
	require.True(t, window >= 790*time.Millisecond && window < 10*time.Second,
		"answered one each 10ms: the window lasts until the last answer (%v), so throughput is the answers' rate", window)
	require.Greater(t, float64(h.ValueAtQuantile(99))/1000, 300.0, "the last waited for the 79 due before it")

	p.rate = 50 // one due every 20ms: no queue
	m, err = runPass(context.Background(), p, s.send, nil, func() {})
	require.NoError(t, err)
	h = m.ops[OpCheckout].hist
	require.EqualValues(t, 20, h.TotalCount())
	require.Less(t, float64(h.ValueAtQuantile(50))/1000, 150.0, "far below the queued run's 300ms")
}

func TestRequestCount(t *testing.T) {
	s := &slowServer{}
	p := pass{mix: Only(OpGet), clients: 3, requests: 25}
	var out bytes.Buffer
	m, err := runPass(context.Background(), p, s.send, &out, func() {})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"http_500": 25}, m.ops[OpGet].errors, "exactly the requests asked for, errors counted by code")
	require.Zero(t, m.ops[OpGet].hist.TotalCount(), "errors have no latency")
	require.Positive(t, m.end.Sub(m.start))
	require.Equal(t, "\r\033[K", out.String(), "under a second: only the clearing of the progress line")
}

func TestCancel(t *testing.T) {
	s := &slowServer{}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := runPass(ctx, pass{mix: Only(OpGet), clients: 2, duration: time.Hour}, s.send, nil, func() {})
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
