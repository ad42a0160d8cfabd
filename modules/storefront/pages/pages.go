// Package pages is the storefront's side of the web: server-rendered HTML
// pages a person shops in, with no script, built on storefront.Service.
// The browser holds no API key: the storefront asks the other modules on
// the shopper's behalf, and its forms are guarded by the shopper's signed
// session and a CSRF token bound to it (docs/architecture.md says why).
package pages

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/payment"
	"github.com/bazaar-shop/bazaar/modules/storefront"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// The storefront's paths.
const (
	homePath     = "/"
	productPath  = "/products/:id"
	cartPath     = "/cart"
	updatePath   = "/cart/update"
	checkoutPath = "/checkout"
	orderPath    = "/orders/:id"
	assetsPath   = "/assets/*file"
)

// maxFormBytes bounds a form's body: the largest form is the checkout.
const maxFormBytes = 16 << 10

// Pages serves the storefront.
type Pages struct {
	shop     storefront.Service
	sessions sessions
	views    map[string]*template.Template
	now      func() time.Time
}

// New returns the storefront's pages over shop, signing sessions with key.
func New(shop storefront.Service, key []byte, now func() time.Time) *Pages {
	funcs := template.FuncMap{"money": money}
	views := map[string]*template.Template{}
	for _, name := range []string{"shelf", "product", "cart", "checkout", "order", "problem"} {
		views[name] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles,
			"templates/layout.html", "templates/"+name+".html"))
	}
	return &Pages{shop: shop, sessions: sessions{seal: web.NewSealer(key)}, views: views, now: now}
}

// Routes is the storefront's route table: public pages, forwarded with
// their cookies by a process that does not host the storefront.
func (p *Pages) Routes() []web.Route {
	assets, _ := fs.Sub(assetFiles, "assets") // the directory is embedded
	page := func(method, path string, h gin.HandlerFunc) web.Route {
		return web.Route{Method: method, Path: path, Access: web.Public, Page: true, Handler: h}
	}
	return []web.Route{
		page(http.MethodGet, homePath, p.shelf),
		page(http.MethodGet, productPath, p.product),
		page(http.MethodPost, cartPath, p.add),
		page(http.MethodGet, cartPath, p.cart),
		page(http.MethodPost, updatePath, p.update),
		page(http.MethodGet, checkoutPath, p.checkoutForm),
		page(http.MethodPost, checkoutPath, p.checkout),
		page(http.MethodGet, orderPath, p.order),
		page(http.MethodGet, assetsPath, web.Assets(assets, "/assets")),
	}
}

// view is what every page shows, and what one page adds.
type view struct {
	Title     string
	Query     string
	CartUnits int64
	CSRF      string
	Notice    *notice
	// One page's content.
	Shelf   storefront.Shelf
	Cursor  string
	Offer   storefront.Offer
	Quote   storefront.Quote
	Units   int64
	Key     string
	Form    checkoutForm
	Errors  map[string]string
	Order   payment.Payment
	Problem problemView
}

type notice struct{ Kind, Text string } // Kind: error or info

type problemView struct{ Title, Text string }

// render writes a page with the session's cookie and the headers every
// page carries (web.PageHeaders).
func (p *Pages) render(c *gin.Context, status int, name string, sess session, v view) {
	v.CartUnits = sess.Cart.Units()
	v.CSRF = p.sessions.csrf(sess)
	p.sessions.write(c.Writer, c.Request, sess)
	web.PageHeaders(c.Writer.Header())
	c.Status(status)
	if err := p.views[name].ExecuteTemplate(c.Writer, "layout", v); err != nil {
		web.Logger(c).Error("storefront: render", "page", name, "err", err)
	}
}

