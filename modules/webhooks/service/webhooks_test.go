package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
	webhookssvc "github.com/bazaar-shop/bazaar/modules/webhooks/service"
	"github.com/bazaar-shop/bazaar/webhook"
)

var ctx = context.Background()

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// receiver is a real HTTP endpoint on loopback that records what arrives and
// fails the first failFirst attempts.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	failFirst int
	calls     int
	got       []delivery
}

type delivery struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls++
		if r.calls <= r.failFirst {
			http.Error(w, "not today", http.StatusServiceUnavailable)
			return
		}
		r.got = append(r.got, delivery{header: req.Header.Clone(), body: body})
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) received() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

type world struct {
	hooks  *webhookssvc.Service
	module *gorm.DB // a module's database, with its outbox
}

func newWorld(t *testing.T, engine testdb.Engine, schedule ...time.Duration) world {
	if len(schedule) == 0 {
		schedule = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}
	}
	return world{
		hooks: webhookssvc.New(engine.Open(t, "webhooks").DB, webhookssvc.Options{
			AllowPrivate: true, Schedule: schedule, Timeout: 5 * time.Second, PollInterval: 10 * time.Millisecond,
		}, now),
		module: engine.Open(t, "catalogue").DB,
	}
}

// event records an event in the module's outbox, as a module's change does.
func (w world) event(t *testing.T, eventType string, data any) {
	t.Helper()
	require.NoError(t, w.module.Transaction(func(tx *gorm.DB) error { return outbox.Record(tx, eventType, "stock:test", data, now()) }))
}

// settle relays and delivers until nothing is due, or fails after 5s.
func (w world) settle(t *testing.T, client *http.Client, until func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !until() {
		require.True(t, time.Now().Before(deadline), "deliveries did not settle")
		_, err := outbox.Relay(ctx, w.module, publishTo(w.hooks))
		require.NoError(t, err)
		_, err = w.hooks.Deliver(ctx, client)
		require.NoError(t, err)
		time.Sleep(2 * time.Millisecond) // let the retry schedule's millisecond pass
	}
}

func TestDeliveriesAreSignedAndComplete(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			w := newWorld(t, engine)
			rcv := newReceiver(t, 0)
			ep, err := w.hooks.Register(ctx, rcv.URL+"/hooks", []string{"product.created"})
			require.NoError(t, err)
			require.Regexp(t, `^whsec_`, ep.Secret)

			w.event(t, "product.created", map[string]any{"id": "prod_1", "price": 100})
			w.event(t, "product.deleted", map[string]any{"id": "prod_1"}) // not subscribed
			w.settle(t, w.hooks.Client(), func() bool { return len(rcv.received()) == 1 })

			got := rcv.received()[0]
			require.NoError(t, webhook.Verify(ep.Secret, got.header, got.body, time.Minute, time.Now()), "the signature verifies")
			var msg struct {
				Type      string          `json:"type"`
				Timestamp time.Time       `json:"timestamp"`
				Data      json.RawMessage `json:"data"`
			}
			require.NoError(t, json.Unmarshal(got.body, &msg))
			require.Equal(t, "product.created", msg.Type)
			require.JSONEq(t, `{"id":"prod_1","price":100}`, string(msg.Data))
			require.Regexp(t, `^evt_`, got.header.Get(webhook.HeaderID))

			list, err := w.hooks.Deliveries(ctx, ep.ID)
			require.NoError(t, err)
			require.Len(t, list, 1)
			require.Equal(t, "delivered", list[0].Status)
			require.Len(t, list[0].History, 1)
			require.Equal(t, http.StatusOK, list[0].History[0].StatusCode)
			require.Equal(t, string(got.body), string(list[0].Message), "the delivery shows the body as it was signed")
		})
	}
}

