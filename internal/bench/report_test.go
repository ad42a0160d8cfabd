package bench

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// measured is a measurement of a 2-second window with the given latencies
// (in ms) of answered requests per op.
func measured(t *testing.T, latencies map[Op][]int64, errors map[Op]map[string]int64) *measurement {
	t.Helper()
	start := time.Unix(1000, 0)
	m := &measurement{start: start, end: start.Add(2 * time.Second), ops: map[Op]*opRecord{}}
	for op, ls := range latencies {
		rec := newOpRecord()
		for _, ms := range ls {
			require.NoError(t, rec.hist.RecordValue(ms*1000))
			rec.outcomes[outcomeOK]++
		}
		for code, n := range errors[op] {
			rec.errors[code] += n
		}
		m.ops[op] = rec
	}
	return m
}

func TestSummarize(t *testing.T) {
	var gets []int64
	for i := int64(1); i <= 100; i++ {
		gets = append(gets, i) // 1..100 ms
	}
	m := measured(t, map[Op][]int64{OpGet: gets, OpCheckout: {200, 200}}, map[Op]map[string]int64{OpCheckout: {"timeout": 1, "http_500": 2}})
	ops := summarize(m, []Op{OpGet, OpCheckout})
	require.Len(t, ops, 3)
	get, checkout, all := ops[0], ops[1], ops[2]

	require.Equal(t, "get", get.Op)
	require.Equal(t, int64(100), get.Requests)
	require.InDelta(t, 50, get.ThroughputRPS, 1e-9, "100 answers in 2s")
	require.InDelta(t, 50, get.Latency.P50, 0.1)
	require.InDelta(t, 90, get.Latency.P90, 0.1)
	require.InDelta(t, 99, get.Latency.P99, 0.1)
	require.InDelta(t, 100, get.Latency.Max, 0.1)

	require.Equal(t, int64(5), checkout.Requests, "2 answered + 3 errors")
	require.Equal(t, int64(3), checkout.Errors)
	require.Equal(t, map[string]int64{"timeout": 1, "http_500": 2}, checkout.ErrorsByCode)
	require.InDelta(t, 1, checkout.ThroughputRPS, 1e-9, "errors are not throughput")

	require.Equal(t, OpAll, all.Op)
	require.Equal(t, int64(105), all.Requests)
	require.InDelta(t, 51, all.ThroughputRPS, 1e-9)
	require.InDelta(t, 200, all.Latency.P99, 0.2, "the checkouts' latencies are in all")
	require.Equal(t, int64(3), all.Errors)

	require.Len(t, summarize(m, []Op{OpGet}), 1, "one op needs no all")
}

func layoutWith(name string, rps, p50 float64, cpu float64, rss uint64) LayoutResult {
	op := func(name string) OpResult {
		return OpResult{Op: name, Requests: int64(rps) * 10, ThroughputRPS: rps, Latency: Latency{P50: p50, P90: 2 * p50, P99: 4 * p50}}
	}
	return LayoutResult{Name: name, Started: true, WindowSeconds: 10, Ops: []OpResult{op("get"), op("checkout"), op(OpAll)},
		Processes: []ProcessStats{{Name: "p", CPUSeconds: cpu, PeakRSSBytes: rss, Source: "proc"}}}
}

