package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeShop is just enough of Bazaar's API, in memory, to test seeding,
// the workload's judgement and the ledger without a real layout. loseUnit
// makes it forget to take stock for one sale: a broken shop.
type fakeShop struct {
	mu       sync.Mutex
	admin    string
	products []string
	onHand   map[string]int64
	payments []fakePayment // oldest first
	loseUnit bool
}

type fakePayment struct {
	CreatedAt time.Time `json:"created_at"`
	Items     []item    `json:"items"`
}

func newFakeShop(t *testing.T) (*fakeShop, *httptest.Server) {
	s := &fakeShop{admin: "bzr_fake", onHand: map[string]int64{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/products", s.auth(s.createProduct))
	mux.HandleFunc("PUT /v1/inventory/{id}", s.auth(s.setStock))
	mux.HandleFunc("GET /v1/inventory/{id}", s.auth(s.getStock))
	mux.HandleFunc("GET /v1/payments", s.auth(s.listPayments))
	mux.HandleFunc("POST /v1/payments", s.auth(s.checkout))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return s, srv
}

func problem(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"urn:bazaar:problem:%s","status":%d,"code":%q}`, code, status, code)
}

func (s *fakeShop) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+s.admin {
			problem(w, 401, "unauthorized")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		h(w, r)
	}
}

func (s *fakeShop) createProduct(w http.ResponseWriter, r *http.Request) {
	id := fmt.Sprintf("prod_%d", len(s.products))
	s.products = append(s.products, id)
	w.WriteHeader(201)
	fmt.Fprintf(w, `{"id":%q}`, id)
}

func (s *fakeShop) setStock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		OnHand int64 `json:"on_hand"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	s.onHand[r.PathValue("id")] = in.OnHand
	fmt.Fprint(w, `{}`)
}

func (s *fakeShop) getStock(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, `{"on_hand":%d,"reserved":0}`, s.onHand[r.PathValue("id")])
}

// listPayments pages two at a time, newest first, with the index of the
// next as the cursor.
func (s *fakeShop) listPayments(w http.ResponseWriter, r *http.Request) {
	from := len(s.payments) - 1
	if c := r.URL.Query().Get("cursor"); c != "" {
		from, _ = strconv.Atoi(c)
	}
	var page struct {
		Data       []fakePayment `json:"data"`
		NextCursor string        `json:"next_cursor"`
	}
	page.Data = []fakePayment{}
	for i := from; i >= 0 && len(page.Data) < 2; i-- {
		page.Data = append(page.Data, s.payments[i])
		if i > 0 {
			page.NextCursor = strconv.Itoa(i - 1)
		} else {
			page.NextCursor = ""
		}
	}
	_ = json.NewEncoder(w).Encode(page)
}

func (s *fakeShop) checkout(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Items []item `json:"items"`
		Card  struct{ Number string }
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	if r.Header.Get("Idempotency-Key") == "" {
		problem(w, 400, "no_idempotency_key") // the bench always sends one
		return
	}
	if in.Card.Number != goodCard {
		problem(w, 402, "card_declined")
		return
	}
	for _, it := range in.Items {
		if s.onHand[it.ProductID] < it.Quantity {
			problem(w, 409, "out_of_stock")
			return
		}
	}
	for i, it := range in.Items {
		if s.loseUnit && len(s.payments) == 1 && i == 0 { // the first sale of the run
			continue
		}
		s.onHand[it.ProductID] -= it.Quantity
	}
	s.payments = append(s.payments, fakePayment{CreatedAt: time.Now(), Items: in.Items})
	w.WriteHeader(201)
	fmt.Fprint(w, `{}`)
}

