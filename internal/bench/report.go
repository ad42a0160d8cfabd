package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// ReportVersion is the version of the JSON format; it changes only when a
// field changes meaning or goes away.
const ReportVersion = 1

// OpAll is the pseudo-operation that sums a pass's operations.
const OpAll = "all"

// Report is every figure of a bench run. --json writes it as it is; the
// field names are the documented format.
type Report struct {
	Version   int            `json:"version"`
	StartedAt time.Time      `json:"started_at"`
	Settings  Settings       `json:"settings"`
	Layouts   []LayoutResult `json:"layouts"`
	// Ratios compare layouts figure by figure: split/monolith, each split
	// over a network (split@<rtt>) with split@0ms, or the split, and
	// <layout>/baseline for GET /v1/products/{id} alone.
	Ratios []Ratio `json:"ratios"`
	// Passed is true when every invariant of every layout held, in every
	// round.
	Passed bool `json:"passed"`
	// Rounds, with --rounds, are the ratios of each round in the order
	// run. Layouts and Ratios above are those of the median round (by the
	// first ratio's throughput on the mix), or of the first round where an
	// invariant broke.
	Rounds []Round `json:"rounds,omitempty"`
	// PickedRound is the round, from 1, that Layouts and Ratios are of.
	PickedRound int `json:"picked_round,omitempty"`
}

// Round is one round of several: its ratios, and whether its invariants held.
type Round struct {
	Ratios []Ratio `json:"ratios"`
	Passed bool    `json:"passed"`
}

// Settings is what the run did.
type Settings struct {
	Layouts         []string       `json:"layouts"`
	Target          string         `json:"target,omitempty"`
	Baseline        bool           `json:"baseline"`
	Clients         int            `json:"clients"`
	RateRPS         float64        `json:"rate_rps"` // 0: closed loop
	DurationSeconds float64        `json:"duration_seconds"`
	Requests        int64          `json:"requests"` // when not 0, measured instead of a duration
	WarmupSeconds   float64        `json:"warmup_seconds"`
	Products        int            `json:"products"`
	Stock           int64          `json:"stock"`
	Mix             string         `json:"mix"`
	Weights         map[string]int `json:"weights"`
	Declined        float64        `json:"declined"`
	Env             []string       `json:"env,omitempty"`
	RTTsMs          []float64      `json:"rtts_ms,omitempty"` // of the split runs over a network
	CPUs            int            `json:"cpus"`
	Rounds          int            `json:"rounds"`
}

// LayoutResult is one layout's figures.
type LayoutResult struct {
	Name    string `json:"name"` // monolith, split, split@<rtt>, baseline, bare-hop or target
	URL     string `json:"url"`
	Started bool   `json:"started"` // by the bench; false for --target
	// SeedSeconds is how long seeding the products and stock took.
	SeedSeconds float64 `json:"seed_seconds"`
	// WindowSeconds is the measured window of the mix.
	WindowSeconds float64 `json:"window_seconds"`
	// Ops are the mix's figures: one per operation with a weight, in the
	// order list, get, stock, checkout, then "all". Empty for the baseline.
	Ops []OpResult `json:"ops"`
	// GetAlone is GET /v1/products/{id} measured on its own, with
	// --baseline: the like-for-like comparison with the bare handler.
	GetAlone *OpResult `json:"get_alone,omitempty"`
	// Processes are those the bench started, with their CPU during the
	// measured window of the mix (the baseline: of its get pass) and peak
	// RSS; CPUSeconds, CPUPerRequestMs and PeakRSSBytes are their sums.
	Processes       []ProcessStats `json:"processes,omitempty"`
	CPUSeconds      float64        `json:"cpu_seconds"`
	CPUPerRequestMs float64        `json:"cpu_ms_per_request"`
	PeakRSSBytes    uint64         `json:"peak_rss_bytes"`
	// Invariants are the correctness checks after the load (not for the
	// baseline, which sells nothing).
	Invariants []Invariant `json:"invariants,omitempty"`
	// Soak is what --soak saw of memory, disk and logs.
	Soak *SoakResult `json:"soak,omitempty"`
}

