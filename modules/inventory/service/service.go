// Package service is the in-process implementation of inventory.Service.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/periodic"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/inventory/internal/store"
)

// Limits that keep every sum of quantities far from overflow.
const (
	MaxQuantity = 1_000_000_000
	MaxLines    = 100
)

// Service implements inventory.Service.
type Service struct {
	store     *store.Store
	catalogue catalogue.Service
	ttl       time.Duration
	now       func() time.Time
}

var _ inventory.Service = (*Service)(nil)

// New returns the inventory service on db, its own database. It asks the
// catalogue whether a product exists; reservations expire after ttl; an
// inventory.low_stock event fires when on hand falls to lowStock or below.
func New(db *gorm.DB, cat catalogue.Service, ttl time.Duration, lowStock int64, now func() time.Time) *Service {
	return &Service{store: store.New(db, lowStock), catalogue: cat, ttl: ttl, now: now}
}

// Get returns the stock of a product the catalogue sells.
func (s *Service) Get(ctx context.Context, productID string) (inventory.Level, error) {
	if err := s.mustExist(ctx, productID); err != nil {
		return inventory.Level{}, err
	}
	return s.store.Level(ctx, productID)
}

// Set sets the units on hand.
func (s *Service) Set(ctx context.Context, productID string, onHand int64) (inventory.Level, error) {
	var v errs.Validator
	v.Check(onHand >= 0, "on_hand", "must not be negative")
	v.Check(onHand <= MaxQuantity, "on_hand", fmt.Sprintf("must be at most %d", MaxQuantity))
	if err := v.Err(); err != nil {
		return inventory.Level{}, err
	}
	if err := s.mustExist(ctx, productID); err != nil {
		return inventory.Level{}, err
	}
	lvl, err := s.store.Set(ctx, productID, onHand, s.now())
	if err != nil {
		return lvl, fmt.Errorf("set stock of %s to %d: %w", productID, onHand, err)
	}
	return lvl, nil
}

// Adjust changes the units on hand by delta.
func (s *Service) Adjust(ctx context.Context, productID string, delta int64, reason string) (inventory.Level, error) {
	var v errs.Validator
	v.Check(delta != 0, "delta", "must not be zero")
	v.Check(delta >= -MaxQuantity && delta <= MaxQuantity, "delta", fmt.Sprintf("must be between -%d and %d", MaxQuantity, MaxQuantity))
	v.Check(reason != "", "reason", "is required")
	v.Check(len(reason) <= 500, "reason", "must be at most 500 bytes")
	if err := v.Err(); err != nil {
		return inventory.Level{}, err
	}
	if err := s.mustExist(ctx, productID); err != nil {
		return inventory.Level{}, err
	}
	lvl, err := s.store.Adjust(ctx, productID, delta, reason, s.now())
	if err != nil {
		return lvl, fmt.Errorf("adjust stock of %s by %d: %w", productID, delta, err)
	}
	return lvl, nil
}

func (s *Service) mustExist(ctx context.Context, productID string) error {
	_, err := s.catalogue.Get(ctx, productID)
	if errors.Is(err, catalogue.ErrNotFound) {
		return fmt.Errorf("product %s: %w", productID, inventory.ErrProductNotFound)
	}
	return err
}

// Reserve holds every line or none.
func (s *Service) Reserve(ctx context.Context, id string, lines []inventory.Line) (inventory.Reservation, error) {
	if err := validateLines(id, lines); err != nil {
		return inventory.Reservation{}, err
	}
	now := s.now()
	r, err := s.store.Reserve(ctx, id, lines, now, now.Add(s.ttl))
	if err != nil {
		return r, fmt.Errorf("reserve %s: %w", id, err)
	}
	return r, nil
}

func validateLines(id string, lines []inventory.Line) error {
	var v errs.Validator
	v.Check(id != "" && len(id) <= 100, "id", "must be 1 to 100 characters")
	v.Check(len(lines) > 0, "lines", "must not be empty")
	v.Check(len(lines) <= MaxLines, "lines", fmt.Sprintf("must have at most %d lines", MaxLines))
	seen := map[string]bool{}
	for i, l := range lines {
		v.Checkf(l.ProductID != "", "is required", "lines[%d].product_id", i)
		v.Checkf(!seen[l.ProductID], "appears twice", "lines[%d].product_id", i)
		v.Checkf(l.Quantity >= 1 && l.Quantity <= MaxQuantity, fmt.Sprintf("must be between 1 and %d", MaxQuantity), "lines[%d].quantity", i)
		seen[l.ProductID] = true
	}
	return v.Err()
}

