package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLayoutOf(t *testing.T) {
	split, err := layoutOf(Split)
	require.NoError(t, err)
	require.Equal(t, "gateway", split.Front)
	base, err := layoutOf(Baseline)
	require.NoError(t, err)
	require.Equal(t, []string{"bench", "baseline", "--addr", "{addr}"}, base.Procs[0].Args)
	_, err = layoutOf("mesh")
	require.ErrorContains(t, err, `no layout "mesh"`)
}

// Each started process gets its share of the cores, never less than one.
func TestCoresEach(t *testing.T) {
	for _, tc := range []struct{ cpus, procs, want int }{
		{2, 1, 2}, // the monolith: the whole machine
		{2, 4, 1}, // the split on two cores: one each
		{8, 4, 2},
		{16, 4, 4},
		{1, 4, 1},
	} {
		require.Equal(t, tc.want, coresEach(tc.cpus, tc.procs), "%d cores, %d processes", tc.cpus, tc.procs)
	}
}
