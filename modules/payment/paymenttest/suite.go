// Package paymenttest is the contract suite of payment.Service: written once
// against the interface, run against every implementation of it.
//
// The implementation under test must charge cards through the sandbox
// processor (modules/payment/sandbox), whose test cards the suite uses.
package paymenttest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// Harness is a payment service under test, and the local catalogue and
// inventory it prices and reserves through: the suite sets up products and
// stock with them and checks stock levels in them.
type Harness struct {
	Payments  payment.Service
	Catalogue catalogue.Service
	Inventory inventory.Service
}

// Run runs the contract suite; newHarness gives each test a fresh, empty world.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	tests := map[string]func(*testing.T, Harness){
		"checkout succeeds":                        checkoutSucceeds,
		"declined cards fail the payment":          declined,
		"out of stock fails the payment":           outOfStock,
		"unknown products":                         unknownProduct,
		"mixed currencies":                         mixedCurrencies,
		"invalid carts and cards":                  invalidCheckouts,
		"get an unknown payment":                   getUnknown,
		"ids that are no path segment":             oddIDs,
		"refund returns the stock once":            refund,
		"only succeeded payments are refundable":   notRefundable,
		"list newest first, a page at a time":      listPages,
		"list by status":                           listByStatus,
		"invalid list queries":                     invalidListQueries,
		"concurrent checkouts never oversell":      concurrentCheckouts,
		"failed checkouts do not block the others": failedThenSucceeded,
		"an idempotency key makes a checkout once": idempotentCheckout,
	}
	for name, test := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newHarness(t))
		})
	}
}

// Sandbox test cards.
const (
	GoodCard     = "4242424242424242"
	DeclinedCard = "4000000000000002" // generic_decline
	NoFundsCard  = "4000000000009995" // insufficient_funds
)

var ctx = context.Background()

// Product creates a product in the catalogue at price (minor units of
// currency) with onHand units in stock; 0 leaves it without a stock row.
func Product(t *testing.T, h Harness, price int64, currency string, onHand int64) string {
	t.Helper()
	p, err := h.Catalogue.Create(ctx, catalogue.ProductInput{
		SKU: ids.New("sku"), Name: "Teapot", Price: price, Currency: currency,
	})
	require.NoError(t, err)
	if onHand > 0 {
		_, err = h.Inventory.Set(ctx, p.ID, onHand)
		require.NoError(t, err)
	}
	return p.ID
}

// Cart is a valid checkout request paid with card.
func Cart(card string, items ...payment.Item) payment.CheckoutRequest {
	return payment.CheckoutRequest{
		Items: items,
		Card:  payment.Card{Number: card, ExpMonth: 12, ExpYear: 2099, CVC: "123"},
		Email: "buyer@example.com",
	}
}

// Item is a cart line.
func Item(productID string, qty int64) payment.Item {
	return payment.Item{ProductID: productID, Quantity: qty}
}

func level(t *testing.T, h Harness, id string) inventory.Level {
	t.Helper()
	lvl, err := h.Inventory.Get(ctx, id)
	require.NoError(t, err)
	return lvl
}

// stock is the level of a product with onHand units and nothing reserved.
func stock(id string, onHand int64) inventory.Level {
	return inventory.Level{ProductID: id, OnHand: onHand, Available: onHand}
}

func get(t *testing.T, h Harness, id string) payment.Payment {
	t.Helper()
	p, err := h.Payments.Get(ctx, id)
	require.NoError(t, err)
	return p
}

func buy(t *testing.T, h Harness, items ...payment.Item) payment.Payment {
	t.Helper()
	p, err := h.Payments.Checkout(ctx, Cart(GoodCard, items...))
	require.NoError(t, err)
	require.Equal(t, payment.Succeeded, p.Status)
	return p
}

// failed runs a checkout that must fail after recording its payment, checks
// that the error names it, and returns the failed payment.
func failed(t *testing.T, h Harness, req payment.CheckoutRequest, reason error) (payment.Payment, *payment.CheckoutError) {
	t.Helper()
	got, err := h.Payments.Checkout(ctx, req)
	require.ErrorIs(t, err, reason)
	require.Zero(t, got, "a failed checkout returns no payment")
	var ce *payment.CheckoutError
	require.ErrorAs(t, err, &ce)
	require.NotEmpty(t, ce.PaymentID)
	p := get(t, h, ce.PaymentID)
	require.Equal(t, ce.PaymentID, p.ID)
	require.Equal(t, payment.Failed, p.Status)
	return p, ce
}

