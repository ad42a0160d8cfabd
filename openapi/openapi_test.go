package openapi_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/openapi"
)

func TestDocumentsAreValid(t *testing.T) {
	doc, err := openapi.Load()
	require.NoError(t, err)
	require.NotNil(t, doc.Paths.Find("/v1/payments"))
	require.Nil(t, doc.Paths.Find("/internal/v1/reservations"), "internal routes stay out of the public document")

	internal, err := openapi.LoadInternal()
	require.NoError(t, err)
	for _, p := range []string{"/internal/v1/reservations", "/internal/v1/reservations/{id}/commit",
		"/internal/v1/reservations/{id}/release", "/internal/v1/reservations/{id}/restock",
		"/internal/v1/catalogue/changes"} {
		require.NotNil(t, internal.Paths.Find(p), p)
	}
}
