package auth

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// ErrRateLimited is a caller that sent more requests than its limit allows.
var ErrRateLimited = errs.Of(errs.RateLimited, "too many requests; slow down and retry after the time in Retry-After")

// Limits holds a token bucket per caller — an API key, or the address of a
// caller sending none — in this process: each may send rps requests per
// second on average, and burst at once.
type Limits struct {
	name   string // the policy's name in the RateLimit headers
	policy string // the RateLimit-Policy header, the same on every answer
	rps    rate.Limit
	burst  int
	mu     sync.Mutex
	keys   map[string]*rate.Limiter
}

// NewLimits returns limits per caller, named name in the RateLimit
// headers; rps 0 means no limit.
func NewLimits(name string, rps float64, burst int) *Limits {
	l := &Limits{name: name, rps: rate.Limit(rps), burst: burst, keys: map[string]*rate.Limiter{}}
	if rps > 0 {
		l.policy = fmt.Sprintf("%q;q=%d;w=%.0f", name, burst, math.Ceil(float64(burst)/rps))
	}
	return l
}

// off reports whether the limits are turned off (rps 0).
func (l *Limits) off() bool { return l == nil || l.rps == 0 }

// allow reports whether who may send a request now, and if not how long
// to wait; and what is left of its bucket.
func (l *Limits) allow(who string) (ok bool, wait time.Duration, left float64) {
	if l.off() {
		return true, 0, 0
	}
	l.mu.Lock()
	lim, ok := l.keys[who]
	if !ok {
		if len(l.keys) >= knownMax {
			l.keys = map[string]*rate.Limiter{} // bounded; a reset only forgives
		}
		lim = rate.NewLimiter(l.rps, l.burst)
		l.keys[who] = lim
	}
	l.mu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return false, d, lim.Tokens()
	}
	return true, 0, lim.Tokens()
}

// limit tells the caller its limit in the IETF RateLimit-Policy and
// RateLimit headers (draft-ietf-httpapi-ratelimit-headers: q requests per
// w seconds; r left, the bucket full again in t seconds), and answers 429
// with Retry-After when it is over.
func (l *Limits) limit(c *gin.Context, who string) bool {
	ok, wait, left := l.allow(who)
	if l.off() {
		return true
	}
	full := math.Ceil((float64(l.burst) - max(left, 0)) / float64(l.rps))
	c.Header("RateLimit-Policy", l.policy)
	c.Header("RateLimit", fmt.Sprintf("%q;r=%.0f;t=%.0f", l.name, math.Floor(max(left, 0)), full))
	if ok {
		return true
	}
	c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	web.Error(c, ErrRateLimited)
	return false
}
