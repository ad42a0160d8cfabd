package periodic_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/periodic"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var rounds atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		periodic.Run(ctx, time.Millisecond, func(context.Context) { rounds.Add(1) })
	}()
	require.Eventually(t, func() bool { return rounds.Load() >= 3 }, 10*time.Second, time.Millisecond, "a round at once, then every interval")
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return once its context ended")
	}
}

func TestRunStartsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan struct{}, 1)
	go periodic.Run(ctx, time.Hour, func(context.Context) {
		select {
		case first <- struct{}{}:
		default:
		}
	})
	defer cancel()
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("the first round waited for the interval")
	}
}
