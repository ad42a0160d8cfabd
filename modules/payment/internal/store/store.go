// Package store keeps payments in the payment module's own database.
package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

type paymentRow struct {
	ID             string `gorm:"primaryKey"`
	Status         string
	Amount         int64
	Currency       string
	Email          string
	CardBrand      string
	CardLast4      string `gorm:"column:card_last4"`
	ChargeID       *string
	IdempotencyKey *string
	RequestHash    *string
	Owner          string
	FailureCode    *string
	DeclineCode    *string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Items          []itemRow `gorm:"foreignKey:PaymentID"`
}

func (paymentRow) TableName() string { return "payments" }

type itemRow struct {
	PaymentID string `gorm:"primaryKey"`
	Position  int    `gorm:"primaryKey"`
	ProductID string
	Quantity  int64
	UnitPrice int64
}

func (itemRow) TableName() string { return "payment_items" }

// Record is a payment as stored, with what the public Payment does not
// show: the processor's charge id, and the hash of the request that an
// idempotency key was first sent with.
type Record struct {
	payment.Payment
	ChargeID    string
	RequestHash string
}

func toRecord(r paymentRow) Record {
	p := payment.Payment{
		ID: r.ID, Status: payment.Status(r.Status), Amount: r.Amount, Currency: r.Currency,
		Email: r.Email, Card: payment.CardSummary{Brand: r.CardBrand, Last4: r.CardLast4}, Owner: r.Owner,
		FailureCode: deref(r.FailureCode), DeclineCode: deref(r.DeclineCode),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Items: make([]payment.LineItem, len(r.Items)),
	}
	for i, it := range r.Items {
		p.Items[i] = payment.LineItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
	}
	return Record{Payment: p, ChargeID: deref(r.ChargeID), RequestHash: deref(r.RequestHash)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Store reads and writes payments.
type Store struct{ db *gorm.DB }

// New returns a Store on the payment module's database.
func New(db *gorm.DB) *Store { return &Store{db: db} }

// ErrDuplicateKey is an Insert whose idempotency key a payment already has.
var ErrDuplicateKey = errors.New("a payment with this idempotency key exists")

// Insert stores a new payment with its items, in one transaction; with an
// idempotency key, the payment is that key's record, and requestHash tells
// a repeat of the request from another request sent with the same key.
func (s *Store) Insert(ctx context.Context, p payment.Payment, idempotencyKey, requestHash string) error {
	// Plain statements, pipelined: this runs for every checkout, and gorm's
	// association saving costs more than the inserts themselves.
	items := make([]string, len(p.Items))
	args := make([]any, 0, 5*len(p.Items))
	for i, it := range p.Items {
		items[i] = "(?, ?, ?, ?, ?)"
		args = append(args, p.ID, i, it.ProductID, it.Quantity, it.UnitPrice)
	}
	var insert database.Pipeline
	insert.Exec(nil, `INSERT INTO payments (id, status, amount, currency, email, card_brand, card_last4,
		idempotency_key, request_hash, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Status, p.Amount, p.Currency, p.Email, p.Card.Brand, p.Card.Last4,
		ptr(idempotencyKey), ptr(requestHash), p.Owner, p.CreatedAt, p.UpdatedAt)
	if len(items) > 0 {
		insert.Exec(nil, `INSERT INTO payment_items (payment_id, position, product_id, quantity, unit_price) VALUES `+
			strings.Join(items, ", "), args...)
	}
	err := insert.Run(ctx, s.db, "payment.insert", nil)
	if errors.Is(err, gorm.ErrDuplicatedKey) && idempotencyKey != "" {
		return ErrDuplicateKey
	}
	return err
}

// ByIdempotencyKey returns the payment made with an idempotency key.
func (s *Store) ByIdempotencyKey(ctx context.Context, key string) (Record, error) {
	var row paymentRow
	err := s.db.WithContext(ctx).Preload("Items", orderByPosition).Where("idempotency_key = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Record{}, payment.ErrNotFound
	}
	if err != nil {
		return Record{}, err
	}
	return toRecord(row), nil
}

// Get returns a payment with its items.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	var row paymentRow
	err := s.db.WithContext(ctx).Preload("Items", orderByPosition).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Record{}, payment.ErrNotFound
	}
	if err != nil {
		return Record{}, err
	}
	return toRecord(row), nil
}

func orderByPosition(db *gorm.DB) *gorm.DB { return db.Order("position") }

// List returns up to limit payments with id < before (all when empty),
// newest first, optionally with one status.
func (s *Store) List(ctx context.Context, before string, status payment.Status, limit int) ([]payment.Payment, error) {
	tx := s.db.WithContext(ctx).Preload("Items", orderByPosition)
	if before != "" {
		tx = tx.Where("id < ?", before)
	}
	if status != "" {
		tx = tx.Where("status = ?", status)
	}
	var rows []paymentRow
	if err := tx.Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]payment.Payment, len(rows))
	for i, r := range rows {
		out[i] = toRecord(r).Payment
	}
	return out, nil
}

// Finish moves payment p.ID from status from to p.Status, with p's failure
// and decline codes and p.UpdatedAt, and, when chargeID is not empty, the
// charge that paid it; and it records the payment.<status> event with p as
// its data, in one transaction. It reports whether this call made the move.
func (s *Store) Finish(ctx context.Context, p payment.Payment, from payment.Status, chargeID string) (bool, error) {
	return s.move(ctx, p, from, chargeID, "")
}

// FailUncharged is Finish from pending, for a payment failed before its
// card was charged: it changes nothing once a charge is recorded (a payment
// left pending by an earlier version, which recorded the charge before
// committing the stock).
func (s *Store) FailUncharged(ctx context.Context, p payment.Payment) (bool, error) {
	return s.move(ctx, p, payment.Pending, "", " AND charge_id IS NULL")
}

func (s *Store) move(ctx context.Context, p payment.Payment, from payment.Status, chargeID, andWhere string) (bool, error) {
	var move database.Pipeline
	var n int64
	move.Exec(&n, `UPDATE payments SET status = ?, failure_code = ?, decline_code = ?, updated_at = ?,
		charge_id = COALESCE(?, charge_id)
		WHERE id = ? AND status = ?`+andWhere,
		p.Status, ptr(p.FailureCode), ptr(p.DeclineCode), p.UpdatedAt, ptr(chargeID), p.ID, from)
	// The event is queued with the update and undone with it when the
	// payment was no longer in status from. Its place among the payment's
	// events is fixed: decided (succeeded or failed) first, refunded second.
	place := int64(1)
	if p.Status == payment.Refunded {
		place = 2
	}
	if err := outbox.QueueAt(&move, payment.EventOf(p.Status), "payment:"+p.ID, place, p, p.UpdatedAt); err != nil {
		return false, err
	}
	err := move.Run(ctx, s.db, "payment.finish", func(*database.Pipeline) error {
		if n == 0 {
			return errNotMoved
		}
		return nil
	})
	if errors.Is(err, errNotMoved) {
		return false, nil
	}
	return err == nil, err
}

// errNotMoved rolls back a move that found the payment in another status.
var errNotMoved = errors.New("the payment was not in the status to move from")

// PendingBefore lists pending payments created before t, oldest first.
func (s *Store) PendingBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	var idList []string
	err := s.db.WithContext(ctx).Model(&paymentRow{}).
		Where("status = ? AND created_at < ?", payment.Pending, t).
		Order("created_at").Limit(limit).Pluck("id", &idList).Error
	return idList, err
}
