package bench

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLayoutSpecs(t *testing.T) {
	n := 0
	addr := func() (string, error) { n++; return fmt.Sprintf("127.0.0.1:%d", 9000+n), nil }

	mono, err := layoutSpecs(Monolith, addr)
	require.NoError(t, err)
	require.Len(t, mono, 1)
	require.Equal(t, []string{"serve"}, mono[0].args)
	require.Empty(t, mono[0].env, "the monolith hosts every module: no URLs")

	n = 0
	split, err := layoutSpecs(Split, addr)
	require.NoError(t, err)
	names := []string{}
	for _, s := range split {
		names = append(names, s.name)
	}
	require.Equal(t, []string{"webhooks", "catalogue", "inventory", "payment", "gateway"}, names, "a module starts after those it calls, the front last")
	hooks := "BAZAAR_MODULES_WEBHOOKS_URL=http://127.0.0.1:9001"
	require.Equal(t, []string{"BAZAAR_SERVE=webhooks"}, split[0].env)
	require.Equal(t, []string{"BAZAAR_SERVE=catalogue", hooks}, split[1].env)
	require.Equal(t, []string{"BAZAAR_SERVE=inventory", "BAZAAR_MODULES_CATALOGUE_URL=http://127.0.0.1:9002", hooks}, split[2].env)
	require.Equal(t, []string{"BAZAAR_SERVE=none", "BAZAAR_MODULES_CATALOGUE_URL=http://127.0.0.1:9002",
		"BAZAAR_MODULES_INVENTORY_URL=http://127.0.0.1:9003", "BAZAAR_MODULES_PAYMENT_URL=http://127.0.0.1:9004", hooks}, split[4].env)
	require.Equal(t, "127.0.0.1:9005", split[4].addr)

	base, err := layoutSpecs(Baseline, addr)
	require.NoError(t, err)
	require.Equal(t, []string{"bench", "baseline", "--addr", base[0].addr}, base[0].args)

	_, err = layoutSpecs("mesh", addr)
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
