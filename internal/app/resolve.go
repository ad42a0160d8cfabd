package app

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"
)

// startupWait is how long a process waits at start for the hosts of the
// modules it calls to resolve. A name that is not there by then is a
// mistake in the configuration, not a peer still starting: containers and
// Kubernetes Services have their names before their processes are ready.
const startupWait = 10 * time.Second

// resolvable waits until every URL's host resolves, for at most wait. It
// asks nothing of the hosts themselves: whether a module answers is the
// health checker's business, and a module may start after its callers.
func resolvable(ctx context.Context, urls []string, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for _, u := range urls {
		parsed, err := url.Parse(u)
		if err != nil {
			return err // config validation has refused it already
		}
		host := parsed.Hostname()
		for {
			_, err := net.DefaultResolver.LookupHost(ctx, host)
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the host %q of %s does not resolve: %w", host, u, err)
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	return nil
}
