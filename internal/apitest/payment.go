package apitest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

func (s *suite) checkout(t *testing.T) {
	mug := s.product(t, 1250, "EUR", 10)
	tea := s.product(t, 500, "EUR", 3)

	var pay payment.Payment
	r := s.c.Do(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(mug, 2), item(tea, 1)))
	r.Expect(t, http.StatusCreated, &pay)
	require.True(t, strings.HasPrefix(pay.ID, "pay_"), pay.ID)
	require.Equal(t, "/v1/payments/"+pay.ID, r.Header.Get("Location"))
	require.Equal(t, payment.Succeeded, pay.Status)
	require.Equal(t, int64(2*1250+500), pay.Amount, "prices come from the catalogue")
	require.Equal(t, "EUR", pay.Currency)
	require.Equal(t, []payment.LineItem{
		{ProductID: mug.ID, Quantity: 2, UnitPrice: 1250},
		{ProductID: tea.ID, Quantity: 1, UnitPrice: 500},
	}, pay.Items)
	require.Equal(t, payment.CardSummary{Brand: "visa", Last4: "4242"}, pay.Card)
	require.Equal(t, "buyer@example.com", pay.Email)
	require.NotContains(t, string(r.Body), goodCard, "the card number is never echoed")
	require.NotContains(t, string(r.Body), `"123"`, "the cvc is never echoed")

	require.Equal(t, inventory.Level{ProductID: mug.ID, OnHand: 8, Available: 8}, s.level(t, mug.ID), "sold stock leaves on hand")
	require.Equal(t, inventory.Level{ProductID: tea.ID, OnHand: 2, Available: 2}, s.level(t, tea.ID))

	var got payment.Payment
	s.c.Do(t, "GET", "/v1/payments/"+pay.ID, s.storefront, nil).Expect(t, http.StatusOK, &got)
	require.Equal(t, pay, got)
	s.c.Do(t, "GET", "/v1/payments/pay_missing", s.admin, nil).Problem(t, http.StatusNotFound, "not_found")

	t.Run("a storefront key reads only its own payments", func(t *testing.T) {
		other := s.createKey(t, "storefront")
		s.c.Do(t, "GET", "/v1/payments/"+pay.ID, other, nil).Problem(t, http.StatusNotFound, "not_found")
		s.c.Do(t, "GET", "/v1/payments/"+pay.ID, s.admin, nil).Expect(t, http.StatusOK, &got)
		require.Equal(t, pay, got, "an admin reads every payment")
		var own payment.Payment
		s.c.Do(t, "POST", "/v1/payments", other, order(goodCard, item(tea, 1))).Expect(t, http.StatusCreated, &own)
		s.c.Do(t, "GET", "/v1/payments/"+own.ID, other, nil).Expect(t, http.StatusOK, nil)
		s.c.Do(t, "GET", "/v1/payments/"+own.ID, s.storefront, nil).Problem(t, http.StatusNotFound, "not_found")
		s.c.Do(t, "POST", "/v1/payments/"+own.ID+"/refund", s.admin, nil).Expect(t, http.StatusOK, nil)
	})

	t.Run("a declined card releases the stock", func(t *testing.T) {
		for card, code := range map[string]string{declinedCard: "generic_decline", noFundsCard: "insufficient_funds"} {
			prob := s.c.Do(t, "POST", "/v1/payments", s.storefront, order(card, item(mug, 1))).
				Problem(t, http.StatusPaymentRequired, "card_declined")
			require.Equal(t, code, prob.DeclineCode)
			require.NotEmpty(t, prob.PaymentID)

			var failed payment.Payment
			s.c.Do(t, "GET", "/v1/payments/"+prob.PaymentID, s.storefront, nil).Expect(t, http.StatusOK, &failed)
			require.Equal(t, payment.Failed, failed.Status)
			require.Equal(t, code, failed.DeclineCode)
			require.Equal(t, "card_declined", failed.FailureCode)
			require.Equal(t, inventory.Level{ProductID: mug.ID, OnHand: 8, Available: 8}, s.level(t, mug.ID))
		}
	})
	t.Run("not enough stock is 409 and charges nothing", func(t *testing.T) {
		prob := s.c.Do(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(mug, 1), item(tea, 3))).
			Problem(t, http.StatusConflict, "out_of_stock")
		require.Equal(t, inventory.Level{ProductID: mug.ID, OnHand: 8, Available: 8}, s.level(t, mug.ID), "all lines or none")
		require.Equal(t, inventory.Level{ProductID: tea.ID, OnHand: 2, Available: 2}, s.level(t, tea.ID))
		var failed payment.Payment
		s.c.Do(t, "GET", "/v1/payments/"+prob.PaymentID, s.admin, nil).Expect(t, http.StatusOK, &failed)
		require.Equal(t, payment.Failed, failed.Status)
		require.Equal(t, "out_of_stock", failed.FailureCode)
	})
	t.Run("a product with no stock row is out of stock", func(t *testing.T) {
		never := s.product(t, 100, "EUR", 0)
		s.c.Do(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(never, 1))).Problem(t, http.StatusConflict, "out_of_stock")
	})
}

