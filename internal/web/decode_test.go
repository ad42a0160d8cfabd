package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/errs"
)

func decode(body string) (map[string]any, error) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", "/", strings.NewReader(body))
	var v map[string]any
	return v, Decode(c, &v)
}

// A body one parser would read one way and another another is refused:
// a member named twice, at any depth.
func TestDecodeRefusesDuplicateMembers(t *testing.T) {
	for body, pointer := range map[string]string{
		`{"sku":"A","sku":"B"}`:                                  "/sku",
		`{"card":{"number":"1","number":"2"}}`:                   "/card/number",
		`{"items":[{"quantity":1},{"quantity":1,"quantity":2}]}`: "/items/1/quantity",
	} {
		_, err := decode(body)
		require.Error(t, err, body)
		require.Equal(t, errs.Malformed, errs.KindOf(err), body)
		require.ErrorContains(t, err, pointer+" appears twice", body)
	}
	v, err := decode(`{"sku":"A","card":{"number":"1"},"items":[{"quantity":1},{"quantity":2}]}`)
	require.NoError(t, err)
	require.Equal(t, "A", v["sku"])
}
