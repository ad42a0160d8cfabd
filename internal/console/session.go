package console

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/bazaar-shop/bazaar/internal/web"
)

// A console session is a cookie the edge signs after a sign-in with an
// admin key: the key's id (not the key), when it ends, and a nonce its
// forms' CSRF tokens are bound to. It is HttpOnly, SameSite=Strict (the
// console is never entered from another site), Secure over TLS, and scoped
// to /console. Each request checks that the key is still live, so
// revoking the key ends its sessions.
type session struct {
	Key     string    `json:"key"`
	Expires time.Time `json:"exp"`
	Nonce   string    `json:"n"`
}

const (
	cookieName = "bazaar_console"
	// sessionFor is how long a sign-in lasts.
	sessionFor = 8 * time.Hour
)

type sessions struct {
	seal web.Sealer
	now  func() time.Time
}

// open makes a session for an admin key's id.
func (s sessions) open(w http.ResponseWriter, r *http.Request, keyID string) {
	sess := session{Key: keyID, Expires: s.now().Add(sessionFor), Nonce: randomToken()}
	s.cookie(w, r, s.seal.Seal("console session", sess), int(sessionFor.Seconds()))
}

// close ends the session in the browser.
func (s sessions) close(w http.ResponseWriter, r *http.Request) { s.cookie(w, r, "", -1) }

func (s sessions) cookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/console", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: web.OverTLS(r)})
}

// read returns the request's session, if it has a valid one that has not
// expired.
func (s sessions) read(r *http.Request) (session, bool) {
	var sess session
	c, err := r.Cookie(cookieName)
	if err != nil || !s.seal.Open("console session", c.Value, &sess) || sess.Key == "" || !s.now().Before(sess.Expires) {
		return session{}, false
	}
	return sess, true
}

// csrf is the token the session's forms carry.
func (s sessions) csrf(sess session) string { return s.seal.Sign("console csrf", sess.Nonce) }

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}