// A receiver that fails the first 3 attempts gets the event on the 4th, and
// every attempt is recorded.
func TestRetriesUntilDelivered(t *testing.T) {
	w := newWorld(t, testdb.Engines()[0])
	rcv := newReceiver(t, 3)
	ep, err := w.hooks.Register(ctx, rcv.URL, []string{"*"})
	require.NoError(t, err)
	w.event(t, "payment.succeeded", map[string]any{"id": "pay_1"})
	w.settle(t, w.hooks.Client(), func() bool { return len(rcv.received()) == 1 })

	list, err := w.hooks.Deliveries(ctx, ep.ID)
	require.NoError(t, err)
	require.Equal(t, "delivered", list[0].Status)
	require.Equal(t, 4, list[0].Attempts)
	var codes []int
	for _, a := range list[0].History {
		codes = append(codes, a.StatusCode)
	}
	require.Equal(t, []int{503, 503, 503, 200}, codes)
	require.Contains(t, list[0].History[0].ResponseExcerpt, "not today")
}

// When the schedule runs out the delivery is failed; a manual retry sends it.
func TestGiveUpThenRetry(t *testing.T) {
	w := newWorld(t, testdb.Engines()[0], time.Millisecond) // one retry: two attempts in all
	rcv := newReceiver(t, 2)
	ep, err := w.hooks.Register(ctx, rcv.URL, []string{"*"})
	require.NoError(t, err)
	w.event(t, "inventory.low_stock", map[string]any{"product_id": "prod_1"})
	var list []webhooks.Delivery
	w.settle(t, w.hooks.Client(), func() bool {
		list, err = w.hooks.Deliveries(ctx, ep.ID)
		require.NoError(t, err)
		return len(list) == 1 && list[0].Status == "failed"
	})
	require.Equal(t, 2, list[0].Attempts)
	require.Nil(t, list[0].NextAttemptAt)

	d, err := w.hooks.Retry(ctx, ep.ID, list[0].ID)
	require.NoError(t, err)
	require.Equal(t, "pending", d.Status)
	w.settle(t, w.hooks.Client(), func() bool { return len(rcv.received()) == 1 })
	_, err = w.hooks.Retry(ctx, ep.ID, "dlv_missing")
	require.ErrorIs(t, err, webhooks.ErrDeliveryNotFound)
}

// Deliveries that ended are pruned, with their attempts, once older than
// the retention; those still pending stay, however old.
func TestPruneForgetsOldDeliveries(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			at := now()
			clock := func() time.Time { return at }
			module, db := engine.Open(t, "catalogue").DB, engine.Open(t, "webhooks").DB
			hooks := webhookssvc.New(db, webhookssvc.Options{
				AllowPrivate: true, Schedule: []time.Duration{time.Hour}, Timeout: 5 * time.Second,
				PollInterval: time.Hour, Retention: 24 * time.Hour,
			}, clock)
			up, down := newReceiver(t, 0), newReceiver(t, 1000)
			took, err := hooks.Register(ctx, up.URL, []string{"*"})
			require.NoError(t, err)
			refused, err := hooks.Register(ctx, down.URL, []string{"*"})
			require.NoError(t, err)
			for i := 0; i < 2; i++ {
				require.NoError(t, module.Transaction(func(tx *gorm.DB) error {
					return outbox.Record(tx, "inventory.adjusted", "stock:test", map[string]any{"n": i}, at)
				}))
			}
			_, err = outbox.Relay(ctx, module, publishTo(hooks))
			require.NoError(t, err)
			_, err = hooks.Deliver(ctx, hooks.Client())
			require.NoError(t, err)
			require.Len(t, up.received(), 2)

			n, err := hooks.Prune(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "nothing is old yet")

			at = at.Add(25 * time.Hour)
			n, err = hooks.Prune(ctx)
			require.NoError(t, err)
			require.Equal(t, 2, n, "the two delivered ones")
			list, err := hooks.Deliveries(ctx, took.ID)
			require.NoError(t, err)
			require.Empty(t, list)
			list, err = hooks.Deliveries(ctx, refused.ID)
			require.NoError(t, err)
			require.Len(t, list, 2, "pending deliveries stay")
			attempts := 0
			for _, d := range list {
				require.Equal(t, "pending", d.Status)
				attempts += len(d.History)
			}
			require.Equal(t, 1, attempts, "with their attempts (the second waits behind the first)")
			var left int64
			require.NoError(t, db.Raw(`SELECT COUNT(*) FROM webhook_attempts`).Scan(&left).Error)
			require.Equal(t, int64(1), left, "the pruned deliveries' attempts are gone")
			counts, err := hooks.Counts(ctx)
			require.NoError(t, err)
			require.Equal(t, map[string]int64{"pending": 2, "delivered": 0, "failed": 0}, counts)
		})
	}
}

