// Package bench measures whole layouts of Bazaar side by side under the
// same load: it starts each layout from the bazaar binary (or drives one
// that is already running), seeds a catalogue with stock, sends a weighted
// mix of a shop's requests, and reports throughput, latency percentiles,
// errors by code and what each process cost, with the ratio of the split
// to the monolith for each figure. After the load it checks that no unit
// of stock was lost, sold twice or left reserved, and that every checkout
// was answered.
//
// The package talks to layouts only over their public HTTP API, as any
// client would; it imports no module.
package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/bazaar-shop/bazaar/internal/launch"
)

// Bench is one run of the bench.
type Bench struct {
	opts     Options
	binary   string    // the bazaar binary layouts are started from
	log      io.Writer // a line per step, for the user
	progress io.Writer // the live line; nil when not on a terminal
}

// New returns a bench that starts layouts from binary, says what it does
// on log and, when progress is not nil, refreshes a progress line there.
func New(opts Options, binary string, log, progress io.Writer) *Bench {
	return &Bench{opts: opts, binary: binary, log: log, progress: progress}
}

// Run measures every layout, one after the other, Rounds times, and
// reports. An error means the bench could not measure (a layout did not
// start or died, seeding failed); a broken invariant is not an error but a
// report that did not pass.
func (b *Bench) Run(ctx context.Context) (*Report, error) {
	if err := b.opts.Validate(); err != nil {
		return nil, err
	}
	var rounds []*Report
	for i := range b.opts.Rounds {
		if b.opts.Rounds > 1 {
			fmt.Fprintf(b.log, "round %d of %d\n", i+1, b.opts.Rounds)
		}
		r, err := b.round(ctx)
		if err != nil {
			return nil, err
		}
		rounds = append(rounds, r)
	}
	return pickRound(rounds), nil
}

// round measures every layout once.
func (b *Bench) round(ctx context.Context) (*Report, error) {
	r := &Report{Version: ReportVersion, StartedAt: time.Now().UTC(), Settings: settingsOf(b.opts, runtime.NumCPU())}
	for _, name := range b.opts.measured() {
		res, err := b.layout(ctx, name)
		if err != nil {
			return nil, err
		}
		r.Layouts = append(r.Layouts, res)
	}
	r.Ratios = ratios(r.Layouts)
	r.Passed = true
	for _, l := range r.Layouts {
		if len(l.Failed()) > 0 {
			r.Passed = false
		}
	}
	return r, nil
}

// layout measures one layout: the target as it is, any other started
// for the purpose and stopped again.
func (b *Bench) layout(ctx context.Context, name string) (LayoutResult, error) {
	if name == Target {
		return b.measure(ctx, LayoutResult{Name: name, URL: b.opts.Target}, b.opts.AdminKey, nil)
	}
	began := time.Now()
	base, via := name, (func(string, string) (string, error))(nil)
	if rtt, ok := rttOf(name); ok {
		net := newNetwork(rtt)
		defer net.close()
		base, via = Split, net.via
	}
	cl, err := startLayout(ctx, b.binary, base, b.opts.Env, via, b.opts.Soak)
	if err != nil {
		return LayoutResult{}, err
	}
	fmt.Fprintf(b.log, "%s: %s ready in %.1fs on %s\n", name, processNames(cl), time.Since(began).Seconds(), cl.URL())
	res, err := b.measure(ctx, LayoutResult{Name: name, URL: cl.URL(), Started: true}, cl.AdminKey, cl)
	stopLayout(cl, b.log)
	if err != nil {
		return res, err
	}
	res.setProcesses(exitedStats(cl, res.Processes))
	return res, nil
}

