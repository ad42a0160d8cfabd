package bench

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the report for people: one table with a column per
// layout and per ratio, a block of rows per operation, then what each
// process cost, the errors by code and any broken invariant.
func (r *Report) WriteTable(w io.Writer) error {
	var buf bytes.Buffer
	r.writeHeader(&buf)
	t := newTable(r)
	t.header()
	for _, op := range r.opNames() {
		t.opRows(op)
	}
	if r.hasGetAlone() {
		t.getAloneRows()
	}
	if r.anyStarted() {
		t.resourceRows()
	}
	if r.anyInvariants() {
		t.invariantRows()
	}
	t.flush(&buf)
	r.writeNotes(&buf)
	_, err := w.Write(trimLines(buf.Bytes()))
	return err
}

func (r *Report) writeHeader(w io.Writer) {
	s := r.Settings
	load := fmt.Sprintf("closed loop, %d clients", s.Clients)
	if s.RateRPS > 0 {
		load = fmt.Sprintf("open loop at %g req/s, at most %d in flight", s.RateRPS, s.Clients)
	}
	span := fmt.Sprintf("%gs measured", s.DurationSeconds)
	if s.Requests > 0 {
		span = fmt.Sprintf("%d requests measured", s.Requests)
	}
	fmt.Fprintf(w, "bazaar bench: %s; %s after a %gs warm-up; %d CPUs\n", load, span, s.WarmupSeconds, s.CPUs)
	fmt.Fprintf(w, "mix %s, %g%% of checkouts with a declining card\n", s.Mix, s.Declined*100)
	fmt.Fprintf(w, "%d products of %d units each\n", s.Products, s.Stock)
	fmt.Fprintln(w, "latency in ms; req/s counts answers that are not errors")
	if len(s.RTTsMs) > 0 {
		fmt.Fprintln(w, "split@<t>: the split with a round trip of t added to every call between its processes (Toxiproxy)")
	}
	fmt.Fprintln(w)
}

// opNames are the operations of the mix, then "all", as the layouts have them.
func (r *Report) opNames() []string {
	for _, l := range r.Layouts {
		if len(l.Ops) > 0 {
			names := make([]string, len(l.Ops))
			for i, op := range l.Ops {
				names[i] = op.Op
			}
			return names
		}
	}
	return nil
}

func (r *Report) hasGetAlone() bool {
	for _, l := range r.Layouts {
		if l.GetAlone != nil {
			return true
		}
	}
	return false
}

func (r *Report) anyStarted() bool {
	for _, l := range r.Layouts {
		if l.Started {
			return true
		}
	}
	return false
}

func (r *Report) anyInvariants() bool {
	for _, l := range r.Layouts {
		if len(l.Invariants) > 0 {
			return true
		}
	}
	return false
}

// table lays out rows of a label (group and figure) and one cell per
// layout and per ratio, right-aligned.
type table struct {
	r    *Report
	rows [][]string // nil is a blank row
}

func newTable(r *Report) *table { return &table{r: r} }

// row adds a row: cell gives each layout's cell, ratioCell each ratio's.
func (t *table) row(group, figure string, cell func(*LayoutResult) string, ratioCell func(*Ratio) string) {
	cells := []string{group, figure}
	for i := range t.r.Layouts {
		cells = append(cells, cell(&t.r.Layouts[i]))
	}
	for i := range t.r.Ratios {
		c := ""
		if ratioCell != nil {
			c = ratioCell(&t.r.Ratios[i])
		}
		cells = append(cells, c)
	}
	t.rows = append(t.rows, cells)
}

func (t *table) blank() { t.rows = append(t.rows, nil) }

func (t *table) header() {
	cells := []string{"", ""}
	for _, l := range t.r.Layouts {
		cells = append(cells, l.Name)
	}
	for _, r := range t.r.Ratios {
		cells = append(cells, r.Name)
	}
	t.rows = append(t.rows, cells)
}

