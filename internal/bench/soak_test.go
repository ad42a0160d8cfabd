package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSlope: the growth is fitted over the samples after the settling
// time only, in MiB per second.
func TestSlope(t *testing.T) {
	var samples []MemorySample
	for s := 0; s <= 100; s += 5 {
		rss := uint64(100 << 20)
		if s < 25 {
			rss = uint64(s) << 20 // climbing while it settles: left out
		}
		samples = append(samples, MemorySample{Seconds: float64(s), RSSBytes: rss + uint64(s)<<16})
	}
	got := slope(samples, 25, func(m MemorySample) uint64 { return m.RSSBytes })
	require.InDelta(t, 1.0/16, got, 1e-9, "64 KiB a second is 1/16 MiB/s")
	require.Zero(t, slope(samples[:1], 0, func(m MemorySample) uint64 { return m.RSSBytes }), "one sample has no slope")
}

// TestSoakCheck: memory_flat fails on the process whose memory climbs.
func TestSoakCheck(t *testing.T) {
	r := &SoakResult{MaxSlopeMiBPerS: 0.05, Processes: []SoakProcess{{Name: "gateway", RSSSlopeMiBPerS: 0.01}, {Name: "payment", RSSSlopeMiBPerS: 0.6}}}
	inv := r.Check()
	require.Equal(t, InvariantMemoryFlat, inv.Name)
	require.False(t, inv.Passed)
	require.Contains(t, inv.Detail, "payment")
	r.Processes[1].RSSSlopeMiBPerS = -0.2
	require.True(t, r.Check().Passed, "memory given back is no leak")
}
