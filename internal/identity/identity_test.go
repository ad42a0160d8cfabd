package identity_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/identity"
)

// clock is a settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestAssertions(t *testing.T) {
	t.Parallel()
	const token = "deployment-token"
	caller := identity.Caller{Key: "key_01abc", Role: "storefront"}
	body := []byte(`{"items":[]}`)

	fresh := func() (*clock, *identity.Signer, *identity.Verifier) {
		c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
		return c, identity.NewSigner(token, c.now), identity.NewVerifier(token, c.now)
	}

	t.Run("a signed caller is accepted once", func(t *testing.T) {
		_, s, v := fresh()
		a := s.Sign("POST", "/v1/payments", body, caller)
		got, err := v.Verify("POST", "/v1/payments", body, a)
		require.NoError(t, err)
		require.Equal(t, caller, got)
		_, err = v.Verify("POST", "/v1/payments", body, a)
		require.ErrorIs(t, err, identity.ErrReplayed, "the same assertion again")
	})
	t.Run("forged: signed with another token", func(t *testing.T) {
		c, _, v := fresh()
		a := identity.NewSigner("another-token", c.now).Sign("POST", "/v1/payments", body, caller)
		_, err := v.Verify("POST", "/v1/payments", body, a)
		require.ErrorIs(t, err, identity.ErrForged)
	})
	t.Run("altered: any signed part changed", func(t *testing.T) {
		_, s, v := fresh()
		a := s.Sign("GET", "/v1/payments/pay_1?x=1", nil, caller)
		for name, tc := range map[string]struct {
			method, uri, body, assertion string
		}{
			"method":    {"DELETE", "/v1/payments/pay_1?x=1", "", a},
			"path":      {"GET", "/v1/payments/pay_2?x=1", "", a},
			"query":     {"GET", "/v1/payments/pay_1?x=2", "", a},
			"body":      {"GET", "/v1/payments/pay_1?x=1", "{}", a},
			"key":       {"GET", "/v1/payments/pay_1?x=1", "", strings.Replace(a, "key_01abc", "key_01abd", 1)},
			"role":      {"GET", "/v1/payments/pay_1?x=1", "", strings.Replace(a, "storefront", "admin", 1)},
			"signature": {"GET", "/v1/payments/pay_1?x=1", "", a[:len(a)-2] + "AA"},
			"longer":    {"GET", "/v1/payments/pay_1?x=1", "", a + strings.Repeat("A", 100)},
			"shorter":   {"GET", "/v1/payments/pay_1?x=1", "", a[:len(a)-5]},
			"no sig":    {"GET", "/v1/payments/pay_1?x=1", "", a[:strings.LastIndex(a, ".")+1]},
		} {
			_, err := v.Verify(tc.method, tc.uri, []byte(tc.body), tc.assertion)
			require.ErrorIs(t, err, identity.ErrForged, name)
		}
		fields := strings.Split(a, ".")
		fields[3] = "9" + fields[3][1:] // a later expiry
		_, err := v.Verify("GET", "/v1/payments/pay_1?x=1", nil, strings.Join(fields, "."))
		require.ErrorIs(t, err, identity.ErrForged, "expiry")
		got, err := v.Verify("GET", "/v1/payments/pay_1?x=1", nil, a)
		require.NoError(t, err, "the untouched assertion still passes: the refusals above did not use it up")
		require.Equal(t, caller, got)
	})
	t.Run("expired", func(t *testing.T) {
		c, s, v := fresh()
		a := s.Sign("GET", "/v1/inventory/p", nil, caller)
		c.t = c.t.Add(identity.Lifetime + 5*time.Second)
		_, err := v.Verify("GET", "/v1/inventory/p", nil, a)
		require.ErrorIs(t, err, identity.ErrExpired)
	})
	t.Run("a little clock skew is tolerated", func(t *testing.T) {
		c, s, v := fresh()
		a := s.Sign("GET", "/v1/inventory/p", nil, caller)
		c.t = c.t.Add(identity.Lifetime + time.Second)
		_, err := v.Verify("GET", "/v1/inventory/p", nil, a)
		require.NoError(t, err)
	})
	t.Run("malformed", func(t *testing.T) {
		_, _, v := fresh()
		for _, a := range []string{"", "v1", "v2.k.r.1.n.s", "v1.k.r.notanumber.n.sig", strings.Repeat("x", 600)} {
			_, err := v.Verify("GET", "/", nil, a)
			require.Error(t, err, a)
		}
	})
	t.Run("an anonymous caller is asserted too", func(t *testing.T) {
		_, s, v := fresh()
		got, err := v.Verify("GET", "/v1/products", nil, s.Sign("GET", "/v1/products", nil, identity.Caller{}))
		require.NoError(t, err)
		require.Equal(t, "anonymous", got.Principal())
	})
}

// TestTheSignatureIsStable pins what is signed, as written here the plain
// way: edges and modules of two versions, side by side during a rolling
// upgrade, must agree on it.
func TestTheSignatureIsStable(t *testing.T) {
	t.Parallel()
	const token = "deployment-token"
	derived := hmac.New(sha256.New, []byte(token))
	derived.Write([]byte("bazaar caller assertion v1"))
	key := derived.Sum(nil)
	s := identity.NewSigner(token, time.Now)
	for _, body := range [][]byte{nil, []byte(`{"items":[{"product_id":"prod_1","quantity":2}]}`)} {
		a := s.Sign("POST", "/v1/payments?x=1", body, identity.Caller{Key: "key_1", Role: "storefront"})
		fields := strings.Split(a, ".")
		require.Len(t, fields, 6)
		bodySum := sha256.Sum256(body)
		m := hmac.New(sha256.New, key)
		for _, part := range append([]string{"POST", "/v1/payments?x=1", hex.EncodeToString(bodySum[:])}, fields[:5]...) {
			m.Write([]byte(part + "\n"))
		}
		require.Equal(t, base64.RawURLEncoding.EncodeToString(m.Sum(nil)), fields[5], "body %q", body)
	}
}

// A nonce is refused again for as long as its assertion could pass, also
// once the nonces it was remembered with have become the older generation.
func TestReplaysAreRefusedUntilExpiry(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	s, v := identity.NewSigner("token", c.now), identity.NewVerifier("token", c.now)
	var used []string
	for step := range 60 { // a minute, an assertion a second
		a := s.Sign("GET", "/v1/products", nil, identity.Caller{})
		_, err := v.Verify("GET", "/v1/products", nil, a)
		require.NoError(t, err)
		used = append(used, a)
		for _, old := range used {
			_, err := v.Verify("GET", "/v1/products", nil, old)
			require.Error(t, err, "step %d", step)
			if !errors.Is(err, identity.ErrExpired) {
				require.ErrorIs(t, err, identity.ErrReplayed, "step %d", step)
			}
		}
		c.t = c.t.Add(time.Second)
	}
	c.t = c.t.Add(time.Hour) // idle, then in use again
	_, err := v.Verify("GET", "/v1/products", nil, s.Sign("GET", "/v1/products", nil, identity.Caller{}))
	require.NoError(t, err)
}

func TestPrincipal(t *testing.T) {
	t.Parallel()
	require.Equal(t, "key:key_1", identity.Caller{Key: "key_1", Role: "admin"}.Principal())
	require.Equal(t, "service", identity.Service.Principal())
	require.Equal(t, "anonymous", identity.Caller{}.Principal())
}
