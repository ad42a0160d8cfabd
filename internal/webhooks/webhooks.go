// Package webhooks tells other systems what happened in the shop. Endpoints
// subscribe to event types; each module's outbox is relayed into deliveries
// (one per event and endpoint), and deliveries are sent signed per the
// Standard Webhooks specification (package webhook), retried on a schedule
// until they succeed or the schedule runs out. Every attempt is recorded.
//
// Endpoints and deliveries live in one database shared by every process of
// a layout, like API keys. Each process relays the outboxes of the modules
// it hosts, and every process sends deliveries, claiming each with a lease,
// so the work spreads over replicas and survives any one of them dying.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/webhook"
)

// EventTypes are the events an endpoint may subscribe to; "*" means all.
var EventTypes = []string{
	"product.created", "product.updated", "product.deleted",
	"inventory.adjusted", "inventory.low_stock",
	"payment.succeeded", "payment.failed", "payment.refunded",
}

// Errors of the webhooks API.
var (
	ErrNotFound         = errs.New(errs.CodeNotFound, "webhook endpoint not found")
	ErrDeliveryNotFound = errs.New(errs.CodeNotFound, "delivery not found")
)

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
}

// Attempt is one try to deliver.
type Attempt struct {
	At              time.Time `json:"at"`
	StatusCode      int       `json:"status_code"` // 0: no answer
	LatencyMS       int64     `json:"latency_ms"`
	Error           string    `json:"error,omitempty"`
	ResponseExcerpt string    `json:"response_excerpt,omitempty"`
}

// Delivery statuses.
const (
	pending   = "pending"
	delivered = "delivered"
	failed    = "failed"
)

type endpointRow struct {
	ID        string `gorm:"primaryKey"`
	URL       string
	Events    string
	Secret    string
	CreatedAt time.Time
	DeletedAt *time.Time
}

func (endpointRow) TableName() string { return "webhook_endpoints" }

func (r endpointRow) toEndpoint() Endpoint {
	return Endpoint{ID: r.ID, URL: r.URL, Events: strings.Split(r.Events, ","), CreatedAt: r.CreatedAt.UTC()}
}

func (r endpointRow) wants(eventType string) bool {
	events := strings.Split(r.Events, ",")
	return slices.Contains(events, "*") || slices.Contains(events, eventType)
}

type deliveryRow struct {
	ID            string `gorm:"primaryKey"`
	EndpointID    string
	EventID       string
	EventType     string
	Body          string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LockedUntil   *time.Time
	CreatedAt     time.Time
}

func (deliveryRow) TableName() string { return "webhook_deliveries" }

type attemptRow struct {
	ID              string `gorm:"primaryKey"`
	DeliveryID      string
	AttemptedAt     time.Time
	StatusCode      int
	LatencyMS       int64 `gorm:"column:latency_ms"`
	Error           string
	ResponseExcerpt string
}

func (attemptRow) TableName() string { return "webhook_attempts" }

// Options tune the webhooks.
type Options struct {
	AllowPrivate bool            // allow http:// and private addresses (development, tests)
	Schedule     []time.Duration // the wait before each retry; its length is the number of retries
	Timeout      time.Duration   // one attempt
	PollInterval time.Duration   // how often outboxes and due deliveries are looked at when idle
	Retention    time.Duration   // how long an ended delivery is kept; 0 keeps it for ever
}

// Service is the webhooks of one process.
type Service struct {
	db   *gorm.DB
	opts Options
	now  func() time.Time
}

// New returns the webhooks on their database.
func New(db *gorm.DB, opts Options, now func() time.Time) *Service {
	return &Service{db: db, opts: opts, now: now}
}

// Register adds an endpoint and returns it with its signing secret.
func (s *Service) Register(ctx context.Context, url string, events []string) (Endpoint, error) {
	var v errs.Validator
	v.Check(len(url) <= 2048, "url", "must be at most 2048 characters")
	v.Check(wellFormed(url), "url", "must be an absolute http(s) URL without credentials")
	v.Check(len(events) > 0, "events", `must name at least one event type, or "*"`)
	for i, e := range events {
		v.Checkf(e == "*" || slices.Contains(EventTypes, e), "is not an event type", "events[%d]", i)
	}
	if err := v.Err(); err != nil {
		return Endpoint{}, err
	}
	if err := checkURL(ctx, url, s.opts.AllowPrivate); err != nil {
		return Endpoint{}, err
	}
	events = normalizeEvents(events)
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Endpoint{}, err
	}
	row := endpointRow{ID: ids.New("wh"), URL: url, Events: strings.Join(events, ","),
		Secret: webhook.SecretPrefix + base64.StdEncoding.EncodeToString(raw[:]), CreatedAt: s.now()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return Endpoint{}, fmt.Errorf("register webhook: %w", err)
	}
	e := row.toEndpoint()
	e.Secret = row.Secret
	return e, nil
}

