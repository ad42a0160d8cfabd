// Package catalogue is the contract of the catalogue module: the products a
// shop sells and their prices. Other modules see only this package; the
// implementation behind it may run in-process or behind HTTP.
package catalogue

import (
	"context"
	"time"

	"github.com/bazaar-shop/bazaar/internal/errs"
)

// Product is an item for sale. Price is in minor units of Currency (cents for USD).
type Product struct {
	ID          string    `json:"id"`
	SKU         string    `json:"sku"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Price       int64     `json:"price"`
	Currency    string    `json:"currency"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ProductInput holds the editable fields of a product, for create and replace.
type ProductInput struct {
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Price       int64  `json:"price"`
	Currency    string `json:"currency"`
}

// ListQuery selects a page of products. Cursor is the NextCursor of the
// previous page; Q matches name or SKU, case-insensitively.
//
// A non-empty IDs asks for those products in one call, for a caller that
// would otherwise Get them one by one: the page holds the live products
// among IDs, in the order of IDs, each once however often its id is
// repeated; an id of no live product is left out, not an error. Such a page
// is never more than one: NextCursor is empty. IDs may list at most
// MaxLimit ids, none of them empty, and cannot be combined with Cursor or Q;
// Limit does not apply to it (it is still checked, like any Limit).
type ListQuery struct {
	Limit  int
	Cursor string
	Q      string
	// IDs selects exactly these products.
	IDs []string
	// Fresh reads the database, never the cache: for pricing. A checkout
	// must not sell a product as it was before a change that has been
	// acknowledged, through whichever catalogue replica; a product page may
	// lag other replicas' changes a little (catalogue.cache_check).
	Fresh bool
}

// Page is one page of products, oldest first.
type Page struct {
	Data       []Product `json:"data"`
	NextCursor string    `json:"next_cursor"`
}

// List limits.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Errors of the catalogue contract.
var (
	ErrNotFound     = errs.Of(errs.NotFound, "product not found")
	ErrDuplicateSKU = errs.Of(errs.Conflict, "a product with this sku already exists")
)

// Events the catalogue publishes (to webhooks, through its outbox).
const (
	EventCreated = "product.created"
	EventUpdated = "product.updated"
	EventDeleted = "product.deleted"
)

// Events lists them all, for subscriptions.
var Events = []string{EventCreated, EventUpdated, EventDeleted}

// Errors lists the errors the catalogue answers with, as its HTTP client
// turns their codes back (errs.Index): the first of a code wins.
var Errors = []*errs.Error{ErrNotFound, ErrDuplicateSKU}

// Service is the catalogue module.
type Service interface {
	// Create adds a product. A SKU already used by a live product is ErrDuplicateSKU.
	Create(ctx context.Context, in ProductInput) (Product, error)
	// Get returns a live product, or ErrNotFound (also for deleted products).
	Get(ctx context.Context, id string) (Product, error)
	// List returns live products in a stable order, a page at a time, or the
	// live products among q.IDs in one call.
	List(ctx context.Context, q ListQuery) (Page, error)
	// Update replaces the editable fields of a live product.
	Update(ctx context.Context, id string, in ProductInput) (Product, error)
	// Delete removes a product from sale; later reads are ErrNotFound.
	Delete(ctx context.Context, id string) error
}