func idsOf(ps []payment.Payment) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func reversed(ps []payment.Payment) []payment.Payment {
	out := make([]payment.Payment, len(ps))
	for i, p := range ps {
		out[len(ps)-1-i] = p
	}
	return out
}

func list(t *testing.T, h Harness, q payment.ListQuery) payment.Page {
	t.Helper()
	page, err := h.Payments.List(ctx, q)
	require.NoError(t, err)
	return page
}

func checkoutSucceeds(t *testing.T, h Harness) {
	mug := Product(t, h, 1250, "EUR", 10)
	tea := Product(t, h, 499, "EUR", 3)

	p, err := h.Payments.Checkout(ctx, Cart(GoodCard, Item(mug, 2), Item(tea, 3)))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(p.ID, "pay_"), p.ID)
	require.Equal(t, payment.Succeeded, p.Status)
	require.Equal(t, int64(2*1250+3*499), p.Amount, "prices come from the catalogue")
	require.Equal(t, "EUR", p.Currency)
	require.Equal(t, []payment.LineItem{
		{ProductID: mug, Quantity: 2, UnitPrice: 1250},
		{ProductID: tea, Quantity: 3, UnitPrice: 499},
	}, p.Items)
	require.Equal(t, payment.CardSummary{Brand: "visa", Last4: "4242"}, p.Card)
	require.Equal(t, "buyer@example.com", p.Email)
	require.Empty(t, p.FailureCode)
	require.Empty(t, p.DeclineCode)
	require.False(t, p.CreatedAt.IsZero())
	require.False(t, p.UpdatedAt.Before(p.CreatedAt))

	require.Equal(t, stock(mug, 8), level(t, h, mug), "sold stock leaves on hand, nothing stays reserved")
	require.Equal(t, stock(tea, 0), level(t, h, tea))

	require.Equal(t, p, get(t, h, p.ID), "Get returns the payment the checkout returned")
}

func declined(t *testing.T, h Harness) {
	mug := Product(t, h, 1250, "EUR", 5)
	for card, code := range map[string]string{DeclinedCard: "generic_decline", NoFundsCard: "insufficient_funds"} {
		p, ce := failed(t, h, Cart(card, Item(mug, 2)), payment.ErrCardDeclined)
		require.Equal(t, code, ce.DeclineCode, card)
		var decline *payment.Decline
		require.ErrorAs(t, ce, &decline, card)
		require.Equal(t, code, decline.Code, card)

		require.Equal(t, "card_declined", p.FailureCode, card)
		require.Equal(t, code, p.DeclineCode, card)
		require.Equal(t, int64(2*1250), p.Amount, card)
		require.Equal(t, []payment.LineItem{{ProductID: mug, Quantity: 2, UnitPrice: 1250}}, p.Items, card)
		require.Equal(t, payment.CardSummary{Brand: "visa", Last4: card[len(card)-4:]}, p.Card, card)
		require.Equal(t, stock(mug, 5), level(t, h, mug), "a declined card holds no stock (%s)", card)
	}
}

func outOfStock(t *testing.T, h Harness) {
	mug := Product(t, h, 1250, "EUR", 5)
	tea := Product(t, h, 499, "EUR", 1)

	p, ce := failed(t, h, Cart(GoodCard, Item(mug, 2), Item(tea, 2)), inventory.ErrOutOfStock)
	require.Empty(t, ce.DeclineCode)
	require.Equal(t, "out_of_stock", p.FailureCode)
	require.Empty(t, p.DeclineCode)
	require.Equal(t, stock(mug, 5), level(t, h, mug), "all lines or none")
	require.Equal(t, stock(tea, 1), level(t, h, tea))

	never := Product(t, h, 100, "EUR", 0)
	p, _ = failed(t, h, Cart(GoodCard, Item(never, 1)), inventory.ErrOutOfStock)
	require.Equal(t, "out_of_stock", p.FailureCode, "a product never stocked is out of stock")

	// The shortage is not remembered: what is available still sells.
	buy(t, h, Item(mug, 5), Item(tea, 1))
	require.Equal(t, stock(mug, 0), level(t, h, mug))
	require.Equal(t, stock(tea, 0), level(t, h, tea))
}