// measure drives the load against one layout.
func (b *Bench) measure(ctx context.Context, res LayoutResult, admin string, cl *launch.Cluster) (LayoutResult, error) {
	c := newClient(res.URL, admin, b.opts.Clients+seedWorkers, b.opts.Timeout)
	defer c.close()
	var err error
	if res.Name == Baseline || res.Name == BareHop {
		err = b.baseline(ctx, c, cl, &res)
	} else {
		err = b.shop(ctx, c, cl, &res)
	}
	return res, err
}

// shop seeds a Bazaar layout, drives the mix (and, with --baseline, GET
// /v1/products/{id} alone) and checks the invariants.
func (b *Bench) shop(ctx context.Context, c *client, cl *launch.Cluster, res *LayoutResult) error {
	since := time.Now()
	fmt.Fprintf(b.log, "%s: seeding %d products with %d units each\n", res.Name, b.opts.Products, b.opts.Stock)
	cat, err := seed(ctx, c, b.opts.Products, b.opts.Stock, randomHex(4))
	if err != nil {
		return fmt.Errorf("%s: %w", res.Name, err)
	}
	res.SeedSeconds = time.Since(since).Seconds()
	w := &workload{c: c, cat: cat, declined: b.opts.Declined, expYear: time.Now().Year() + 5}

	var soak *soaker
	if b.opts.Soak && cl != nil {
		soak = newSoaker(cl, b.opts.SoakInterval)
		defer soak.halt()
	}
	m, procs, err := b.pass(ctx, res.Name+" mix", b.opts.Mix, w.do, cl, soak)
	if err != nil {
		return err
	}
	res.Ops = summarize(m, b.opts.Mix.Active())
	if soak != nil {
		var requests, checkouts int64
		for _, op := range res.Ops {
			switch op.Op {
			case OpAll:
			case string(OpCheckout):
				checkouts = op.Requests
				requests += op.Requests
			default:
				requests += op.Requests
			}
		}
		res.Soak = soak.end(requests, checkouts, b.opts.SoakMaxSlope)
	}
	res.WindowSeconds = m.end.Sub(m.start).Seconds()
	res.setProcesses(procs)
	if b.opts.Baseline {
		alone, _, err := b.pass(ctx, res.Name+" get alone", Only(OpGet), w.do, cl, nil)
		if err != nil {
			return err
		}
		res.GetAlone = &summarize(alone, []Op{OpGet})[0]
	}
	fmt.Fprintf(b.log, "%s: checking the invariants\n", res.Name)
	ledger, err := ledgerOf(ctx, c, cat, m, since, b.opts.Settle)
	if err != nil {
		return fmt.Errorf("%s: invariants: %w", res.Name, err)
	}
	if ledger.Backlog, err = backlogOf(ctx, processURLs(res.URL, cl), b.opts.Settle); err != nil {
		return fmt.Errorf("%s: invariants: outbox backlog: %w", res.Name, err)
	}
	res.Invariants = ledger.Check()
	if res.Soak != nil {
		res.Invariants = append(res.Invariants, res.Soak.Check())
	}
	return nil
}

// baseline drives GET /v1/products/{id} alone against the bare handler,
// or the bare hop in front of it.
func (b *Bench) baseline(ctx context.Context, c *client, cl *launch.Cluster, res *LayoutResult) error {
	cat := catalogue{ids: make([]string, b.opts.Products)}
	for i := range cat.ids {
		cat.ids[i] = fmt.Sprintf("prod_baseline%05d", i)
	}
	w := &workload{c: c, cat: cat}
	m, procs, err := b.pass(ctx, res.Name+" get alone", Only(OpGet), w.do, cl, nil)
	if err != nil {
		return err
	}
	res.Ops = []OpResult{} // it runs no mix
	res.GetAlone = &summarize(m, []Op{OpGet})[0]
	res.WindowSeconds = m.end.Sub(m.start).Seconds()
	res.setProcesses(procs)
	return nil
}

