// Package service is the in-process implementation of catalogue.Service:
// the catalogue's business rules on top of its own database.
package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	"github.com/bazaar-shop/bazaar/modules/catalogue/internal/readcache"
	"github.com/bazaar-shop/bazaar/modules/catalogue/internal/store"
)

// MaxPrice keeps every price, and every cart total built from prices, far
// from int64 overflow: 10^12 minor units is ten billion dollars.
const MaxPrice = 1_000_000_000_000

// Service implements catalogue.Service.
type Service struct {
	store *store.Store
	now   func() time.Time
	cache *readcache.Cache // nil: every read goes to the database
}

var _ catalogue.Service = (*Service)(nil)

// New returns the catalogue service on db, the catalogue's own database.
func New(db *gorm.DB, now func() time.Time) *Service {
	return &Service{store: store.New(db), now: now}
}

// WithCache makes the service answer reads from memory for up to ttl, and
// look for changes made through other catalogue replicas at most every
// checkEvery (0: before every read); see readcache. A ttl of 0 turns it off.
// A query with Fresh set never answers from memory.
func (s *Service) WithCache(ttl, checkEvery time.Duration) *Service {
	s.cache = readcache.New(ttl, checkEvery, s.now, s.store.Changes)
	return s
}

// Changes is the count of changes ever made to the catalogue, through any
// replica: what a cache of its answers kept elsewhere looks at (readcache).
func (s *Service) Changes(ctx context.Context) (int64, error) { return s.store.Changes(ctx) }