// refused checks an error of a checkout refused before any payment was
// recorded.
func refused(t *testing.T, h Harness, req payment.CheckoutRequest, reason error, msgAndArgs ...any) error {
	t.Helper()
	got, err := h.Payments.Checkout(ctx, req)
	require.ErrorIs(t, err, reason, msgAndArgs...)
	require.Zero(t, got, msgAndArgs...)
	var ce *payment.CheckoutError
	require.False(t, errors.As(err, &ce), "a refused checkout records no payment: %v", err)
	return err
}

func noPayments(t *testing.T, h Harness) {
	t.Helper()
	require.Empty(t, list(t, h, payment.ListQuery{}).Data, "refused checkouts record no payment")
}

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var ve *errs.ValidationError
	require.ErrorAs(t, err, &ve)
	out := make([]string, len(ve.Fields))
	for i, f := range ve.Fields {
		out[i] = f.Field
	}
	return out
}

func unknownProduct(t *testing.T, h Harness) {
	mug := Product(t, h, 1250, "EUR", 5)
	err := refused(t, h, Cart(GoodCard, Item(mug, 1), Item("prod_missing", 1)), payment.ErrUnknownProduct)
	require.Equal(t, []string{"items[1].product_id"}, fieldsOf(t, err))

	deleted := Product(t, h, 100, "EUR", 5)
	require.NoError(t, h.Catalogue.Delete(ctx, deleted))
	refused(t, h, Cart(GoodCard, Item(deleted, 1)), payment.ErrUnknownProduct, "a deleted product is not for sale")

	require.Equal(t, stock(mug, 5), level(t, h, mug))
	noPayments(t, h)
}

func mixedCurrencies(t *testing.T, h Harness) {
	eur := Product(t, h, 100, "EUR", 5)
	usd := Product(t, h, 100, "USD", 5)
	refused(t, h, Cart(GoodCard, Item(eur, 1), Item(usd, 1)), payment.ErrCurrencyMismatch)
	require.Equal(t, stock(eur, 5), level(t, h, eur))
	require.Equal(t, stock(usd, 5), level(t, h, usd))
	noPayments(t, h)

	p := buy(t, h, Item(usd, 2))
	require.Equal(t, "USD", p.Currency, "a cart is in its products' currency")
	require.Equal(t, int64(200), p.Amount)
}

func invalidCheckouts(t *testing.T, h Harness) {
	eur := Product(t, h, 100, "EUR", 5)
	with := func(change func(*payment.CheckoutRequest)) payment.CheckoutRequest {
		req := Cart(GoodCard, Item(eur, 1))
		change(&req)
		return req
	}
	for _, tc := range []struct {
		name   string
		req    payment.CheckoutRequest
		fields []string
	}{
		{"empty cart", with(func(r *payment.CheckoutRequest) { r.Items = nil }), []string{"items"}},
		{"zero quantity", with(func(r *payment.CheckoutRequest) { r.Items = []payment.Item{Item(eur, 0)} }), []string{"items[0].quantity"}},
		{"negative quantity", with(func(r *payment.CheckoutRequest) { r.Items = []payment.Item{Item(eur, -1)} }), []string{"items[0].quantity"}},
		{"no product", with(func(r *payment.CheckoutRequest) { r.Items = []payment.Item{Item("", 1)} }), []string{"items[0].product_id"}},
		{"same product twice", with(func(r *payment.CheckoutRequest) { r.Items = []payment.Item{Item(eur, 1), Item(eur, 1)} }), []string{"items[1].product_id"}},
		{"luhn failure", with(func(r *payment.CheckoutRequest) { r.Card.Number = "4242424242424241" }), []string{"card.number"}},
		{"letters in the number", with(func(r *payment.CheckoutRequest) { r.Card.Number = "4242-4242-4242-4242" }), []string{"card.number"}},
		{"no card number", with(func(r *payment.CheckoutRequest) { r.Card.Number = "" }), []string{"card.number"}},
		{"expired card", with(func(r *payment.CheckoutRequest) { r.Card.ExpYear = 2001 }), []string{"card.exp_year"}},
		{"bad month", with(func(r *payment.CheckoutRequest) { r.Card.ExpMonth = 13 }), []string{"card.exp_month"}},
		{"bad cvc", with(func(r *payment.CheckoutRequest) { r.Card.CVC = "12a" }), []string{"card.cvc"}},
		{"bad email", with(func(r *payment.CheckoutRequest) { r.Email = "not an email" }), []string{"email"}},
		{"no email", with(func(r *payment.CheckoutRequest) { r.Email = "" }), []string{"email"}},
	} {
		err := refused(t, h, tc.req, errs.ErrInvalid, tc.name)
		require.Equal(t, tc.fields, fieldsOf(t, err), tc.name)
	}
	require.Equal(t, stock(eur, 5), level(t, h, eur), "refused checkouts touch no stock")
	noPayments(t, h)
}