func TestSeedDriveAndCheck(t *testing.T) {
	for _, broken := range []bool{false, true} {
		t.Run(fmt.Sprintf("broken=%v", broken), func(t *testing.T) {
			shop, srv := newFakeShop(t)
			shop.loseUnit = broken
			// One payment from before the run, of a product the bench did not seed.
			shop.payments = append(shop.payments, fakePayment{CreatedAt: time.Now().Add(-time.Hour), Items: []item{{"prod_old", 1}}})
			ctx := context.Background()
			c := newClient(srv.URL, shop.admin, 4, 5*time.Second)
			since := time.Now()

			cat, err := seed(ctx, c, 20, 2, "run")
			require.NoError(t, err)
			require.Len(t, cat.ids, 20)
			for _, id := range cat.ids {
				require.Equal(t, int64(2), shop.onHand[id])
			}

			w := &workload{c: c, cat: cat, declined: 0.3, expYear: 2100}
			mix, err := ParseMix("checkout=1")
			require.NoError(t, err)
			m, err := runPass(ctx, pass{mix: mix, clients: 4, requests: 60}, w.do, nil, func() {})
			require.NoError(t, err)
			out := m.ops[OpCheckout].outcomes
			require.Positive(t, out[outcomeOK])
			require.Positive(t, out[outcomeDeclined], "30%% of the cards are declined")
			require.Positive(t, out[outcomeOutOfStock], "60 carts of 1–6 units drain 40 units")
			require.Empty(t, m.ops[OpCheckout].errors)

			l, err := ledgerOf(ctx, c, cat, m, since, 0)
			require.NoError(t, err)
			require.NotContains(t, l.Recorded, "prod_old", "old payments are not the bench's")
			invs := byName(l.Check())
			require.Equal(t, !broken, invs[InvStockConserved].Passed, invs[InvStockConserved].Detail)
			require.True(t, invs[InvSalesRecorded].Passed, invs[InvSalesRecorded].Detail)
			require.True(t, invs[InvCheckoutsAnswered].Passed)
			if broken {
				require.Regexp(t, `^1 products: prod_\d+: on hand \d+ \+ sold \d+ = \d+, seeded 2$`, invs[InvStockConserved].Detail)
			}
		})
	}
}

func TestSeedFailsClearly(t *testing.T) {
	_, srv := newFakeShop(t)
	c := newClient(srv.URL, "bzr_wrong", 4, 5*time.Second)
	_, err := seed(context.Background(), c, 3, 5, "run")
	require.ErrorContains(t, err, "seed: POST /v1/products: 401 unauthorized")
}

// TestJudgement: how the workload counts each kind of answer.
func TestJudgement(t *testing.T) {
	status, body := 0, ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	c := newClient(srv.URL, "k", 1, time.Second)
	cat := catalogue{ids: []string{"prod_1", "prod_2", "prod_3"}, words: []string{"mug"}}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name     string
		op       Op
		declined float64
		status   int
		body     string
		want     result
	}{
		{"a read", OpGet, 0, 200, `{}`, result{outcome: outcomeOK}},
		{"a problem", OpStock, 0, 503, `{"code":"dependency_unavailable"}`, result{outcome: "dependency_unavailable", failed: true}},
		{"not a problem", OpList, 0, 502, `Bad Gateway`, result{outcome: "http_502", failed: true}},
		{"declined as expected", OpCheckout, 1, 402, `{"code":"card_declined"}`, result{outcome: outcomeDeclined}},
		{"a good card declined", OpCheckout, 0, 402, `{"code":"card_declined"}`, result{outcome: "good_card_declined", failed: true}},
		{"a declining card paid", OpCheckout, 1, 201, `{}`, result{outcome: "declining_card_paid", failed: true}},
		{"sold out", OpCheckout, 0, 409, `{"code":"out_of_stock"}`, result{outcome: outcomeOutOfStock}},
	} {
		status, body = tc.status, tc.body
		w := &workload{c: c, cat: cat, declined: tc.declined, expYear: 2100}
		got := w.do(context.Background(), tc.op, rng)
		if tc.name == "a declining card paid" {
			require.NotEmpty(t, got.sold, "what was paid for is sold, whatever the card")
			got.sold = nil
		}
		require.Equal(t, tc.want, got, tc.name)
	}

	status, body = 201, `{}`
	got := (&workload{c: c, cat: cat, expYear: 2100}).do(context.Background(), OpCheckout, rng)
	require.Equal(t, outcomeOK, got.outcome)
	require.NotEmpty(t, got.sold)
	seen := map[string]bool{}
	for _, it := range got.sold {
		require.False(t, seen[it.ProductID], "a cart names a product once")
		seen[it.ProductID] = true
		require.True(t, it.Quantity == 1 || it.Quantity == 2)
	}

	srv.Close()
	got = (&workload{c: c, cat: cat}).do(context.Background(), OpGet, rng)
	require.Equal(t, result{outcome: "transport", failed: true, unanswered: true}, got)
}