func (s *suite) checkoutErrors(t *testing.T) {
	eur := s.product(t, 100, "EUR", 5)
	usd := s.product(t, 100, "USD", 5)
	valid := func() map[string]any { return order(goodCard, item(eur, 1)) }
	with := func(change func(map[string]any)) map[string]any {
		o := valid()
		change(o)
		return o
	}
	card := func(o map[string]any) map[string]any { return o["card"].(map[string]any) }

	for _, tc := range []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"empty cart", with(func(o map[string]any) { o["items"] = []payment.Item{} }), []string{"items"}},
		{"zero quantity", with(func(o map[string]any) { o["items"] = []payment.Item{item(eur, 0)} }), []string{"items[0].quantity"}},
		{"negative quantity", with(func(o map[string]any) { o["items"] = []payment.Item{item(eur, -2)} }), []string{"items[0].quantity"}},
		{"same product twice", with(func(o map[string]any) { o["items"] = []payment.Item{item(eur, 1), item(eur, 1)} }), []string{"items[1].product_id"}},
		{"luhn failure", with(func(o map[string]any) { card(o)["number"] = "4242424242424241" }), []string{"card.number"}},
		{"letters in the number", with(func(o map[string]any) { card(o)["number"] = "4242-4242-4242-4242" }), []string{"card.number"}},
		{"expired card", with(func(o map[string]any) { card(o)["exp_year"] = 2001 }), []string{"card.exp_year"}},
		{"bad month", with(func(o map[string]any) { card(o)["exp_month"] = 13 }), []string{"card.exp_month"}},
		{"bad cvc", with(func(o map[string]any) { card(o)["cvc"] = "12a" }), []string{"card.cvc"}},
		{"bad email", with(func(o map[string]any) { o["email"] = "not an email" }), []string{"email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prob := s.c.Do(t, "POST", "/v1/payments", s.storefront, tc.body).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
			require.Equal(t, tc.fields, prob.Fields())
		})
	}
	t.Run("unknown product", func(t *testing.T) {
		body := order(goodCard, item(eur, 1), payment.Item{ProductID: "prod_missing", Quantity: 1})
		prob := s.c.Do(t, "POST", "/v1/payments", s.storefront, body).Problem(t, http.StatusUnprocessableEntity, "unknown_product")
		require.Equal(t, []string{"items[1].product_id"}, prob.Fields())
	})
	t.Run("mixed currencies", func(t *testing.T) {
		body := order(goodCard, item(eur, 1), item(usd, 1))
		s.c.Do(t, "POST", "/v1/payments", s.storefront, body).Problem(t, http.StatusUnprocessableEntity, "currency_mismatch")
	})
	t.Run("malformed bodies", func(t *testing.T) {
		for name, body := range map[string]Raw{
			"broken JSON":           `{"items": [`,
			"client-side price":     `{"items":[{"product_id":"` + Raw(eur.ID) + `","quantity":1,"price":1}],"card":{"number":"4242424242424242","exp_month":1,"exp_year":2099,"cvc":"123"},"email":"a@b.co"}`,
			"unknown top-level key": `{"items":[],"card":{},"email":"a@b.co","amount":1}`,
			"quantity as string":    `{"items":[{"product_id":"x","quantity":"1"}]}`,
			"a quantity twice":      `{"items":[{"product_id":"` + Raw(eur.ID) + `","quantity":1,"quantity":5}],"card":{"number":"4242424242424242","exp_month":1,"exp_year":2099,"cvc":"123"},"email":"a@b.co"}`,
		} {
			t.Run(name, func(t *testing.T) {
				s.c.Do(t, "POST", "/v1/payments", s.storefront, body).Problem(t, http.StatusBadRequest, "malformed_request")
			})
		}
	})
	require.Equal(t, inventory.Level{ProductID: eur.ID, OnHand: 5, Available: 5}, s.level(t, eur.ID), "refused checkouts touch no stock")
}