func getUnknown(t *testing.T, h Harness) {
	for _, id := range []string{"pay_missing", ids.New("pay"), "prod_x"} {
		p, err := h.Payments.Get(ctx, id)
		require.ErrorIs(t, err, payment.ErrNotFound, id)
		require.Zero(t, p, id)
	}
}

// oddIDs: an id the caller got wrong is not found, whatever it looks like.
func oddIDs(t *testing.T, h Harness) {
	for _, id := range []string{"", "a/b", "pay_x/refund"} {
		p, err := h.Payments.Get(ctx, id)
		require.ErrorIs(t, err, payment.ErrNotFound, "Get(%q)", id)
		require.Zero(t, p, "Get(%q)", id)
		p, err = h.Payments.Refund(ctx, id)
		require.ErrorIs(t, err, payment.ErrNotFound, "Refund(%q)", id)
		require.Zero(t, p, "Refund(%q)", id)
	}
}

func refund(t *testing.T, h Harness) {
	pot := Product(t, h, 2000, "EUR", 4)
	paid := buy(t, h, Item(pot, 3))
	require.Equal(t, stock(pot, 1), level(t, h, pot))

	refunded, err := h.Payments.Refund(ctx, paid.ID)
	require.NoError(t, err)
	require.Equal(t, payment.Refunded, refunded.Status)
	require.Equal(t, paid.ID, refunded.ID)
	require.Equal(t, paid.Amount, refunded.Amount)
	require.Equal(t, paid.Items, refunded.Items)
	require.Equal(t, paid.Card, refunded.Card)
	require.Equal(t, stock(pot, 4), level(t, h, pot), "the stock goes back")
	require.Equal(t, refunded, get(t, h, paid.ID))

	again, err := h.Payments.Refund(ctx, paid.ID)
	require.NoError(t, err)
	require.Equal(t, refunded, again, "refunding a refunded payment returns it unchanged")
	require.Equal(t, stock(pot, 4), level(t, h, pot), "the stock is returned once")

	// The returned stock sells again.
	buy(t, h, Item(pot, 4))
	require.Equal(t, stock(pot, 0), level(t, h, pot))
}

func notRefundable(t *testing.T, h Harness) {
	pot := Product(t, h, 2000, "EUR", 4)
	declinedPay, _ := failed(t, h, Cart(DeclinedCard, Item(pot, 1)), payment.ErrCardDeclined)
	shortPay, _ := failed(t, h, Cart(GoodCard, Item(pot, 5)), inventory.ErrOutOfStock)
	for _, p := range []payment.Payment{declinedPay, shortPay} {
		got, err := h.Payments.Refund(ctx, p.ID)
		require.ErrorIs(t, err, payment.ErrNotRefundable, p.FailureCode)
		require.Zero(t, got)
		require.Equal(t, p, get(t, h, p.ID), "a refused refund changes nothing")
	}
	require.Equal(t, stock(pot, 4), level(t, h, pot), "a refused refund returns no stock")

	for _, id := range []string{"pay_missing", ids.New("pay")} {
		got, err := h.Payments.Refund(ctx, id)
		require.ErrorIs(t, err, payment.ErrNotFound, id)
		require.Zero(t, got)
	}
}

