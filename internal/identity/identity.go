// Package identity carries who a caller is from the process that checked
// their API key — the edge: the gateway, or the monolith — to the module
// process that serves the request. The edge forwards a signed assertion of
// the caller, never the secret key, so a module process needs no key
// database and never sees a key it cannot verify.
//
// An assertion is signed with a key derived from the deployment's service
// token (HMAC-SHA256) over the request's method, path and query, a hash of
// its body, the caller, a short expiry and a random nonce. A module refuses
// an assertion that is forged (wrong signature), altered (any signed part
// changed, the request included), expired, or replayed (a nonce it has
// seen before its expiry).
package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header carries the assertion from the edge to a module.
const Header = "X-Bazaar-Caller"

// Caller is who sent a request, as the edge found out.
type Caller struct {
	// Key is the id of the API key the caller presented: "admin" for the
	// configured admin key (admin_key), "" for an anonymous caller.
	Key string
	// Role is the key's role ("admin", "storefront"), "" for anonymous.
	Role string
}

// Service is a module calling another module with the service token.
var Service = Caller{Key: "service", Role: "service"}

// Principal is a stable name for the caller, the same in every process:
// what idempotency keys and payments are scoped to.
func (c Caller) Principal() string {
	switch {
	case c == Service:
		return "service"
	case c.Key == "":
		return "anonymous"
	}
	return "key:" + c.Key
}

// Lifetime is how long an assertion is valid: long enough for a request
// and its retries to reach a module, short enough that a stolen one is
// soon worthless (and its nonce soon forgotten).
const Lifetime = 10 * time.Second

// skew is how far a module's clock may run behind the edge's.
const skew = 5 * time.Second

// Errors of a refused assertion. All of them are a 401 at the module.
var (
	ErrMalformed = errors.New("the caller assertion is malformed")
	ErrForged    = errors.New("the caller assertion's signature does not match")
	ErrExpired   = errors.New("the caller assertion has expired")
	ErrReplayed  = errors.New("the caller assertion was used before")
)

// Signer makes assertions; Verifier checks them. Both derive their key
// from the service token, so only peers of one deployment agree.
type Signer struct {
	key []byte
	now func() time.Time
}

// NewSigner returns a Signer for the deployment's service token.
func NewSigner(serviceToken string, now func() time.Time) *Signer {
	return &Signer{key: derive(serviceToken), now: now}
}

// derive keeps the service token itself out of every signature: the token
// opens internal routes, the derived key only signs callers.
func derive(serviceToken string) []byte {
	m := hmac.New(sha256.New, []byte(serviceToken))
	m.Write([]byte("bazaar caller assertion v1"))
	return m.Sum(nil)
}

// Sign returns the header value that asserts c for one request.
func (s *Signer) Sign(method, uri string, body []byte, c Caller) string {
	var raw [12]byte
	_, _ = rand.Read(raw[:]) // crypto/rand does not fail on supported platforms
	nonce := base64.RawURLEncoding.EncodeToString(raw[:])
	exp := strconv.FormatInt(s.now().Add(Lifetime).UnixMilli(), 10)
	fields := []string{"v1", c.Key, c.Role, exp, nonce}
	return strings.Join(append(fields, mac(s.key, method, uri, body, fields)), ".")
}

func mac(key []byte, method, uri string, body []byte, fields []string) string {
	sum := sha256.Sum256(body)
	m := hmac.New(sha256.New, key)
	for _, part := range append([]string{method, uri, hex.EncodeToString(sum[:])}, fields...) {
		m.Write([]byte(part))
		m.Write([]byte{'\n'})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verifier checks assertions and remembers the nonces it accepted until
// they expire, so each assertion is good for one request.
type Verifier struct {
	key  []byte
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]time.Time // nonce → when it can be forgotten
	next time.Time            // when expired nonces are swept next
}

// maxSeen bounds the nonces a Verifier remembers. At Lifetime+skew it
// allows about 60,000 forwarded requests a second to one process; past it,
// assertions are refused rather than memory spent without end.
const maxSeen = 1 << 20

// NewVerifier returns a Verifier for the deployment's service token.
func NewVerifier(serviceToken string, now func() time.Time) *Verifier {
	return &Verifier{key: derive(serviceToken), now: now, seen: map[string]time.Time{}}
}

// Verify checks the assertion in header for the request it came with, and
// returns the caller it asserts.
func (v *Verifier) Verify(method, uri string, body []byte, header string) (Caller, error) {
	fields := strings.Split(header, ".")
	if len(fields) != 6 || fields[0] != "v1" || len(header) > 512 {
		return Caller{}, ErrMalformed
	}
	want := mac(v.key, method, uri, body, fields[:5])
	if !hmac.Equal([]byte(want), []byte(fields[5])) {
		return Caller{}, ErrForged
	}
	ms, err := strconv.ParseInt(fields[3], 10, 64)
	if err != nil {
		return Caller{}, ErrMalformed
	}
	exp, now := time.UnixMilli(ms), v.now()
	if !now.Before(exp.Add(skew)) {
		return Caller{}, ErrExpired
	}
	if exp.After(now.Add(Lifetime + skew)) {
		return Caller{}, ErrMalformed // valid for longer than any edge signs
	}
	if err := v.remember(fields[4], exp.Add(skew), now); err != nil {
		return Caller{}, err
	}
	return Caller{Key: fields[1], Role: fields[2]}, nil
}

func (v *Verifier) remember(nonce string, until, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if now.After(v.next) || len(v.seen) >= maxSeen {
		for n, t := range v.seen {
			if now.After(t) {
				delete(v.seen, n)
			}
		}
		v.next = now.Add(time.Second)
	}
	if _, ok := v.seen[nonce]; ok {
		return ErrReplayed
	}
	if len(v.seen) >= maxSeen {
		return errors.New("too many caller assertions at once")
	}
	v.seen[nonce] = until
	return nil
}
