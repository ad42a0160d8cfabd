// Package inventory is the contract of the inventory module: how many units
// of each product are on hand, and reservations that hold units for a
// checkout until it is paid for.
//
// A reservation is the unit of safety: it is taken for all lines or none,
// expires on its own if its owner disappears, and every call that changes it
// is idempotent, so a caller may retry any of them after a failure.
package inventory

import (
	"context"
	"time"

	"github.com/bazaar-shop/bazaar/internal/errs"
)

// Level is the stock of one product. Available is OnHand minus Reserved.
type Level struct {
	ProductID string `json:"product_id"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

// Line is a quantity of one product.
type Line struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// ReservationStatus is where a reservation is in its life.
type ReservationStatus string

// Reservation states. Held is the only one that holds stock; Committed
// stock has left the shelf; Restocked stock came back after a refund.
const (
	Held      ReservationStatus = "held"
	Committed ReservationStatus = "committed"
	Released  ReservationStatus = "released"
	Expired   ReservationStatus = "expired"
	Restocked ReservationStatus = "restocked"
)

// Reservation holds stock for one checkout.
type Reservation struct {
	ID        string            `json:"id"`
	Status    ReservationStatus `json:"status"`
	Lines     []Line            `json:"lines"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// Errors of the inventory contract.
var (
	// ErrProductNotFound: the catalogue does not sell this product.
	ErrProductNotFound = errs.Of(errs.NotFound, "product not found")
	// ErrOutOfStock: a reservation asked for more than is available.
	ErrOutOfStock = errs.New(errs.Conflict, "out_of_stock", "not enough stock to reserve")
	// ErrInsufficientStock: a stock change would leave less on hand than is reserved.
	ErrInsufficientStock = errs.New(errs.Conflict, "insufficient_stock", "on hand would fall below what is reserved")
	// ErrReservationNotFound: no reservation has this id.
	ErrReservationNotFound = errs.New(errs.NotFound, "reservation_not_found", "reservation not found")
	// ErrReservationClosed: the reservation was released or expired and holds nothing.
	ErrReservationClosed = errs.New(errs.Conflict, "reservation_closed", "the reservation no longer holds stock")
	// ErrReservationMismatch: a reservation id was reused for different lines.
	ErrReservationMismatch = errs.New(errs.Conflict, "reservation_mismatch", "a reservation with this id holds other lines")
)

// Events the inventory publishes (to webhooks, through its outbox).
const (
	EventAdjusted = "inventory.adjusted"
	EventLowStock = "inventory.low_stock"
)

// Events lists them all, for subscriptions.
var Events = []string{EventAdjusted, EventLowStock}

// Errors lists the errors the inventory answers with, as its HTTP client
// turns their codes back (errs.Index): the first of a code wins.
var Errors = []*errs.Error{ErrProductNotFound, ErrOutOfStock, ErrInsufficientStock, ErrReservationNotFound,
	ErrReservationClosed, ErrReservationMismatch}

// Service is the inventory module.
type Service interface {
	// Get returns the stock of a product the catalogue sells.
	Get(ctx context.Context, productID string) (Level, error)
	// Set sets the units on hand; below what is reserved is ErrInsufficientStock.
	Set(ctx context.Context, productID string, onHand int64) (Level, error)
	// Adjust adds delta (which may be negative) to the units on hand, with a
	// reason for the audit trail.
	Adjust(ctx context.Context, productID string, delta int64, reason string) (Level, error)

	// Reserve holds every line or none (ErrOutOfStock) until the reservation
	// is committed, released or expires. The caller chooses id; reserving
	// the same id again returns the existing reservation, so a retry never
	// holds stock twice.
	Reserve(ctx context.Context, id string, lines []Line) (Reservation, error)
	// Commit turns held units into sold ones: on hand and reserved both go
	// down. Committing again (even after a restock) is a no-op; a released or expired reservation
	// is ErrReservationClosed.
	Commit(ctx context.Context, id string) error
	// Release gives held units back. Releasing anything but a held
	// reservation is a no-op; an unknown id is not an error, so a caller
	// that is unsure whether it reserved can always release. Releasing an
	// unknown id closes it: a Reserve with that id arriving later (a call
	// that was on its way) is ErrReservationClosed and holds nothing.
	Release(ctx context.Context, id string) error
	// Restock returns the units of a committed reservation to the shelf,
	// after a refund. Restocking twice is a no-op.
	Restock(ctx context.Context, id string) error
}
