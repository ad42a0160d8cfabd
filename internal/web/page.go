package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// PageHeaders are what every HTML page of Bazaar carries: no script may
// run and no other site may frame it, nothing is sniffed, the address
// stays home, and no cache keeps a page that shows a session.
func PageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// Assets serves the files of an embedded directory under a route's
// "*file" parameter, cached for an hour.
func Assets(fsys fs.FS, prefix string) gin.HandlerFunc {
	files := http.StripPrefix(prefix, http.FileServerFS(fsys))
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(c.Writer, c.Request)
	}
}

// OverTLS reports whether the browser's connection is encrypted, here or
// at a proxy in front that says so: cookies are then marked Secure.
func OverTLS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// Sealer signs small values a browser keeps — session cookies, form
// tokens — with HMAC-SHA256 under a key. Each signature names its purpose,
// so a value signed for one use is worthless for another.
type Sealer struct{ key []byte }

// NewSealer returns a sealer with key.
func NewSealer(key []byte) Sealer { return Sealer{key: key} }

// Sign is data's signature for purpose.
func (s Sealer) Sign(purpose, data string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose + "\x00" + data))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Valid reports, in constant time, whether sig is data's for purpose.
func (s Sealer) Valid(purpose, data, sig string) bool {
	return sig != "" && hmac.Equal([]byte(sig), []byte(s.Sign(purpose, data)))
}

// Seal writes v as JSON, signed: readable, not forgeable.
func (s Sealer) Seal(purpose string, v any) string {
	raw, _ := json.Marshal(v) // the values sealed are plain data
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return payload + "." + s.Sign(purpose, payload)
}

// Open reads a sealed value into v, and reports whether it was sealed
// here for purpose.
func (s Sealer) Open(purpose, sealed string, v any) bool {
	payload, sig, ok := strings.Cut(sealed, ".")
	if !ok || !s.Valid(purpose, payload, sig) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	return err == nil && json.Unmarshal(raw, v) == nil
}
