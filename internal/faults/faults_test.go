package faults_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/faults"
)

func TestJSON(t *testing.T) {
	in := faults.Spec{Latency: 1500 * time.Microsecond, Jitter: time.Millisecond, ErrorRate: 0.25, TimeoutRate: 0.125, ResetRate: 0.5}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.JSONEq(t, `{"latency_ms":1.5,"jitter_ms":1,"error_rate":0.25,"timeout_rate":0.125,"reset_rate":0.5}`, string(b))
	var out faults.Spec
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, in, out)

	require.NoError(t, json.Unmarshal([]byte(`{}`), &out))
	require.True(t, out.Zero(), "members left out are zero")
	require.Error(t, json.Unmarshal([]byte(`{"latency":5}`), &out), "an unknown member is refused")
	require.NoError(t, json.Unmarshal([]byte(`{"latency_ms":1e300}`), &out))
	require.Error(t, out.Validate(), "a huge latency does not overflow into a valid one")
}

func TestValidate(t *testing.T) {
	for _, bad := range []faults.Spec{
		{Latency: -time.Millisecond},
		{Jitter: 2 * faults.MaxLatency},
		{ErrorRate: 1.5},
		{ResetRate: -0.1},
		{ErrorRate: 0.5, TimeoutRate: 0.5, ResetRate: 0.1},
	} {
		require.ErrorIs(t, bad.Validate(), errs.ErrInvalid, "%+v", bad)
	}
	require.NoError(t, faults.Spec{ErrorRate: 0.5, TimeoutRate: 0.25, ResetRate: 0.25, Latency: faults.MaxLatency}.Validate())

	in := faults.New(nil)
	require.Error(t, in.Set("inventory", faults.Spec{ErrorRate: 2}))
	require.True(t, in.Get("inventory").Zero(), "a refused change leaves the faults as they were")
}

// TestPlanShares: over many calls, each kind comes about as often as its
// share says, and the rest meet none.
func TestPlanShares(t *testing.T) {
	in := faults.New(map[string]faults.Spec{"inventory": {ErrorRate: 0.2, TimeoutRate: 0.1, ResetRate: 0.3}})
	counts := map[string]int{}
	const n = 20000
	for range n {
		counts[in.Plan("inventory").Kind]++
	}
	for kind, share := range map[string]float64{faults.KindError: 0.2, faults.KindTimeout: 0.1, faults.KindReset: 0.3, "": 0.4} {
		require.InDelta(t, share, float64(counts[kind])/n, 0.02, kind)
	}
	require.Equal(t, faults.Plan{}, in.Plan("catalogue"), "a module without faults gets none")
}

func TestInProcess(t *testing.T) {
	unavailable := errs.Of(errs.Unavailable, "down")
	ctx := context.Background()
	plan := func(s faults.Spec) faults.Plan {
		return faults.New(map[string]faults.Spec{"inventory": s}).Plan("inventory")
	}
	called := 0
	call := func(context.Context) error { called++; return nil }

	t.Run("error and reset fail before the call", func(t *testing.T) {
		for _, s := range []faults.Spec{{ErrorRate: 1}, {ResetRate: 1}} {
			called = 0
			err := plan(s).InProcess(ctx, time.Second, unavailable, call)
			require.ErrorIs(t, err, faults.ErrInjected)
			require.ErrorIs(t, err, unavailable)
			require.Zero(t, called, "the call is never made")
		}
	})
	t.Run("a timeout makes the call and loses its answer", func(t *testing.T) {
		called = 0
		err := plan(faults.Spec{TimeoutRate: 1}).InProcess(ctx, 20*time.Millisecond, unavailable, call)
		require.ErrorIs(t, err, faults.ErrInjected)
		require.ErrorIs(t, err, unavailable, "the attempt ran out, not the caller")
		require.Equal(t, 1, called)

		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		err = plan(faults.Spec{TimeoutRate: 1}).InProcess(short, time.Minute, unavailable, call)
		require.ErrorIs(t, err, context.DeadlineExceeded, "the caller's deadline came first")
	})
	t.Run("latency holds the call, within the caller's deadline", func(t *testing.T) {
		start := time.Now()
		require.NoError(t, plan(faults.Spec{Latency: 30 * time.Millisecond}).InProcess(ctx, time.Second, unavailable, call))
		require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

		short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		err := plan(faults.Spec{Latency: time.Minute}).InProcess(short, time.Minute, unavailable, call)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.True(t, errors.Is(err, faults.ErrInjected))
	})
}
