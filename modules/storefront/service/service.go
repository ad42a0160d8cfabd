// Package service is the storefront over the catalogue, inventory and
// payment contracts: local services in the monolith, HTTP clients in a
// split, the same code either way.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
	"github.com/bazaar-shop/bazaar/modules/storefront"
)

// owner is who the storefront's checkouts belong to, in-process; over
// the network the payment module names the calling service itself.
const owner = "storefront"

// Service is storefront.Service.
type Service struct {
	catalogue catalogue.Service
	inventory inventory.Service
	payment   payment.Service
	log       *slog.Logger
}

var _ storefront.Service = (*Service)(nil)

// New returns the storefront over the modules it calls.
func New(cat catalogue.Service, inv inventory.Service, pay payment.Service, log *slog.Logger) *Service {
	return &Service{catalogue: cat, inventory: inv, payment: pay, log: log}
}

// Browse returns a page of offers. Should inventory not answer, the page
// comes without stock rather than not at all.
func (s *Service) Browse(ctx context.Context, q storefront.BrowseQuery) (storefront.Shelf, error) {
	page, err := s.catalogue.List(ctx, catalogue.ListQuery{Limit: storefront.PageSize, Cursor: q.Cursor, Q: q.Q})
	if err != nil {
		return storefront.Shelf{}, err
	}
	stock, known := s.stock(ctx, page.Data)
	shelf := storefront.Shelf{Next: page.NextCursor, StockKnown: known}
	for i, p := range page.Data {
		shelf.Offers = append(shelf.Offers, storefront.Offer{Product: p, Stock: stock[i]})
	}
	return shelf, nil
}

// Offer returns one product with its stock.
func (s *Service) Offer(ctx context.Context, productID string) (storefront.Offer, error) {
	p, err := s.catalogue.Get(ctx, productID)
	if err != nil {
		return storefront.Offer{}, err
	}
	stock, _ := s.stock(ctx, []catalogue.Product{p})
	return storefront.Offer{Product: p, Stock: stock[0]}, nil
}

// stock asks inventory for each product's stock at once. A product
// inventory does not know has none; any other failure leaves every stock
// unknown, and known false.
func (s *Service) stock(ctx context.Context, products []catalogue.Product) ([]storefront.Stock, bool) {
	out := make([]storefront.Stock, len(products))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, p := range products {
		g.Go(func() error {
			level, err := s.inventory.Get(gctx, p.ID)
			switch {
			case errors.Is(err, inventory.ErrProductNotFound):
				out[i] = storefront.Stock{Known: true}
			case err != nil:
				return err
			default:
				out[i] = storefront.Stock{Known: true, Available: level.Available}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		s.log.WarnContext(ctx, "storefront: stock unknown", "err", err)
		return make([]storefront.Stock, len(products)), false
	}
	return out, true
}

// Quote prices a cart from the catalogue, fresh, as a checkout would.
func (s *Service) Quote(ctx context.Context, cart storefront.Cart) (storefront.Quote, error) {
	var q storefront.Quote
	if len(cart) == 0 {
		return q, nil
	}
	ids := make([]string, len(cart))
	for i, l := range cart {
		ids[i] = l.ProductID
	}
	page, err := s.catalogue.List(ctx, catalogue.ListQuery{IDs: ids, Fresh: true})
	if err != nil {
		return q, err
	}
	stock, _ := s.stock(ctx, page.Data)
	for _, l := range cart {
		i := slices.IndexFunc(page.Data, func(p catalogue.Product) bool { return p.ID == l.ProductID })
		if i < 0 {
			q.Gone = append(q.Gone, l.ProductID)
			continue
		}
		p := page.Data[i]
		line := storefront.QuoteLine{Offer: storefront.Offer{Product: p, Stock: stock[i]}, Quantity: l.Quantity,
			Total: p.Price * l.Quantity}
		q.Lines = append(q.Lines, line)
		q.Total += line.Total
		q.Currency = p.Currency
	}
	return q, nil
}

// Checkout pays for a cart: refused before any charge when the cart is
// empty, names a product no longer for sale or asks for more than is in
// stock; then the payment module reserves, charges and commits as for any
// other client.
func (s *Service) Checkout(ctx context.Context, req storefront.CheckoutRequest) (payment.Payment, error) {
	if len(req.Cart) == 0 {
		return payment.Payment{}, storefront.ErrEmptyCart
	}
	q, err := s.Quote(ctx, req.Cart)
	if err != nil {
		return payment.Payment{}, err
	}
	if len(q.Gone) > 0 {
		return payment.Payment{}, storefront.ErrGone
	}
	if short := q.Short(); len(short) > 0 {
		return payment.Payment{}, fmt.Errorf("%s: %w", short[0].Name, storefront.ErrOutOfStock)
	}
	items := make([]payment.Item, len(req.Cart))
	for i, l := range req.Cart {
		items[i] = payment.Item{ProductID: l.ProductID, Quantity: l.Quantity}
	}
	return s.payment.Checkout(ctx, payment.CheckoutRequest{Items: items, Card: req.Card, Email: req.Email,
		IdempotencyKey: req.Key, Owner: owner})
}

// Order returns a payment.
func (s *Service) Order(ctx context.Context, id string) (payment.Payment, error) {
	return s.payment.Get(ctx, id)
}
