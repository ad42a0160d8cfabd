package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
	"github.com/bazaar-shop/bazaar/webhook"
)

// message is the body of a delivery, per the Standard Webhooks spec, with
// what a receiver needs to order a resource's events and drop repeats.
type message struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Resource  string          `json:"resource,omitempty"`
	Sequence  int64           `json:"sequence,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// Publish queues a delivery of each event for every live endpoint that
// subscribed to its type, in the order the events are given. A repeat of
// an event queues nothing: (endpoint, event) is unique.
func (s *Service) Publish(ctx context.Context, events []webhooks.Event) error {
	if len(events) > webhooks.MaxPublish {
		return errs.InvalidField("events", fmt.Sprintf("at most %d events at once", webhooks.MaxPublish))
	}
	var endpoints []endpointRow
	if err := s.db.WithContext(ctx).Where("deleted_at IS NULL").Find(&endpoints).Error; err != nil {
		return err
	}
	var rows []deliveryRow
	for _, e := range events {
		var body []byte // made once, for the first endpoint that wants the event
		for _, ep := range endpoints {
			if !ep.wants(e.Type) {
				continue
			}
			if body == nil {
				var err error
				msg := message{Type: e.Type, Timestamp: e.CreatedAt, Resource: e.Resource, Sequence: e.Sequence, Data: e.Data}
				if body, err = json.Marshal(msg); err != nil {
					return err
				}
			}
			now := s.now()
			rows = append(rows, deliveryRow{ID: ids.New("dlv"), EndpointID: ep.ID, EventID: e.ID, EventType: e.Type,
				Resource: e.Resource, Sequence: e.Sequence, Body: string(body), Status: pending, NextAttemptAt: now, CreatedAt: now})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	err := database.Transaction(ctx, s.db, "webhooks.publish", func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 100).Error
	})
	if err != nil {
		return fmt.Errorf("queue deliveries: %w", err)
	}
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
	return nil
}

// nextDue is when the earliest pending delivery is due, if any is pending.
func (s *Service) nextDue(ctx context.Context) (time.Time, bool, error) {
	var row deliveryRow
	err := s.db.WithContext(ctx).Select("next_attempt_at").Where("status = ?", pending).
		Order("next_attempt_at").Limit(1).Find(&row).Error
	return row.NextAttemptAt, err == nil && !row.NextAttemptAt.IsZero(), err
}

// queued returns an endpoint's oldest pending deliveries that are due.
func (s *Service) queued(ctx context.Context, endpointID string, limit int) ([]deliveryRow, error) {
	var rows []deliveryRow
	err := s.db.WithContext(ctx).Where("endpoint_id = ? AND status = ? AND next_attempt_at <= ?", endpointID, pending, s.now()).
		Order("created_at, id").Limit(limit).Find(&rows).Error
	return rows, err
}

// waitsForEarlier reports whether an earlier event of the same resource is
// still pending for the endpoint: waiting for its retry, or queued later
// than this one (by a replica whose clock runs behind).
func (s *Service) waitsForEarlier(ctx context.Context, d deliveryRow) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&deliveryRow{}).
		Where("endpoint_id = ? AND resource = ? AND sequence < ? AND status = ?", d.EndpointID, d.Resource, d.Sequence, pending).
		Limit(1).Count(&n).Error
	return n > 0, err
}

// claim takes a delivery for this process for the length of an attempt.
func (s *Service) claim(ctx context.Context, d deliveryRow) (bool, error) {
	now := s.now()
	res := s.db.WithContext(ctx).Model(&deliveryRow{}).
		Where("id = ? AND status = ? AND (locked_until IS NULL OR locked_until < ?)", d.ID, pending, now).
		Update("locked_until", now.Add(2*s.opts.Timeout))
	return res.RowsAffected == 1, res.Error
}

// deliverAtOnce bounds how many endpoints Deliver sends to at a time: a slow
// endpoint holds up only its own deliveries.
const deliverAtOnce = 8

// deliverRun bounds how many deliveries one endpoint is sent per round.
const deliverRun = 50

// Deliver sends every endpoint its due deliveries, oldest first, to several
// endpoints at a time, and returns how many it tried.
func (s *Service) Deliver(ctx context.Context, client *http.Client) (int, error) {
	var endpoints []endpointRow
	if err := s.db.WithContext(ctx).Where("deleted_at IS NULL").Find(&endpoints).Error; err != nil {
		return 0, err
	}
	var tried atomic.Int64
	var g errgroup.Group
	g.SetLimit(deliverAtOnce)
	for _, ep := range endpoints {
		g.Go(func() error {
			n, err := s.deliverTo(ctx, client, ep)
			tried.Add(int64(n))
			return err
		})
	}
	err := g.Wait()
	return int(tried.Load()), err
}

// deliverTo sends an endpoint its due deliveries, oldest first, each
// resource's events in their order: while an event waits for its retry, the
// later events of its resource wait too, and those of other resources go
// on. An attempt that fails ends the endpoint's round: the receiver is
// likely down, and the others would only fail after it. It returns how
// many it tried.
func (s *Service) deliverTo(ctx context.Context, client *http.Client, ep endpointRow) (int, error) {
	rows, err := s.queued(ctx, ep.ID, deliverRun)
	if err != nil {
		return 0, err
	}
	tried := 0
	heldFrom := map[string]int64{} // a resource's events from this sequence on wait this round
	sent := map[string]int64{}     // the sequence of a resource's event sent this round
	for _, d := range rows {
		if from, ok := heldFrom[d.Resource]; ok && d.Sequence >= from {
			continue
		}
		hold := func() {
			if from, ok := heldFrom[d.Resource]; !ok || d.Sequence < from {
				heldFrom[d.Resource] = d.Sequence
			}
		}
		if d.Resource != "" && sent[d.Resource] != d.Sequence-1 {
			// Not the successor of what was just sent: is its predecessor
			// still pending, waiting for a retry or queued after it?
			earlier, err := s.waitsForEarlier(ctx, d)
			if err != nil {
				return tried, err
			}
			if earlier {
				hold()
				continue
			}
		}
		if d.LockedUntil != nil && d.LockedUntil.After(s.now()) {
			hold() // another process is sending it
			continue
		}
		ok, err := s.claim(ctx, d)
		if err != nil {
			return tried, err
		}
		if !ok {
			hold() // another process took it meanwhile
			continue
		}
		delivered, err := s.attempt(ctx, client, ep, d)
		tried++
		if err != nil || !delivered {
			return tried, err
		}
		sent[d.Resource] = d.Sequence
	}
	return tried, nil
}

// attempt sends one delivery, records the attempt and schedules the next;
// it reports whether the endpoint took it.
func (s *Service) attempt(ctx context.Context, client *http.Client, ep endpointRow, d deliveryRow) (bool, error) {
	start := s.now()
	code, excerpt, sendErr := s.send(ctx, client, ep, d)
	a := attemptRow{ID: ids.New("att"), DeliveryID: d.ID, AttemptedAt: start, StatusCode: code,
		LatencyMS: s.now().Sub(start).Milliseconds(), ResponseExcerpt: excerpt}
	if sendErr != nil {
		a.Error = sendErr.Error()
	}
	update := map[string]any{"attempts": d.Attempts + 1, "locked_until": nil}
	switch {
	case sendErr == nil && code >= 200 && code < 300:
		update["status"] = delivered
	case d.Attempts < len(s.opts.Schedule):
		wait := s.opts.Schedule[d.Attempts]
		jitter := time.Duration(rand.Int64N(int64(wait)/10 + 1)) // up to 10% later
		update["next_attempt_at"] = s.now().Add(wait + jitter)
	default:
		update["status"] = failed // the schedule ran out
	}
	err := database.Transaction(ctx, s.db, "webhooks.attempt", func(tx *gorm.DB) error {
		if err := tx.Create(&a).Error; err != nil {
			return err
		}
		return tx.Model(&deliveryRow{}).Where("id = ?", d.ID).Updates(update).Error
	})
	return update["status"] == delivered, err
}

// send makes the HTTP request of one attempt.
func (s *Service) send(ctx context.Context, client *http.Client, ep endpointRow, d deliveryRow) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	now := s.now()
	sig, err := webhook.Sign(ep.Secret, d.EventID, now, []byte(d.Body))
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader([]byte(d.Body)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Bazaar-Webhooks/1")
	// A delivery may arrive twice (receivers drop repeats by webhook-id),
	// so it is idempotent, and saying so lets net/http send it again at
	// once on a new connection when a kept-alive one turns out to be
	// closed before the receiver read it — rather than record a failure
	// and hold the endpoint's later events back by a retry delay.
	req.Header.Set("Idempotency-Key", d.EventID)
	req.Header.Set(webhook.HeaderID, d.EventID)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, sig)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	// Receivers answer anything; PostgreSQL stores only valid UTF-8.
	return resp.StatusCode, strings.ToValidUTF8(string(excerpt), "?"), nil
}

// Client is the HTTP client deliveries use: no redirects (a redirect could
// lead anywhere), and unless private addresses are allowed, a dialer that
// refuses them at connect time.
func (s *Service) Client() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !s.opts.AllowPrivate {
		dialer.Control = dialControl
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = dialer.DialContext
	t.Proxy = nil
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// pruneRows bounds how many deliveries one transaction of Prune removes, so
// that the writer is never held for long.
const pruneRows = 500

// Prune removes the deliveries that ended (delivered or failed) longer
// than the retention ago, with their attempts, and returns how many.
func (s *Service) Prune(ctx context.Context) (int, error) {
	if s.opts.Retention <= 0 {
		return 0, nil
	}
	cutoff := s.now().Add(-s.opts.Retention)
	pruned := 0
	for {
		var old []string
		err := s.db.WithContext(ctx).Model(&deliveryRow{}).
			Where("created_at < ? AND status IN ?", cutoff, []string{delivered, failed}).
			Order("created_at").Limit(pruneRows).Pluck("id", &old).Error
		if err != nil || len(old) == 0 {
			return pruned, err
		}
		err = database.Transaction(ctx, s.db, "webhooks.prune", func(tx *gorm.DB) error {
			// A delivery sent again by hand meanwhile is pending, and stays
			// with its attempts.
			err := tx.Where("id IN ? AND status IN ?", old, []string{delivered, failed}).Delete(&deliveryRow{}).Error
			if err != nil {
				return err
			}
			return tx.Where("delivery_id IN ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = delivery_id)", old).
				Delete(&attemptRow{}).Error
		})
		if err != nil {
			return pruned, err
		}
		pruned += len(old)
		if len(old) < pruneRows {
			return pruned, nil
		}
	}
}

// pruneEvery is how often Run prunes old deliveries.
const pruneEvery = time.Minute

// Run sends due deliveries until ctx ends: every poll interval while there
// is little to do, at once when Publish queued some here, and again at
// once while there is more, so the webhooks keep up with the shop however
// busy it is. Once a minute it prunes old
// deliveries.
func (s *Service) Run(ctx context.Context, log *slog.Logger) {
	client := s.Client()
	t := time.NewTimer(s.opts.PollInterval)
	defer t.Stop()
	var pruned time.Time
	for {
		if time.Since(pruned) >= pruneEvery {
			pruned = time.Now()
			if _, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				log.Error("prune webhook deliveries", "err", err)
			}
		}
		n, err := s.Deliver(ctx, client)
		if err != nil && ctx.Err() == nil {
			log.Error("deliver webhooks", "err", err)
		}
		// A delivery that failed waits for its retry, so a round that only
		// tried failing endpoints finds nothing due next time and waits:
		// until the next retry is due, or the poll interval, whichever
		// comes first, so that retries keep to their schedule.
		if err == nil && n > 0 && ctx.Err() == nil {
			continue
		}
		wait := s.opts.PollInterval
		if due, ok, err := s.nextDue(ctx); err == nil && ok {
			wait = sleepFor(due.Sub(s.now()), s.opts.PollInterval)
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// sleepFor is how long Run waits for the next round: until the next
// retry is due, but at least a millisecond and at most the poll interval
// (Publish wakes it sooner for new events).
func sleepFor(untilDue, poll time.Duration) time.Duration {
	return min(max(untilDue, time.Millisecond), poll)
}
