// Package sandbox is a card processor that behaves like a card network's test
// mode, for development, demos and tests. It keeps its charges in memory.
//
//	4242424242424242  succeeds
//	4000000000000002  declined: generic_decline
//	4000000000009995  declined: insufficient_funds
//	any other number  succeeds (the payment service rejects numbers failing Luhn)
package sandbox

import (
	"context"
	"sync"

	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

var declines = map[string]string{
	"4000000000000002": "generic_decline",
	"4000000000009995": "insufficient_funds",
}

// Processor is the sandbox card processor.
type Processor struct {
	mu       sync.Mutex
	byKey    map[string]payment.Charge
	refunded map[string]bool
}

var _ payment.Processor = (*Processor)(nil)

// New returns an empty sandbox.
func New() *Processor {
	return &Processor{byKey: map[string]payment.Charge{}, refunded: map[string]bool{}}
}

// Charge takes the money unless the card is one of the declining test cards.
func (p *Processor) Charge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	if err := ctx.Err(); err != nil {
		return payment.Charge{}, err
	}
	if code, ok := declines[req.Card.Number]; ok {
		return payment.Charge{}, &payment.Decline{Code: code}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch, ok := p.byKey[req.IdempotencyKey]; ok {
		return ch, nil
	}
	ch := payment.Charge{ID: ids.New("ch")}
	p.byKey[req.IdempotencyKey] = ch
	return ch, nil
}

// Lookup finds a charge by its idempotency key.
func (p *Processor) Lookup(ctx context.Context, key string) (payment.Charge, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch, ok := p.byKey[key]; ok {
		return ch, nil
	}
	return payment.Charge{}, payment.ErrChargeNotFound
}

// Refund marks a charge refunded.
func (p *Processor) Refund(ctx context.Context, chargeID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refunded[chargeID] = true
	return nil
}

// Refunded reports whether a charge was refunded, for tests.
func (p *Processor) Refunded(chargeID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refunded[chargeID]
}