// Deleting an endpoint fails what it had not received yet; the other
// endpoints still get everything.
func TestDeleteFailsPendingDeliveries(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			w := newWorld(t, engine, time.Hour) // a failed attempt waits an hour
			down, up := newReceiver(t, 1000), newReceiver(t, 0)
			gone, err := w.hooks.Register(ctx, down.URL, []string{"*"})
			require.NoError(t, err)
			_, err = w.hooks.Register(ctx, up.URL, []string{"*"})
			require.NoError(t, err)
			for i := 0; i < 3; i++ {
				w.event(t, "inventory.adjusted", map[string]any{"n": i})
			}
			w.settle(t, w.hooks.Client(), func() bool { return len(up.received()) == 3 })

			require.NoError(t, w.hooks.Delete(ctx, gone.ID))
			counts, err := w.hooks.Counts(ctx)
			require.NoError(t, err)
			require.Equal(t, map[string]int64{"pending": 0, "delivered": 3, "failed": 3}, counts)
			require.ErrorIs(t, w.hooks.Delete(ctx, gone.ID), webhooks.ErrNotFound)
		})
	}
}

// Events reach an endpoint in the order they happened, even when the first
// needs retries; and relaying again queues nothing twice.
func TestOrderAndExactlyOnceQueueing(t *testing.T) {
	w := newWorld(t, testdb.Engines()[0])
	rcv := newReceiver(t, 2)
	_, err := w.hooks.Register(ctx, rcv.URL, []string{"*"})
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		w.event(t, "inventory.adjusted", map[string]any{"n": i})
	}
	n, err := outbox.Relay(ctx, w.module, publishTo(w.hooks))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	n, err = outbox.Relay(ctx, w.module, publishTo(w.hooks))
	require.NoError(t, err)
	require.Zero(t, n, "relayed events are not relayed again")
	backlog, err := outbox.Backlog(ctx, w.module)
	require.NoError(t, err)
	require.Zero(t, backlog, "the outbox keeps only what is not yet relayed")

	w.settle(t, w.hooks.Client(), func() bool { return len(rcv.received()) == 5 })
	for i, d := range rcv.received() {
		require.JSONEq(t, `{"n":`+string(rune('0'+i))+`}`, string(jsonData(t, d.body)), "event %d arrives in order", i)
	}
}

