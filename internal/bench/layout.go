package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/bazaar-shop/bazaar/internal/launch"
	"github.com/bazaar-shop/bazaar/modules"
)

// layoutEnv is the environment every bazaar process of a started layout
// gets, before the --env extras (which may override it). The short
// reservation TTL lets the "nothing reserved" invariant be checked soon
// after the load; the rate limits are off because the bench sends every
// request with one key, or from one address.
var layoutEnv = []string{
	"BAZAAR_LOG_LEVEL=warn",
	"BAZAAR_RATE_LIMIT_RPS=0",
	"BAZAAR_RATE_LIMIT_ANONYMOUS_RPS=0",
	"BAZAAR_INVENTORY_RESERVATION_TTL=10s",
	"BAZAAR_INVENTORY_EXPIRY_INTERVAL=1s",
}

// layoutOf is the processes the bench starts for a layout: Bazaar's own,
// or the bare handler --baseline measures.
func layoutOf(name string) (launch.Layout, error) {
	switch name {
	case Monolith:
		return launch.Named(name)
	case Split:
		// The bench drives the API: a storefront process would idle, and
		// count in the split's processes and memory all the same.
		l, err := launch.Named(name)
		l.Procs = slices.DeleteFunc(l.Procs, func(s launch.Spec) bool {
			return slices.Equal(s.Serve, []modules.Module{modules.Storefront})
		})
		return l, err
	case Baseline:
		return launch.Layout{Name: name, Front: "baseline",
			Procs: []launch.Spec{{Name: "baseline", Args: []string{"bench", "baseline", "--addr", "{addr}"}}}}, nil
	case BareHop:
		return launch.Layout{Name: name, Front: "hop", Procs: []launch.Spec{
			{Name: "baseline", Args: []string{"bench", "baseline", "--addr", "{addr}"}},
			{Name: "hop", Args: []string{"bench", "baseline", "--addr", "{addr}", "--forward", "{addr:baseline}"}},
		}}, nil
	}
	return launch.Layout{}, fmt.Errorf("no layout %q", name)
}

// startLayout starts a layout from the bazaar binary, each process in a
// data directory of its own, as on machines of their own. via, when not
// nil, puts a network between them (launch.Options.Via).
func startLayout(ctx context.Context, binary, name string, extra []string, via func(name, addr string) (string, error), soak bool) (*launch.Cluster, error) {
	l, err := layoutOf(name)
	if err != nil {
		return nil, err
	}
	env := append([]string{"GOMAXPROCS=" + strconv.Itoa(coresEach(runtime.NumCPU(), len(l.Procs)))}, layoutEnv...)
	if soak {
		// A soak measures the logs a shop writes as it is set up by default.
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "BAZAAR_LOG_LEVEL=") })
	}
	return launch.Start(ctx, l, launch.Options{
		Binary:   binary,
		AdminKey: "bzr_bench_" + randomHex(16),
		Env:      append(env, extra...), // last: the user's word wins
		Via:      via,
	})
}

// stopLayout stops a started layout, saying on log which process did not
// stop cleanly.
func stopLayout(cl *launch.Cluster, log io.Writer) {
	if err := cl.Stop(); err != nil {
		fmt.Fprintln(log, err)
	}
}

// coresEach is the GOMAXPROCS of each of n processes sharing cpus cores:
// its share of them, as a container with a CPU limit gets (Go reads the
// limit). Without it every process of the split would run as many threads
// of Go code as the machine has cores, and their schedulers, spinning in
// search of work, would take turns from each other (the split answered
// 6-10 % more with it, docs/performance.md). --env GOMAXPROCS=N overrides.
func coresEach(cpus, n int) int { return max(1, cpus/n) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
