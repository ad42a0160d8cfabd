package identity

import (
	"testing"
	"time"
)

// BenchmarkAssertion is what one forwarded request costs in assertions: the
// edge signs, the module checks.
//
//	go test -run '^$' -bench Assertion -benchmem ./internal/identity
func BenchmarkAssertion(b *testing.B) {
	s, v := NewSigner("token", time.Now), NewVerifier("token", time.Now)
	for b.Loop() {
		a := s.Sign("GET", "/v1/products/prod_01j9x6m3k8q4t7v2w5y8z0a1b3", nil, Caller{Key: "key_1", Role: "storefront"})
		if _, err := v.Verify("GET", "/v1/products/prod_01j9x6m3k8q4t7v2w5y8z0a1b3", nil, a); err != nil {
			b.Fatal(err)
		}
	}
}