// A backlog of several pages, to two endpoints, is relayed and delivered
// without waiting for the next poll: a busy shop's webhooks keep up. Each
// endpoint gets every event, in order.
func TestRunDrainsABacklog(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			w := newWorld(t, engine)
			hooks := webhookssvc.New(engine.Open(t, "webhooks").DB, webhookssvc.Options{
				AllowPrivate: true, Timeout: 5 * time.Second, PollInterval: time.Hour,
			}, now)
			a, b := newReceiver(t, 0), newReceiver(t, 0)
			for _, r := range []*receiver{a, b} {
				_, err := hooks.Register(ctx, r.URL, []string{"*"})
				require.NoError(t, err)
			}
			const events = 450 // more than two relays' worth
			require.NoError(t, w.module.Transaction(func(tx *gorm.DB) error {
				for i := 0; i < events; i++ {
					if err := outbox.Record(tx, "inventory.adjusted", "stock:test", map[string]any{"n": i}, now()); err != nil {
						return err
					}
				}
				return nil
			}))

			ctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				hooks.Run(ctx, slog.New(slog.DiscardHandler))
			}()
			relayed := make(chan struct{})
			go func() {
				defer close(relayed)
				outbox.RunRelay(ctx, w.module, time.Hour, publishTo(hooks), slog.New(slog.DiscardHandler))
			}()
			defer func() { cancel(); <-done; <-relayed }()

			require.Eventually(t, func() bool { return len(a.received()) == events && len(b.received()) == events },
				30*time.Second, 10*time.Millisecond, "every event reaches both endpoints long before the next poll")
			for _, r := range []*receiver{a, b} {
				for i, d := range r.received() {
					var data struct{ N int }
					require.NoError(t, json.Unmarshal(jsonData(t, d.body), &data))
					require.Equal(t, i, data.N, "events arrive in order")
				}
			}
			backlog, err := outbox.Backlog(ctx, w.module)
			require.NoError(t, err)
			require.Zero(t, backlog)
		})
	}
}

// publishTo is how a module's relay hands its events to the webhooks.
func publishTo(hooks webhooks.Service) outbox.Publish {
	return func(ctx context.Context, events []outbox.Event) error {
		out := make([]webhooks.Event, len(events))
		for i, e := range events {
			out[i] = webhooks.Event{ID: e.ID, Type: e.Type, Resource: e.Resource, Sequence: e.Sequence,
				Data: e.Data, CreatedAt: e.CreatedAt}
		}
		return hooks.Publish(ctx, out)
	}
}

func jsonData(t *testing.T, body []byte) json.RawMessage {
	var msg struct{ Data json.RawMessage }
	require.NoError(t, json.Unmarshal(body, &msg))
	return msg.Data
}

func TestRegisterRefusesBadEndpoints(t *testing.T) {
	hooks := webhookssvc.New(testdb.Engines()[0].Open(t, "webhooks").DB, webhookssvc.Options{
		Schedule: []time.Duration{time.Second}, Timeout: time.Second, PollInterval: time.Second,
	}, now)
	for name, url := range map[string]string{
		"plain http":        "http://example.com/hook",
		"loopback":          "https://127.0.0.1/hook",
		"localhost":         "https://localhost/hook",
		"private":           "https://10.1.2.3/hook",
		"cloud metadata":    "https://169.254.169.254/latest/meta-data",
		"IPv6 loopback":     "https://[::1]/hook",
		"IPv4-mapped IPv6":  "https://[::ffff:127.0.0.1]/hook",
		"carrier-grade NAT": "https://100.64.0.1/hook",
		"benchmarking":      "https://198.18.0.1/hook",
		"NAT64 of private":  "https://[64:ff9b::a00:1]/hook",
		"reserved":          "https://240.0.0.1/hook",
	} {
		_, err := hooks.Register(ctx, url, []string{"*"})
		require.ErrorIs(t, err, webhooks.ErrURLNotAllowed, name)
	}
	for name, tc := range map[string]struct {
		url    string
		events []string
	}{
		"not a URL":     {"::nope", []string{"*"}},
		"ftp":           {"ftp://example.com", []string{"*"}},
		"credentials":   {"https://u:p@example.com", []string{"*"}},
		"no events":     {"https://example.com", nil},
		"unknown event": {"https://example.com", []string{"payment.exploded"}},
	} {
		_, err := hooks.Register(ctx, tc.url, tc.events)
		require.ErrorIs(t, err, errs.ErrInvalid, name)
	}
}

// Even if a name resolves to a private address at delivery time (DNS can
// change after registration), the connection is refused.
func TestDeliveryRefusesPrivateAddresses(t *testing.T) {
	hooks := webhookssvc.New(testdb.Engines()[0].Open(t, "webhooks").DB, webhookssvc.Options{
		Schedule: []time.Duration{time.Second}, Timeout: time.Second, PollInterval: time.Second,
	}, now)
	rcv := newReceiver(t, 0)
	resp, err := hooks.Client().Get(rcv.URL)
	if resp != nil {
		resp.Body.Close()
	}
	require.ErrorIs(t, err, webhooks.ErrURLNotAllowed)
	require.Empty(t, rcv.received())
}

