// Package webhookstest is the contract suite of webhooks.Service: written
// once against the interface, run against every implementation of it.
package webhookstest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
)

// Run runs the contract suite; newService gives each test a fresh, empty
// webhooks module that allows private URLs and sends nothing by itself.
func Run(t *testing.T, newService func(t *testing.T) webhooks.Service) {
	tests := map[string]func(*testing.T, webhooks.Service){
		"endpoints are registered, listed and deleted": endpoints,
		"bad endpoints are refused":                    badEndpoints,
		"publish queues what endpoints subscribed to":  subscriptions,
		"publish is idempotent by event id":            idempotent,
		"publish has a limit":                          publishLimit,
		"retry needs a delivery of the endpoint":       retry,
	}
	for name, test := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newService(t))
		})
	}
}

var ctx = context.Background()

// receiver is a URL nobody answers: the suite looks at what is queued.
const receiver = "http://127.0.0.1:9/hooks"

func event(typ, resource string, seq int64) webhooks.Event {
	return webhooks.Event{ID: ids.New("evt"), Type: typ, Resource: resource, Sequence: seq,
		Data: json.RawMessage(`{"id":"x"}`), CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
}

func endpoints(t *testing.T, s webhooks.Service) {
	ep, err := s.Register(ctx, receiver, []string{"product.created", "payment.succeeded", "product.created"})
	require.NoError(t, err)
	require.Regexp(t, `^wh_`, ep.ID)
	require.Regexp(t, `^whsec_`, ep.Secret, "the secret is shown when the endpoint is made")
	require.Equal(t, []string{"product.created", "payment.succeeded"}, ep.Events, "as registered, once each")

	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, ep.ID, list[0].ID)
	require.Empty(t, list[0].Secret, "and never again")

	require.NoError(t, s.Delete(ctx, ep.ID))
	require.ErrorIs(t, s.Delete(ctx, ep.ID), webhooks.ErrNotFound)
	_, err = s.Deliveries(ctx, ep.ID)
	require.ErrorIs(t, err, webhooks.ErrNotFound)
	list, err = s.List(ctx)
	require.NoError(t, err)
	require.Empty(t, list)
	require.ErrorIs(t, s.Delete(ctx, "wh_missing"), webhooks.ErrNotFound)
	require.ErrorIs(t, s.Delete(ctx, "a/b"), webhooks.ErrNotFound)
}

func badEndpoints(t *testing.T, s webhooks.Service) {
	for name, tc := range map[string]struct {
		url    string
		events []string
	}{
		"no events":     {receiver, nil},
		"unknown event": {receiver, []string{"payment.stolen"}},
		"not a URL":     {"hooks", []string{"*"}},
		"credentials":   {"http://user:pw@127.0.0.1:9/", []string{"*"}},
	} {
		_, err := s.Register(ctx, tc.url, tc.events)
		require.ErrorIs(t, err, errs.ErrInvalid, name)
		var v *errs.ValidationError
		require.ErrorAs(t, err, &v, name)
	}
}

func subscriptions(t *testing.T, s webhooks.Service) {
	pay, err := s.Register(ctx, receiver, []string{"payment.succeeded"})
	require.NoError(t, err)
	all, err := s.Register(ctx, receiver, []string{"*"})
	require.NoError(t, err)
	require.NoError(t, s.Publish(ctx, []webhooks.Event{
		event("product.created", "product:p1", 1), event("payment.succeeded", "payment:a", 1), event("payment.failed", "payment:b", 1),
	}))
	got, err := s.Deliveries(ctx, pay.ID)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "payment.succeeded", got[0].EventType)
	require.Equal(t, "pending", got[0].Status)
	require.NotNil(t, got[0].NextAttemptAt)
	got, err = s.Deliveries(ctx, all.ID)
	require.NoError(t, err)
	require.Len(t, got, 3)
}

func idempotent(t *testing.T, s webhooks.Service) {
	ep, err := s.Register(ctx, receiver, []string{"*"})
	require.NoError(t, err)
	events := []webhooks.Event{event("inventory.adjusted", "stock:p1", 1), event("inventory.adjusted", "stock:p1", 2)}
	for range 3 {
		require.NoError(t, s.Publish(ctx, events))
	}
	require.NoError(t, s.Publish(ctx, events[1:]))
	got, err := s.Deliveries(ctx, ep.ID)
	require.NoError(t, err)
	require.Len(t, got, 2, "a relay that repeats itself delivers nothing twice")
	require.NoError(t, s.Publish(ctx, nil), "nothing to publish is fine")
}

func publishLimit(t *testing.T, s webhooks.Service) {
	many := make([]webhooks.Event, webhooks.MaxPublish+1)
	for i := range many {
		many[i] = event("product.updated", "product:p1", int64(i+1))
	}
	require.ErrorIs(t, s.Publish(ctx, many), errs.ErrInvalid)
}

func retry(t *testing.T, s webhooks.Service) {
	ep, err := s.Register(ctx, receiver, []string{"*"})
	require.NoError(t, err)
	require.NoError(t, s.Publish(ctx, []webhooks.Event{event("payment.refunded", "payment:a", 2)}))
	got, err := s.Deliveries(ctx, ep.ID)
	require.NoError(t, err)
	require.Len(t, got, 1)
	again, err := s.Retry(ctx, ep.ID, got[0].ID)
	require.NoError(t, err)
	require.Equal(t, got[0].ID, again.ID)
	require.Equal(t, "pending", again.Status)

	_, err = s.Retry(ctx, ep.ID, "dlv_missing")
	require.True(t, errs.Code(err) == errs.CodeNotFound, "an unknown delivery is not found: %v", err)
	_, err = s.Retry(ctx, "wh_missing", got[0].ID)
	require.ErrorIs(t, err, webhooks.ErrNotFound)
}
