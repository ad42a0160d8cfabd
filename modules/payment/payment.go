// Package payment is the contract of the payment module: the checkout, which
// prices a cart from the catalogue, reserves its stock in inventory, charges
// the card through a Processor and then commits or releases the stock.
package payment

import (
	"context"
	"time"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/modules/inventory"
)

// Status is where a payment is in its life.
type Status string

// Payment states. A payment is pending only while its checkout runs, or
// after a crash until recovery resolves it.
const (
	Pending   Status = "pending"
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Refunded  Status = "refunded"
)

// ParseStatus accepts the name of a status.
func ParseStatus(s string) (Status, bool) {
	switch st := Status(s); st {
	case Pending, Succeeded, Failed, Refunded:
		return st, true
	}
	return "", false
}

// Card is what the customer types in. It is passed to the Processor and
// never stored: a payment keeps only the brand and the last four digits.
type Card struct {
	Number   string `json:"number"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
	CVC      string `json:"cvc"`
}

// CardSummary is what a payment remembers of its card.
type CardSummary struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// Item is a line of the cart: a product and how many.
type Item struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// CheckoutRequest is a cart, a card and an email for the receipt.
type CheckoutRequest struct {
	Items []Item `json:"items"`
	Card  Card   `json:"card"`
	Email string `json:"email"`
	// IdempotencyKey, when set, makes the checkout happen at most once:
	// another Checkout with the same key and the same request returns the
	// first one's outcome, marked Replayed; with another request it is
	// ErrIdempotencyKeyReused, and while the first still runs
	// ErrIdempotencyKeyInUse. The HTTP layer sets it from the
	// Idempotency-Key header, scoped to the caller's API key.
	IdempotencyKey string `json:"-"`
	// Owner is who checks out: the HTTP layer sets it to the caller's
	// principal (its API key), and a storefront key reads only the
	// payments it owns.
	Owner string `json:"-"`
}

// LineItem is a line of a payment, priced by the catalogue at checkout.
type LineItem struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// Payment is the record of one checkout. Amount is in minor units of Currency.
type Payment struct {
	ID       string      `json:"id"`
	Status   Status      `json:"status"`
	Amount   int64       `json:"amount"`
	Currency string      `json:"currency"`
	Items    []LineItem  `json:"items"`
	Email    string      `json:"email"`
	Card     CardSummary `json:"card"`
	// FailureCode says why a failed payment failed: card_declined,
	// out_of_stock, reservation_expired (the card was charged after the
	// stock hold ran out, and refunded), abandoned (resolved after a crash
	// before the charge) or inventory_unavailable.
	FailureCode string `json:"failure_code,omitempty"`
	// DeclineCode is the processor's reason for a declined card.
	DeclineCode string    `json:"decline_code,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Owner is who checked out (CheckoutRequest.Owner). It is not shown:
	// it decides who may read the payment.
	Owner string `json:"-"`
	// Replayed marks the answer to a Checkout that repeated an earlier
	// one's IdempotencyKey: the payment is the earlier checkout's. It is not
	// part of the payment: over HTTP it is the Idempotent-Replayed header.
	Replayed bool `json:"-"`
}

// ListQuery selects a page of payments, newest first, optionally by status.
type ListQuery struct {
	Limit  int
	Cursor string
	Status Status
}

// Page is one page of payments.
type Page struct {
	Data       []Payment `json:"data"`
	NextCursor string    `json:"next_cursor"`
}

// List limits.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Errors of the payment contract. A checkout that runs out of stock fails
// with inventory.ErrOutOfStock.
var (
	ErrNotFound         = errs.Of(errs.NotFound, "payment not found")
	ErrUnknownProduct   = errs.New(errs.Invalid, "unknown_product", "the cart names a product that is not for sale")
	ErrCurrencyMismatch = errs.New(errs.Invalid, "currency_mismatch", "all items of a cart must share one currency")
	ErrCardDeclined     = errs.New(errs.Declined, "card_declined", "the card was declined")
	ErrNotRefundable    = errs.New(errs.Conflict, "payment_not_refundable", "only a succeeded payment whose charge the processor still holds can be refunded")
	ErrChargeNotFound   = errs.Of(errs.NotFound, "the processor has no charge with this key")
	// The answers every idempotent route of the API gives.
	ErrIdempotencyKeyReused = errs.ErrIdempotencyKeyReused
	ErrIdempotencyKeyInUse  = errs.ErrIdempotencyKeyInUse
)

