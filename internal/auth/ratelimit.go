package auth

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// ErrRateLimited is a key that sent more requests than its limit allows.
var ErrRateLimited = errs.Of(errs.RateLimited, "too many requests for this API key; slow down and retry after the time in Retry-After")

// Limits holds a token bucket per API key, in this process: each key may
// send rps requests per second on average, and burst at once.
type Limits struct {
	rps   rate.Limit
	burst int
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

// NewLimits returns per-key limits; rps 0 means no limit.
func NewLimits(rps float64, burst int) *Limits {
	return &Limits{rps: rate.Limit(rps), burst: burst, keys: map[string]*rate.Limiter{}}
}

// allow reports whether who may send a request now, and if not how long
// to wait.
func (l *Limits) allow(who string) (bool, time.Duration) {
	if l == nil || l.rps == 0 {
		return true, 0
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
		return false, d
	}
	return true, 0
}

// limit answers 429 with Retry-After when the caller is over its limit.
func (l *Limits) limit(c *gin.Context, who string) bool {
	ok, wait := l.allow(who)
	if ok {
		return true
	}
	c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	web.Error(c, ErrRateLimited)
	return false
}
