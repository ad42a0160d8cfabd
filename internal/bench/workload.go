package bench

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
)

// Sandbox test cards (modules/payment/sandbox): the first always pays,
// the others are always declined, each with its own reason.
const goodCard = "4242424242424242"

var decliningCards = []string{"4000000000000002", "4000000000009995"}

// Outcomes of a request that are not errors. A declined card and, when
// the stock runs out, a 409 out_of_stock are answers a shop expects.
const (
	outcomeOK         = "ok"
	outcomeDeclined   = "declined"
	outcomeOutOfStock = "out_of_stock"
)

// item is a line of a cart.
type item struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// result is what became of one request.
type result struct {
	// outcome is outcomeOK, another expected outcome, or the error code:
	// the problem document's code, http_<status>, transport or timeout.
	outcome string
	failed  bool
	// unanswered: no HTTP answer came (transport error or timeout).
	unanswered bool
	// sold are the units a checkout took, when it succeeded.
	sold []item
}

// workload turns an operation into a request against one layout and
// judges the answer.
type workload struct {
	c        *client
	cat      catalogue
	declined float64 // share of checkouts with a declining card
	expYear  int     // a card expiry year safely in the future
}

func (w *workload) do(ctx context.Context, op Op, rng *rand.Rand) result {
	switch op {
	case OpList:
		path := "/v1/products?limit=20"
		if rng.IntN(2) == 0 {
			path += "&q=" + url.QueryEscape(w.cat.words[rng.IntN(len(w.cat.words))])
		}
		return w.read(ctx, request{method: "GET", path: path})
	case OpGet:
		return w.read(ctx, request{method: "GET", path: "/v1/products/" + w.product(rng)})
	case OpStock:
		return w.read(ctx, request{method: "GET", path: "/v1/inventory/" + w.product(rng), auth: true})
	case OpCheckout:
		return w.checkout(ctx, rng)
	}
	panic("bench: unknown op " + string(op))
}

func (w *workload) product(rng *rand.Rand) string { return w.cat.ids[rng.IntN(len(w.cat.ids))] }

// read sends a request that must answer 200.
func (w *workload) read(ctx context.Context, r request) result {
	resp, err := w.c.do(ctx, r)
	if err != nil {
		return result{outcome: transportCode(err), failed: true, unanswered: true}
	}
	if resp.status != http.StatusOK {
		return result{outcome: problemCode(resp.status, resp.body), failed: true}
	}
	return result{outcome: outcomeOK}
}

// checkout buys 1–3 distinct products, 1–2 of each. A checkout with a
// declining card must be declined (402 card_declined), one with the good
// card must succeed, or fail only for want of stock.
func (w *workload) checkout(ctx context.Context, rng *rand.Rand) result {
	n := min(1+rng.IntN(3), len(w.cat.ids))
	items := make([]item, 0, n)
	for len(items) < n {
		id := w.product(rng)
		if !slices.ContainsFunc(items, func(it item) bool { return it.ProductID == id }) { // a cart names a product once
			items = append(items, item{ProductID: id, Quantity: 1 + rng.Int64N(2)})
		}
	}
	card, declining := goodCard, rng.Float64() < w.declined
	if declining {
		card = decliningCards[rng.IntN(len(decliningCards))]
	}
	body, err := json.Marshal(map[string]any{
		"items": items,
		"card":  map[string]any{"number": card, "exp_month": 12, "exp_year": w.expYear, "cvc": "123"},
		"email": "bench@example.com",
	})
	if err != nil {
		panic(err) // plain values
	}
	resp, err := w.c.do(ctx, request{method: "POST", path: "/v1/payments", body: body, auth: true, idempotencyKey: randomHex(16)})
	if err != nil {
		return result{outcome: transportCode(err), failed: true, unanswered: true}
	}
	code := ""
	if resp.status >= 300 {
		code = problemCode(resp.status, resp.body)
	}
	switch {
	case resp.status == http.StatusCreated && declining:
		return result{outcome: "declining_card_paid", failed: true, sold: items}
	case resp.status == http.StatusCreated:
		return result{outcome: outcomeOK, sold: items}
	case code == "card_declined" && declining:
		return result{outcome: outcomeDeclined}
	case code == "card_declined":
		return result{outcome: "good_card_declined", failed: true}
	case code == "out_of_stock":
		return result{outcome: outcomeOutOfStock}
	}
	return result{outcome: code, failed: true}
}
