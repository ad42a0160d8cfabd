package web

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealer(t *testing.T) {
	s := NewSealer([]byte("key"))
	type v struct{ A string }
	sealed := s.Seal("cart", v{"x"})
	var got v
	require.True(t, s.Open("cart", sealed, &got))
	require.Equal(t, "x", got.A)

	require.False(t, s.Open("console", sealed, &got), "sealed for another purpose")
	require.False(t, NewSealer([]byte("other")).Open("cart", sealed, &got), "sealed under another key")
	payload, sig, _ := strings.Cut(sealed, ".")
	forged := NewSealer([]byte("key")).Seal("cart", v{"y"})
	forgedPayload, _, _ := strings.Cut(forged, ".")
	require.False(t, s.Open("cart", forgedPayload+"."+sig, &got), "a payload with another's signature")
	require.False(t, s.Open("cart", payload, &got), "no signature")
	require.False(t, s.Open("cart", "", &got))

	require.True(t, s.Valid("csrf", "session", s.Sign("csrf", "session")))
	require.False(t, s.Valid("csrf", "session", ""))
	require.False(t, s.Valid("csrf", "other session", s.Sign("csrf", "session")))
}
