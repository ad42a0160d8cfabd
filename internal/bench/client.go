package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// client sends the bench's requests to one layout. One http.Client with
// enough idle connections for every bench client is shared by all of them,
// so requests reuse keep-alive connections as a real front end's would.
type client struct {
	http  *http.Client
	base  string
	admin string
}

func newClient(base, admin string, conns int, timeout time.Duration) *client {
	tr := &http.Transport{
		Proxy:               nil, // loopback or a URL the user gave: never via a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{http: &http.Client{Transport: tr, Timeout: timeout}, base: strings.TrimRight(base, "/"), admin: admin}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// request is one HTTP request of the bench.
type request struct {
	method string
	path   string
	body   []byte
	// auth sends the admin key, which has every role (the storefront's
	// too); catalogue reads need no key and go without, as a browser's.
	auth bool
	// idempotencyKey, when set, is sent as Idempotency-Key, as a real
	// client of the checkout does.
	idempotencyKey string
	// keepBody keeps a successful answer's body; error bodies are always
	// kept, for their problem code.
	keepBody bool
}

// response is what the bench keeps of an answer.
type response struct {
	status     int
	body       []byte
	retryAfter time.Duration
}

// do sends one request. The error is a transport failure or a timeout:
// no HTTP answer.
func (c *client) do(ctx context.Context, r request) (response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, body)
	if err != nil {
		return response{}, err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.auth {
		req.Header.Set("Authorization", "Bearer "+c.admin)
	}
	if r.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.idempotencyKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		out.retryAfter = time.Duration(s) * time.Second
	}
	if r.keepBody || resp.StatusCode >= 300 {
		out.body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	} else {
		_, err = io.Copy(io.Discard, resp.Body) // read to the end: the connection is reused
	}
	return out, err
}

// call is do for the bench's own bookkeeping (seeding, checking
// invariants): it waits out a 429 as its Retry-After says, a few times,
// and turns an unexpected status into an error.
func (c *client) call(ctx context.Context, r request, want int) ([]byte, error) {
	r.keepBody = true
	for attempt := 0; ; attempt++ {
		resp, err := c.do(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
		}
		if resp.status == want {
			return resp.body, nil
		}
		if resp.status == http.StatusTooManyRequests && attempt < 10 {
			wait := max(resp.retryAfter, 100*time.Millisecond)
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return nil, fmt.Errorf("%s %s: %d %s: %s", r.method, r.path, resp.status, problemCode(resp.status, resp.body), truncate(resp.body, 300))
	}
}

// problemCode is the machine-readable code of an RFC 9457 problem
// document, or http_<status> when the body is not one.
func problemCode(status int, body []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &p) == nil && p.Code != "" {
		return p.Code
	}
	return "http_" + strconv.Itoa(status)
}

// transportCode names a request that got no HTTP answer.
func transportCode(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timeout"
	}
	return "transport"
}

func truncate(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