// Every bad field is reported at once.
func TestRegisterListsEveryBadField(t *testing.T) {
	hooks := webhookssvc.New(testdb.Engines()[0].Open(t, "webhooks").DB, webhookssvc.Options{
		Schedule: []time.Duration{time.Second}, Timeout: time.Second, PollInterval: time.Second,
	}, now)
	_, err := hooks.Register(ctx, "", nil)
	var v *errs.ValidationError
	require.ErrorAs(t, err, &v)
	var fields []string
	for _, f := range v.Fields {
		fields = append(fields, f.Field)
	}
	require.ElementsMatch(t, []string{"url", "events"}, fields)
}

// A receiver may answer anything, including bytes that are not UTF-8; the
// attempt is still recorded and the delivery retried (PostgreSQL stores
// only valid UTF-8).
func TestReceiverAnswersGarbage(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			w := newWorld(t, engine, time.Millisecond)
			rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
				rw.WriteHeader(http.StatusInternalServerError)
				_, _ = rw.Write([]byte{0xff, 0xfe, 'o', 'k', 0xc3})
			}))
			t.Cleanup(rcv.Close)
			ep, err := w.hooks.Register(ctx, rcv.URL, []string{"*"})
			require.NoError(t, err)
			w.event(t, "product.created", map[string]any{"id": "prod_1"})
			var list []webhooks.Delivery
			w.settle(t, w.hooks.Client(), func() bool {
				list, err = w.hooks.Deliveries(ctx, ep.ID)
				require.NoError(t, err)
				return len(list) == 1 && list[0].Status == "failed"
			})
			require.Len(t, list[0].History, 2)
			require.Contains(t, list[0].History[0].ResponseExcerpt, "ok")
		})
	}
}

func TestRegisterNormalizesEvents(t *testing.T) {
	w := newWorld(t, testdb.Engines()[0])
	ep, err := w.hooks.Register(ctx, "http://127.0.0.1:1/hook", []string{"payment.failed", "payment.failed", "product.created"})
	require.NoError(t, err)
	require.Equal(t, []string{"payment.failed", "product.created"}, ep.Events)
	ep, err = w.hooks.Register(ctx, "http://127.0.0.1:1/hook", []string{"payment.failed", "*"})
	require.NoError(t, err)
	require.Equal(t, []string{"*"}, ep.Events)
}

// An endpoint gets each resource's events in their order. While one waits
// for its retry, the later events of its resource wait too, and those of
// other resources go on; an event queued before an earlier one of its
// resource waits for it.
func TestOrderPerResource(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			w := newWorld(t, engine, 200*time.Millisecond, 200*time.Millisecond)
			failed := false
			var mu sync.Mutex
			var got []string
			rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				var msg struct {
					Resource string `json:"resource"`
					Sequence int64  `json:"sequence"`
				}
				body, _ := io.ReadAll(r.Body)
				require.NoError(t, json.Unmarshal(body, &msg))
				mu.Lock()
				defer mu.Unlock()
				if msg.Resource == "product:a" && msg.Sequence == 1 && !failed {
					failed = true
					http.Error(rw, "not yet", http.StatusServiceUnavailable)
					return
				}
				got = append(got, fmt.Sprintf("%s#%d", msg.Resource, msg.Sequence))
			}))
			t.Cleanup(rcv.Close)
			received := func() []string {
				mu.Lock()
				defer mu.Unlock()
				return append([]string(nil), got...)
			}
			_, err := w.hooks.Register(ctx, rcv.URL, []string{"*"})
			require.NoError(t, err)
			event := func(resource string, seq int64) webhooks.Event {
				return webhooks.Event{ID: ids.New("evt"), Type: "product.updated", Resource: resource, Sequence: seq,
					Data: json.RawMessage(`{}`), CreatedAt: now()}
			}
			client := w.hooks.Client()
			deliver := func() {
				_, err := w.hooks.Deliver(ctx, client)
				require.NoError(t, err)
			}

			// b#2 is queued before b#1, as by a replica whose clock runs
			// behind; a#1 fails once.
			require.NoError(t, w.hooks.Publish(ctx, []webhooks.Event{event("product:a", 1), event("product:a", 2), event("product:b", 2)}))
			require.NoError(t, w.hooks.Publish(ctx, []webhooks.Event{event("product:b", 1), event("product:c", 1)}))
			deliver() // a#1 fails: the round for this endpoint ends
			require.Empty(t, received())
			deliver() // a#1 waits for its retry, a#2 with it; b#2 waits for b#1
			require.Equal(t, []string{"product:b#1", "product:c#1"}, received(), "other resources go on")
			deliver()
			require.Equal(t, []string{"product:b#1", "product:c#1", "product:b#2"}, received(), "b in its order")
			require.Eventually(t, func() bool { deliver(); return len(received()) == 5 }, 10*time.Second, 20*time.Millisecond)
			require.Equal(t, []string{"product:a#1", "product:a#2"}, received()[3:], "a in its order, after its retry")
		})
	}
}