// Commit turns held units into sold ones.
func (s *Service) Commit(ctx context.Context, id string) error {
	return s.move(ctx, id, inventory.Held, inventory.Committed)
}

// Restock returns the units of a committed reservation to the shelf.
func (s *Service) Restock(ctx context.Context, id string) error {
	return s.move(ctx, id, inventory.Committed, inventory.Restocked)
}

// move makes an idempotent transition: a reservation already at (or past)
// the target is fine, any other status is ErrReservationClosed.
func (s *Service) move(ctx context.Context, id string, from, to inventory.ReservationStatus) error {
	moved, err := s.store.Transition(ctx, id, from, to, s.now())
	if err != nil || moved {
		return err
	}
	r, err := s.store.Reservation(ctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("%s reservation %s: %w", to, id, err)
	case r.Status == to, to == inventory.Committed && r.Status == inventory.Restocked:
		return nil // already done: a retry, or a late commit after a refund
	default:
		return fmt.Errorf("%s reservation %s (it is %s): %w", to, id, r.Status, inventory.ErrReservationClosed)
	}
}

// Release gives held units back; anything else is a no-op.
func (s *Service) Release(ctx context.Context, id string) error {
	moved, err := s.store.Transition(ctx, id, inventory.Held, inventory.Released, s.now())
	if err != nil || moved {
		return err
	}
	// Nothing is held under id: it was settled already, or its reservation
	// has not arrived yet — a checkout given up by payment recovery while
	// its call to reserve is still on the way. A closed record makes that
	// call, when it comes, hold nothing.
	closed, err := s.store.Close(ctx, id, s.now())
	if err != nil || closed {
		return err
	}
	// A reservation exists: settled, or made just now and held.
	_, err = s.store.Transition(ctx, id, inventory.Held, inventory.Released, s.now())
	return err
}

// ExpireHolds releases every held reservation whose time has run out and
// returns how many it expired.
func (s *Service) ExpireHolds(ctx context.Context) (int, error) {
	expired := 0
	for {
		idList, err := s.store.ExpiredHolds(ctx, s.now(), 100)
		if err != nil || len(idList) == 0 {
			return expired, err
		}
		for _, id := range idList {
			moved, err := s.store.Transition(ctx, id, inventory.Held, inventory.Expired, s.now())
			if err != nil {
				return expired, err
			}
			if moved {
				expired++
			}
		}
	}
}

// ReservedUnits is the number of units held by reservations right now, for
// the metrics.
func (s *Service) ReservedUnits(ctx context.Context) (int64, error) {
	return s.store.ReservedUnits(ctx)
}

// Retention is how long what inventory no longer needs is kept.
type Retention struct {
	Reservations time.Duration // ended reservations (not committed ones)
	Adjustments  time.Duration // the audit trail of manual changes
}

// Prune deletes the reservations that ended and the adjustments made
// longer ago than r says, a batch at a time, and says how many of each.
func (s *Service) Prune(ctx context.Context, r Retention) (reservations, adjustments int64, err error) {
	now := s.now()
	reservations, err = database.Prune(ctx, func(ctx context.Context, limit int) (int64, error) {
		return s.store.PruneReservations(ctx, now.Add(-r.Reservations), limit)
	})
	if err != nil {
		return reservations, 0, err
	}
	adjustments, err = database.Prune(ctx, func(ctx context.Context, limit int) (int64, error) {
		return s.store.PruneAdjustments(ctx, now.Add(-r.Adjustments), limit)
	})
	return reservations, adjustments, err
}

// RunRetention calls Prune every interval until ctx ends.
func (s *Service) RunRetention(ctx context.Context, interval time.Duration, r Retention, log *slog.Logger) {
	periodic.Run(ctx, interval, func(ctx context.Context) {
		if res, adj, err := s.Prune(ctx, r); err != nil && ctx.Err() == nil {
			log.Error("prune reservations and adjustments", "err", err)
		} else if res+adj > 0 {
			log.Debug("pruned reservations and adjustments", "reservations", res, "adjustments", adj)
		}
	})
}

// RunExpiry calls ExpireHolds every interval until ctx ends.
func (s *Service) RunExpiry(ctx context.Context, interval time.Duration, log *slog.Logger) {
	periodic.Run(ctx, interval, func(ctx context.Context) {
		if n, err := s.ExpireHolds(ctx); err != nil && ctx.Err() == nil {
			log.Error("expire reservations", "err", err)
		} else if n > 0 {
			log.Info("expired reservations", "count", n)
		}
	})
}
