package errs

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIndex(t *testing.T) {
	first := Of(NotFound, "product not found")
	second := Of(NotFound, "reservation not found")
	own := New(Conflict, "out_of_stock", "not enough stock")
	known := Index(first, second, own)
	require.Len(t, known, 2)
	require.Same(t, first, known[CodeNotFound], "the first of a code wins")
	require.Same(t, own, known["out_of_stock"])
}

func TestKindAndCodeThroughWrapping(t *testing.T) {
	own := New(Declined, "card_declined", "the card was declined")
	err := fmt.Errorf("payment pay_1: %w", own)
	require.Equal(t, Declined, KindOf(err))
	require.Equal(t, "card_declined", Code(err))
	require.Equal(t, Internal, KindOf(errors.New("plain")))
	require.Equal(t, CodeInternal, Code(errors.New("plain")))
	require.Equal(t, Invalid, KindOf(InvalidField("sku", "required")), "a validation error is Invalid")
}
