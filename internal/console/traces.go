package console

import (
	"fmt"
	"sort"
	"time"

	"github.com/bazaar-shop/bazaar/internal/tracing"
)

// Span is one timed step of a trace, as a process recorded it.
type Span = tracing.Span

// traceView is one checkout, its spans as a waterfall.
type traceView struct {
	TraceID string
	Start   time.Time
	Took    string
	Rows    []spanRow
}

type spanRow struct {
	Name, Process, Mode, Took string
	Depth                     int
	// Offset and Width place the bar, in per cent of the trace.
	Offset, Width int
	Failed        bool
}

// traces groups spans into their traces, newest first, at most n: only
// whole ones, whose root (the request as the edge saw it) was recorded.
func traces(spans []Span, n int) []traceView {
	byTrace := map[string][]Span{}
	for _, s := range spans {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	var out []traceView
	for id, ss := range byTrace {
		ids := map[string]bool{}
		for _, s := range ss {
			ids[s.SpanID] = true
		}
		var root *Span
		children := map[string][]Span{}
		for i, s := range ss {
			if s.ParentID == "" || !ids[s.ParentID] {
				if root == nil || s.Start.Before(root.Start) {
					root = &ss[i]
				}
				continue
			}
			children[s.ParentID] = append(children[s.ParentID], s)
		}
		if root == nil || root.ParentID != "" {
			continue // the request's own span is not here (yet)
		}
		total := root.End.Sub(root.Start)
		if total <= 0 {
			total = time.Microsecond
		}
		tv := traceView{TraceID: id, Start: root.Start, Took: took(total)}
		var walk func(s Span, depth int)
		walk = func(s Span, depth int) {
			offset := int(100 * s.Start.Sub(root.Start) / total)
			width := max(1, int(100*s.End.Sub(s.Start)/total))
			tv.Rows = append(tv.Rows, spanRow{Name: s.Name, Process: s.Process, Mode: s.Mode, Took: took(s.End.Sub(s.Start)),
				Depth: depth, Offset: min(max(offset, 0), 99), Width: min(width, 100-min(max(offset, 0), 99)), Failed: s.Failed})
			kids := children[s.SpanID]
			sort.Slice(kids, func(i, j int) bool { return kids[i].Start.Before(kids[j].Start) })
			for _, k := range kids {
				walk(k, depth+1)
			}
		}
		walk(*root, 0)
		out = append(out, tv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out[:min(n, len(out))]
}

func took(d time.Duration) string {
	ms := float64(d.Microseconds()) / 1000
	if ms < 10 {
		return fmt.Sprintf("%.2f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}
