package console

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	dto "github.com/prometheus/client_model/go"
)

// calls is the metrics of n calls from caller to callee, each lasting
// about d, as one process exports them; withInf adds the +Inf bucket a
// scrape's text carries and a registry's gather does not.
func calls(caller, callee, mode string, n uint64, d float64, withInf bool) []*dto.MetricFamily {
	labels := []*dto.LabelPair{{Name: proto.String("caller"), Value: proto.String(caller)},
		{Name: proto.String("callee"), Value: proto.String(callee)}, {Name: proto.String("mode"), Value: proto.String(mode)},
		{Name: proto.String("method"), Value: proto.String("Get")}}
	var buckets []*dto.Bucket
	for _, le := range []float64{0.001, 0.01, 0.1, 1} {
		c := uint64(0)
		if d <= le {
			c = n
		}
		buckets = append(buckets, &dto.Bucket{UpperBound: proto.Float64(le), CumulativeCount: proto.Uint64(c)})
	}
	if withInf {
		buckets = append(buckets, &dto.Bucket{UpperBound: proto.Float64(math.Inf(1)), CumulativeCount: proto.Uint64(n)})
	}
	ok := append(labels, &dto.LabelPair{Name: proto.String("outcome"), Value: proto.String("ok")})
	return []*dto.MetricFamily{
		{Name: proto.String(callsMetric), Metric: []*dto.Metric{{Label: ok, Counter: &dto.Counter{Value: proto.Float64(float64(n))}}}},
		{Name: proto.String(durationMetric), Metric: []*dto.Metric{{Label: labels,
			Histogram: &dto.Histogram{SampleCount: proto.Uint64(n), Bucket: buckets}}}},
	}
}

func TestEdgesOverTheWindow(t *testing.T) {
	var h history
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	first, over := h.add(tallies([][]*dto.MetricFamily{calls("payment", "inventory", "remote", 10, 0.005, true)}, t0))
	require.Zero(t, over, "the first look has no window")
	require.Len(t, first, 1)
	require.Equal(t, -1.0, first[0].Rate, "no rate yet")
	require.Equal(t, 10.0, first[0].Calls, "the totals so far")
	require.InDelta(t, 5.5, first[0].P50, 0.01, "within its bucket, 1 to 10 ms")

	// Ten seconds later, 50 more calls, from this process and another.
	later, over := h.add(tallies([][]*dto.MetricFamily{
		calls("payment", "inventory", "remote", 40, 0.005, false),
		calls("payment", "inventory", "remote", 20, 0.05, true),
	}, t0.Add(10*time.Second)))
	require.Equal(t, 10*time.Second, over)
	require.Equal(t, 50.0, later[0].Calls)
	require.InDelta(t, 5.0, later[0].Rate, 0.001, "50 calls in 10 s")
	require.Greater(t, later[0].P99, 10.0, "the slow ones are in the p99")
	require.Less(t, later[0].P99, 100.0, "and no further than their bucket")
}

func TestQuantile(t *testing.T) {
	b := map[float64]float64{0.001: 0, 0.01: 100, 0.1: 100, math.Inf(1): 100}
	require.InDelta(t, 0.0055, quantile(0.5, b), 1e-9)
	require.InDelta(t, 0.00991, quantile(0.99, b), 1e-9)
	require.Zero(t, quantile(0.5, map[float64]float64{}))
}

// A process that restarted counts from zero: its counts are taken as
// they are.
func TestRestartedProcess(t *testing.T) {
	var h history
	t0 := time.Now()
	h.add(tallies([][]*dto.MetricFamily{calls("a", "b", "local", 100, 0.005, false)}, t0))
	v, _ := h.add(tallies([][]*dto.MetricFamily{calls("a", "b", "local", 3, 0.005, false)}, t0.Add(5*time.Second)))
	require.Equal(t, 3.0, v[0].Calls)
}

func TestTraces(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	spans := []Span{
		{TraceID: "t1", SpanID: "a", Name: "POST /checkout", Process: "gateway", Start: t0, End: t0.Add(10 * time.Millisecond)},
		{TraceID: "t1", SpanID: "b", ParentID: "a", Name: "storefront → payment.Checkout", Mode: "remote", Start: t0.Add(2 * time.Millisecond), End: t0.Add(9 * time.Millisecond)},
		{TraceID: "t1", SpanID: "c", ParentID: "b", Name: "POST /v1/payments", Start: t0.Add(3 * time.Millisecond), End: t0.Add(8 * time.Millisecond)},
		// A trace whose root this process did not record: left out.
		{TraceID: "t2", SpanID: "x", ParentID: "elsewhere", Name: "inventory.reserve", Start: t0, End: t0.Add(time.Millisecond)},
		{TraceID: "t3", SpanID: "r", Name: "POST /v1/payments", Start: t0.Add(time.Second), End: t0.Add(time.Second + time.Millisecond)},
	}
	got := traces(spans, 10)
	require.Len(t, got, 2)
	require.Equal(t, "t3", got[0].TraceID, "newest first")
	tr := got[1]
	require.Equal(t, "10 ms", tr.Took)
	require.Equal(t, []int{0, 1, 2}, []int{tr.Rows[0].Depth, tr.Rows[1].Depth, tr.Rows[2].Depth})
	require.Equal(t, 20, tr.Rows[1].Offset)
	require.Equal(t, 70, tr.Rows[1].Width)
	require.Equal(t, "remote", tr.Rows[1].Mode)
	require.Len(t, traces(spans, 1), 1)
}

// TestDiagramDrawsCrossedCalls: an edge whose calls a client answered from
// memory is listed, not drawn; the calls of the same pair that crossed are.
func TestDiagramDrawsCrossedCalls(t *testing.T) {
	edges := []EdgeView{
		{Caller: "inventory", Callee: "catalogue", Mode: "remote", Rate: 2, P99: 3},
		{Caller: "inventory", Callee: "catalogue", Mode: modeCached, Rate: 50, P99: 0.1},
	}
	d := draw(nil, edges)
	require.Len(t, d.Arrows, 1)
	require.Equal(t, "remote", d.Arrows[0].Class)
}
