// Package pagetest is the black-box suite of the storefront's pages: it
// shops as a browser without script does — following links, posting the
// forms it is given, keeping the cookies it is sent — against a running
// shop, and checks the outcome through the admin API. It runs, unchanged,
// against every layout. (The browser tests, with Chromium, add what only a
// browser shows.)
package pagetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/shoptest"
)

// Shopper is one browser: its own cookies, so its own session.
type Shopper struct {
	t      testing.TB
	base   string
	client *http.Client
}

// NewShopper returns a shopper with no session yet.
func NewShopper(t testing.TB, base string) *Shopper {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &Shopper{t: t, base: base, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Page is an answer: its status, where it redirects, its HTML.
type Page struct {
	Status   int
	Location string
	HTML     string
	Header   http.Header
}

// Get asks for a page.
func (s *Shopper) Get(path string) Page {
	s.t.Helper()
	resp, err := s.client.Get(s.base + path)
	require.NoError(s.t, err)
	return read(s.t, resp)
}

// Post sends a form as a browser does.
func (s *Shopper) Post(path string, form url.Values) Page {
	s.t.Helper()
	resp, err := s.client.PostForm(s.base+path, form)
	require.NoError(s.t, err)
	return read(s.t, resp)
}

// Follow posts a form, then, if it redirects, gets where it leads.
func (s *Shopper) Follow(path string, form url.Values) Page {
	s.t.Helper()
	p := s.Post(path, form)
	if p.Status == http.StatusSeeOther {
		return s.Get(p.Location)
	}
	return p
}

func read(t testing.TB, resp *http.Response) Page {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return Page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), HTML: string(body), Header: resp.Header}
}

var hidden = regexp.MustCompile(`name="(csrf|key)" value="([^"]*)"`)