func TestRatios(t *testing.T) {
	mono := layoutWith(Monolith, 1000, 2, 4, 100<<20)
	split := layoutWith(Split, 400, 5, 6, 300<<20)
	mono.setProcesses(mono.Processes)
	split.setProcesses(split.Processes)
	rs := ratios([]LayoutResult{mono, split})
	require.Len(t, rs, 1)
	r := rs[0]
	require.Equal(t, "split/monolith", r.Name)
	require.InDelta(t, 0.4, r.Ops["get"].Throughput, 1e-9)
	require.InDelta(t, 2.5, r.Ops["checkout"].P50, 1e-9)
	require.InDelta(t, 2.5, r.Ops[OpAll].P99, 1e-9)
	require.InDelta(t, 1.5, r.CPUSeconds, 1e-9)
	require.InDelta(t, 3.0, r.PeakRSS, 1e-9)
	require.InDelta(t, 1.5/0.4, r.CPUPerReq, 1e-9, "CPU per request: 1.5× the CPU for 0.4× the requests")
	require.Nil(t, r.GetAlone, "no get-alone pass without --baseline")

	base := LayoutResult{Name: Baseline, GetAlone: &OpResult{Op: "get", ThroughputRPS: 10000, Latency: Latency{P50: 0.5}}}
	mono.GetAlone = &OpResult{Op: "get", ThroughputRPS: 6500, Latency: Latency{P50: 1}}
	split.GetAlone = &OpResult{Op: "get", ThroughputRPS: 3250, Latency: Latency{P50: 2}}
	rs = ratios([]LayoutResult{base, mono, split})
	require.Len(t, rs, 2)
	require.InDelta(t, 0.5, rs[0].GetAlone.Throughput, 1e-9, "split/monolith, get alone")
	require.Equal(t, "monolith/baseline", rs[1].Name)
	require.InDelta(t, 0.65, rs[1].GetAlone.Throughput, 1e-9)
	require.InDelta(t, 2, rs[1].GetAlone.P50, 1e-9)
	require.Empty(t, rs[1].Ops, "the baseline ran no mix")

	// The bare hop is compared with the bare handler, like a layout.
	hop := LayoutResult{Name: BareHop, GetAlone: &OpResult{Op: "get", ThroughputRPS: 4000, Latency: Latency{P50: 1.5}}}
	rs = ratios([]LayoutResult{base, hop, mono, split})
	require.Equal(t, []string{"split/monolith", "bare-hop/baseline", "monolith/baseline"}, []string{rs[0].Name, rs[1].Name, rs[2].Name})
	require.InDelta(t, 0.4, rs[1].GetAlone.Throughput, 1e-9)
	var notes bytes.Buffer
	(&Report{Ratios: rs}).writeNotes(&notes)
	require.Contains(t, notes.String(), "a bare gin handler behind a bare hop reaches 0.40×")
	require.Contains(t, notes.String(), "the split reaches 0.50× the\nmonolith's, its gateway answering")
	require.Contains(t, notes.String(), "monolith reaches 0.65× the throughput of a bare gin handler")

	// A split over a network is compared with the split on loopback.
	slow := layoutWith(SplitAt(2*time.Millisecond), 300, 11, 12, 300<<20)
	rs = ratios([]LayoutResult{mono, split, slow})
	require.Len(t, rs, 2)
	require.Equal(t, "split@2ms/split", rs[1].Name)
	require.InDelta(t, 0.75, rs[1].Ops["get"].Throughput, 1e-9)
	require.InDelta(t, 3, rs[1].Ops["checkout"].P50AddedPerRTT, 1e-9, "the median gained 6ms over 2ms of round trip")
	require.Zero(t, rs[0].Ops["checkout"].P50AddedPerRTT, "only a split over a network has it")
	rs = ratios([]LayoutResult{mono, slow})
	require.Equal(t, "split@2ms/monolith", rs[0].Name, "without the split on loopback, the monolith")
	require.Zero(t, rs[0].Ops["checkout"].P50AddedPerRTT)
	proxied := layoutWith(SplitAt(0), 350, 7, 12, 300<<20)
	rs = ratios([]LayoutResult{mono, split, proxied, slow})
	require.Equal(t, []string{"split/monolith", "split@0ms/split", "split@2ms/split@0ms"},
		[]string{rs[0].Name, rs[1].Name, rs[2].Name}, "the proxies' cost parted from the round trip's")
	require.Zero(t, rs[1].Ops["checkout"].P50AddedPerRTT, "no round trip added")
	require.InDelta(t, 2, rs[2].Ops["checkout"].P50AddedPerRTT, 1e-9, "4ms more than through the proxies alone, over 2ms")

	require.Empty(t, ratios([]LayoutResult{mono}), "nothing to compare")
	require.Zero(t, ratio(1, 0), "undefined is 0, not Inf")
}