// A kept-alive connection the receiver closed as the next delivery came
// (it read the request and answered nothing) is not a failed attempt: the
// delivery goes again at once, on a new connection.
func TestStaleConnectionIsRetriedAtOnce(t *testing.T) {
	w := newWorld(t, testdb.Engines()[0], time.Hour) // a failure would wait an hour
	var mu sync.Mutex
	perConn := map[string]int{}
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		perConn[r.RemoteAddr]++
		second := perConn[r.RemoteAddr] == 2
		mu.Unlock()
		if second {
			conn, _, err := rw.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		mu.Lock()
		got = append(got, r.Header.Get(webhook.HeaderID))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	ep, err := w.hooks.Register(ctx, srv.URL, []string{"*"})
	require.NoError(t, err)
	client := w.hooks.Client()
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }

	w.event(t, "inventory.adjusted", map[string]any{"n": 1})
	w.settle(t, client, func() bool { return received() == 1 })
	w.event(t, "inventory.adjusted", map[string]any{"n": 2})
	_, err = outbox.Relay(ctx, w.module, publishTo(w.hooks))
	require.NoError(t, err)
	_, err = w.hooks.Deliver(ctx, client) // one round: the kept-alive connection is the closed one
	require.NoError(t, err)
	require.Equal(t, 2, received(), "the second delivery arrived in the same round")

	list, err := w.hooks.Deliveries(ctx, ep.ID)
	require.NoError(t, err)
	for _, d := range list {
		require.Equal(t, "delivered", d.Status)
		require.Equal(t, 1, d.Attempts, "no failed attempt recorded: %+v", d.History)
	}
}

// A retry goes when the schedule says, not at the next poll: with an
// hour between polls, a delivery that failed once arrives after its
// 100 ms retry.
func TestRetriesKeepToTheSchedule(t *testing.T) {
	engine := testdb.Engines()[0]
	w := newWorld(t, engine)
	hooks := webhookssvc.New(engine.Open(t, "webhooks").DB, webhookssvc.Options{
		AllowPrivate: true, Schedule: []time.Duration{100 * time.Millisecond}, Timeout: 5 * time.Second, PollInterval: time.Hour,
	}, now)
	rcv := newReceiver(t, 1)
	_, err := hooks.Register(ctx, rcv.URL, []string{"*"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		hooks.Run(ctx, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() { cancel(); <-done })

	w.event(t, "inventory.adjusted", map[string]any{"n": 1})
	_, err = outbox.Relay(ctx, w.module, publishTo(hooks)) // Publish wakes Run
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rcv.received()) == 1 }, 10*time.Second, 10*time.Millisecond,
		"the retry did not go on schedule")
}
