// Package shoptest drives a running shop through its public API, for the
// tests that start it as processes or containers and then break it: a
// product with stock, a stream of checkouts, and the check that the books
// balance once recovery and expiry have settled what was in flight.
package shoptest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// Shop is a running shop: where its public API answers, and an admin key.
type Shop struct {
	Base  string
	Admin string
}

// Eventually waits for cond, checking every 50ms, for at most d.
func Eventually(t testing.TB, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(msg, args...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Call sends a JSON request and returns the status and body; header is
// name, value pairs.
func Call(t testing.TB, method, url, key, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// Product creates a product with onHand units in stock and returns its id.
func (s Shop) Product(t testing.TB, onHand int) string {
	t.Helper()
	status, out := Call(t, "POST", s.Base+"/v1/products", s.Admin,
		`{"sku":"`+strconv.FormatInt(time.Now().UnixNano(), 36)+`","name":"Lamp","price":2500,"currency":"EUR"}`)
	require.Equal(t, http.StatusCreated, status, "%s", out)
	var p struct{ ID string }
	require.NoError(t, json.Unmarshal(out, &p))
	status, out = Call(t, "PUT", s.Base+"/v1/inventory/"+p.ID, s.Admin, `{"on_hand":`+strconv.Itoa(onHand)+`}`)
	require.Equal(t, http.StatusOK, status, "%s", out)
	return p.ID
}

// Order is a checkout body for qty units of a product, paid with the
// sandbox's card that always succeeds.
func Order(productID string, qty int) string {
	return `{"items":[{"product_id":"` + productID + `","quantity":` + strconv.Itoa(qty) + `}],` +
		`"card":{"number":"4242424242424242","exp_month":12,"exp_year":2099,"cvc":"123"},"email":"a@example.com"}`
}

// Payments lists every payment, or says why it could not (a module still
// coming back, say), for use inside Eventually.
func (s Shop) Payments() ([]payment.Payment, error) {
	var all []payment.Payment
	cursor := ""
	for {
		req, _ := http.NewRequest("GET", s.Base+"/v1/payments?limit=100&cursor="+cursor, nil)
		req.Header.Set("Authorization", "Bearer "+s.Admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("list payments: %d %s", resp.StatusCode, out)
		}
		var page payment.Page
		if err := json.Unmarshal(out, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// Settled waits until recovery and expiry have settled every checkout of a
// product (one-item checkouts, as Checkouts makes): no payment pending,
// nothing reserved, and done true for each payment. It checks that on-hand
// stock went down by exactly the units of the succeeded payments, and
// returns the product's payments and those units.
func (s Shop) Settled(t testing.TB, prod string, stock int, done func(payment.Payment) bool) ([]payment.Payment, int) {
	t.Helper()
	var payments []payment.Payment
	var level inventory.Level
	Eventually(t, 30*time.Second, func() bool {
		all, err := s.Payments()
		if err != nil {
			return false
		}
		payments = payments[:0]
		for _, p := range all {
			if len(p.Items) == 1 && p.Items[0].ProductID == prod {
				payments = append(payments, p)
			}
		}
		_, out := Call(t, "GET", s.Base+"/v1/inventory/"+prod, s.Admin, "")
		level = inventory.Level{}
		_ = json.Unmarshal(out, &level)
		for _, p := range payments {
			if p.Status == payment.Pending || !done(p) {
				return false
			}
		}
		return level.Reserved == 0
	}, "payments stayed pending, stock stayed reserved past the TTL, or a payment was not done")
	sold := 0
	for _, p := range payments {
		if p.Status == payment.Succeeded {
			sold += int(p.Items[0].Quantity)
		}
	}
	require.Equal(t, int64(stock-sold), level.OnHand, "every succeeded payment, and only those, took stock")
	return payments, sold
}

// Statuses lists payments as "id=status", for messages and Contains.
func Statuses(payments []payment.Payment) []string {
	out := make([]string, len(payments))
	for i, p := range payments {
		out[i] = p.ID + "=" + string(p.Status)
	}
	return out
}

// Checkouts is a stream of one-unit checkouts from four clients at once,
// recording how each ended, until stopped.
type Checkouts struct {
	mu   sync.Mutex
	done []Result
	quit chan struct{}
	wg   sync.WaitGroup
}

// Result is how one checkout of a stream ended.
type Result struct {
	Status int // 0: no answer
	Body   string
	At     time.Time     // when it was sent
	Took   time.Duration // until the answer, or the error
}

// Checkouts starts a stream of checkouts of one unit of productID.
func (s Shop) Checkouts(productID string) *Checkouts {
	c := &Checkouts{quit: make(chan struct{})}
	client := &http.Client{Timeout: 30 * time.Second} // a hang fails the test that reads the results
	for w := 0; w < 4; w++ {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for {
				select {
				case <-c.quit:
					return
				default:
				}
				req, _ := http.NewRequest("POST", s.Base+"/v1/payments", strings.NewReader(Order(productID, 1)))
				req.Header.Set("Authorization", "Bearer "+s.Admin)
				r := Result{At: time.Now()}
				if resp, err := client.Do(req); err != nil {
					r.Body = err.Error()
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					r.Status, r.Body = resp.StatusCode, string(b)
				}
				r.Took = time.Since(r.At)
				c.mu.Lock()
				c.done = append(c.done, r)
				c.mu.Unlock()
			}
		}()
	}
	return c
}

// Results returns how every checkout so far ended.
func (c *Checkouts) Results() []Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Result(nil), c.done...)
}

// Await waits until n more checkouts of the stream have ended: a test lets
// checkouts meet the shop in each state it puts it in.
func (c *Checkouts) Await(t testing.TB, n int) {
	t.Helper()
	from := len(c.Results())
	Eventually(t, 60*time.Second, func() bool { return len(c.Results()) >= from+n },
		"%d more checkouts did not end within 60s", n)
}

// Stop ends the stream and returns every result.
func (c *Checkouts) Stop() []Result {
	close(c.quit)
	c.wg.Wait()
	return c.Results()
}

// RequireClearEnds: every checkout ended with a clear answer — created, or
// refused for a reason the client can act on (409, 503, 504) — within
// deadline: never a 500, never a hang. It returns how many ended with each
// status.
func RequireClearEnds(t testing.TB, results []Result, deadline time.Duration) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for _, r := range results {
		counts[r.Status]++
		switch r.Status {
		case http.StatusCreated, http.StatusConflict, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		default:
			t.Errorf("a checkout ended with %d: %s", r.Status, r.Body)
		}
		require.Less(t, r.Took, deadline, "a checkout hung: %s", r.Body)
	}
	t.Logf("checkouts by status: %v", counts)
	return counts
}

// RequireKept: every checkout answered 201 is among payments, succeeded.
func RequireKept(t testing.TB, results []Result, payments []payment.Payment) {
	t.Helper()
	statuses := Statuses(payments)
	for _, r := range results {
		if r.Status != http.StatusCreated {
			continue
		}
		var p payment.Payment
		require.NoError(t, json.Unmarshal([]byte(r.Body), &p))
		require.Contains(t, statuses, p.ID+"="+string(payment.Succeeded), "a 201 stays succeeded")
	}
}
