package web

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/errs"
)

// Every kind has a status of its own, and a status read back from the
// wire gives the kind again: an error a client does not know keeps its
// status when it is passed on.
func TestEveryKindHasAStatus(t *testing.T) {
	seen := map[int]errs.Kind{}
	for kind := errs.Internal; kind <= errs.Timeout; kind++ {
		status := StatusOf(kind)
		require.NotZero(t, status, "kind %d", kind)
		require.NotContains(t, seen, status, "kinds %d and %d share a status", seen[status], kind)
		seen[status] = kind
		require.Equal(t, kind, KindOfStatus(status))
	}
	require.Equal(t, http.StatusInternalServerError, StatusOf(errs.Timeout+1))
}

func TestProblemOf(t *testing.T) {
	outOfStock := errs.New(errs.Conflict, "out_of_stock", "not enough stock")
	p := ProblemOf(fmt.Errorf("reserve: %w", outOfStock))
	require.Equal(t, http.StatusConflict, p.Status)
	require.Equal(t, "out_of_stock", p.Code)
	require.Equal(t, "urn:bazaar:problem:out_of_stock", p.Type)

	p = ProblemOf(fmt.Errorf("call: %w", context.DeadlineExceeded))
	require.Equal(t, http.StatusGatewayTimeout, p.Status)
	require.Equal(t, errs.CodeTimeout, p.Code)

	p = ProblemOf(fmt.Errorf("the disk is on fire"))
	require.Equal(t, http.StatusInternalServerError, p.Status)
	require.NotContains(t, p.Detail, "fire", "an internal error reveals nothing")

	p = ProblemOf(errs.InvalidField("email", "must be an address"))
	require.Equal(t, http.StatusUnprocessableEntity, p.Status)
	require.Equal(t, []errs.FieldError{{Field: "email", Reason: "must be an address"}}, p.Extensions["errors"])
}
