package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
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
	key []byte
	now func() time.Time
}

func (s sessions) sign(purpose, data string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("console\x00" + purpose + "\x00" + data))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// open makes a session for an admin key's id.
func (s sessions) open(w http.ResponseWriter, r *http.Request, keyID string) session {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	sess := session{Key: keyID, Expires: s.now().Add(sessionFor), Nonce: base64.RawURLEncoding.EncodeToString(b)}
	raw, _ := json.Marshal(sess) // plain data: never fails
	payload := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: payload + "." + s.sign("session", payload), Path: "/console",
		MaxAge: int(sessionFor.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r)})
	return sess
}

// close ends the session in the browser.
func (s sessions) close(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r)})
}

// read returns the request's session, if it has a valid one that has not
// expired.
func (s sessions) read(r *http.Request) (session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.sign("session", payload))) {
		return session{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	var sess session
	if err != nil || json.Unmarshal(raw, &sess) != nil || sess.Key == "" || !s.now().Before(sess.Expires) {
		return session{}, false
	}
	return sess, true
}

// csrf is the token the session's forms carry.
func (s sessions) csrf(sess session) string { return s.sign("csrf", sess.Nonce) }

// overTLS reports whether the browser's connection is encrypted, here or
// at a proxy in front that says so.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}
