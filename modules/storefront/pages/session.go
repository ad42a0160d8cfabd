package pages

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules/storefront"
)

// A shopper's session is a cookie the storefront signs: their cart, the
// orders they placed (the only ones they may look at) and an id that their
// forms' CSRF tokens are bound to. Nothing of it is kept on the server, so
// any replica of the storefront serves any shopper; the signature stops a
// shopper from writing an order of someone else's into theirs.
type session struct {
	ID     string          `json:"id"`
	Cart   storefront.Cart `json:"cart,omitempty"`
	Orders []string        `json:"orders,omitempty"` // newest last
}

const (
	cookieName = "bazaar_shop"
	// maxOrders is how many orders a session remembers.
	maxOrders = 10
	// sessionAge is how long a cart is kept between visits.
	sessionAge = 30 * 24 * time.Hour
)

// sessions signs and reads session cookies.
type sessions struct{ seal web.Sealer }

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// read returns the request's session, or a new one when it has none or
// one that does not verify.
func (s sessions) read(r *http.Request) (session, bool) {
	var sess session
	if c, err := r.Cookie(cookieName); err == nil && s.seal.Open("storefront session", c.Value, &sess) && sess.ID != "" {
		return sess, true
	}
	return session{ID: newID()}, false
}

// write sets the session cookie: HttpOnly (no script reads it), SameSite
// Lax (another site's form posts go without it), Secure when the shopper
// came over TLS.
func (s sessions) write(w http.ResponseWriter, r *http.Request, sess session) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.seal.Seal("storefront session", sess), Path: "/",
		MaxAge: int(sessionAge.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: web.OverTLS(r)})
}

// csrf is the token a session's forms carry: a form posted from another
// site, which cannot read the page, cannot know it.
func (s sessions) csrf(sess session) string { return s.seal.Sign("storefront csrf", sess.ID) }

// validCSRF reports whether a form's token is its session's.
func (s sessions) validCSRF(sess session, token string) bool {
	return s.seal.Valid("storefront csrf", sess.ID, token)
}

// remember adds an order to the session, forgetting the oldest beyond
// maxOrders.
func (sess *session) remember(orderID string) {
	sess.Orders = append(sess.Orders, orderID)
	if len(sess.Orders) > maxOrders {
		sess.Orders = sess.Orders[len(sess.Orders)-maxOrders:]
	}
}