func (s *suite) refund(t *testing.T) {
	p := s.product(t, 2000, "EUR", 4)
	pay := s.buy(t, item(p, 3))
	require.Equal(t, int64(1), s.level(t, p.ID).OnHand)

	var refunded payment.Payment
	s.c.Do(t, "POST", "/v1/payments/"+pay.ID+"/refund", s.admin, nil).Expect(t, http.StatusOK, &refunded)
	require.Equal(t, payment.Refunded, refunded.Status)
	require.Equal(t, pay.Amount, refunded.Amount)
	require.Equal(t, inventory.Level{ProductID: p.ID, OnHand: 4, Available: 4}, s.level(t, p.ID), "the stock goes back")

	t.Run("refunding again changes nothing", func(t *testing.T) {
		var again payment.Payment
		s.c.Do(t, "POST", "/v1/payments/"+pay.ID+"/refund", s.admin, nil).Expect(t, http.StatusOK, &again)
		require.Equal(t, payment.Refunded, again.Status)
		require.Equal(t, int64(4), s.level(t, p.ID).OnHand, "stock is returned once")
	})
	t.Run("only succeeded payments can be refunded", func(t *testing.T) {
		prob := s.c.Do(t, "POST", "/v1/payments", s.storefront, order(declinedCard, item(p, 1))).Problem(t, http.StatusPaymentRequired, "card_declined")
		s.c.Do(t, "POST", "/v1/payments/"+prob.PaymentID+"/refund", s.admin, nil).Problem(t, http.StatusConflict, "payment_not_refundable")
		s.c.Do(t, "POST", "/v1/payments/pay_missing/refund", s.admin, nil).Problem(t, http.StatusNotFound, "not_found")
	})
}

func (s *suite) paymentList(t *testing.T) {
	p := s.product(t, 300, "EUR", 10)
	var mine []payment.Payment
	for i := 0; i < 3; i++ {
		mine = append(mine, s.buy(t, item(p, 1)))
	}
	prob := s.c.Do(t, "POST", "/v1/payments", s.storefront, order(declinedCard, item(p, 1))).Problem(t, http.StatusPaymentRequired, "card_declined")

	// Other tests may be creating payments too: walk the pages and check the
	// order of ours among whatever else is there.
	walk := func(t *testing.T, query string) []payment.Payment {
		var all []payment.Payment
		cursor := ""
		for pages := 0; pages < 1000; pages++ {
			var page payment.Page
			s.c.Do(t, "GET", "/v1/payments?limit=2&"+query+"cursor="+url.QueryEscape(cursor), s.admin, nil).Expect(t, http.StatusOK, &page)
			all = append(all, page.Data...)
			if page.NextCursor == "" {
				return all
			}
			cursor = page.NextCursor
		}
		t.Fatal("pagination did not end")
		return nil
	}
	position := func(all []payment.Payment, id string) int {
		for i, x := range all {
			if x.ID == id {
				return i
			}
		}
		return -1
	}

	all := walk(t, "")
	first, second, third := position(all, mine[0].ID), position(all, mine[1].ID), position(all, mine[2].ID)
	require.True(t, third >= 0 && third < second && second < first, "newest first: %d %d %d", third, second, first)
	require.GreaterOrEqual(t, position(all, prob.PaymentID), 0)

	failed := walk(t, "status=failed&")
	require.GreaterOrEqual(t, position(failed, prob.PaymentID), 0)
	require.Equal(t, -1, position(failed, mine[0].ID))
	for _, x := range failed {
		require.Equal(t, payment.Failed, x.Status)
	}

	for _, q := range []string{"status=lost", "limit=0x", "limit=500", "cursor=zzz"} {
		s.c.Do(t, "GET", "/v1/payments?"+q, s.admin, nil).Problem(t, http.StatusUnprocessableEntity, "validation_failed")
	}
}

// concurrentCheckouts: 50 buyers race for 10 units. The database decides
// who wins; exactly 10 do, the rest are told the truth, nothing is oversold.
func (s *suite) concurrentCheckouts(t *testing.T) {
	const stock, buyers = 10, 50
	p := s.product(t, 100, "EUR", stock)

	statuses := make([]int, buyers)
	codes := make([]string, buyers)
	var wg sync.WaitGroup
	for i := 0; i < buyers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, ok := s.c.DoConcurrently(t, "POST", "/v1/payments", s.storefront, order(goodCard, item(p, 1)))
			statuses[i] = r.Status
			var prob Problem
			if ok && r.Status != http.StatusCreated && json.Unmarshal(r.Body, &prob) == nil {
				codes[i] = prob.Code
			}
		}(i)
	}
	wg.Wait()

	won, lost := 0, 0
	for i, st := range statuses {
		switch st {
		case http.StatusCreated:
			won++
		case http.StatusConflict:
			require.Equal(t, "out_of_stock", codes[i])
			lost++
		default:
			t.Fatalf("buyer %d got %d (%s)", i, st, codes[i])
		}
	}
	require.Equal(t, stock, won, "exactly the stock is sold")
	require.Equal(t, buyers-stock, lost)
	require.Equal(t, inventory.Level{ProductID: p.ID}, s.level(t, p.ID), "nothing on hand, nothing left reserved")
}
