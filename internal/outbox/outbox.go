// Package outbox is the transactional outbox of every module: a module
// writes each domain event into its own database in the same transaction as
// the change it reports, so there is no event without its change and no
// change without its event. Whatever delivers events later (webhooks) reads
// them from here, in order, and removes them once it has handed them on: the
// outbox holds only the backlog, however many events a shop has made.
package outbox

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/ids"
)

// Event is one domain event, e.g. "payment.succeeded" with the payment.
// Resource names what it is about ("payment:pay_…"); Sequence counts that
// resource's events from 1, in the order they were committed, so a reader
// can tell the order of a resource's events and spot a repeat.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Resource  string          `json:"resource"`
	Sequence  int64           `json:"sequence"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

type row struct {
	ID        string `gorm:"primaryKey"`
	Type      string
	Resource  string
	Sequence  int64
	Payload   string
	CreatedAt time.Time
}

func (row) TableName() string { return "outbox" }

// The two statements that record an event: the resource's counter moves
// on by one — its row lock makes the events of one resource take turns, in
// commit order — and the event takes the counter's value.
const (
	nextSequence = `INSERT INTO outbox_sequences (resource, seq) VALUES (?, 1)
		ON CONFLICT (resource) DO UPDATE SET seq = outbox_sequences.seq + 1`
	insertEvent = `INSERT INTO outbox (id, type, resource, sequence, payload, created_at)
		VALUES (?, ?, ?, (SELECT seq FROM outbox_sequences WHERE resource = ?), ?, ?)`
)

// Record adds an event about resource to the outbox. tx must be the
// transaction that makes the change the event reports.
func Record(tx *gorm.DB, eventType, resource string, data any, now time.Time) error {
	payload, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", eventType, err)
	}
	if err := tx.Exec(nextSequence, resource).Error; err != nil {
		return fmt.Errorf("record %s event: %w", eventType, err)
	}
	if err := tx.Exec(insertEvent, ids.New("evt"), eventType, resource, resource, string(payload), now).Error; err != nil {
		return fmt.Errorf("record %s event: %w", eventType, err)
	}
	return nil
}

// Queue adds an event about resource to the outbox as statements of
// pipeline p, the transaction that makes the change the event reports.
func Queue(p *database.Pipeline, eventType, resource string, data any, now time.Time) error {
	payload, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", eventType, err)
	}
	p.Exec(nil, nextSequence, resource)
	p.Exec(nil, insertEvent, ids.New("evt"), eventType, resource, resource, string(payload), now)
	return nil
}

// QueueAt is Queue for a resource whose events each have a fixed place in
// its life — a payment is decided once (succeeded or failed), then maybe
// refunded — so sequence needs no counter, and the resource no counter row.
// The change that the event reports must happen at most once (a
// conditional update), which is what makes the place the event's own.
func QueueAt(p *database.Pipeline, eventType, resource string, sequence int64, data any, now time.Time) error {
	payload, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", eventType, err)
	}
	p.Exec(nil, `INSERT INTO outbox (id, type, resource, sequence, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		ids.New("evt"), eventType, resource, sequence, string(payload), now)
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
		out[i] = toEvent(r)
	}
	return out, nil
}

func toEvent(r row) Event {
	return Event{ID: r.ID, Type: r.Type, Resource: r.Resource, Sequence: r.Sequence,
		Data: json.RawMessage(r.Payload), CreatedAt: r.CreatedAt.UTC()}
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
// to be tried again. Each resource's events go in the order of their
// sequence (inOrder).
func Relay(ctx context.Context, db *gorm.DB, publish Publish) (int, error) {
	events, err := Pending(ctx, db, RelayPage)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	if events, err = inOrder(ctx, db, events); err != nil {
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

// inOrder puts each resource's events of a page in the order of their
// sequence, where the resource's first event in the page stands. The page
// is read in the order of created_at, which is taken before a transaction
// waits for the resource: a later event may then come before an earlier
// one, and the earlier one may even be past the page's end. Such earlier
// events are fetched and put first, so a resource's events are always
// handed on in their order, whichever page they are in.
func inOrder(ctx context.Context, db *gorm.DB, page []Event) ([]Event, error) {
	first := map[string]int64{} // resource → lowest sequence in the page
	var resources []string
	for _, e := range page {
		if e.Resource == "" {
			continue // recorded before events had a sequence
		}
		if low, ok := first[e.Resource]; !ok || e.Sequence < low {
			if !ok {
				resources = append(resources, e.Resource)
			}
			first[e.Resource] = e.Sequence
		}
	}
	if len(resources) == 0 {
		return page, nil
	}
	var lows []struct {
		Resource string
		Low      int64
	}
	err := db.WithContext(ctx).Model(&row{}).Select("resource, MIN(sequence) AS low").
		Where("resource IN ?", resources).Group("resource").Scan(&lows).Error
	if err != nil {
		return nil, err
	}
	byResource := map[string][]Event{}
	for _, e := range page {
		byResource[e.Resource] = append(byResource[e.Resource], e)
	}
	for _, l := range lows {
		if l.Low >= first[l.Resource] {
			continue
		}
		var earlier []row
		err := db.WithContext(ctx).Where("resource = ? AND sequence < ?", l.Resource, first[l.Resource]).
			Order("sequence").Find(&earlier).Error
		if err != nil {
			return nil, err
		}
		for _, r := range earlier {
			byResource[r.Resource] = append(byResource[r.Resource], toEvent(r))
		}
	}
	out := make([]Event, 0, len(page))
	for _, e := range page {
		if e.Resource == "" {
			out = append(out, e)
			continue
		}
		events, ok := byResource[e.Resource]
		if !ok {
			continue // placed at the resource's first event
		}
		slices.SortFunc(events, func(a, b Event) int { return cmp.Compare(a.Sequence, b.Sequence) })
		out = append(out, events...)
		delete(byResource, e.Resource)
	}
	return out, nil
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