// OpResult is the measured figures of one operation.
type OpResult struct {
	Op string `json:"op"`
	// Requests were sent in the measured window: those answered without
	// error plus the errors.
	Requests int64 `json:"requests"`
	// ThroughputRPS is requests answered without error per second.
	ThroughputRPS float64 `json:"throughput_rps"`
	// Latency is of requests answered without error, from when each was
	// due to be sent (the open loop's schedule; the closed loop sends at once).
	Latency Latency `json:"latency_ms"`
	// Outcomes are answers that are not errors: ok, declined (a declining
	// card, as expected), out_of_stock.
	Outcomes map[string]int64 `json:"outcomes"`
	// Errors counts the rest, ErrorsByCode by the problem document's code,
	// http_<status> without one, transport, timeout, or good_card_declined
	// and declining_card_paid for a checkout the sandbox got wrong.
	Errors       int64            `json:"errors"`
	ErrorsByCode map[string]int64 `json:"errors_by_code"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Ratio is Numerator's figure divided by Denominator's, for each figure
// both have. 0 means undefined (a figure missing or zero).
type Ratio struct {
	Name        string                 `json:"name"` // "split/monolith"
	Numerator   string                 `json:"numerator"`
	Denominator string                 `json:"denominator"`
	Ops         map[string]FigureRatio `json:"ops,omitempty"`
	GetAlone    *FigureRatio           `json:"get_alone,omitempty"`
	CPUSeconds  float64                `json:"cpu_seconds,omitempty"`
	CPUPerReq   float64                `json:"cpu_ms_per_request,omitempty"`
	PeakRSS     float64                `json:"peak_rss,omitempty"`
}

// FigureRatio compares one operation's figures.
type FigureRatio struct {
	Throughput float64 `json:"throughput"`
	P50        float64 `json:"p50"`
	P90        float64 `json:"p90"`
	P99        float64 `json:"p99"`
	// P50AddedPerRTT, for a split over a network against the split with
	// none added, is the milliseconds its median gained per millisecond of
	// round-trip time: about the round trips a request waits for in turn.
	P50AddedPerRTT float64 `json:"p50_added_ms_per_rtt_ms,omitempty"`
}

// WriteJSON writes the report, indented.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Layout returns the named layout's result, or nil.
func (r *Report) Layout(name string) *LayoutResult {
	for i := range r.Layouts {
		if r.Layouts[i].Name == name {
			return &r.Layouts[i]
		}
	}
	return nil
}

// Ratio returns the ratio of layout num over layout den, or nil.
func (r *Report) Ratio(num, den string) *Ratio {
	for i := range r.Ratios {
		if r.Ratios[i].Numerator == num && r.Ratios[i].Denominator == den {
			return &r.Ratios[i]
		}
	}
	return nil
}

// Op returns the named operation's figures of the mix, or nil.
func (l *LayoutResult) Op(op string) *OpResult {
	for i := range l.Ops {
		if l.Ops[i].Op == op {
			return &l.Ops[i]
		}
	}
	return nil
}

// Failed lists the invariants that broke.
func (l *LayoutResult) Failed() []Invariant {
	var failed []Invariant
	for _, inv := range l.Invariants {
		if !inv.Passed {
			failed = append(failed, inv)
		}
	}
	return failed
}

// summarize turns a pass's measurement into figures: one per operation,
// in ops order, then "all" when there is more than one.
func summarize(m *measurement, ops []Op) []OpResult {
	window := m.end.Sub(m.start).Seconds()
	all := newOpRecord()
	var out []OpResult
	for _, op := range ops {
		rec := m.ops[op]
		out = append(out, figures(string(op), rec, window))
		all.hist.Merge(rec.hist)
		addCounts(all.outcomes, rec.outcomes)
		addCounts(all.errors, rec.errors)
	}
	if len(ops) > 1 {
		out = append(out, figures(OpAll, all, window))
	}
	return out
}

func addCounts(to, from map[string]int64) {
	for k, n := range from {
		to[k] += n
	}
}

func figures(op string, rec *opRecord, window float64) OpResult {
	r := OpResult{Op: op, Outcomes: maps.Clone(rec.outcomes), ErrorsByCode: maps.Clone(rec.errors), Latency: latency(rec.hist)}
	for _, n := range rec.errors {
		r.Errors += n
	}
	ok := rec.hist.TotalCount()
	r.Requests = ok + r.Errors
	if window > 0 {
		r.ThroughputRPS = float64(ok) / window
	}
	return r
}

func latency(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()), Mean: h.Mean() / 1000,
	}
}

// ratios compares the layouts: split with the monolith on every figure,
// and each layout with the baseline on GET /v1/products/{id} alone.
func ratios(layouts []LayoutResult) []Ratio {
	find := func(name string) *LayoutResult {
		for i := range layouts {
			if layouts[i].Name == name {
				return &layouts[i]
			}
		}
		return nil
	}
	var out []Ratio
	if s, m := find(Split), find(Monolith); s != nil && m != nil {
		out = append(out, compareLayouts(s, m))
	}
	// A split over a network is compared with the split through the
	// proxies at no added round trip, which parts the latency from what
	// the proxies cost; that one, with the split on loopback; failing
	// those, with the monolith. Each added millisecond of round trip shows
	// in the median as about the round trips a request waits for in turn.
	for i := range layouts {
		rtt, ok := rttOf(layouts[i].Name)
		if !ok {
			continue
		}
		den := cmp.Or(find(Split), find(Monolith))
		if zero := find(SplitAt(0)); rtt > 0 && zero != nil {
			den = zero
		}
		if den == nil {
			continue
		}
		r := compareLayouts(&layouts[i], den)
		if _, split := rttOf(den.Name); (split || den.Name == Split) && rtt > 0 {
			for _, op := range layouts[i].Ops {
				if base := den.Op(op.Op); base != nil {
					fr := r.Ops[op.Op]
					fr.P50AddedPerRTT = (op.Latency.P50 - base.Latency.P50) / (float64(rtt) / float64(time.Millisecond))
					r.Ops[op.Op] = fr
				}
			}
		}
		out = append(out, r)
	}
	if b := find(Baseline); b != nil && b.GetAlone != nil {
		for _, l := range layouts {
			if _, net := rttOf(l.Name); l.Name == Baseline || l.Name == Split || net || l.GetAlone == nil {
				continue // the splits are compared with the monolith
			}
			g := compare(*l.GetAlone, *b.GetAlone)
			out = append(out, Ratio{Name: l.Name + "/" + Baseline, Numerator: l.Name, Denominator: Baseline, GetAlone: &g})
		}
	}
	return out
}

// compareLayouts is num's figures over den's.
func compareLayouts(num, den *LayoutResult) Ratio {
	r := Ratio{Name: num.Name + "/" + den.Name, Numerator: num.Name, Denominator: den.Name, Ops: map[string]FigureRatio{}}
	for _, op := range den.Ops {
		if nop := num.Op(op.Op); nop != nil {
			r.Ops[op.Op] = compare(*nop, op)
		}
	}
	if num.GetAlone != nil && den.GetAlone != nil {
		g := compare(*num.GetAlone, *den.GetAlone)
		r.GetAlone = &g
	}
	r.CPUSeconds = ratio(num.CPUSeconds, den.CPUSeconds)
	r.CPUPerReq = ratio(num.CPUPerRequestMs, den.CPUPerRequestMs)
	r.PeakRSS = ratio(float64(num.PeakRSSBytes), float64(den.PeakRSSBytes))
	return r
}

func compare(a, b OpResult) FigureRatio {
	return FigureRatio{
		Throughput: ratio(a.ThroughputRPS, b.ThroughputRPS),
		P50:        ratio(a.Latency.P50, b.Latency.P50),
		P90:        ratio(a.Latency.P90, b.Latency.P90),
		P99:        ratio(a.Latency.P99, b.Latency.P99),
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// settingsOf records the options of a run.
func settingsOf(o Options, cpus int) Settings {
	s := Settings{
		Layouts: o.measured(), Target: o.Target, Baseline: o.Baseline, Clients: o.Clients, RateRPS: o.Rate,
		DurationSeconds: o.Duration.Seconds(), Requests: o.Requests, WarmupSeconds: o.Warmup.Seconds(),
		Products: o.Products, Stock: o.Stock, Mix: o.Mix.String(), Weights: map[string]int{},
		Declined: o.Declined, Env: o.Env, CPUs: cpus, Rounds: o.Rounds,
	}
	if o.Requests > 0 {
		s.DurationSeconds = 0
	}
	for _, rtt := range o.RTTs {
		s.RTTsMs = append(s.RTTsMs, float64(rtt)/float64(time.Millisecond))
	}
	for _, w := range o.Mix {
		s.Weights[string(w.Op)] = w.Weight
	}
	return s
}

// errorSummary is "code n, code n", most frequent first.
func errorSummary(byCode map[string]int64) string {
	codes := slices.Collect(maps.Keys(byCode))
	slices.SortFunc(codes, func(a, b string) int {
		return cmp.Or(cmp.Compare(byCode[b], byCode[a]), strings.Compare(a, b))
	})
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s %d", c, byCode[c])
	}
	return strings.Join(parts, ", ")
}

// pickRound is the report of several rounds: the first whose invariants
// broke, or else the median round, with every round's ratios beside it.
// One round is reported as it is.
func pickRound(rounds []*Report) *Report {
	if len(rounds) == 1 {
		return rounds[0]
	}
	i := slices.IndexFunc(rounds, func(r *Report) bool { return !r.Passed })
	if i < 0 {
		order := make([]int, len(rounds))
		for j := range order {
			order[j] = j
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rounds[a].key(), rounds[b].key()) })
		i = order[(len(order)-1)/2]
	}
	picked := *rounds[i]
	picked.StartedAt, picked.PickedRound = rounds[0].StartedAt, i+1
	for _, r := range rounds {
		picked.Rounds = append(picked.Rounds, Round{Ratios: r.Ratios, Passed: r.Passed})
	}
	return &picked
}

// key is what orders rounds: the first ratio's throughput on the mix, or
// on GET /v1/products/{id} alone when it ran no mix.
func (r *Report) key() float64 {
	if len(r.Ratios) == 0 {
		return 0
	}
	first := r.Ratios[0]
	if all, ok := first.Ops[OpAll]; ok {
		return all.Throughput
	}
	if first.GetAlone != nil {
		return first.GetAlone.Throughput
	}
	return 0
}