func listPages(t *testing.T, h Harness) {
	require.Empty(t, list(t, h, payment.ListQuery{}).Data, "a fresh world has no payments")
	require.Empty(t, list(t, h, payment.ListQuery{}).NextCursor)

	mug := Product(t, h, 300, "EUR", 10)
	var made []payment.Payment // oldest first
	for i := 0; i < 4; i++ {
		made = append(made, buy(t, h, Item(mug, 1)))
	}
	declinedPay, _ := failed(t, h, Cart(DeclinedCard, Item(mug, 1)), payment.ErrCardDeclined)
	made = append(made, declinedPay)
	made = append(made, buy(t, h, Item(mug, 2)))
	newest := reversed(made)

	all := list(t, h, payment.ListQuery{})
	require.Equal(t, newest, all.Data, "newest first, as Get shows them")
	require.Empty(t, all.NextCursor, "everything fits the default page")
	require.Equal(t, newest, list(t, h, payment.ListQuery{Limit: payment.MaxLimit}).Data)

	var walked [][]string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10, "pagination does not end")
		page := list(t, h, payment.ListQuery{Limit: 2, Cursor: cursor})
		walked = append(walked, idsOf(page.Data))
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Equal(t, [][]string{idsOf(newest[0:2]), idsOf(newest[2:4]), idsOf(newest[4:6])}, walked)

	page := list(t, h, payment.ListQuery{Limit: 4})
	require.Equal(t, newest[:4], page.Data)
	require.NotEmpty(t, page.NextCursor)
	rest := list(t, h, payment.ListQuery{Limit: 4, Cursor: page.NextCursor})
	require.Equal(t, newest[4:], rest.Data)
	require.Empty(t, rest.NextCursor, "the last page has no next cursor")
}

func listByStatus(t *testing.T, h Harness) {
	mug := Product(t, h, 300, "EUR", 3)
	a := buy(t, h, Item(mug, 1))
	declinedPay, _ := failed(t, h, Cart(DeclinedCard, Item(mug, 1)), payment.ErrCardDeclined)
	b := buy(t, h, Item(mug, 1))
	shortPay, _ := failed(t, h, Cart(GoodCard, Item(mug, 5)), inventory.ErrOutOfStock)
	c := buy(t, h, Item(mug, 1))
	refunded, err := h.Payments.Refund(ctx, b.ID)
	require.NoError(t, err)

	require.Equal(t, []payment.Payment{c, a}, list(t, h, payment.ListQuery{Status: payment.Succeeded}).Data)
	require.Equal(t, []payment.Payment{shortPay, declinedPay}, list(t, h, payment.ListQuery{Status: payment.Failed}).Data)
	require.Equal(t, []payment.Payment{refunded}, list(t, h, payment.ListQuery{Status: payment.Refunded}).Data)
	require.Empty(t, list(t, h, payment.ListQuery{Status: payment.Pending}).Data)

	first := list(t, h, payment.ListQuery{Status: payment.Failed, Limit: 1})
	require.Equal(t, []payment.Payment{shortPay}, first.Data)
	require.NotEmpty(t, first.NextCursor)
	second := list(t, h, payment.ListQuery{Status: payment.Failed, Limit: 1, Cursor: first.NextCursor})
	require.Equal(t, []payment.Payment{declinedPay}, second.Data, "the cursor keeps the filter's order")
	require.Empty(t, second.NextCursor)
}

func invalidListQueries(t *testing.T, h Harness) {
	mug := Product(t, h, 300, "EUR", 3)
	buy(t, h, Item(mug, 1))
	for name, q := range map[string]payment.ListQuery{
		"limit over the maximum": {Limit: payment.MaxLimit + 1},
		"negative limit":         {Limit: -1},
		"garbage cursor":         {Cursor: "not a cursor!"},
		"base64 garbage cursor":  {Cursor: "zzz"},
		"cursor of a product":    {Cursor: ids.Cursor("prod_01jabcdefghjkmnpqrstvwxyz0")},
		"unknown status":         {Status: payment.Status("lost")},
	} {
		page, err := h.Payments.List(ctx, q)
		require.ErrorIs(t, err, errs.ErrInvalid, name)
		require.Zero(t, page, name)
	}
}

