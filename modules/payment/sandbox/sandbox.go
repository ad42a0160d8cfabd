// Package sandbox is a card processor that behaves like a card network's test
// mode, for development, demos and tests.
//
//	4242424242424242  succeeds
//	4000000000000002  declined: generic_decline
//	4000000000009995  declined: insufficient_funds
//	any other number  succeeds (the payment service rejects numbers failing Luhn)
//
// Like a real processor it remembers its charges — in a ledger of its own,
// a database apart from the shop's — so that recovery after a crash or a
// restart asks it and gets the true answer, and it forgets them only after
// a retention longer than any recovery window.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/internal/periodic"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

var declines = map[string]string{
	"4000000000000002": "generic_decline",
	"4000000000009995": "insufficient_funds",
}

// Processor is the sandbox card processor.
type Processor struct {
	db  *gorm.DB
	now func() time.Time
}

var _ payment.Processor = (*Processor)(nil)

// New returns the sandbox keeping its ledger in db (migrated with the
// "sandbox" migrations).
func New(db *gorm.DB, now func() time.Time) *Processor {
	return &Processor{db: db, now: now}
}

// charge is a row of the ledger.
type charge struct {
	IdempotencyKey string `gorm:"primaryKey"`
	ID             string
	Amount         int64
	Currency       string
	CreatedAt      time.Time
	RefundedAt     *time.Time
}

func (charge) TableName() string { return "sandbox_charges" }

// Charge takes the money unless the card is one of the declining test cards.
// A repeat with the same idempotency key gets the first charge back.
func (p *Processor) Charge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	if err := ctx.Err(); err != nil {
		return payment.Charge{}, err
	}
	if code, ok := declines[req.Card.Number]; ok {
		return payment.Charge{}, &payment.Decline{Code: code}
	}
	row := charge{IdempotencyKey: req.IdempotencyKey, ID: ids.New("ch"), Amount: req.Amount, Currency: req.Currency, CreatedAt: p.now()}
	// A transaction, not a lone INSERT: on SQLite it joins the charges
	// being made at the same moment in one commit. A repeat's insert does
	// nothing, and the first charge is read back in the same transaction.
	var made charge
	err := database.Transaction(ctx, p.db, "sandbox.charge", func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			made = row
			return nil
		}
		// A repeat: the first charge stands.
		return tx.Where("idempotency_key = ?", req.IdempotencyKey).Take(&made).Error
	})
	if err != nil {
		return payment.Charge{}, fmt.Errorf("sandbox: record the charge: %w", err)
	}
	return payment.Charge{ID: made.ID}, nil
}

// Lookup finds a charge by its idempotency key.
func (p *Processor) Lookup(ctx context.Context, key string) (payment.Charge, error) {
	var row charge
	err := p.db.WithContext(ctx).Where("idempotency_key = ?", key).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return payment.Charge{}, payment.ErrChargeNotFound
	case err != nil:
		return payment.Charge{}, fmt.Errorf("sandbox: look the charge up: %w", err)
	}
	return payment.Charge{ID: row.ID}, nil
}

// Refund marks a charge refunded; refunding it again changes nothing. A
// charge the ledger does not hold — never made, or forgotten after the
// retention — is payment.ErrChargeNotFound, as a processor answers for a
// charge past its refund window.
func (p *Processor) Refund(ctx context.Context, chargeID string) error {
	var held int64
	err := database.Transaction(ctx, p.db, "sandbox.refund", func(tx *gorm.DB) error {
		if err := tx.Model(&charge{}).Where("id = ?", chargeID).Count(&held).Error; err != nil || held == 0 {
			return err
		}
		return tx.Model(&charge{}).Where("id = ? AND refunded_at IS NULL", chargeID).Update("refunded_at", p.now()).Error
	})
	switch {
	case err != nil:
		return fmt.Errorf("sandbox: refund: %w", err)
	case held == 0:
		return fmt.Errorf("sandbox: refund %s: %w", chargeID, payment.ErrChargeNotFound)
	}
	return nil
}

// Refunded reports whether a charge was refunded, for tests.
func (p *Processor) Refunded(chargeID string) bool {
	var n int64
	p.db.Model(&charge{}).Where("id = ? AND refunded_at IS NOT NULL", chargeID).Count(&n)
	return n > 0
}

// Prune forgets the charges made before cutoff, a batch at a time, and says
// how many it forgot.
func (p *Processor) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	n, err := database.Prune(ctx, func(ctx context.Context, limit int) (int64, error) {
		res := p.db.WithContext(ctx).Where("idempotency_key IN (?)",
			p.db.Model(&charge{}).Select("idempotency_key").Where("created_at < ?", cutoff).Limit(limit)).
			Delete(&charge{})
		return res.RowsAffected, res.Error
	})
	if err != nil {
		return n, fmt.Errorf("sandbox: prune: %w", err)
	}
	return n, nil
}

// RunRetention forgets charges older than retention, every interval, until
// ctx ends.
func (p *Processor) RunRetention(ctx context.Context, interval, retention time.Duration, log *slog.Logger) {
	periodic.Run(ctx, interval, func(ctx context.Context) {
		if n, err := p.Prune(ctx, p.now().Add(-retention)); err != nil && ctx.Err() == nil {
			log.Error("forget old sandbox charges", "err", err)
		} else if n > 0 {
			log.Debug("forgot old sandbox charges", "count", n)
		}
	})
}