// normalizeEvents drops repeats, and everything else when "*" is there.
func normalizeEvents(events []string) []string {
	if slices.Contains(events, "*") {
		return []string{"*"}
	}
	out := slices.Clone(events)
	slices.Sort(out)
	return slices.Compact(out)
}

// List returns the live endpoints, oldest first, without their secrets.
func (s *Service) List(ctx context.Context) ([]Endpoint, error) {
	var rows []endpointRow
	if err := s.db.WithContext(ctx).Where("deleted_at IS NULL").Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Endpoint, len(rows))
	for i, r := range rows {
		out[i] = r.toEndpoint()
	}
	return out, nil
}

// Delete removes an endpoint; its undelivered events are not sent, and
// count as failed.
func (s *Service) Delete(ctx context.Context, id string) error {
	return database.Transaction(ctx, s.db, "webhooks.delete", func(tx *gorm.DB) error {
		res := tx.Model(&endpointRow{}).Where("id = ? AND deleted_at IS NULL", id).Update("deleted_at", s.now())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		// An attempt in flight still records its outcome.
		return tx.Model(&deliveryRow{}).Where("endpoint_id = ? AND status = ?", id, pending).
			Update("status", failed).Error
	})
}

func (s *Service) endpoint(ctx context.Context, id string) (endpointRow, error) {
	var row endpointRow
	err := s.db.WithContext(ctx).Where("id = ? AND deleted_at IS NULL", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, ErrNotFound
	}
	return row, err
}

// Deliveries returns an endpoint's latest deliveries (up to 100), newest
// first, each with its attempts.
func (s *Service) Deliveries(ctx context.Context, endpointID string) ([]Delivery, error) {
	if _, err := s.endpoint(ctx, endpointID); err != nil {
		return nil, err
	}
	var rows []deliveryRow
	db := s.db.WithContext(ctx)
	if err := db.Where("endpoint_id = ?", endpointID).Order("created_at DESC, id DESC").Limit(100).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		d, err := s.withHistory(db, r)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func (s *Service) withHistory(db *gorm.DB, r deliveryRow) (Delivery, error) {
	d := Delivery{ID: r.ID, EventID: r.EventID, EventType: r.EventType, Status: r.Status,
		Attempts: r.Attempts, CreatedAt: r.CreatedAt.UTC(), History: []Attempt{}}
	if r.Status == pending {
		next := r.NextAttemptAt.UTC()
		d.NextAttemptAt = &next
	}
	var attempts []attemptRow
	if err := db.Where("delivery_id = ?", r.ID).Order("attempted_at").Find(&attempts).Error; err != nil {
		return d, err
	}
	for _, a := range attempts {
		d.History = append(d.History, Attempt{At: a.AttemptedAt.UTC(), StatusCode: a.StatusCode,
			LatencyMS: a.LatencyMS, Error: a.Error, ResponseExcerpt: a.ResponseExcerpt})
	}
	return d, nil
}

// Counts returns the number of deliveries in each status, for the metrics.
func (s *Service) Counts(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	err := s.db.WithContext(ctx).Model(&deliveryRow{}).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error
	out := map[string]int64{pending: 0, delivered: 0, failed: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, err
}

// Retry sends a delivery again as soon as possible, whatever its status.
func (s *Service) Retry(ctx context.Context, endpointID, deliveryID string) (Delivery, error) {
	if _, err := s.endpoint(ctx, endpointID); err != nil {
		return Delivery{}, err
	}
	db := s.db.WithContext(ctx)
	// The lease is left alone: an attempt in flight finishes first, so a
	// retry never sends the same delivery twice at once.
	res := db.Model(&deliveryRow{}).Where("id = ? AND endpoint_id = ?", deliveryID, endpointID).
		Updates(map[string]any{"status": pending, "next_attempt_at": s.now()})
	if res.Error != nil {
		return Delivery{}, res.Error
	}
	if res.RowsAffected == 0 {
		return Delivery{}, ErrDeliveryNotFound
	}
	var row deliveryRow
	if err := db.Where("id = ?", deliveryID).Take(&row).Error; err != nil {
		return Delivery{}, err
	}
	return s.withHistory(db, row)
}