// flush writes the rows: labels left-aligned to one width, so that
// tabwriter's right alignment leaves them be, cells right-aligned.
func (t *table) flush(w io.Writer) {
	groupW, figW := 0, 0
	for _, r := range t.rows {
		if r != nil {
			groupW, figW = max(groupW, len(r[0])), max(figW, len(r[1]))
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 0, ' ', tabwriter.AlignRight)
	ncells := 2 + len(t.r.Layouts) + len(t.r.Ratios)
	for _, r := range t.rows {
		if r == nil {
			fmt.Fprint(tw, strings.Repeat("\t", ncells-1)+"\n") // keeps the columns of all blocks aligned
			continue
		}
		fmt.Fprintf(tw, "%-*s %-*s\t", groupW, r[0], figW, r[1])
		for _, c := range r[2:] {
			fmt.Fprintf(tw, "  %s\t", c)
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush() // to a buffer
}

func (t *table) opRows(op string) {
	get := func(l *LayoutResult) *OpResult { return l.Op(op) }
	ratio := func(r *Ratio) *FigureRatio {
		if fr, ok := r.Ops[op]; ok {
			return &fr
		}
		return nil
	}
	t.figureRows(op, get, ratio)
	if op == string(OpCheckout) {
		t.row("", "declined", countCell(get, outcomeDeclined), nil)
		if t.r.anyOutcome(op, outcomeOutOfStock) {
			t.row("", "out of stock", countCell(get, outcomeOutOfStock), nil)
		}
	}
	t.blank()
}

func (t *table) getAloneRows() {
	get := func(l *LayoutResult) *OpResult { return l.GetAlone }
	t.figureRows("get alone", get, func(r *Ratio) *FigureRatio { return r.GetAlone })
	t.blank()
}

// figureRows are the rows every operation has: throughput, latency
// percentiles, errors.
func (t *table) figureRows(group string, get func(*LayoutResult) *OpResult, ratio func(*Ratio) *FigureRatio) {
	opCell := func(f func(*OpResult) string) func(*LayoutResult) string {
		return func(l *LayoutResult) string {
			if op := get(l); op != nil {
				return f(op)
			}
			return "-"
		}
	}
	ratioCell := func(f func(*FigureRatio) float64) func(*Ratio) string {
		return func(r *Ratio) string {
			if fr := ratio(r); fr != nil {
				return times(f(fr))
			}
			return ""
		}
	}
	t.row(group, "req/s", opCell(func(o *OpResult) string { return fmt.Sprintf("%.1f", o.ThroughputRPS) }),
		ratioCell(func(f *FigureRatio) float64 { return f.Throughput }))
	t.row("", "p50", opCell(func(o *OpResult) string { return ms(o.Latency.P50) }),
		ratioCell(func(f *FigureRatio) float64 { return f.P50 }))
	t.row("", "p90", opCell(func(o *OpResult) string { return ms(o.Latency.P90) }),
		ratioCell(func(f *FigureRatio) float64 { return f.P90 }))
	t.row("", "p99", opCell(func(o *OpResult) string { return ms(o.Latency.P99) }),
		ratioCell(func(f *FigureRatio) float64 { return f.P99 }))
	t.row("", "errors", opCell(errorsCell), nil)
	if t.r.anyRTT() {
		t.row("", "+p50 per RTT ms", func(*LayoutResult) string { return "" }, func(r *Ratio) string {
			if fr := ratio(r); fr != nil && fr.P50AddedPerRTT != 0 {
				return fmt.Sprintf("%.2f", fr.P50AddedPerRTT)
			}
			return ""
		})
	}
}

// anyRTT reports whether a split ran over a network.
func (r *Report) anyRTT() bool { return len(r.Settings.RTTsMs) > 0 }

func countCell(get func(*LayoutResult) *OpResult, outcome string) func(*LayoutResult) string {
	return func(l *LayoutResult) string {
		if op := get(l); op != nil {
			return fmt.Sprint(op.Outcomes[outcome])
		}
		return "-"
	}
}

func (r *Report) anyOutcome(op, outcome string) bool {
	for _, l := range r.Layouts {
		if o := l.Op(op); o != nil && o.Outcomes[outcome] > 0 {
			return true
		}
	}
	return false
}

func errorsCell(o *OpResult) string {
	if o.Errors == 0 || o.Requests == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%.1f%%)", o.Errors, 100*float64(o.Errors)/float64(o.Requests))
}

func (t *table) resourceRows() {
	started := func(f func(*LayoutResult) string) func(*LayoutResult) string {
		return func(l *LayoutResult) string {
			if !l.Started || len(l.Processes) == 0 {
				return "-"
			}
			return f(l)
		}
	}
	// Only split/monolith compares resources: the baseline's were spent
	// on another load.
	ratio := func(f func(*Ratio) float64) func(*Ratio) string {
		return func(r *Ratio) string {
			if r.Denominator == Baseline {
				return ""
			}
			return times(f(r))
		}
	}
	t.row("resources", "cpu s", started(func(l *LayoutResult) string { return fmt.Sprintf("%.2f", l.CPUSeconds) }),
		ratio(func(r *Ratio) float64 { return r.CPUSeconds }))
	t.row("", "cpu ms/req", started(func(l *LayoutResult) string { return fmt.Sprintf("%.3f", l.CPUPerRequestMs) }),
		ratio(func(r *Ratio) float64 { return r.CPUPerReq }))
	t.row("", "peak RSS MiB", started(func(l *LayoutResult) string { return mib(l.PeakRSSBytes) }),
		ratio(func(r *Ratio) float64 { return r.PeakRSS }))
	t.blank()
}

func (t *table) invariantRows() {
	names := InvariantNames
	if slices.ContainsFunc(t.r.Layouts, func(l LayoutResult) bool { return l.Soak != nil }) {
		names = append(slices.Clip(names), InvariantMemoryFlat)
	}
	for i, name := range names {
		group := ""
		if i == 0 {
			group = "invariants"
		}
		t.row(group, name, func(l *LayoutResult) string {
			for _, inv := range l.Invariants {
				if inv.Name == name {
					if inv.Passed {
						return "ok"
					}
					return "FAILED"
				}
			}
			return "-"
		}, nil)
	}
}

// writeNotes follows the table: the baseline verdict, each process's
// cost, the errors by code and what broke.
func (r *Report) writeNotes(w io.Writer) {
	for _, ra := range r.Ratios {
		switch {
		case ra.GetAlone == nil:
		case ra.Numerator == BareHop:
			fmt.Fprintf(w, "\nGET /v1/products/{id} alone, one hop: a bare gin handler behind a bare hop reaches %s\n"+
				"its throughput alone, the least a hop between processes costs here", times(ra.GetAlone.Throughput))
			if split := r.Ratio(Split, Monolith); split != nil && split.GetAlone != nil {
				fmt.Fprintf(w, "; the split reaches %s the\nmonolith's, its gateway answering the read from a cache of its own unless\ncatalogue.edge_cache is off", times(split.GetAlone.Throughput))
			}
			fmt.Fprintln(w)
		case ra.Denominator == Baseline:
			fmt.Fprintf(w, "\nGET /v1/products/{id} alone: %s reaches %s the throughput of a bare gin handler\n"+
				"(the goal: ≥ 0.8×)\n", ra.Numerator, times(ra.GetAlone.Throughput))
		}
	}
	r.writeRounds(w)
	r.writeProcesses(w)
	r.writeSoak(w)
	r.writeErrors(w)
	for _, l := range r.Layouts {
		for _, inv := range l.Failed() {
			fmt.Fprintf(w, "\nINVARIANT BROKEN: %s %s: %s\n", l.Name, inv.Name, inv.Detail)
		}
	}
}

func (r *Report) writeProcesses(w io.Writer) {
	if !r.anyStarted() {
		return
	}
	fmt.Fprintln(w, "\nprocesses: CPU in the measured window (share of one core), peak RSS")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range r.Layouts {
		for _, p := range l.Processes {
			share := ""
			if p.Source == "proc" && l.WindowSeconds > 0 {
				share = fmt.Sprintf("(%.0f%%)", 100*p.CPUSeconds/l.WindowSeconds)
			} else if p.Source != "proc" {
				share = "(whole life: no /proc)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%.2f s\t%s\t%s MiB\n", l.Name, p.Name, p.CPUSeconds, share, mib(p.PeakRSSBytes))
		}
	}
	_ = tw.Flush()
}

func (r *Report) writeErrors(w io.Writer) {
	var lines []string
	rateLimited := false
	for _, l := range r.Layouts {
		ops := append([]OpResult{}, l.Ops...)
		if l.GetAlone != nil {
			alone := *l.GetAlone
			alone.Op = "get alone"
			ops = append(ops, alone)
		}
		for _, op := range ops {
			rateLimited = rateLimited || op.ErrorsByCode["rate_limited"] > 0
			if op.Errors > 0 && op.Op != OpAll {
				lines = append(lines, fmt.Sprintf("  %s %s: %s", l.Name, op.Op, errorSummary(op.ErrorsByCode)))
			}
		}
	}
	if len(lines) > 0 {
		fmt.Fprintf(w, "\nerrors by code:\n%s\n", strings.Join(lines, "\n"))
	}
	if rateLimited {
		fmt.Fprintln(w, "rate_limited: the layout limits each API key (rate_limit.rps), and the bench sends every\n"+
			"request with one; start it with BAZAAR_RATE_LIMIT_RPS=0 to measure it rather than its limit")
	}
}

func ms(v float64) string { return fmt.Sprintf("%.2f", v) }

func mib(b uint64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// times is a ratio as "0.49×"; an undefined one is "-".
func times(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", v)
}

// trimLines drops the spaces tabwriter leaves at the end of lines.
func trimLines(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimRight(l, " ")
	}
	return bytes.Join(lines, []byte("\n"))
}

// writeSoak says, per layout that soaked, how each process's memory went
// and what the disk and the logs took.
func (r *Report) writeSoak(w io.Writer) {
	for _, l := range r.Layouts {
		if l.Soak == nil {
			continue
		}
		fmt.Fprintf(w, "\nsoak, %s: memory growth after the first %.0f s of the window, disk and logs\n", l.Name, l.Soak.SettledAfterSeconds)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, p := range l.Soak.Processes {
			first, last := MemorySample{}, MemorySample{}
			if n := len(p.Samples); n > 0 {
				first, last = p.Samples[0], p.Samples[n-1]
			}
			fmt.Fprintf(tw, "  %s\tRSS %s → %s MiB\t%+.4f MiB/s\theap %+.4f MiB/s\tdisk %+.1f MiB\tlogs %.1f KiB\n", p.Name,
				mib(first.RSSBytes), mib(last.RSSBytes), p.RSSSlopeMiBPerS, p.HeapSlopeMiBPerS,
				float64(p.DiskGrowthBytes)/(1<<20), float64(p.LogBytes)/1024)
		}
		_ = tw.Flush() // to a buffer
		fmt.Fprintf(w, "  %.0f bytes on disk per 1,000 checkouts; %.1f log bytes per request\n",
			l.Soak.DiskBytesPer1000Checkouts, l.Soak.LogBytesPerRequest)
	}
}

// writeRounds shows, after several rounds, each ratio as every round
// measured it.
func (r *Report) writeRounds(w io.Writer) {
	if len(r.Rounds) < 2 {
		return
	}
	which := "the median by the first ratio's throughput"
	if !r.Passed {
		which = "the first where an invariant broke"
	}
	fmt.Fprintf(w, "\n%d rounds; the table is round %d, %s\n", len(r.Rounds), r.PickedRound, which)
	for _, ra := range r.Ratios {
		var mix, p50, alone []string
		for _, round := range r.Rounds {
			i := slices.IndexFunc(round.Ratios, func(x Ratio) bool { return x.Name == ra.Name })
			if i < 0 {
				continue
			}
			if all, ok := round.Ratios[i].Ops[OpAll]; ok {
				mix, p50 = append(mix, times(all.Throughput)), append(p50, times(all.P50))
			}
			if g := round.Ratios[i].GetAlone; g != nil {
				alone = append(alone, times(g.Throughput))
			}
		}
		line := "  " + ra.Name
		if len(mix) > 0 {
			line += ": mix " + strings.Join(mix, " ") + ", its median " + strings.Join(p50, " ")
		}
		if len(alone) > 0 {
			sep := ":"
			if len(mix) > 0 {
				sep = ";"
			}
			line += sep + " get alone " + strings.Join(alone, " ")
		}
		fmt.Fprintln(w, line)
	}
}
