// Package periodic runs the background rounds of a process — pruning,
// expiry, recovery, health checks — now and then every interval, until the
// process stops.
package periodic

import (
	"context"
	"time"
)

// Run calls round at once and then every interval until ctx ends. A round
// that takes longer than interval delays the next; rounds never overlap.
func Run(ctx context.Context, interval time.Duration, round func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