// Field is the value of a hidden field of the page's forms ("csrf", "key").
func (p Page) Field(name string) string {
	for _, m := range hidden.FindAllStringSubmatch(p.HTML, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}

// Form is a form of values, with the page's CSRF token.
func (p Page) Form(kv ...string) url.Values {
	v := url.Values{"csrf": {p.Field("csrf")}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// Card numbers of the sandbox.
const (
	CardSucceeds = "4242 4242 4242 4242"
	CardDeclined = "4000 0000 0000 0002"
)

// CheckoutForm fills the checkout form of page with a card.
func CheckoutForm(page Page, card string) url.Values {
	return url.Values{"csrf": {page.Field("csrf")}, "key": {page.Field("key")}, "email": {"shopper@example.com"},
		"name": {"Ada Shopper"}, "number": {card}, "exp_month": {"12"},
		"exp_year": {strconv.Itoa(time.Now().Year() + 3)}, "cvc": {"123"}}
}

// Products makes n products named "<word> <i>", each with stock units,
// and returns their ids.
func Products(t testing.TB, shop shoptest.Shop, word string, n, stock int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		status, out := shoptest.Call(t, "POST", shop.Base+"/v1/products", shop.Admin, fmt.Sprintf(
			`{"sku":"%s-%d-%d","name":"%s %d","description":"Made for the page suite","price":%d,"currency":"EUR"}`,
			word, i, time.Now().UnixNano(), word, i, 1000+100*i))
		require.Equal(t, http.StatusCreated, status, "%s", out)
		var p struct{ ID string }
		require.NoError(t, json.Unmarshal(out, &p))
		status, out = shoptest.Call(t, "PUT", shop.Base+"/v1/inventory/"+p.ID, shop.Admin, fmt.Sprintf(`{"on_hand":%d}`, stock))
		require.Equal(t, http.StatusOK, status, "%s", out)
		ids = append(ids, p.ID)
	}
	return ids
}

// OnHand is a product's units on hand, from the admin API.
func OnHand(t testing.TB, shop shoptest.Shop, id string) int64 {
	t.Helper()
	status, out := shoptest.Call(t, "GET", shop.Base+"/v1/inventory/"+id, shop.Admin, "")
	require.Equal(t, http.StatusOK, status, "%s", out)
	var level struct {
		OnHand int64 `json:"on_hand"`
	}
	require.NoError(t, json.Unmarshal(out, &level))
	return level.OnHand
}

// PaymentCount is how many payments the shop has recorded.
func PaymentCount(t testing.TB, shop shoptest.Shop) int {
	t.Helper()
	payments, err := shop.Payments()
	require.NoError(t, err)
	return len(payments)
}

// unique makes a word no other run of the suite uses, to search by.
func unique() string { return "Item" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36) }

// Run runs the suite against the shop at shop.Base.
func Run(t *testing.T, shop shoptest.Shop) {
	t.Run("browse and search", func(t *testing.T) { browse(t, shop) })
	t.Run("a purchase", func(t *testing.T) { purchase(t, shop) })
	t.Run("a declined card", func(t *testing.T) { declined(t, shop) })
	t.Run("too little stock", func(t *testing.T) { tooLittleStock(t, shop) })
	t.Run("bad input", func(t *testing.T) { badInput(t, shop) })
	t.Run("forged and missing CSRF tokens", func(t *testing.T) { forged(t, shop) })
	t.Run("an order is its shopper's", func(t *testing.T) { privateOrders(t, shop) })
}

func browse(t *testing.T, shop shoptest.Shop) {
	word := unique()
	ids := Products(t, shop, word, 14, 7) // more than a page
	s := NewShopper(t, shop.Base)

	first := s.Get("/?q=" + word)
	require.Equal(t, http.StatusOK, first.Status)
	require.Contains(t, first.Header.Get("Content-Type"), "text/html")
	require.Equal(t, 12, strings.Count(first.HTML, `class="card"`), "a page holds twelve products")
	require.Contains(t, first.HTML, "7 in stock")
	require.Contains(t, first.HTML, "10.00 EUR")
	next := regexp.MustCompile(`rel="next" href="([^"]+)"`).FindStringSubmatch(first.HTML)
	require.NotNil(t, next, "a next page: %s", first.HTML)
	second := s.Get(strings.ReplaceAll(next[1], "&amp;", "&"))
	require.Equal(t, 2, strings.Count(second.HTML, `class="card"`), "the rest on the next")

	none := s.Get("/?q=" + word + "nothing")
	require.Contains(t, none.HTML, "No products match")

	product := s.Get("/products/" + ids[0])
	require.Equal(t, http.StatusOK, product.Status)
	require.Contains(t, product.HTML, word+" 0")
	require.Contains(t, product.HTML, `<label for="quantity">Quantity</label>`)

	missing := s.Get("/products/prod_00000000000000000000000000")
	require.Equal(t, http.StatusNotFound, missing.Status)
	require.Contains(t, missing.HTML, "Not found")

	long := s.Get("/?q=" + strings.Repeat("x", 500))
	require.Equal(t, http.StatusUnprocessableEntity, long.Status, "a search is bounded")

	cookie := first.Header.Get("Set-Cookie")
	require.Contains(t, cookie, "HttpOnly")
	require.Contains(t, cookie, "SameSite=Lax")
	require.Contains(t, first.Header.Get("Content-Security-Policy"), "default-src 'none'")
}

// addToCart puts n of a product in the shopper's cart.
func addToCart(t *testing.T, s *Shopper, id string, n int) Page {
	t.Helper()
	product := s.Get("/products/" + id)
	require.Equal(t, http.StatusOK, product.Status)
	cart := s.Follow("/cart", product.Form("product_id", id, "quantity", strconv.Itoa(n)))
	require.Equal(t, http.StatusOK, cart.Status, "%s", cart.HTML)
	return cart
}

func purchase(t *testing.T, shop shoptest.Shop) {
	ids := Products(t, shop, unique(), 2, 5)
	s := NewShopper(t, shop.Base)
	addToCart(t, s, ids[0], 2)
	cart := addToCart(t, s, ids[1], 1)
	require.Contains(t, cart.HTML, "31.00 EUR", "2 × 10.00 + 1 × 11.00")
	require.Contains(t, cart.HTML, `<span class="count" aria-label="3 items">3</span>`)

	checkout := s.Get("/checkout")
	require.Equal(t, http.StatusOK, checkout.Status)
	require.Contains(t, checkout.HTML, "4242 4242 4242 4242", "the form lists the test cards")
	done := s.Follow("/checkout", CheckoutForm(checkout, CardSucceeds))
	require.Equal(t, http.StatusOK, done.Status, "%s", done.HTML)
	require.Contains(t, done.HTML, "Thank you for your order")
	require.Regexp(t, `pay_[0-9a-z]{26}`, done.HTML)
	require.Contains(t, done.HTML, "visa ending 4242")
	require.Equal(t, int64(3), OnHand(t, shop, ids[0]))
	require.Equal(t, int64(4), OnHand(t, shop, ids[1]))

	again := s.Get("/cart")
	require.Contains(t, again.HTML, "Your cart is empty", "a paid cart is emptied")

	// The form already paid with, sent again for another cart, pays
	// nothing: its key belongs to the first checkout.
	before := PaymentCount(t, shop)
	addToCart(t, s, ids[0], 1)
	repeat := s.Post("/checkout", CheckoutForm(checkout, CardSucceeds))
	require.Equal(t, http.StatusConflict, repeat.Status, "%s", repeat.HTML)
	require.Contains(t, repeat.HTML, "This form was sent already")
	require.Equal(t, before, PaymentCount(t, shop))
	require.Equal(t, int64(3), OnHand(t, shop, ids[0]))
}

func declined(t *testing.T, shop shoptest.Shop) {
	ids := Products(t, shop, unique(), 1, 5)
	s := NewShopper(t, shop.Base)
	addToCart(t, s, ids[0], 2)
	checkout := s.Get("/checkout")
	page := s.Follow("/checkout", CheckoutForm(checkout, CardDeclined))
	require.Equal(t, http.StatusPaymentRequired, page.Status, "%s", page.HTML)
	require.Contains(t, page.HTML, "Your card was declined")
	require.Equal(t, int64(5), OnHand(t, shop, ids[0]), "a decline takes no stock")
	require.Contains(t, s.Get("/cart").HTML, "20.00 EUR", "the cart is kept for another card")
}

func tooLittleStock(t *testing.T, shop shoptest.Shop) {
	ids := Products(t, shop, unique(), 1, 3)
	s := NewShopper(t, shop.Base)
	cart := addToCart(t, s, ids[0], 1)
	cart = s.Follow("/cart/update", cart.Form("product_id", ids[0], "quantity", "50"))
	require.Contains(t, cart.HTML, "only 3 in stock")
	require.NotContains(t, cart.HTML, `href="/checkout"`, "no checkout link for a cart that cannot be sold")

	before := PaymentCount(t, shop)
	checkout := s.Get("/checkout")
	page := s.Post("/checkout", CheckoutForm(checkout, CardSucceeds))
	require.Equal(t, http.StatusConflict, page.Status, "%s", page.HTML)
	require.Contains(t, page.HTML, "Not enough stock")
	require.Equal(t, before, PaymentCount(t, shop), "refused before any charge")
	require.Equal(t, int64(3), OnHand(t, shop, ids[0]))
}

func badInput(t *testing.T, shop shoptest.Shop) {
	ids := Products(t, shop, unique(), 1, 5)
	s := NewShopper(t, shop.Base)
	product := s.Get("/products/" + ids[0])
	for _, qty := range []string{"-1", "0", "1000000000000", "100", "two", ""} {
		page := s.Post("/cart", product.Form("product_id", ids[0], "quantity", qty))
		require.Equal(t, http.StatusUnprocessableEntity, page.Status, "quantity %q: %s", qty, page.HTML)
		require.Contains(t, page.HTML, "A quantity is a whole number from 1 to 99")
	}
	page := s.Post("/cart", product.Form("product_id", "prod_00000000000000000000000000", "quantity", "1"))
	require.Equal(t, http.StatusNotFound, page.Status)
	require.Contains(t, s.Get("/cart").HTML, "Your cart is empty", "nothing was added")

	addToCart(t, s, ids[0], 1)
	checkout := s.Get("/checkout")
	before := PaymentCount(t, shop)
	empty := s.Post("/checkout", url.Values{"csrf": {checkout.Field("csrf")}, "key": {checkout.Field("key")}})
	require.Equal(t, http.StatusUnprocessableEntity, empty.Status)
	for _, want := range []string{"Enter an email address", "Enter the name on the card", "Enter the card number",
		"Enter the month", "Enter the year", "Enter the 3 or 4 digits"} {
		require.Contains(t, empty.HTML, want)
	}
	require.Contains(t, empty.HTML, `aria-invalid="true"`)

	form := CheckoutForm(checkout, CardSucceeds)
	form.Set("name", strings.Repeat("n", 10_000))
	long := s.Post("/checkout", form)
	require.Equal(t, http.StatusUnprocessableEntity, long.Status)
	require.Contains(t, long.HTML, "at most 100 characters")

	form = CheckoutForm(checkout, CardSucceeds)
	form.Set("name", strings.Repeat("n", 100_000))
	huge := s.Post("/checkout", form)
	require.Equal(t, http.StatusRequestEntityTooLarge, huge.Status, "a form is bounded")

	form = CheckoutForm(checkout, "4242")
	short := s.Post("/checkout", form)
	require.Equal(t, http.StatusUnprocessableEntity, short.Status)
	require.Equal(t, before, PaymentCount(t, shop), "nothing was charged")
	require.Equal(t, int64(5), OnHand(t, shop, ids[0]))
}

func forged(t *testing.T, shop shoptest.Shop) {
	ids := Products(t, shop, unique(), 1, 5)
	s := NewShopper(t, shop.Base)
	product := s.Get("/products/" + ids[0])
	form := product.Form("product_id", ids[0], "quantity", "1")

	form.Set("csrf", "forged")
	page := s.Post("/cart", form)
	require.Equal(t, http.StatusForbidden, page.Status)
	require.Contains(t, page.HTML, "This form has expired")
	form.Del("csrf")
	require.Equal(t, http.StatusForbidden, s.Post("/cart", form).Status)

	// Another shopper's token does not fit this shopper's forms.
	other := NewShopper(t, shop.Base).Get("/products/" + ids[0])
	require.Equal(t, http.StatusForbidden, s.Post("/cart", other.Form("product_id", ids[0], "quantity", "1")).Status)
	require.Contains(t, s.Get("/cart").HTML, "Your cart is empty")

	before := PaymentCount(t, shop)
	checkout := CheckoutForm(product, CardSucceeds)
	checkout.Set("csrf", "forged")
	require.Equal(t, http.StatusForbidden, s.Post("/checkout", checkout).Status)
	require.Equal(t, before, PaymentCount(t, shop))
}

func privateOrders(t *testing.T, shop shoptest.Shop) {
	ids := Products(t, shop, unique(), 1, 5)
	s := NewShopper(t, shop.Base)
	addToCart(t, s, ids[0], 1)
	checkout := s.Get("/checkout")
	paid := s.Post("/checkout", CheckoutForm(checkout, CardSucceeds))
	require.Equal(t, http.StatusSeeOther, paid.Status, "%s", paid.HTML)
	require.Equal(t, http.StatusOK, s.Get(paid.Location).Status)

	stranger := NewShopper(t, shop.Base)
	page := stranger.Get(paid.Location)
	require.Equal(t, http.StatusNotFound, page.Status, "another session does not see the order")
	require.NotRegexp(t, `pay_[0-9a-z]{26}`, page.HTML)
}