// concurrentCheckouts: buyers race for the last units. Exactly the stock is
// sold, the others are told it is out of stock, nothing is oversold.
func concurrentCheckouts(t *testing.T, h Harness) {
	const units, buyers = 5, 20
	mug := Product(t, h, 100, "EUR", units)

	var mu sync.Mutex
	var won, lost []string
	var wg sync.WaitGroup
	for i := 0; i < buyers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p, err := h.Payments.Checkout(ctx, Cart(GoodCard, Item(mug, 1)))
			var ce *payment.CheckoutError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && p.Status == payment.Succeeded:
				won = append(won, p.ID)
			case errors.Is(err, inventory.ErrOutOfStock) && errors.As(err, &ce) && ce.PaymentID != "":
				lost = append(lost, ce.PaymentID)
			default:
				t.Errorf("buyer %d: unexpected outcome %+v, %v", i, p, err)
			}
		}(i)
	}
	wg.Wait()
	require.Len(t, won, units, "exactly the stock is sold")
	require.Len(t, lost, buyers-units)
	require.Equal(t, stock(mug, 0), level(t, h, mug), "nothing on hand, nothing left reserved")

	require.ElementsMatch(t, won, idsOf(list(t, h, payment.ListQuery{Status: payment.Succeeded}).Data))
	require.ElementsMatch(t, lost, idsOf(list(t, h, payment.ListQuery{Status: payment.Failed}).Data))
	require.Empty(t, list(t, h, payment.ListQuery{Status: payment.Pending}).Data, "no checkout is left pending")
}

// failedThenSucceeded: declines and shortages release what they held, so the
// same stock sells afterwards.
func failedThenSucceeded(t *testing.T, h Harness) {
	mug := Product(t, h, 700, "EUR", 2)
	for i := 0; i < 3; i++ {
		failed(t, h, Cart(NoFundsCard, Item(mug, 2)), payment.ErrCardDeclined)
		failed(t, h, Cart(GoodCard, Item(mug, 3)), inventory.ErrOutOfStock)
	}
	p := buy(t, h, Item(mug, 2))
	require.Equal(t, int64(1400), p.Amount)
	require.Equal(t, stock(mug, 0), level(t, h, mug))
	require.Len(t, list(t, h, payment.ListQuery{Status: payment.Failed}).Data, 6)
	require.Equal(t, []payment.Payment{p}, list(t, h, payment.ListQuery{Status: payment.Succeeded}).Data)
}

// idempotentCheckout: a checkout repeated with the same key returns the
// first one's outcome, success or decline, and takes stock once.
func idempotentCheckout(t *testing.T, h Harness) {
	p := Product(t, h, 700, "EUR", 5)
	req := Cart(GoodCard, Item(p, 2))
	req.IdempotencyKey = ids.New("key")
	first, err := h.Payments.Checkout(ctx, req)
	require.NoError(t, err)
	require.False(t, first.Replayed)
	again, err := h.Payments.Checkout(ctx, req)
	require.NoError(t, err)
	require.True(t, again.Replayed, "the answer says it is a replay")
	again.Replayed = false
	require.Equal(t, first, again, "the very same payment")
	require.Equal(t, stock(p, 3), level(t, h, p), "stock was taken once")

	reused := Cart(GoodCard, Item(p, 1))
	reused.IdempotencyKey = req.IdempotencyKey
	_, err = h.Payments.Checkout(ctx, reused)
	require.ErrorIs(t, err, payment.ErrIdempotencyKeyReused, "the same key for another cart")
	require.Equal(t, stock(p, 3), level(t, h, p))

	other := Cart(GoodCard, Item(p, 1))
	other.IdempotencyKey = ids.New("key")
	_, err = h.Payments.Checkout(ctx, other)
	require.NoError(t, err, "another key is another checkout")
	require.Equal(t, stock(p, 2), level(t, h, p))

	declinedReq := Cart(DeclinedCard, Item(p, 1))
	declinedReq.IdempotencyKey = ids.New("key")
	_, err = h.Payments.Checkout(ctx, declinedReq)
	var firstErr *payment.CheckoutError
	require.ErrorAs(t, err, &firstErr)
	require.False(t, firstErr.Replayed)
	_, err = h.Payments.Checkout(ctx, declinedReq)
	var againErr *payment.CheckoutError
	require.ErrorAs(t, err, &againErr)
	require.ErrorIs(t, err, payment.ErrCardDeclined)
	require.Equal(t, firstErr.PaymentID, againErr.PaymentID)
	require.Equal(t, "generic_decline", againErr.DeclineCode)
	require.True(t, againErr.Replayed)
}