// EventOf is the event a payment is published as when it reaches status:
// "payment.succeeded", "payment.failed", then perhaps "payment.refunded".
func EventOf(s Status) string { return "payment." + string(s) }

// Events lists them all, for subscriptions.
var Events = []string{EventOf(Succeeded), EventOf(Failed), EventOf(Refunded)}

// Errors lists the errors a checkout and the payment routes answer with,
// the inventory's a checkout passes on among them, as the payment module's
// HTTP client turns their codes back (errs.Index): the first of a code wins.
var Errors = []*errs.Error{ErrNotFound, ErrUnknownProduct, ErrCurrencyMismatch, ErrCardDeclined, ErrNotRefundable,
	inventory.ErrOutOfStock, inventory.ErrReservationClosed, ErrIdempotencyKeyReused, ErrIdempotencyKeyInUse}

// CheckoutError is a checkout that failed after its payment was recorded:
// the client gets the payment_id to look the payment up. After a decline or
// a stock shortage the payment has failed; after an unexpected error it may
// still be pending until recovery resolves it.
type CheckoutError struct {
	PaymentID   string
	DeclineCode string
	Err         error
	// Replayed: this is the outcome of an earlier checkout with the same
	// IdempotencyKey, as for Payment.Replayed.
	Replayed bool
}

func (e *CheckoutError) Error() string {
	return "payment " + e.PaymentID + " failed: " + e.Err.Error()
}

// Unwrap exposes the reason, e.g. ErrCardDeclined or inventory.ErrOutOfStock.
func (e *CheckoutError) Unwrap() error { return e.Err }

// Extensions adds payment_id and decline_code to the problem document.
func (e *CheckoutError) Extensions() map[string]any {
	ext := map[string]any{"payment_id": e.PaymentID}
	if e.DeclineCode != "" {
		ext["decline_code"] = e.DeclineCode
	}
	return ext
}

// Service is the payment module.
type Service interface {
	// Checkout runs a purchase to the end: a Payment that succeeded, or an
	// error; after a decline or a stock shortage the error is a
	// *CheckoutError naming the failed payment.
	Checkout(ctx context.Context, req CheckoutRequest) (Payment, error)
	// Get returns a payment, or ErrNotFound.
	Get(ctx context.Context, id string) (Payment, error)
	// List returns payments, newest first.
	List(ctx context.Context, q ListQuery) (Page, error)
	// Refund gives the money back and returns the stock to inventory.
	// Refunding a refunded payment returns it unchanged. A payment that
	// did not succeed, or whose charge the processor no longer holds, is
	// ErrNotRefundable.
	Refund(ctx context.Context, id string) (Payment, error)
}

// ChargeRequest asks a Processor to take money. IdempotencyKey makes a
// repeated request return the first charge instead of charging again.
type ChargeRequest struct {
	IdempotencyKey string
	Amount         int64
	Currency       string
	Card           Card
}

// Charge is money a Processor took.
type Charge struct {
	ID string
}

// Decline is a Processor's refusal; it matches ErrCardDeclined.
type Decline struct {
	Code string // e.g. generic_decline, insufficient_funds
}

func (d *Decline) Error() string { return "card declined: " + d.Code }

// Unwrap makes errors.Is(err, ErrCardDeclined) true.
func (d *Decline) Unwrap() error { return ErrCardDeclined }

// Processor is the card network. Every call is idempotent, so the payment
// service can repeat any of them after a crash.
type Processor interface {
	// Charge takes the money, or returns a *Decline.
	Charge(ctx context.Context, req ChargeRequest) (Charge, error)
	// Lookup finds the charge made with an idempotency key, or ErrChargeNotFound.
	Lookup(ctx context.Context, idempotencyKey string) (Charge, error)
	// Refund gives a charge back; refunding twice is a no-op. A charge the
	// processor no longer holds (past its refund window) is
	// ErrChargeNotFound.
	Refund(ctx context.Context, chargeID string) error
}
