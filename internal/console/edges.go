package console

import (
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// The metrics every process keeps of the calls its modules make to others
// (internal/metrics): the console reads the layout's traffic from them.
const (
	callsMetric    = "bazaar_module_calls_total"
	durationMetric = "bazaar_module_call_duration_seconds"
)

// edge is one module calling another, local or over the network.
type edge struct{ Caller, Callee, Mode string }

// modeCached is the mode of the calls to another process that the caller's
// client answered from memory, without crossing (internal/app labels them).
const modeCached = "cached"

// tally is an edge's counts at one moment, summed over its methods and
// over every process that makes such calls.
type tally struct {
	calls, failed float64
	buckets       map[float64]float64 // upper bound (seconds) → calls at most that long
}

// sample is the whole layout's tallies at one moment.
type sample struct {
	at    time.Time
	edges map[edge]*tally
}

// tallies sums the call metrics of some processes.
func tallies(families [][]*dto.MetricFamily, at time.Time) sample {
	s := sample{at: at, edges: map[edge]*tally{}}
	get := func(e edge) *tally {
		if s.edges[e] == nil {
			s.edges[e] = &tally{buckets: map[float64]float64{}}
		}
		return s.edges[e]
	}
	for _, process := range families {
		for _, f := range process {
			switch f.GetName() {
			case callsMetric:
				for _, m := range f.GetMetric() {
					l := labels(m)
					t := get(edge{l["caller"], l["callee"], l["mode"]})
					if l["outcome"] != "ok" {
						t.failed += m.GetCounter().GetValue()
					}
				}
			case durationMetric:
				for _, m := range f.GetMetric() {
					l := labels(m)
					t := get(edge{l["caller"], l["callee"], l["mode"]})
					h := m.GetHistogram()
					t.calls += float64(h.GetSampleCount())
					for _, b := range h.GetBucket() {
						if !math.IsInf(b.GetUpperBound(), 1) { // parsed text has it, a registry not: counted below
							t.buckets[b.GetUpperBound()] += float64(b.GetCumulativeCount())
						}
					}
					t.buckets[math.Inf(1)] += float64(h.GetSampleCount())
				}
			}
		}
	}
	return s
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// EdgeView is what the console shows of an edge.
type EdgeView struct {
	Caller, Callee, Mode string
	Calls                float64 // in the window, or since the processes started
	Failed               float64
	Rate                 float64 // calls a second over the window; -1 unknown
	P50, P99             float64 // milliseconds; -1 unknown
}

// window is how far back the console compares the layout's tallies, for
// the rates and percentiles of its edges.
const window = time.Minute

// history keeps the samples of the last window.
type history struct {
	mu      sync.Mutex
	samples []sample
}

// add records a sample and returns the edges over the window: against the
// oldest sample kept, or, the first time, their totals so far.
func (h *history) add(now sample) (views []EdgeView, over time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.samples = slices.DeleteFunc(h.samples, func(s sample) bool { return now.at.Sub(s.at) > window })
	var then *sample
	if len(h.samples) > 0 && now.at.Sub(h.samples[0].at) >= time.Second {
		then = &h.samples[0]
	}
	h.samples = append(h.samples, now)
	if then != nil {
		over = now.at.Sub(then.at)
	}
	for e, t := range now.edges {
		v := EdgeView{Caller: e.Caller, Callee: e.Callee, Mode: e.Mode, Rate: -1, P50: -1, P99: -1}
		d := diff(t, nil)
		if then != nil {
			d = diff(t, then.edges[e])
		}
		v.Calls, v.Failed = d.calls, d.failed
		if then != nil {
			v.Rate = d.calls / over.Seconds()
		}
		if d.calls > 0 {
			v.P50, v.P99 = quantile(0.5, d.buckets)*1000, quantile(0.99, d.buckets)*1000
		}
		views = append(views, v)
	}
	sort.Slice(views, func(i, j int) bool {
		a, b := views[i], views[j]
		if a.Caller != b.Caller {
			return a.Caller < b.Caller
		}
		if a.Callee != b.Callee {
			return a.Callee < b.Callee
		}
		return a.Mode < b.Mode
	})
	return views, over
}

// diff is what happened between then and now. A process that restarted
// counts from zero again: its counts fall, and then now alone is the best
// account.
func diff(now, then *tally) tally {
	if then == nil || now.calls < then.calls {
		return *now
	}
	d := tally{calls: now.calls - then.calls, failed: max(0, now.failed-then.failed), buckets: map[float64]float64{}}
	for le, n := range now.buckets {
		d.buckets[le] = max(0, n-then.buckets[le])
	}
	return d
}

// quantile estimates the q-quantile of a histogram's cumulative buckets as
// Prometheus's histogram_quantile does: linearly within the bucket it
// falls in.
func quantile(q float64, buckets map[float64]float64) float64 {
	bounds := make([]float64, 0, len(buckets))
	for le := range buckets {
		bounds = append(bounds, le)
	}
	slices.Sort(bounds)
	total := buckets[math.Inf(1)]
	if total == 0 || len(bounds) == 0 {
		return 0
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, le := range bounds {
		n := buckets[le]
		if n >= rank {
			if math.IsInf(le, 1) {
				return lower // beyond the last bound: say the last bound
			}
			if n == below {
				return le
			}
			return lower + (le-lower)*(rank-below)/(n-below)
		}
		lower, below = le, n
	}
	return lower
}
