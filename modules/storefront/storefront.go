// Package storefront is the contract of the storefront module: the shop as
// a shopper sees it in a browser — products with their price and stock, a
// cart, a checkout and the order it made. The module keeps no data of its
// own: it asks the catalogue, inventory and payment modules through their
// contracts (over the network when they run elsewhere), and a shopper's
// cart lives in their session. Its pages are in pages/.
package storefront

import (
	"context"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// Offer is a product as a shopper sees it.
type Offer struct {
	catalogue.Product
	Stock Stock
}

// Stock is what a page says of a product's stock.
type Stock struct {
	// Known is false when inventory did not answer: the page then shows
	// no stock rather than no page.
	Known     bool
	Available int64
}

// InStock reports whether n units can be sold, as far as is known.
func (s Stock) InStock(n int64) bool { return !s.Known || s.Available >= n }

// BrowseQuery selects a page of offers.
type BrowseQuery struct {
	Q      string // words in the name or description
	Cursor string // from Shelf.Next
}

// Shelf is one page of offers.
type Shelf struct {
	Offers []Offer
	Next   string // the cursor of the next page; "" on the last
	// StockKnown is false when inventory did not answer for this page.
	StockKnown bool
}

// Line is a product in the cart and how many.
type Line struct {
	ProductID string `json:"p"`
	Quantity  int64  `json:"q"`
}

// Cart limits: what one checkout may hold, and what a session cookie can
// carry.
const (
	MaxLines    = 20
	MaxQuantity = 99
	PageSize    = 12
)

// Cart is what a shopper is about to buy, a product per line.
type Cart []Line

// Add puts n more of a product in the cart, within the limits.
func (c Cart) Add(productID string, n int64) (Cart, error) {
	if n < 1 || n > MaxQuantity {
		return c, ErrQuantity
	}
	for i, l := range c {
		if l.ProductID == productID {
			if l.Quantity+n > MaxQuantity {
				return c, ErrQuantity
			}
			out := append(Cart(nil), c...)
			out[i].Quantity += n
			return out, nil
		}
	}
	if len(c) >= MaxLines {
		return c, ErrCartFull
	}
	return append(append(Cart(nil), c...), Line{ProductID: productID, Quantity: n}), nil
}

// Set changes how many of a product the cart holds; 0 removes it.
func (c Cart) Set(productID string, n int64) (Cart, error) {
	if n < 0 || n > MaxQuantity {
		return c, ErrQuantity
	}
	var out Cart
	for _, l := range c {
		if l.ProductID == productID {
			l.Quantity = n
		}
		if l.Quantity > 0 {
			out = append(out, l)
		}
	}
	return out, nil
}

// Units is how many items the cart holds in all.
func (c Cart) Units() int64 {
	var n int64
	for _, l := range c {
		n += l.Quantity
	}
	return n
}

// QuoteLine is a line of the cart, priced.
type QuoteLine struct {
	Offer
	Quantity int64
	Total    int64 // Price × Quantity, in minor units
}

// Quote is a cart priced by the catalogue, with the stock of each line.
type Quote struct {
	Lines    []QuoteLine
	Total    int64
	Currency string
	// Gone lists products of the cart no longer for sale.
	Gone []string
}

// Short lists the lines that ask for more than is in stock, as far as is
// known.
func (q Quote) Short() []QuoteLine {
	var out []QuoteLine
	for _, l := range q.Lines {
		if !l.Stock.InStock(l.Quantity) {
			out = append(out, l)
		}
	}
	return out
}

// CheckoutRequest is a cart, a card, and where the receipt goes.
type CheckoutRequest struct {
	Cart  Cart
	Card  payment.Card
	Email string
	// Key makes the checkout happen at most once: the checkout form
	// carries one, so a form sent twice pays once.
	Key string
}

// Service is the shop as a shopper's pages ask it.
type Service interface {
	// Browse returns a page of offers, stock included where inventory
	// answers.
	Browse(ctx context.Context, q BrowseQuery) (Shelf, error)
	// Offer returns one product with its stock, or catalogue.ErrNotFound.
	Offer(ctx context.Context, productID string) (Offer, error)
	// Quote prices a cart at today's prices, with each line's stock.
	Quote(ctx context.Context, cart Cart) (Quote, error)
	// Checkout pays for a cart. A cart that is empty, holds a product no
	// longer for sale or asks for more than is in stock is refused before
	// any charge; a declined card is a *payment.CheckoutError.
	Checkout(ctx context.Context, req CheckoutRequest) (payment.Payment, error)
	// Order returns a payment the storefront made, or payment.ErrNotFound.
	Order(ctx context.Context, id string) (payment.Payment, error)
}

// Errors of the storefront, besides those of the modules it calls.
var (
	ErrEmptyCart = errs.New(errs.Invalid, "empty_cart", "the cart is empty")
	ErrCartFull  = errs.New(errs.Invalid, "cart_full", "a cart holds at most 20 products")
	ErrQuantity  = errs.New(errs.Invalid, "invalid_quantity", "a quantity is a whole number from 1 to 99")
	ErrGone      = errs.New(errs.Invalid, "unknown_product", "a product in the cart is no longer for sale")
	// ErrOutOfStock: the cart asks for more than is in stock.
	ErrOutOfStock = inventory.ErrOutOfStock
)

// Errors lists the storefront's own errors.
var Errors = []*errs.Error{ErrEmptyCart, ErrCartFull, ErrQuantity, ErrGone}