// fail renders what went wrong as a page a shopper can act on.
func (p *Pages) fail(c *gin.Context, sess session, err error) {
	status, title, text := http.StatusInternalServerError, "Something went wrong", "Please try again in a moment."
	switch kind := errs.KindOf(err); {
	case errors.Is(err, catalogue.ErrNotFound) || errors.Is(err, payment.ErrNotFound):
		status, title, text = http.StatusNotFound, "Not found", "There is nothing here: the product may no longer be for sale."
	case kind == errs.Unavailable || kind == errs.Timeout:
		status, title, text = http.StatusServiceUnavailable, "The shop is busy", "Part of the shop is not answering right now. Please try again in a moment."
	case kind == errs.Invalid || kind == errs.Malformed:
		status, title, text = http.StatusUnprocessableEntity, "That did not work", sentence(err)
	case kind == errs.Conflict:
		status, title, text = http.StatusConflict, "That did not work", sentence(err)
	case kind == errs.TooLarge:
		status, title, text = http.StatusRequestEntityTooLarge, "Too much", "The form sent more than this shop reads."
	default:
		web.Logger(c).Error("storefront", "err", err)
	}
	p.render(c, status, "problem", sess, view{Title: title, Problem: problemView{title, text}})
}

// form reads a posted form of the session, bounded, and checks its CSRF
// token. It answers the request itself and returns false when either fails.
func (p *Pages) form(c *gin.Context) (session, bool) {
	sess, _ := p.sessions.read(c.Request)
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
	if err := c.Request.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			p.fail(c, sess, errs.Of(errs.TooLarge, "the form is too large"))
		} else {
			p.fail(c, sess, errs.Of(errs.Malformed, "the form could not be read"))
		}
		return sess, false
	}
	if !p.sessions.validCSRF(sess, c.Request.PostForm.Get("csrf")) {
		p.render(c, http.StatusForbidden, "problem", sess, view{Title: "Form expired", Problem: problemView{
			"This form has expired", "It was not sent from this shop's page, or your session ended. Go back, reload the page and try again."}})
		return sess, false
	}
	return sess, true
}

func (p *Pages) shelf(c *gin.Context) {
	sess, _ := p.sessions.read(c.Request)
	q, cursor := strings.TrimSpace(c.Query("q")), c.Query("cursor")
	if len(q) > 100 || len(cursor) > 200 {
		p.fail(c, sess, errs.Of(errs.Invalid, "A search is at most 100 characters."))
		return
	}
	shelf, err := p.shop.Browse(c.Request.Context(), storefront.BrowseQuery{Q: q, Cursor: cursor})
	if err != nil {
		p.fail(c, sess, err)
		return
	}
	title := "Products"
	if q != "" {
		title = "Search: " + q
	}
	p.render(c, http.StatusOK, "shelf", sess, view{Title: title, Query: q, Shelf: shelf, Cursor: cursor})
}

func (p *Pages) product(c *gin.Context) {
	sess, _ := p.sessions.read(c.Request)
	offer, err := p.shop.Offer(c.Request.Context(), c.Param("id"))
	if err != nil {
		p.fail(c, sess, err)
		return
	}
	p.render(c, http.StatusOK, "product", sess, view{Title: offer.Name, Offer: offer})
}

// quantity reads a form's quantity: a whole number from lo to 99.
func quantity(c *gin.Context, lo int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(c.Request.PostForm.Get("quantity")), 10, 64)
	if err != nil || n < lo || n > storefront.MaxQuantity {
		return 0, storefront.ErrQuantity
	}
	return n, nil
}

func (p *Pages) add(c *gin.Context) {
	sess, ok := p.form(c)
	if !ok {
		return
	}
	n, err := quantity(c, 1)
	var offer storefront.Offer
	if err == nil {
		offer, err = p.shop.Offer(c.Request.Context(), c.Request.PostForm.Get("product_id"))
	}
	if err == nil {
		sess.Cart, err = sess.Cart.Add(offer.ID, n)
	}
	if err != nil {
		p.fail(c, sess, err)
		return
	}
	p.sessions.write(c.Writer, c.Request, sess)
	c.Redirect(http.StatusSeeOther, cartPath)
}

