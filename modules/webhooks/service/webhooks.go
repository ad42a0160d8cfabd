// Package service is the webhooks module's implementation: endpoints,
// deliveries and attempts in the module's own database. Events arrive
// through Publish (each module relays its outbox to it, in-process or over
// the internal route); Run sends the deliveries, signed per the Standard
// Webhooks specification (package webhook), retried on a schedule until
// they succeed or the schedule runs out, and records every attempt. Each
// delivery is claimed with a lease, so replicas of the module share the
// work and survive any one of them dying.
package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
	"github.com/bazaar-shop/bazaar/webhook"
)

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

func (r endpointRow) toEndpoint() webhooks.Endpoint {
	return webhooks.Endpoint{ID: r.ID, URL: r.URL, Events: strings.Split(r.Events, ","), CreatedAt: r.CreatedAt.UTC()}
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
	Resource      string
	Sequence      int64
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

var _ webhooks.Service = (*Service)(nil)

// Service is the webhooks module.
type Service struct {
	db   *gorm.DB
	opts Options
	now  func() time.Time
	wake chan struct{} // Publish queued deliveries: Run sends them now, not at the next poll
}

// New returns the webhooks on their database.
func New(db *gorm.DB, opts Options, now func() time.Time) *Service {
	return &Service{db: db, opts: opts, now: now, wake: make(chan struct{}, 1)}
}

// Register adds an endpoint and returns it with its signing secret.
func (s *Service) Register(ctx context.Context, url string, events []string) (webhooks.Endpoint, error) {
	var v errs.Validator
	v.Check(len(url) <= 2048, "url", "must be at most 2048 characters")
	v.Check(wellFormed(url), "url", "must be an absolute http(s) URL without credentials")
	v.Check(len(events) > 0, "events", `must name at least one event type, or "*"`)
	for i, e := range events {
		v.Checkf(e == "*" || slices.Contains(webhooks.EventTypes, e), "is not an event type", "events[%d]", i)
	}
	if err := v.Err(); err != nil {
		return webhooks.Endpoint{}, err
	}
	if err := checkURL(ctx, url, s.opts.AllowPrivate); err != nil {
		return webhooks.Endpoint{}, err
	}
	events = normalizeEvents(events)
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return webhooks.Endpoint{}, err
	}
	row := endpointRow{ID: ids.New("wh"), URL: url, Events: strings.Join(events, ","),
		Secret: webhook.SecretPrefix + base64.StdEncoding.EncodeToString(raw[:]), CreatedAt: s.now()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return webhooks.Endpoint{}, fmt.Errorf("register webhook: %w", err)
	}
	e := row.toEndpoint()
	e.Secret = row.Secret
	return e, nil
}

// normalizeEvents drops repeats, keeping the order they were given in,
// and everything else when "*" is there.
func normalizeEvents(events []string) []string {
	if slices.Contains(events, "*") {
		return []string{"*"}
	}
	var out []string
	for _, e := range events {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// List returns the live endpoints, oldest first, without their secrets.
func (s *Service) List(ctx context.Context) ([]webhooks.Endpoint, error) {
	var rows []endpointRow
	if err := s.db.WithContext(ctx).Where("deleted_at IS NULL").Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]webhooks.Endpoint, len(rows))
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
			return webhooks.ErrNotFound
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
		return row, webhooks.ErrNotFound
	}
	return row, err
}

// Deliveries returns an endpoint's latest deliveries (up to 100), newest
// first, each with its attempts.
func (s *Service) Deliveries(ctx context.Context, endpointID string) ([]webhooks.Delivery, error) {
	if _, err := s.endpoint(ctx, endpointID); err != nil {
		return nil, err
	}
	var rows []deliveryRow
	db := s.db.WithContext(ctx)
	if err := db.Where("endpoint_id = ?", endpointID).Order("created_at DESC, id DESC").Limit(100).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]webhooks.Delivery, len(rows))
	for i, r := range rows {
		d, err := s.withHistory(db, r)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func (s *Service) withHistory(db *gorm.DB, r deliveryRow) (webhooks.Delivery, error) {
	d := webhooks.Delivery{ID: r.ID, EventID: r.EventID, EventType: r.EventType, Status: r.Status,
		Attempts: r.Attempts, CreatedAt: r.CreatedAt.UTC(), History: []webhooks.Attempt{}, Message: json.RawMessage(r.Body)}
	if r.Status == pending {
		next := r.NextAttemptAt.UTC()
		d.NextAttemptAt = &next
	}
	var attempts []attemptRow
	if err := db.Where("delivery_id = ?", r.ID).Order("attempted_at").Find(&attempts).Error; err != nil {
		return d, err
	}
	for _, a := range attempts {
		d.History = append(d.History, webhooks.Attempt{At: a.AttemptedAt.UTC(), StatusCode: a.StatusCode,
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
func (s *Service) Retry(ctx context.Context, endpointID, deliveryID string) (webhooks.Delivery, error) {
	if _, err := s.endpoint(ctx, endpointID); err != nil {
		return webhooks.Delivery{}, err
	}
	db := s.db.WithContext(ctx)
	// The lease is left alone: an attempt in flight finishes first, so a
	// retry never sends the same delivery twice at once.
	res := db.Model(&deliveryRow{}).Where("id = ? AND endpoint_id = ?", deliveryID, endpointID).
		Updates(map[string]any{"status": pending, "next_attempt_at": s.now()})
	if res.Error != nil {
		return webhooks.Delivery{}, res.Error
	}
	if res.RowsAffected == 0 {
		return webhooks.Delivery{}, webhooks.ErrDeliveryNotFound
	}
	var row deliveryRow
	if err := db.Where("id = ?", deliveryID).Take(&row).Error; err != nil {
		return webhooks.Delivery{}, err
	}
	return s.withHistory(db, row)
}
