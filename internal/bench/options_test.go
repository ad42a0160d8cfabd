package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultsAreValid(t *testing.T) {
	require.NoError(t, Defaults().Validate())
	o := Defaults()
	o.Layouts, o.Target, o.AdminKey = nil, "http://localhost:8080", "bzr_x"
	require.NoError(t, o.Validate())
}

func TestValidateNamesTheFlag(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(*Options)
		want   string
	}{
		"unknown layout":         {func(o *Options) { o.Layouts = []string{"monolith", "mesh"} }, `--layouts: unknown layout "mesh"`},
		"layout twice":           {func(o *Options) { o.Layouts = []string{"split", "split"} }, "--layouts: split is given twice"},
		"no layout":              {func(o *Options) { o.Layouts = nil }, "--layouts: name at least one"},
		"admin key, no target":   {func(o *Options) { o.AdminKey = "bzr_x" }, "--admin-key is the key of a --target"},
		"target and layouts":     {func(o *Options) { o.Target, o.AdminKey = "http://x:1", "k" }, "--target and --layouts exclude each other"},
		"target not a URL":       {func(o *Options) { o.Layouts, o.Target, o.AdminKey = nil, "localhost:8080", "k" }, "--target: want a base URL"},
		"target, no admin key":   {func(o *Options) { o.Layouts, o.Target = nil, "http://x:1" }, "--target needs --admin-key"},
		"env with target":        {func(o *Options) { o.Layouts, o.Target, o.AdminKey, o.Env = nil, "http://x:1", "k", []string{"A=1"} }, "with --target it starts none"},
		"env not KEY=VALUE":      {func(o *Options) { o.Env = []string{"BAZAAR_LOG_LEVEL"} }, `--env: want KEY=VALUE, got "BAZAAR_LOG_LEVEL"`},
		"no products":            {func(o *Options) { o.Products = 0 }, "--products must be at least 1"},
		"no stock":               {func(o *Options) { o.Stock = 0 }, "--stock must be at least 1"},
		"declined above 1":       {func(o *Options) { o.Declined = 1.5 }, "--declined is a share"},
		"no clients":             {func(o *Options) { o.Clients = 0 }, "--clients must be at least 1"},
		"negative rate":          {func(o *Options) { o.Rate = -1 }, "--rate must not be negative"},
		"no duration":            {func(o *Options) { o.Duration = 0 }, "--duration must be positive"},
		"negative warm-up":       {func(o *Options) { o.Warmup = -time.Second }, "--warmup must not be negative"},
		"no timeout":             {func(o *Options) { o.Timeout = 0 }, "--timeout must be positive"},
		"empty mix":              {func(o *Options) { o.Mix = nil }, "--mix: no operation has a weight"},
		"negative request count": {func(o *Options) { o.Requests = -5 }, "--requests must not be negative"},
		"negative RTT":           {func(o *Options) { o.RTTs = []time.Duration{-time.Millisecond} }, "--rtt: want round-trip times from 0s to 1s"},
		"RTT below a µs":         {func(o *Options) { o.RTTs = []time.Duration{1500 * time.Nanosecond} }, "finer than a microsecond"},
		"RTT twice":              {func(o *Options) { o.RTTs = []time.Duration{time.Millisecond, time.Millisecond} }, "--rtt: 1ms is given twice"},
		"RTT with target":        {func(o *Options) { o.Layouts, o.Target, o.AdminKey, o.RTTs = nil, "http://x:1", "k", []time.Duration{0} }, "--rtt starts the split"},
	} {
		t.Run(name, func(t *testing.T) {
			o := Defaults()
			tc.change(&o)
			require.ErrorContains(t, o.Validate(), tc.want)
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	o := Defaults()
	o.Clients, o.Products = 0, -1
	err := o.Validate()
	require.Error(t, err)
	require.Len(t, strings.Split(err.Error(), "\n"), 2, err.Error())

	o = Defaults()
	o.Duration, o.Requests = 0, 1000
	require.NoError(t, o.Validate(), "a number of requests needs no duration")
}

// TestSplitAt: each round-trip time names a run of the split, after the
// layouts, and the name gives the time back.
func TestSplitAt(t *testing.T) {
	o := Defaults()
	o.RTTs = []time.Duration{0, 500 * time.Microsecond, 2 * time.Millisecond}
	require.NoError(t, o.Validate())
	require.Equal(t, []string{"monolith", "split", "split@0ms", "split@0.5ms", "split@2ms"}, o.measured())
	o.Baseline = true
	require.Equal(t, []string{"baseline", "bare-hop", "monolith", "split", "split@0ms", "split@0.5ms", "split@2ms"}, o.measured(),
		"the bare handler first, then one hop in front of it: what the split's hop is compared with")
	o.Layouts, o.RTTs = []string{Monolith}, nil
	require.Equal(t, []string{"baseline", "monolith"}, o.measured(), "no split, no hop")
	for _, rtt := range o.RTTs {
		got, ok := rttOf(SplitAt(rtt))
		require.True(t, ok)
		require.Equal(t, rtt, got)
	}
	for _, name := range []string{"split", "monolith", "split@", "split@2", "split@xms"} {
		_, ok := rttOf(name)
		require.False(t, ok, name)
	}
}