func (p *Pages) update(c *gin.Context) {
	sess, ok := p.form(c)
	if !ok {
		return
	}
	n, err := quantity(c, 0)
	if err == nil {
		sess.Cart, err = sess.Cart.Set(c.Request.PostForm.Get("product_id"), n)
	}
	if err != nil {
		p.fail(c, sess, err)
		return
	}
	p.sessions.write(c.Writer, c.Request, sess)
	c.Redirect(http.StatusSeeOther, cartPath)
}

func (p *Pages) cart(c *gin.Context) {
	sess, _ := p.sessions.read(c.Request)
	p.showCart(c, http.StatusOK, sess, nil)
}

// showCart renders the cart priced now, with a notice if one is given.
func (p *Pages) showCart(c *gin.Context, status int, sess session, n *notice) {
	q, err := p.shop.Quote(c.Request.Context(), sess.Cart)
	if err != nil {
		p.fail(c, sess, err)
		return
	}
	if len(q.Gone) > 0 {
		for _, id := range q.Gone { // no longer for sale: out of the cart
			sess.Cart, _ = sess.Cart.Set(id, 0)
		}
		n = &notice{"info", "Some products are no longer for sale and were taken out of your cart."}
	}
	p.render(c, status, "cart", sess, view{Title: "Cart", Quote: q, Notice: n})
}

// checkoutForm is what the shopper typed, shown again with its errors;
// never the card number or security code.
type checkoutForm struct {
	Email, Name, ExpMonth, ExpYear string
}

func (p *Pages) checkoutForm(c *gin.Context) {
	sess, _ := p.sessions.read(c.Request)
	p.showCheckout(c, http.StatusOK, sess, checkoutForm{}, nil, nil)
}

// showCheckout renders the checkout form with a fresh key, so that one
// form, however often sent, pays once.
func (p *Pages) showCheckout(c *gin.Context, status int, sess session, f checkoutForm, problems map[string]string, n *notice) {
	if len(sess.Cart) == 0 {
		c.Redirect(http.StatusSeeOther, cartPath)
		return
	}
	q, err := p.shop.Quote(c.Request.Context(), sess.Cart)
	if err != nil {
		p.fail(c, sess, err)
		return
	}
	p.render(c, status, "checkout", sess, view{Title: "Check out", Quote: q, Units: sess.Cart.Units(), Key: newID(),
		Form: f, Errors: problems, Notice: n})
}

var (
	digits = regexp.MustCompile(`^[0-9]+$`)
	spaces = strings.NewReplacer(" ", "", "-", "")
)

// readCheckout checks the checkout form field by field.
func (p *Pages) readCheckout(c *gin.Context) (checkoutForm, payment.Card, map[string]string) {
	get := func(name string) string { return strings.TrimSpace(c.Request.PostForm.Get(name)) }
	f := checkoutForm{Email: get("email"), Name: get("name"), ExpMonth: get("exp_month"), ExpYear: get("exp_year")}
	problems := map[string]string{}
	if addr, err := mail.ParseAddress(f.Email); err != nil || addr.Address != f.Email || len(f.Email) > 254 {
		problems["email"] = "Enter an email address, such as name@example.com."
	}
	if f.Name == "" || len(f.Name) > 100 {
		problems["name"] = "Enter the name on the card, at most 100 characters."
		if len(f.Name) > 100 {
			f.Name = f.Name[:100]
		}
	}
	number := spaces.Replace(get("number"))
	if !digits.MatchString(number) || len(number) < 12 || len(number) > 19 {
		problems["number"] = "Enter the card number: 12 to 19 digits."
	}
	month, err := strconv.Atoi(f.ExpMonth)
	if err != nil || month < 1 || month > 12 {
		problems["exp_month"] = "Enter the month, 1 to 12."
	}
	year, err := strconv.Atoi(f.ExpYear)
	if now := p.now(); err != nil || year < now.Year() || year > now.Year()+20 {
		problems["exp_year"] = fmt.Sprintf("Enter the year in four digits, %d or later.", now.Year())
	}
	cvc := get("cvc")
	if !digits.MatchString(cvc) || len(cvc) < 3 || len(cvc) > 4 {
		problems["cvc"] = "Enter the 3 or 4 digits on the back of the card."
	}
	return f, payment.Card{Number: number, ExpMonth: month, ExpYear: year, CVC: cvc}, problems
}

