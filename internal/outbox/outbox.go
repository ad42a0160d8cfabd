// Package outbox is the transactional outbox of every module: a module
// writes each domain event into its own database in the same transaction as
// the change it reports, so there is no event without its change and no
// change without its event. Whatever delivers events later (webhooks) reads
// them from here, in order, and removes them once it has handed them on: the
// outbox holds only the backlog, however many events a shop has made.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/ids"
)

// Event is one domain event, e.g. "payment.succeeded" with the payment.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

type row struct {
	ID        string `gorm:"primaryKey"`
	Type      string
	Payload   string
	CreatedAt time.Time
}

func (row) TableName() string { return "outbox" }

// Record adds an event to the outbox. tx must be the transaction that makes
// the change the event reports.
func Record(tx *gorm.DB, eventType string, data any, now time.Time) error {
	payload, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", eventType, err)
	}
	r := row{ID: ids.New("evt"), Type: eventType, Payload: string(payload), CreatedAt: now}
	if err := tx.Create(&r).Error; err != nil {
		return fmt.Errorf("record %s event: %w", eventType, err)
	}
	return nil
}

// Queue adds an event to the outbox as a statement of pipeline p, the
// transaction that makes the change the event reports.
func Queue(p *database.Pipeline, eventType string, data any, now time.Time) error {
	payload, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", eventType, err)
	}
	p.Exec(nil, `INSERT INTO outbox (id, type, payload, created_at) VALUES (?, ?, ?, ?)`,
		ids.New("evt"), eventType, string(payload), now)
	return nil
}

// Pending returns up to limit events not yet handed on, oldest first.
func Pending(ctx context.Context, db *gorm.DB, limit int) ([]Event, error) {
	var rows []row
	err := db.WithContext(ctx).Order("created_at, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = Event{ID: r.ID, Type: r.Type, Data: json.RawMessage(r.Payload), CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// Backlog is the number of events not yet handed on.
func Backlog(ctx context.Context, db *gorm.DB) (int64, error) {
	var n int64
	err := db.WithContext(ctx).Model(&row{}).Count(&n).Error
	return n, err
}

// Remove deletes events that have been handed on.
func Remove(ctx context.Context, db *gorm.DB, eventIDs []string) error {
	if len(eventIDs) == 0 {
		return nil
	}
	return database.Transaction(ctx, db, "outbox.remove", func(tx *gorm.DB) error {
		return tx.Where("id IN ?", eventIDs).Delete(&row{}).Error
	})
}

// RelayPage is how many events one Relay hands on: one read of the outbox,
// one call to publish, one delete.
const RelayPage = 200

// Publish hands events on, in order; it must be idempotent by event id.
type Publish func(ctx context.Context, events []Event) error

// Relay hands up to RelayPage of the oldest events to publish and removes
// them once it accepted them; it returns how many it moved. A failure
// between the two steps only repeats the first, which publish's
// idempotency makes harmless; a publish that fails leaves the events here,
// to be tried again.
func Relay(ctx context.Context, db *gorm.DB, publish Publish) (int, error) {
	events, err := Pending(ctx, db, RelayPage)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	if err := publish(ctx, events); err != nil {
		return 0, fmt.Errorf("publish events: %w", err)
	}
	relayed := make([]string, len(events))
	for i, e := range events {
		relayed[i] = e.ID
	}
	return len(events), Remove(ctx, db, relayed)
}

// RunRelay relays a module's outbox until ctx ends: every interval while
// there is little to do, and again at once while a round found a full page.
// While publish fails (the webhooks module is down), events wait here.
func RunRelay(ctx context.Context, db *gorm.DB, interval time.Duration, publish Publish, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		n, err := Relay(ctx, db, publish)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Error("relay events; they wait in the outbox", "err", err)
			failing = true
		case err == nil && failing:
			log.Info("relaying events again")
			failing = false
		}
		if err == nil && n == RelayPage && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
