// Package service is the in-process implementation of payment.Service: the
// checkout and its recovery after a crash.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
	"github.com/bazaar-shop/bazaar/modules/payment/internal/store"
)

// finishTimeout bounds the steps of a checkout after its payment is recorded.
// They run detached from the caller's cancellation: a client that hangs up
// must not leave a charged card with its stock still only reserved.
const finishTimeout = 30 * time.Second

// Failure codes of failed payments.
const (
	failedDeclined   = "card_declined"
	failedOutOfStock = "out_of_stock"
	failedExpired    = "reservation_expired"
	failedAbandoned  = "abandoned"
	failedInventory  = "inventory_unavailable"
)

// errInventoryWasDown replays the failure of a checkout that could not
// reach the inventory: the 503 its first answer was.
var errInventoryWasDown = errs.Of(errs.Unavailable, "the inventory was unavailable; this payment failed and nothing was charged")

// Service implements payment.Service.
type Service struct {
	store     *store.Store
	catalogue catalogue.Service
	inventory inventory.Service
	processor payment.Processor
	now       func() time.Time
	log       *slog.Logger
}

var _ payment.Service = (*Service)(nil)

// New returns the payment service on db, its own database.
func New(db *gorm.DB, cat catalogue.Service, inv inventory.Service, proc payment.Processor,
	now func() time.Time, log *slog.Logger) *Service {
	return &Service{store: store.New(db), catalogue: cat, inventory: inv, processor: proc, now: now, log: log}
}