func (p *Pages) checkout(c *gin.Context) {
	sess, ok := p.form(c)
	if !ok {
		return
	}
	f, card, problems := p.readCheckout(c)
	key := c.Request.PostForm.Get("key")
	if len(key) < 16 || len(key) > 64 {
		problems["key"] = "missing"
	}
	if len(problems) > 0 {
		p.showCheckout(c, http.StatusUnprocessableEntity, sess, f, problems,
			&notice{"error", "Please correct the fields marked below."})
		return
	}
	paid, err := p.shop.Checkout(c.Request.Context(), storefront.CheckoutRequest{Cart: sess.Cart, Card: card,
		Email: f.Email, Key: sess.ID + ":" + key})
	var failed *payment.CheckoutError
	switch {
	case err == nil:
		sess.remember(paid.ID)
		sess.Cart = nil
		p.sessions.write(c.Writer, c.Request, sess)
		c.Redirect(http.StatusSeeOther, web.Path("/orders/:id", paid.ID))
	case errors.As(err, &failed) && errors.Is(err, payment.ErrCardDeclined):
		sess.remember(failed.PaymentID)
		text := "Your card was declined; nothing was charged. Try another card."
		if failed.DeclineCode == "insufficient_funds" {
			text = "Your card was declined for insufficient funds; nothing was charged. Try another card."
		}
		p.showCheckout(c, http.StatusPaymentRequired, sess, f, nil, &notice{"error", text})
	case errors.Is(err, storefront.ErrOutOfStock):
		p.showCart(c, http.StatusConflict, sess, &notice{"error",
			"Not enough stock for your cart; nothing was charged. Lower the quantities marked below."})
	case errors.Is(err, payment.ErrIdempotencyKeyReused) || errors.Is(err, payment.ErrIdempotencyKeyInUse):
		p.showCheckout(c, http.StatusConflict, sess, f, nil, &notice{"error",
			"This form was sent already. Check your cart and pay again if you mean to."})
	case errors.Is(err, storefront.ErrGone) || errors.Is(err, storefront.ErrEmptyCart):
		p.showCart(c, http.StatusConflict, sess, &notice{"error", strings.TrimSuffix(sentence(err), ".") + "; nothing was charged."})
	default:
		p.fail(c, sess, err)
	}
}

func (p *Pages) order(c *gin.Context) {
	sess, _ := p.sessions.read(c.Request)
	id := c.Param("id")
	mine := false
	for _, o := range sess.Orders {
		mine = mine || o == id
	}
	if !mine { // a shopper sees only the orders of their own session
		p.fail(c, sess, payment.ErrNotFound)
		return
	}
	order, err := p.shop.Order(c.Request.Context(), id)
	if err != nil {
		p.fail(c, sess, err)
		return
	}
	p.render(c, http.StatusOK, "order", sess, view{Title: "Order " + order.ID, Order: order})
}

// sentence is a contract error's message as a sentence for a shopper.
func sentence(err error) string {
	msg := err.Error()
	var e *errs.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	if msg == "" {
		return "That did not work."
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// zeroDecimal lists the currencies without minor units.
var zeroDecimal = map[string]bool{"JPY": true, "KRW": true, "VND": true, "CLP": true, "ISK": true, "UGX": true}

// money writes an amount in minor units: 1299 EUR is "12.99 EUR".
func money(amount int64, currency string) string {
	if zeroDecimal[currency] {
		return fmt.Sprintf("%d %s", amount, currency)
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, amount/100, amount%100, currency)
}