// pass drives one mix and, for a started layout, reads what its
// processes used during the measured window. A process that died during
// the pass is an error.
func (b *Bench) pass(ctx context.Context, label string, mix Mix, send sendFunc, cl *launch.Cluster, soak *soaker) (*measurement, []ProcessStats, error) {
	p := pass{label: label, mix: mix, clients: b.opts.Clients, rate: b.opts.Rate,
		warmup: b.opts.Warmup, duration: b.opts.Duration, requests: b.opts.Requests}
	var mu sync.Mutex
	var starts []cpuSample
	atWindow := func() {
		s := make([]cpuSample, 0)
		if cl != nil {
			for _, proc := range cl.Procs {
				s = append(s, sampleCPU(proc.PID()))
			}
		}
		mu.Lock()
		starts = s
		mu.Unlock()
		if soak != nil {
			soak.begin()
		}
	}
	fmt.Fprintf(b.log, "%s: %s\n", label, b.describeLoad())
	m, err := runPass(ctx, p, send, b.progress, atWindow)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", label, err)
	}
	if cl == nil {
		return m, nil, nil
	}
	if err := cl.Exited(); err != nil {
		return nil, nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	var stats []ProcessStats
	for i, proc := range cl.Procs {
		start := cpuSample{}
		if i < len(starts) {
			start = starts[i]
		}
		s, ok := windowStats(proc.Name, proc.PID(), start)
		if !ok {
			s = ProcessStats{Name: proc.Name, PID: proc.PID()} // filled in once it exits
		}
		stats = append(stats, s)
	}
	return m, stats, nil
}

func (b *Bench) describeLoad() string {
	load := fmt.Sprintf("%d clients", b.opts.Clients)
	if b.opts.Rate > 0 {
		load = fmt.Sprintf("%g req/s", b.opts.Rate)
	}
	span := b.opts.Duration.String()
	if b.opts.Requests > 0 {
		span = fmt.Sprintf("%d requests", b.opts.Requests)
	}
	return fmt.Sprintf("%s for %s after a %s warm-up", load, span, b.opts.Warmup)
}

// setProcesses records the processes' figures and their sums.
func (l *LayoutResult) setProcesses(procs []ProcessStats) {
	l.Processes = procs
	l.CPUSeconds, l.PeakRSSBytes, l.CPUPerRequestMs = 0, 0, 0
	for _, p := range procs {
		l.CPUSeconds += p.CPUSeconds
		l.PeakRSSBytes += p.PeakRSSBytes
	}
	l.CPUSeconds = roundMs(l.CPUSeconds)
	var requests int64
	for _, op := range l.Ops {
		if op.Op != OpAll {
			requests += op.Requests
		}
	}
	if l.GetAlone != nil && len(l.Ops) == 0 {
		requests = l.GetAlone.Requests
	}
	if requests > 0 {
		l.CPUPerRequestMs = l.CPUSeconds * 1000 / float64(requests)
	}
}

// exitedStats fills in, from the operating system's account of the
// exited processes, the figures /proc could not give.
func exitedStats(cl *launch.Cluster, procs []ProcessStats) []ProcessStats {
	for i, p := range procs {
		if p.Source != "" || i >= len(cl.Procs) {
			continue
		}
		if s, err := exitStats(p.Name, cl.Procs[i].ProcessState()); err == nil {
			procs[i] = s
		}
	}
	return procs
}

func processNames(cl *launch.Cluster) string {
	names := make([]string, len(cl.Procs))
	for i, p := range cl.Procs {
		names[i] = p.Name
	}
	if len(names) == 1 {
		return "1 process (" + names[0] + ")"
	}
	return fmt.Sprintf("%d processes (%s)", len(names), strings.Join(names, ", "))
}

// processURLs names the base URL of every process of a layout: those the
// bench started, or the target alone.
func processURLs(front string, cl *launch.Cluster) map[string]string {
	if cl == nil {
		return map[string]string{"target": front}
	}
	out := map[string]string{}
	for _, p := range cl.Procs {
		out[p.Name] = p.URL()
	}
	return out
}
