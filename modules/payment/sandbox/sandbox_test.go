package sandbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/testclock"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/modules/payment"
	"github.com/bazaar-shop/bazaar/modules/payment/sandbox"
)

var ctx = context.Background()

func charge(key string) payment.ChargeRequest {
	return payment.ChargeRequest{IdempotencyKey: key, Amount: 1299, Currency: "EUR",
		Card: payment.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2099, CVC: "123"}}
}

// TestLedger: a charge is made once per key, found again by a sandbox
// started afresh on the same ledger (a restart), refunded once; the test
// cards decline as documented and leave nothing behind.
func TestLedger(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			clock := testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			db := engine.Open(t, "sandbox").DB
			first := sandbox.New(db, clock.Now)

			ch, err := first.Charge(ctx, charge("pay_1"))
			require.NoError(t, err)
			again, err := first.Charge(ctx, charge("pay_1"))
			require.NoError(t, err)
			require.Equal(t, ch, again, "a repeat gets the first charge back")

			restarted := sandbox.New(db, clock.Now)
			found, err := restarted.Lookup(ctx, "pay_1")
			require.NoError(t, err)
			require.Equal(t, ch, found, "the charge outlives the process that made it")
			_, err = restarted.Lookup(ctx, "pay_2")
			require.ErrorIs(t, err, payment.ErrChargeNotFound)

			require.NoError(t, restarted.Refund(ctx, ch.ID))
			require.NoError(t, restarted.Refund(ctx, ch.ID), "a second refund changes nothing")
			require.True(t, first.Refunded(ch.ID))
			require.ErrorIs(t, restarted.Refund(ctx, "ch_unknown"), payment.ErrChargeNotFound)

			for number, code := range map[string]string{"4000000000000002": "generic_decline", "4000000000009995": "insufficient_funds"} {
				req := charge("pay_declined_" + code)
				req.Card.Number = number
				_, err := first.Charge(ctx, req)
				var decline *payment.Decline
				require.ErrorAs(t, err, &decline)
				require.Equal(t, code, decline.Code)
				_, err = first.Lookup(ctx, req.IdempotencyKey)
				require.ErrorIs(t, err, payment.ErrChargeNotFound, "a decline takes no money and keeps no charge")
			}
		})
	}
}

// TestConcurrentRepeats: many charges at once, each sent several times at
// the same moment (on SQLite they share commits): every key is charged
// once, and every repeat gets that charge back.
func TestConcurrentRepeats(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			p := sandbox.New(engine.Open(t, "sandbox").DB, time.Now)
			const keys, repeats = 20, 4
			got := make([][repeats]payment.Charge, keys)
			var wg sync.WaitGroup
			for k := range keys {
				for r := range repeats {
					wg.Go(func() {
						ch, err := p.Charge(ctx, charge(fmt.Sprintf("pay_%d", k)))
						assert.NoError(t, err)
						got[k][r] = ch
					})
				}
			}
			wg.Wait()
			ids := map[string]bool{}
			for k := range keys {
				found, err := p.Lookup(ctx, fmt.Sprintf("pay_%d", k))
				require.NoError(t, err)
				for r := range repeats {
					require.Equal(t, found, got[k][r], "key %d, repeat %d", k, r)
				}
				ids[found.ID] = true
			}
			require.Len(t, ids, keys, "one charge per key")
		})
	}
}

// TestRetention: charges older than the cutoff go, in batches, the newer
// stay.
func TestRetention(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			clock := testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			p := sandbox.New(engine.Open(t, "sandbox").DB, clock.Now)
			const old = 1200 // more than one batch
			first, err := p.Charge(ctx, charge("old_0"))
			require.NoError(t, err)
			for i := 1; i < old; i++ {
				_, err := p.Charge(ctx, charge(fmt.Sprintf("old_%d", i)))
				require.NoError(t, err)
			}
			clock.Advance(48 * time.Hour)
			recent, err := p.Charge(ctx, charge("recent"))
			require.NoError(t, err)

			n, err := p.Prune(ctx, clock.Now().Add(-24*time.Hour))
			require.NoError(t, err)
			require.Equal(t, int64(old), n)
			found, err := p.Lookup(ctx, "recent")
			require.NoError(t, err)
			require.Equal(t, recent, found)
			_, err = p.Lookup(ctx, "old_0")
			require.ErrorIs(t, err, payment.ErrChargeNotFound)
			require.ErrorIs(t, p.Refund(ctx, first.ID), payment.ErrChargeNotFound, "a forgotten charge cannot be refunded")
			n, err = p.Prune(ctx, clock.Now().Add(-24*time.Hour))
			require.NoError(t, err)
			require.Zero(t, n)
		})
	}
}