// Checkout runs a purchase: price, record, reserve, charge, commit.
func (s *Service) Checkout(ctx context.Context, req payment.CheckoutRequest) (payment.Payment, error) {
	if err := validate(req, s.now()); err != nil {
		return payment.Payment{}, err
	}
	p, err := s.price(ctx, req)
	if err != nil {
		return payment.Payment{}, err
	}
	p.Owner = req.Owner
	// The pending record comes first: whatever happens next, recovery can
	// find this payment and finish or undo it. With an idempotency key it
	// is also the key's record: a repeat finds it by the key.
	hash := ""
	if req.IdempotencyKey != "" {
		hash = fingerprint(req)
	}
	err = s.store.Insert(ctx, p, req.IdempotencyKey, hash)
	if errors.Is(err, store.ErrDuplicateKey) {
		return s.again(ctx, req.IdempotencyKey, hash)
	}
	if err != nil {
		return payment.Payment{}, fmt.Errorf("record payment: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()

	if _, err := s.inventory.Reserve(ctx, p.ID, lines(p.Items)); err != nil {
		return s.failReserve(ctx, p, err)
	}
	charge, err := s.processor.Charge(ctx, payment.ChargeRequest{
		IdempotencyKey: p.ID, Amount: p.Amount, Currency: p.Currency, Card: req.Card,
	})
	var decline *payment.Decline
	switch {
	case errors.As(err, &decline):
		s.fail(ctx, p, failedDeclined, decline.Code)
		return payment.Payment{}, &payment.CheckoutError{PaymentID: p.ID, DeclineCode: decline.Code, Err: err}
	case err != nil:
		// Whether the card was charged is unknown: recovery asks the processor.
		return payment.Payment{}, &payment.CheckoutError{PaymentID: p.ID, Err: fmt.Errorf("charge: %w", err)}
	}
	return s.complete(ctx, p, charge.ID)
}

// again answers a checkout whose idempotency key an earlier checkout used:
// with that checkout's outcome, after finishing it if it was cut off. A
// checkout still running is not disturbed: its repeat is told to wait.
func (s *Service) again(ctx context.Context, key, hash string) (payment.Payment, error) {
	first, err := s.store.ByIdempotencyKey(ctx, key)
	if err != nil {
		return payment.Payment{}, err
	}
	// A payment recorded before request hashes were kept has none; its
	// repeats are taken at their word, as they were then.
	if first.RequestHash != "" && first.RequestHash != hash {
		return payment.Payment{}, payment.ErrIdempotencyKeyReused
	}
	if first.Status == payment.Pending {
		// A live checkout finishes within finishTimeout of recording its
		// payment; one pending for longer was cut off, and is finished here.
		if s.now().Before(first.CreatedAt.Add(finishTimeout)) {
			return payment.Payment{}, payment.ErrIdempotencyKeyInUse
		}
		if err := s.Resolve(ctx, first.ID); err != nil {
			return payment.Payment{}, &payment.CheckoutError{PaymentID: first.ID, Err: err}
		}
		if first, err = s.store.ByIdempotencyKey(ctx, key); err != nil {
			return payment.Payment{}, err
		}
	}
	switch {
	case first.Status == payment.Succeeded || first.Status == payment.Refunded:
		first.Replayed = true
		return first.Payment, nil
	case first.FailureCode == failedDeclined:
		return payment.Payment{}, &payment.CheckoutError{PaymentID: first.ID, DeclineCode: first.DeclineCode,
			Err: &payment.Decline{Code: first.DeclineCode}, Replayed: true}
	case first.FailureCode == failedOutOfStock:
		return payment.Payment{}, &payment.CheckoutError{PaymentID: first.ID, Err: inventory.ErrOutOfStock, Replayed: true}
	case first.FailureCode == failedInventory:
		return payment.Payment{}, &payment.CheckoutError{PaymentID: first.ID, Err: errInventoryWasDown, Replayed: true}
	default:
		return payment.Payment{}, &payment.CheckoutError{PaymentID: first.ID, Err: inventory.ErrReservationClosed, Replayed: true}
	}
}

// fingerprint identifies what a checkout asks for, to tell a repeat from
// another request sent with the same idempotency key. It hashes the cart,
// the email and what is public about the card (brand, last four digits,
// expiry), never the card number or its code: a hash of a card number is
// easily reversed.
func fingerprint(req payment.CheckoutRequest) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s %s %02d/%d\n", strings.TrimSpace(req.Email), brand(req.Card.Number),
		last4(req.Card.Number), req.Card.ExpMonth, req.Card.ExpYear)
	for _, it := range req.Items {
		fmt.Fprintf(h, "%s %d\n", it.ProductID, it.Quantity)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// failReserve ends a checkout whose reservation did not happen.
func (s *Service) failReserve(ctx context.Context, p payment.Payment, err error) (payment.Payment, error) {
	if errors.Is(err, inventory.ErrOutOfStock) {
		s.fail(ctx, p, failedOutOfStock, "")
		return payment.Payment{}, &payment.CheckoutError{PaymentID: p.ID, Err: err}
	}
	// The reservation may or may not exist; fail releases it either way.
	s.fail(ctx, p, failedInventory, "")
	return payment.Payment{}, &payment.CheckoutError{PaymentID: p.ID, Err: fmt.Errorf("reserve stock: %w", err)}
}

// complete commits the stock of pending payment p, charged by chargeID, and
// marks it succeeded with its charge. If the reservation is gone (it
// expired while the card was charged, or recovery gave the payment up) the
// money goes back: the customer never pays for goods they do not get.
//
// The charge is written down with the outcome, not before the stock is
// sold: should the process die in between, recovery finds the charge again
// at the processor, which can look up every charge by the payment's id.
func (s *Service) complete(ctx context.Context, p payment.Payment, chargeID string) (payment.Payment, error) {
	err := s.inventory.Commit(ctx, p.ID)
	if errors.Is(err, inventory.ErrReservationClosed) || errors.Is(err, inventory.ErrReservationNotFound) {
		expired := p
		expired.Status, expired.FailureCode = payment.Failed, failedExpired
		_, moved, err := s.finish(ctx, expired, payment.Pending, chargeID)
		if err != nil {
			return payment.Payment{}, err
		}
		reason := failedExpired
		if !moved {
			reason = failedAbandoned // recovery failed it, and released the stock, first
		}
		return s.refundLate(ctx, p.ID, chargeID, reason)
	}
	if err != nil {
		// Charged, stock still held: recovery finds the charge and commits
		// the stock later.
		return payment.Payment{}, &payment.CheckoutError{PaymentID: p.ID, Err: fmt.Errorf("commit stock: %w", err)}
	}
	p.Status = payment.Succeeded
	p, moved, err := s.finish(ctx, p, payment.Pending, chargeID)
	if err != nil {
		return payment.Payment{}, fmt.Errorf("finish payment %s: %w", p.ID, err)
	}
	if !moved {
		return s.Get(ctx, p.ID) // recovery finished it meanwhile: its outcome stands
	}
	return p, nil
}

// finish moves payment p from status from to the status p now has, with
// chargeID when it is not empty, and returns it as stored. It reports
// false, and changes nothing, when the payment was no longer in status
// from.
func (s *Service) finish(ctx context.Context, p payment.Payment, from payment.Status, chargeID string) (payment.Payment, bool, error) {
	p.UpdatedAt = s.now()
	moved, err := s.store.Finish(ctx, p, from, chargeID)
	return p, moved, err
}

// refundLate gives back a charge whose payment has already failed.
func (s *Service) refundLate(ctx context.Context, id, chargeID, reason string) (payment.Payment, error) {
	if err := s.processor.Refund(ctx, chargeID); err != nil {
		return payment.Payment{}, fmt.Errorf("refund charge %s of failed payment %s: %w", chargeID, id, err)
	}
	s.log.Warn("refunded a charge whose payment had failed", "payment_id", id, "charge_id", chargeID, "reason", reason)
	return payment.Payment{}, &payment.CheckoutError{PaymentID: id, Err: inventory.ErrReservationClosed}
}

// fail releases the stock of pending payment p, whose card this checkout
// did not charge (declined, or never asked), and marks it failed. Both
// steps are idempotent; a failure here leaves the payment pending for
// recovery.
func (s *Service) fail(ctx context.Context, p payment.Payment, code, declineCode string) {
	if err := s.inventory.Release(ctx, p.ID); err != nil {
		s.log.Error("release stock of failed payment", "payment_id", p.ID, "err", err)
		return
	}
	p.Status, p.FailureCode, p.DeclineCode, p.UpdatedAt = payment.Failed, code, declineCode, s.now()
	if _, err := s.store.FailUncharged(ctx, p); err != nil {
		s.log.Error("mark payment failed", "payment_id", p.ID, "err", err)
	}
}

// price builds the pending payment with prices from the catalogue.
func (s *Service) price(ctx context.Context, req payment.CheckoutRequest) (payment.Payment, error) {
	now := s.now()
	p := payment.Payment{
		ID: ids.New("pay"), Status: payment.Pending, Email: strings.TrimSpace(req.Email),
		Card:      payment.CardSummary{Brand: brand(req.Card.Number), Last4: last4(req.Card.Number)},
		CreatedAt: now, UpdatedAt: now,
	}
	// One call for the whole cart: in the split it is one round trip.
	want := make([]string, len(req.Items))
	for i, it := range req.Items {
		want[i] = it.ProductID
	}
	// Fresh: a product deleted or repriced through any catalogue replica
	// is never sold as it was, whatever that replica's cache remembers.
	page, err := s.catalogue.List(ctx, catalogue.ListQuery{IDs: want, Fresh: true})
	if err != nil {
		return p, fmt.Errorf("price the cart: %w", err)
	}
	forSale := make(map[string]catalogue.Product, len(page.Data))
	for _, prod := range page.Data {
		forSale[prod.ID] = prod
	}
	var v errs.Validator
	for i, it := range req.Items {
		prod, ok := forSale[it.ProductID]
		if !ok {
			v.Checkf(false, "is not for sale", "items[%d].product_id", i)
			continue
		}
		if p.Currency == "" {
			p.Currency = prod.Currency
		}
		if prod.Currency != p.Currency {
			return p, fmt.Errorf("%s costs %s, the cart is in %s: %w", prod.ID, prod.Currency, p.Currency, payment.ErrCurrencyMismatch)
		}
		p.Items = append(p.Items, payment.LineItem{ProductID: prod.ID, Quantity: it.Quantity, UnitPrice: prod.Price})
		p.Amount += prod.Price * it.Quantity // bounded by the validation limits: no overflow
	}
	if err := v.Err(); err != nil {
		return p, fmt.Errorf("%w: %w", payment.ErrUnknownProduct, err)
	}
	return p, nil
}

func lines(items []payment.LineItem) []inventory.Line {
	out := make([]inventory.Line, len(items))
	for i, it := range items {
		out[i] = inventory.Line{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return out
}

// Get returns a payment.
func (s *Service) Get(ctx context.Context, id string) (payment.Payment, error) {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return payment.Payment{}, fmt.Errorf("get payment %s: %w", id, err)
	}
	return r.Payment, nil
}

// List returns payments, newest first.
func (s *Service) List(ctx context.Context, q payment.ListQuery) (payment.Page, error) {
	var v errs.Validator
	v.Check(q.Limit >= 0 && q.Limit <= payment.MaxLimit, "limit", fmt.Sprintf("must be between 1 and %d", payment.MaxLimit))
	if q.Status != "" {
		_, ok := payment.ParseStatus(string(q.Status))
		v.Check(ok, "status", "must be pending, succeeded, failed or refunded")
	}
	before, err := ids.FromCursor(q.Cursor, "pay")
	v.Check(err == nil, "cursor", "is not a cursor this API returned")
	if err := v.Err(); err != nil {
		return payment.Page{}, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = payment.DefaultLimit
	}
	rows, err := s.store.List(ctx, before, q.Status, limit+1)
	if err != nil {
		return payment.Page{}, fmt.Errorf("list payments: %w", err)
	}
	page := payment.Page{Data: rows}
	if len(rows) > limit {
		page.Data = rows[:limit]
		page.NextCursor = ids.Cursor(rows[limit-1].ID)
	}
	return page, nil
}

// Refund gives the money back, then the stock, then marks the payment
// refunded. Every step is idempotent, so a refund that fails half-way is
// finished by calling Refund again.
func (s *Service) Refund(ctx context.Context, id string) (payment.Payment, error) {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return payment.Payment{}, fmt.Errorf("refund payment %s: %w", id, err)
	}
	switch r.Status {
	case payment.Refunded:
		return r.Payment, nil
	case payment.Succeeded:
	default:
		return payment.Payment{}, fmt.Errorf("refund payment %s (it is %s): %w", id, r.Status, payment.ErrNotRefundable)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	err = s.processor.Refund(ctx, r.ChargeID)
	if errors.Is(err, payment.ErrChargeNotFound) {
		// Past the processor's refund window: nothing was given back, so
		// nothing changes here either.
		return payment.Payment{}, fmt.Errorf("refund payment %s (its charge is past the processor's refund window): %w", id, payment.ErrNotRefundable)
	}
	if err != nil {
		return payment.Payment{}, fmt.Errorf("refund charge of payment %s: %w", id, err)
	}
	if err := s.inventory.Restock(ctx, id); err != nil {
		return payment.Payment{}, fmt.Errorf("restock payment %s: %w", id, err)
	}
	p := r.Payment
	p.Status = payment.Refunded
	p, moved, err := s.finish(ctx, p, payment.Succeeded, "")
	if err != nil {
		return payment.Payment{}, fmt.Errorf("mark payment %s refunded: %w", id, err)
	}
	if !moved {
		return s.Get(ctx, id) // refunded by a concurrent call
	}
	return p, nil
}