// Create adds a product.
func (s *Service) Create(ctx context.Context, in catalogue.ProductInput) (catalogue.Product, error) {
	in = normalize(in)
	if err := validate(in); err != nil {
		return catalogue.Product{}, err
	}
	now := s.now()
	p := catalogue.Product{
		ID: ids.New("prod"), SKU: in.SKU, Name: in.Name, Description: in.Description,
		Price: in.Price, Currency: in.Currency, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.Insert(ctx, p); err != nil {
		return catalogue.Product{}, fmt.Errorf("create product %s: %w", in.SKU, err)
	}
	s.cache.Forget(p.ID)
	return p, nil
}

// Get returns a live product.
func (s *Service) Get(ctx context.Context, id string) (catalogue.Product, error) {
	if p, ok := s.cache.Product(ctx, id); ok {
		return p, nil
	}
	version := s.cache.Begin()
	p, err := s.store.Get(ctx, id)
	if err != nil {
		return catalogue.Product{}, fmt.Errorf("get product %s: %w", id, err)
	}
	s.cache.RememberProduct(version, p)
	return p, nil
}

// List returns a page of live products, or the live products among q.IDs.
func (s *Service) List(ctx context.Context, q catalogue.ListQuery) (catalogue.Page, error) {
	q.Q = strings.TrimSpace(q.Q)
	var v errs.Validator
	v.Check(q.Limit >= 0 && q.Limit <= catalogue.MaxLimit, "limit", fmt.Sprintf("must be between 1 and %d", catalogue.MaxLimit))
	if len(q.IDs) > 0 {
		checkIDs(&v, q)
		if err := v.Err(); err != nil {
			return catalogue.Page{}, err
		}
		return s.listIDs(ctx, q.IDs, q.Fresh)
	}
	after, err := ids.FromCursor(q.Cursor, "prod")
	v.Check(err == nil, "cursor", "is not a cursor this API returned")
	if err := v.Err(); err != nil {
		return catalogue.Page{}, err
	}
	if q.Limit == 0 {
		q.Limit = catalogue.DefaultLimit
	}
	key := readcache.PageKey{Limit: q.Limit, Cursor: q.Cursor, Q: q.Q}
	if !q.Fresh {
		if page, ok := s.cache.Page(ctx, key); ok {
			page.Data = slices.Clone(page.Data) // the caller's to change
			return page, nil
		}
	}
	version := s.cache.Begin()
	// One extra row tells whether another page follows.
	rows, err := s.store.List(ctx, after, q.Q, q.Limit+1)
	if err != nil {
		return catalogue.Page{}, fmt.Errorf("list products: %w", err)
	}
	page := catalogue.Page{Data: rows}
	if len(rows) > q.Limit {
		page.Data = rows[:q.Limit]
		page.NextCursor = ids.Cursor(rows[q.Limit-1].ID)
	}
	s.cache.RememberPage(version, key, catalogue.Page{Data: slices.Clone(page.Data), NextCursor: page.NextCursor})
	return page, nil
}

// checkIDs checks the rest of a query by IDs.
func checkIDs(v *errs.Validator, q catalogue.ListQuery) {
	v.Check(q.Cursor == "", "cursor", "cannot be combined with ids")
	v.Check(q.Q == "", "q", "cannot be combined with ids")
	if len(q.IDs) > catalogue.MaxLimit {
		v.Check(false, "ids", fmt.Sprintf("must list at most %d ids", catalogue.MaxLimit))
		return // rather than one error for each of thousands of ids
	}
	for i, id := range q.IDs {
		v.Checkf(id != "", "must not be empty", "ids[%d]", i)
	}
}

// listIDs answers a query by IDs: the products the cache holds from
// memory (none when fresh, unless the count of changes vouches for the
// cache), the others in one read of the database, which the cache then
// remembers as Get would.
func (s *Service) listIDs(ctx context.Context, want []string, fresh bool) (catalogue.Page, error) {
	want = unique(want)
	found := make(map[string]catalogue.Product, len(want))
	missing := want
	if fresh && s.cache.Current(ctx) {
		fresh = false // nothing changed since the cache last looked: it is as fresh as the database
	}
	if !fresh {
		missing = nil
		for _, id := range want {
			if p, ok := s.cache.Product(ctx, id); ok {
				found[id] = p
			} else {
				missing = append(missing, id)
			}
		}
	}
	if len(missing) > 0 {
		version := s.cache.Begin()
		rows, err := s.store.GetMany(ctx, missing)
		if err != nil {
			return catalogue.Page{}, fmt.Errorf("get %d products: %w", len(missing), err)
		}
		s.cache.RememberProducts(version, rows)
		for _, p := range rows {
			found[p.ID] = p
		}
	}
	page := catalogue.Page{Data: make([]catalogue.Product, 0, len(found))}
	for _, id := range want {
		if p, ok := found[id]; ok {
			page.Data = append(page.Data, p)
		}
	}
	return page, nil
}

// unique returns list without repeats, in the order each first appears.
func unique(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := make([]string, 0, len(list))
	for _, id := range list {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Update replaces the editable fields of a live product.
func (s *Service) Update(ctx context.Context, id string, in catalogue.ProductInput) (catalogue.Product, error) {
	in = normalize(in)
	if err := validate(in); err != nil {
		return catalogue.Product{}, err
	}
	p, err := s.store.Update(ctx, id, in, s.now())
	s.cache.Forget(id) // even after an error: whether the write happened is not always known
	if err != nil {
		return catalogue.Product{}, fmt.Errorf("update product %s: %w", id, err)
	}
	return p, nil
}

// Delete removes a product from sale.
func (s *Service) Delete(ctx context.Context, id string) error {
	err := s.store.Delete(ctx, id, s.now())
	s.cache.Forget(id) // even after an error: whether the write happened is not always known
	if err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	return nil
}

func normalize(in catalogue.ProductInput) catalogue.ProductInput {
	in.SKU = strings.TrimSpace(in.SKU)
	in.Name = strings.TrimSpace(in.Name)
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	return in
}

func validate(in catalogue.ProductInput) error {
	var v errs.Validator
	v.Check(in.SKU != "", "sku", "is required")
	v.Check(utf8.RuneCountInString(in.SKU) <= 64, "sku", "must be at most 64 characters")
	v.Check(in.Name != "", "name", "is required")
	v.Check(utf8.RuneCountInString(in.Name) <= 200, "name", "must be at most 200 characters")
	v.Check(utf8.RuneCountInString(in.Description) <= 5000, "description", "must be at most 5000 characters")
	v.Check(in.Price >= 0, "price", "must not be negative")
	v.Check(in.Price <= MaxPrice, "price", fmt.Sprintf("must be at most %d", int64(MaxPrice)))
	v.Check(validCurrency(in.Currency), "currency", "must be an ISO 4217 code such as EUR or USD")
	return v.Err()
}

func validCurrency(code string) bool {
	if len(code) != 3 {
		return false
	}
	_, err := currency.ParseISO(code)
	return err == nil
}
