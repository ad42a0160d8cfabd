// Package remote is how one Bazaar process reaches a module that runs in
// another: replicas with health checks, calls with deadlines, retries and a
// circuit breaker, problem documents turned back into contract errors, and
// a forwarder that lets any process serve the whole public API.
package remote

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bazaar-shop/bazaar/internal/periodic"
)

// replica is one base URL of a module.
type replica struct {
	url     string
	healthy atomic.Bool
}

// replicas spreads calls round robin over the healthy replicas of a module.
type replicas struct {
	list []*replica
	next atomic.Uint64
}

func newReplicas(urls []string) *replicas {
	r := &replicas{}
	for _, u := range urls {
		rep := &replica{url: u}
		rep.healthy.Store(true) // innocent until a call or a check says otherwise
		r.list = append(r.list, rep)
	}
	return r
}

// order returns every replica, healthy ones first starting at the next in
// turn; the unhealthy ones stay as a last resort, since a check may be stale.
func (r *replicas) order() []*replica {
	n := len(r.list)
	start := int(r.next.Add(1)-1) % n
	out := make([]*replica, 0, n)
	for pass := 0; pass < 2; pass++ {
		for i := 0; i < n; i++ {
			rep := r.list[(start+i)%n]
			if rep.healthy.Load() == (pass == 0) {
				out = append(out, rep)
			}
		}
	}
	return out
}

// probe asks a replica's /readyz whether it can serve.
func probe(ctx context.Context, client *fasthttp.Client, rep *replica) bool {
	if ctx.Err() != nil {
		return false
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(rep.url + "/readyz?scope=local")
	if err := client.DoTimeout(req, resp, 2*time.Second); err != nil {
		return false
	}
	return resp.StatusCode() == http.StatusOK
}

// watch checks every replica every interval until ctx ends, taking failed
// replicas out of the rotation and putting recovered ones back.
func (r *replicas) watch(ctx context.Context, client *fasthttp.Client, interval time.Duration) {
	periodic.Run(ctx, interval, func(ctx context.Context) {
		for _, rep := range r.list {
			rep.healthy.Store(probe(ctx, client, rep))
		}
	})
}
