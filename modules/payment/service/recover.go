package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bazaar-shop/bazaar/internal/periodic"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// Resolve finishes a payment that a crash (or a failing dependency) left
// pending: if the processor charged it, its stock is committed and it
// succeeds; if not, its stock is released and it fails as abandoned.
func (s *Service) Resolve(ctx context.Context, id string) error {
	r, err := s.store.Get(ctx, id)
	if err != nil || r.Status != payment.Pending {
		return err
	}
	if r.ChargeID != "" { // recorded by an earlier version, before the stock was committed
		return s.resolveCharged(ctx, r.Payment, r.ChargeID)
	}
	ch, err := s.processor.Lookup(ctx, id)
	if errors.Is(err, payment.ErrChargeNotFound) {
		return s.abandon(ctx, r.Payment)
	}
	if err != nil {
		return fmt.Errorf("look up charge of payment %s: %w", id, err)
	}
	return s.resolveCharged(ctx, r.Payment, ch.ID)
}

// abandon gives up a pending payment the processor knows no charge of. Its
// checkout may still be running, though, and charge the card after the
// look-up. So the stock is released first — from then on that checkout's
// commit finds the reservation closed, and it refunds — and the processor
// is asked again: a charge made in between (its stock perhaps sold before
// the release) is resolved as any other.
func (s *Service) abandon(ctx context.Context, p payment.Payment) error {
	if err := s.inventory.Release(ctx, p.ID); err != nil {
		return fmt.Errorf("release stock of payment %s: %w", p.ID, err)
	}
	ch, err := s.processor.Lookup(ctx, p.ID)
	switch {
	case errors.Is(err, payment.ErrChargeNotFound):
		p.Status, p.FailureCode, p.UpdatedAt = payment.Failed, failedAbandoned, s.now()
		if _, err := s.store.FailUncharged(ctx, p); err != nil {
			return fmt.Errorf("mark payment %s failed: %w", p.ID, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("look up charge of payment %s: %w", p.ID, err)
	}
	return s.resolveCharged(ctx, p, ch.ID)
}

// resolveCharged finishes pending payment p, charged by chargeID: it
// succeeds, or, its reservation gone, fails with the charge given back.
func (s *Service) resolveCharged(ctx context.Context, p payment.Payment, chargeID string) error {
	_, err := s.complete(ctx, p, chargeID)
	var failed *payment.CheckoutError
	if errors.As(err, &failed) && errors.Is(err, inventory.ErrReservationClosed) {
		return nil // resolved: failed, and the charge given back
	}
	return err
}

// ResolvePending resolves every payment still pending that was created
// before cutoff, and returns how many it looked at.
func (s *Service) ResolvePending(ctx context.Context, cutoff time.Time) (int, error) {
	idList, err := s.store.PendingBefore(ctx, cutoff, 1000)
	if err != nil {
		return 0, fmt.Errorf("list pending payments: %w", err)
	}
	var errList []error
	for _, id := range idList {
		if err := s.Resolve(ctx, id); err != nil {
			errList = append(errList, err)
		}
	}
	return len(idList), errors.Join(errList...)
}

// RunRecovery resolves, at start and then every interval, payments pending
// for longer than after: longer than any live checkout can take.
func (s *Service) RunRecovery(ctx context.Context, interval, after time.Duration) {
	periodic.Run(ctx, interval, func(ctx context.Context) {
		n, err := s.ResolvePending(ctx, s.now().Add(-after))
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("resolve pending payments", "err", err)
		case n > 0:
			s.log.Info("resolved pending payments", "count", n)
		}
	})
}
