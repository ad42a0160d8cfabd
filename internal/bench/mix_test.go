package bench

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMix(t *testing.T) {
	m, err := ParseMix(DefaultMix)
	require.NoError(t, err)
	require.Equal(t, Mix{{OpList, 10}, {OpGet, 5}, {OpStock, 3}, {OpCheckout, 1}}, m)
	require.Equal(t, DefaultMix, m.String())

	m, err = ParseMix(" checkout = 2 , get=0 ,")
	require.NoError(t, err)
	require.Equal(t, []Op{OpCheckout}, m.Active(), "a zero weight is left out of the load")
	require.False(t, m.Has(OpGet))
	require.False(t, m.Has(OpList), "an op not named has weight 0")

	for _, tc := range []struct{ in, want string }{
		{"list=10,browse=2", `unknown op "browse"`},
		{"list=1,list=2", "list is given twice"},
		{"list=-1,get=1", "at least 0"},
		{"list=lots", "whole number"},
		{"list", "want op=weight"},
		{"list=0,get=0", "at least one op needs a weight above 0"},
		{"", "at least one op needs a weight above 0"},
	} {
		_, err := ParseMix(tc.in)
		require.ErrorContains(t, err, tc.want, tc.in)
	}
}

// TestMixPick: each op is picked in proportion to its weight, and an op
// of weight 0 never.
func TestMixPick(t *testing.T) {
	m, err := ParseMix("list=10,get=5,stock=0,checkout=1")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[Op]int{}
	const n = 160_000
	for range n {
		counts[m.Pick(rng)]++
	}
	require.Zero(t, counts[OpStock])
	require.InDelta(t, n*10/16, counts[OpList], n*0.01)
	require.InDelta(t, n*5/16, counts[OpGet], n*0.01)
	require.InDelta(t, n*1/16, counts[OpCheckout], n*0.01)
}
