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
	"hash"
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
	macs *macs
	now  func() time.Time
}

// NewSigner returns a Signer for the deployment's service token.
func NewSigner(serviceToken string, now func() time.Time) *Signer {
	return &Signer{macs: newMACs(derive(serviceToken)), now: now}
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
	fields := [5]string{"v1", c.Key, c.Role, exp, nonce}
	sum := s.macs.sum(method, uri, body, fields)
	return strings.Join(append(fields[:], base64.RawURLEncoding.EncodeToString(sum[:])), ".")
}

// macs signs with one key. Every forwarded request is signed at the edge
// and checked at the module, so the keyed hashes and their buffers are
// pooled: making a keyed hash costs two blocks of SHA-256, and a request's
// parts written one by one an allocation each.
type macs struct{ pool sync.Pool }

type macState struct {
	h   hash.Hash
	buf []byte
}

func newMACs(key []byte) *macs {
	return &macs{pool: sync.Pool{New: func() any { return &macState{h: hmac.New(sha256.New, key)} }}}
}

// emptyBody is the hex SHA-256 of no bytes: most forwarded requests are
// reads without a body.
const emptyBody = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// sum is the MAC of a request and an assertion's fields: over the method,
// the URI, the hex SHA-256 of the body and each field, each followed by a
// newline.
func (m *macs) sum(method, uri string, body []byte, fields [5]string) [sha256.Size]byte {
	st := m.pool.Get().(*macState)
	b := append(st.buf[:0], method...)
	b = append(append(b, '\n'), uri...)
	b = append(b, '\n')
	if len(body) == 0 {
		b = append(b, emptyBody...)
	} else {
		bodySum := sha256.Sum256(body)
		b = hex.AppendEncode(b, bodySum[:])
	}
	b = append(b, '\n')
	for _, f := range fields {
		b = append(append(b, f...), '\n')
	}
	st.h.Reset()
	st.h.Write(b)
	var out [sha256.Size]byte
	st.h.Sum(out[:0])
	if cap(b) <= 4<<10 { // a long URI's buffer is not kept
		st.buf = b
	}
	m.pool.Put(st)
	return out
}

// Verifier checks assertions and remembers the nonces it accepted until
// they expire, so each assertion is good for one request.
type Verifier struct {
	macs *macs
	now  func() time.Time
	mu   sync.Mutex
	// The nonces accepted, in two generations. A nonce must be remembered
	// for as long as its assertion could pass, at most a generation after
	// it was accepted; so each generation the older is dropped whole and
	// the current becomes the older, with no sweep through every nonce
	// under the lock.
	seen, older map[string]struct{}
	turn        time.Time // when the current generation becomes the older
}

// generation is the longest an accepted assertion stays valid: it expires
// at most Lifetime+skew after it is checked (a later expiry is refused),
// and passes until skew after that.
const generation = Lifetime + 2*skew

// maxSeen bounds the nonces a Verifier remembers. Two generations hold up
// to 40 s of nonces: about 50,000 forwarded requests a second to one
// process; past it, assertions are refused rather than memory spent
// without end.
const maxSeen = 1 << 21

// NewVerifier returns a Verifier for the deployment's service token.
func NewVerifier(serviceToken string, now func() time.Time) *Verifier {
	return &Verifier{macs: newMACs(derive(serviceToken)), now: now,
		seen: map[string]struct{}{}, older: map[string]struct{}{}}
}

// Verify checks the assertion in header for the request it came with, and
// returns the caller it asserts.
func (v *Verifier) Verify(method, uri string, body []byte, header string) (Caller, error) {
	var fields [5]string
	rest := header
	for i := range fields {
		var ok bool
		if fields[i], rest, ok = strings.Cut(rest, "."); !ok {
			return Caller{}, ErrMalformed
		}
	}
	if fields[0] != "v1" || strings.Contains(rest, ".") || len(header) > 512 {
		return Caller{}, ErrMalformed
	}
	var got [sha256.Size]byte
	if base64.RawURLEncoding.DecodedLen(len(rest)) != len(got) {
		return Caller{}, ErrForged // Decode would write past got
	}
	n, err := base64.RawURLEncoding.Decode(got[:], []byte(rest))
	want := v.macs.sum(method, uri, body, fields)
	if err != nil || n != len(got) || !hmac.Equal(got[:], want[:]) {
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
	if err := v.remember(fields[4], now); err != nil {
		return Caller{}, err
	}
	return Caller{Key: fields[1], Role: fields[2]}, nil
}

func (v *Verifier) remember(nonce string, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !now.Before(v.turn) {
		v.older = v.seen
		if now.Sub(v.turn) >= generation { // idle for a generation: both are done with
			v.older = map[string]struct{}{}
		}
		v.seen = make(map[string]struct{}, len(v.older))
		v.turn = now.Add(generation)
	}
	_, inSeen := v.seen[nonce]
	_, inOlder := v.older[nonce]
	if inSeen || inOlder {
		return ErrReplayed
	}
	if len(v.seen)+len(v.older) >= maxSeen {
		return errors.New("too many caller assertions at once")
	}
	v.seen[strings.Clone(nonce)] = struct{}{} // not a slice of the whole header, kept for a generation
	return nil
}
