package service

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// Cart limits. With prices capped by the catalogue, they keep every total
// far inside int64; and a cart's products fit in one catalogue call.
const (
	MaxItems    = catalogue.MaxLimit
	MaxQuantity = 10_000
)

func validate(req payment.CheckoutRequest, now time.Time) error {
	var v errs.Validator
	v.Check(len(req.Items) > 0, "items", "must not be empty")
	v.Check(len(req.Items) <= MaxItems, "items", fmt.Sprintf("must have at most %d lines", MaxItems))
	seen := map[string]bool{}
	for i, it := range req.Items {
		v.Checkf(it.ProductID != "", "is required", "items[%d].product_id", i)
		v.Checkf(!seen[it.ProductID], "appears twice; put the whole quantity on one line", "items[%d].product_id", i)
		v.Checkf(it.Quantity >= 1 && it.Quantity <= MaxQuantity, fmt.Sprintf("must be between 1 and %d", MaxQuantity), "items[%d].quantity", i)
		seen[it.ProductID] = true
	}
	c := req.Card
	v.Check(luhn(c.Number), "card.number", "must be 12 to 19 digits and pass the Luhn check")
	v.Check(c.ExpMonth >= 1 && c.ExpMonth <= 12, "card.exp_month", "must be between 1 and 12")
	v.Check(c.ExpYear >= 2000 && c.ExpYear <= 2100, "card.exp_year", "must be a four-digit year")
	v.Check(!expired(c, now), "card.exp_year", "the card has expired")
	v.Check(len(c.CVC) >= 3 && len(c.CVC) <= 4 && digits(c.CVC), "card.cvc", "must be 3 or 4 digits")
	addr, err := mail.ParseAddress(req.Email)
	v.Check(err == nil && addr.Address == strings.TrimSpace(req.Email) && len(req.Email) <= 254, "email", "must be an email address")
	return v.Err()
}

func expired(c payment.Card, now time.Time) bool {
	y, m := now.Year(), int(now.Month())
	return c.ExpYear < y || (c.ExpYear == y && c.ExpMonth < m)
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// luhn reports whether number is a plausible card number.
func luhn(number string) bool {
	if len(number) < 12 || len(number) > 19 || !digits(number) {
		return false
	}
	sum := 0
	double := false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// brand names the card network from the number's prefix.
func brand(number string) string {
	switch {
	case strings.HasPrefix(number, "4"):
		return "visa"
	case strings.HasPrefix(number, "34"), strings.HasPrefix(number, "37"):
		return "amex"
	case len(number) >= 2 && number[0] == '5' && number[1] >= '1' && number[1] <= '5':
		return "mastercard"
	case len(number) >= 4 && number[:4] >= "2221" && number[:4] <= "2720":
		return "mastercard"
	}
	return "unknown"
}

// last4 is what a payment shows of a card number (validated: long enough).
func last4(number string) string { return number[len(number)-4:] }
