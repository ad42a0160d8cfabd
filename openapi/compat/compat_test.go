package compat_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/openapi/compat"
)

// released is the document as last released, read from the repository.
func released(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../released/openapi.yaml")
	require.NoError(t, err)
	return string(b)
}

// edit changes the released document as a change to the API would; it
// fails the test if the text to change is not there.
func edit(t *testing.T, doc, old, new string) string {
	t.Helper()
	require.Contains(t, doc, old)
	return strings.Replace(doc, old, new, 1)
}

// The product answer's sku: removing it breaks the clients that read it.
const productSku = `        sku:
          type: string
          minLength: 1
          maxLength: 64
          example: MUG-BLUE-350`

func TestRemovedResponseFieldIsRefused(t *testing.T) {
	doc := released(t)
	i := strings.Index(doc, "    Product:\n")
	require.Positive(t, i)
	part := doc[i:]
	changed := doc[:i] + edit(t, part, productSku+"\n", "")
	changed = edit(t, changed, "required: [id, sku, name, description, price", "required: [id, name, description, price")

	r, err := compat.Compare([]byte(doc), []byte(changed))
	require.NoError(t, err)
	require.NotEmpty(t, r.Breaking, "%s", r)
	require.False(t, r.Allowed())
	require.Contains(t, r.String(), "refused")

	// The same change in a new major version goes in, with its report.
	bumped := edit(t, changed, `  version: "1"`, `  version: "2"`)
	r, err = compat.Compare([]byte(doc), []byte(bumped))
	require.NoError(t, err)
	require.NotEmpty(t, r.Breaking)
	require.True(t, r.Allowed())
}

func TestAddedOptionalFieldIsAllowed(t *testing.T) {
	doc := released(t)
	i := strings.Index(doc, "    Product:\n")
	require.Positive(t, i)
	changed := doc[:i] + edit(t, doc[i:], productSku, productSku+`
        colour:
          type: string
          maxLength: 50
          description: An optional colour.`)
	r, err := compat.Compare([]byte(doc), []byte(changed))
	require.NoError(t, err)
	require.Empty(t, r.Breaking, "%s", r)
	require.True(t, r.Allowed())
}

func TestUnchangedIsAllowed(t *testing.T) {
	r, err := compat.Compare([]byte(released(t)), []byte(released(t)))
	require.NoError(t, err)
	require.True(t, r.Allowed())
	require.Empty(t, r.Breaking)
}
