// Package webhooks is the contract of the webhooks module: it tells other
// systems what happened in the shop. Endpoints subscribe to event types;
// every module hands the events of its outbox to Publish, and each event is
// delivered to every subscribed endpoint, signed per the Standard Webhooks
// specification (package webhook), retried on a schedule, every attempt
// recorded. The module owns its endpoints, deliveries and attempts in a
// database no other module opens.
package webhooks

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// EventTypes are the events an endpoint may subscribe to, as the modules
// that publish them declare them; "*" means all.
var EventTypes = slices.Concat(catalogue.Events, inventory.Events, payment.Events)

// Errors of the webhooks contract.
var (
	ErrNotFound         = errs.Of(errs.NotFound, "webhook endpoint not found")
	ErrDeliveryNotFound = errs.Of(errs.NotFound, "delivery not found")
	ErrURLNotAllowed    = errs.New(errs.Invalid, "webhook_url_not_allowed", "webhook URLs must be https:// and resolve to public addresses")
)

// Errors lists the errors the webhooks answer with, as their HTTP client
// turns their codes back (errs.Index): the first of a code wins, so an
// unknown delivery comes back as ErrNotFound (both are "not_found").
var Errors = []*errs.Error{ErrNotFound, ErrDeliveryNotFound, ErrURLNotAllowed}

// Endpoint is a registered receiver. Secret is shown only when it is created.
type Endpoint struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Delivery is one event on its way to one endpoint, with its attempts.
type Delivery struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"` // pending, delivered or failed
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	CreatedAt     time.Time  `json:"created_at"`
	History       []Attempt  `json:"history"`
	// Message is the body every attempt sends, exactly as signed: the
	// Standard Webhooks message (type, timestamp, resource, sequence, data).
	Message json.RawMessage `json:"message"`
}

// Attempt is one try to deliver.
type Attempt struct {
	At              time.Time `json:"at"`
	StatusCode      int       `json:"status_code"` // 0: no answer
	LatencyMS       int64     `json:"latency_ms"`
	Error           string    `json:"error,omitempty"`
	ResponseExcerpt string    `json:"response_excerpt,omitempty"`
}

// Event is one domain event as a module's outbox hands it on. Resource
// names what it is about ("product:prod_…", "stock:prod_…",
// "payment:pay_…"); Sequence counts that resource's events from 1 in the
// order they happened. An endpoint gets each resource's events in that
// order; events of different resources come in no promised order.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Resource  string          `json:"resource"`
	Sequence  int64           `json:"sequence"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// MaxPublish bounds the events of one Publish.
const MaxPublish = 500

// Service is the webhooks module.
type Service interface {
	// Register adds an endpoint and returns it with its signing secret.
	Register(ctx context.Context, url string, events []string) (Endpoint, error)
	// List returns the live endpoints, oldest first, without their secrets.
	List(ctx context.Context) ([]Endpoint, error)
	// Delete removes an endpoint; its undelivered events count as failed.
	Delete(ctx context.Context, id string) error
	// Deliveries returns an endpoint's latest deliveries, newest first.
	Deliveries(ctx context.Context, endpointID string) ([]Delivery, error)
	// Retry sends a delivery again as soon as possible.
	Retry(ctx context.Context, endpointID, deliveryID string) (Delivery, error)
	// Publish takes events from a module's outbox, in the order they are
	// given, and queues one delivery for each subscribed endpoint. It is
	// idempotent by event id: an event published again is not delivered
	// again, so a relay may repeat itself after any failure.
	Publish(ctx context.Context, events []Event) error
}