func TestTable(t *testing.T) {
	base := LayoutResult{Name: Baseline, Started: true, GetAlone: &OpResult{Op: "get", ThroughputRPS: 10000, Requests: 100000, Latency: Latency{P50: 0.5}},
		Processes: []ProcessStats{{Name: "baseline", CPUSeconds: 1, Source: "proc"}}}
	mono := layoutWith(Monolith, 1000, 2, 4, 100<<20)
	split := layoutWith(Split, 500, 5, 6, 300<<20)
	split.Ops[1].Errors, split.Ops[1].Requests, split.Ops[1].ErrorsByCode = 5, 5005, map[string]int64{"timeout": 2, "dependency_unavailable": 3}
	mono.Invariants = kept().Check()
	broken := kept()
	broken.Reserved["prod_a"] = 1
	split.Invariants = broken.Check()
	mono.GetAlone = &OpResult{Op: "get", ThroughputRPS: 6500}
	layouts := []LayoutResult{base, mono, split}
	for i := range layouts {
		layouts[i].setProcesses(layouts[i].Processes)
	}
	r := &Report{Settings: settingsOf(Defaults(), 2), Layouts: layouts, Ratios: ratios(layouts)}

	var out bytes.Buffer
	require.NoError(t, r.WriteTable(&out))
	text := out.String()
	lines := strings.Split(text, "\n")
	for _, l := range lines {
		require.LessOrEqual(t, len([]rune(l)), 100, "fits in 100 columns: %q", l)
		require.Equal(t, strings.TrimRight(l, " "), l, "no trailing spaces")
	}
	require.Regexp(t, `\s+baseline\s+monolith\s+split\s+split/monolith\s+monolith/baseline\n`, text)
	require.Regexp(t, `get\s+req/s\s+-\s+1000\.0\s+500\.0\s+0\.50×\n`, text, "the baseline ran no mix")
	require.Regexp(t, `checkout\s+req/s.*\n(.*\n){3}\s+errors\s+-\s+0\s+5 \(0\.1%\)\n`, text)
	require.Regexp(t, `get alone\s+req/s\s+10000\.0\s+6500\.0\s+-\s+0\.65×\n`, text)
	require.Regexp(t, `resources\s+cpu s\s+1\.00\s+4\.00\s+6\.00\s+1\.50×\n`, text)
	require.Regexp(t, `nothing_reserved\s+-\s+ok\s+FAILED\n`, text)
	require.Contains(t, text, "monolith reaches 0.65× the throughput of a bare gin handler")
	require.Contains(t, text, "split checkout: dependency_unavailable 3, timeout 2")
	require.Contains(t, text, "INVARIANT BROKEN: split nothing_reserved: 1 products: prod_a: 1 reserved")

	// Columns line up: every cell of a column ends at the same place.
	header := lines[slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "split/monolith") })]
	at := strings.Index(header, "split/monolith") + len("split/monolith")
	for _, l := range lines {
		if strings.Contains(l, "×") && strings.Contains(l, "req/s") && !strings.Contains(l, "get alone") {
			require.Equal(t, at, len([]rune(l)), "ratio column aligned: %q", l)
		}
	}
}

// TestPickRound: of several rounds the report is the median one by the
// first ratio's throughput on the mix, or the first whose invariants broke,
// and every round's ratios are shown beside it.
func TestPickRound(t *testing.T) {
	round := func(throughput, p50 float64, passed bool) *Report {
		return &Report{StartedAt: time.Unix(int64(throughput*100), 0), Passed: passed, Ratios: []Ratio{{
			Name: "split/monolith", Ops: map[string]FigureRatio{OpAll: {Throughput: throughput, P50: p50}}}}}
	}
	one := round(0.5, 2, true)
	require.Same(t, one, pickRound([]*Report{one}), "one round is reported as it is")

	r := pickRound([]*Report{round(0.61, 1.4, true), round(0.55, 1.6, true), round(0.58, 1.3, true)})
	require.Equal(t, 3, r.PickedRound)
	require.InDelta(t, 0.58, r.Ratios[0].Ops[OpAll].Throughput, 1e-9)
	require.Equal(t, time.Unix(61, 0), r.StartedAt, "the run started with the first round")
	require.True(t, r.Passed)
	var notes bytes.Buffer
	r.writeRounds(&notes)
	require.Equal(t, "\n3 rounds; the table is round 3, the median by the first ratio's throughput\n"+
		"  split/monolith: mix 0.61× 0.55× 0.58×, its median 1.40× 1.60× 1.30×\n", notes.String())

	r = pickRound([]*Report{round(0.61, 1.4, true), round(0.55, 1.6, false), round(0.58, 1.3, false)})
	require.Equal(t, 2, r.PickedRound, "the first round that broke an invariant")
	require.False(t, r.Passed)
	require.Len(t, r.Rounds, 3)
	require.True(t, r.Rounds[0].Passed)
	require.False(t, r.Rounds[1].Passed)
}
