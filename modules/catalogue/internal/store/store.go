// Package store keeps the catalogue's products in the catalogue's own
// database. Only the catalogue service may import it.
package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
)

type product struct {
	ID          string `gorm:"primaryKey"`
	SKU         string `gorm:"column:sku"`
	Name        string
	Description string
	Price       int64
	Currency    string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
}

func (product) TableName() string { return "products" }

func (p product) toContract() catalogue.Product {
	return catalogue.Product{
		ID: p.ID, SKU: p.SKU, Name: p.Name, Description: p.Description,
		Price: p.Price, Currency: p.Currency,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
}

// Store reads and writes products.
type Store struct{ db *gorm.DB }

// New returns a Store on the catalogue's database.
func New(db *gorm.DB) *Store { return &Store{db: db} }

// Resource names a product in its events: their sequence counts per product.
func Resource(productID string) string { return "product:" + productID }

// Insert stores a new product and its product.created event.
func (s *Store) Insert(ctx context.Context, p catalogue.Product) error {
	row := product{ID: p.ID, SKU: p.SKU, Name: p.Name, Description: p.Description,
		Price: p.Price, Currency: p.Currency, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	err := database.Transaction(ctx, s.db, "catalogue.insert", func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := outbox.Record(tx, catalogue.EventCreated, Resource(p.ID), p, p.CreatedAt); err != nil {
			return err
		}
		return countChange(tx)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return catalogue.ErrDuplicateSKU
	}
	return err
}

// Get returns a live product.
func (s *Store) Get(ctx context.Context, id string) (catalogue.Product, error) {
	var row product
	err := s.db.WithContext(ctx).Where("id = ? AND deleted_at IS NULL", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return catalogue.Product{}, catalogue.ErrNotFound
	}
	return row.toContract(), err
}

// GetMany returns the live products among ids, in one query and in no
// particular order; ids of no live product are left out.
func (s *Store) GetMany(ctx context.Context, ids []string) ([]catalogue.Product, error) {
	var rows []product
	err := s.db.WithContext(ctx).Where("id IN ? AND deleted_at IS NULL", ids).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	return toContract(rows), nil
}

// List returns up to limit live products with id > after, by id.
func (s *Store) List(ctx context.Context, after, q string, limit int) ([]catalogue.Product, error) {
	tx := s.db.WithContext(ctx).Where("deleted_at IS NULL")
	if after != "" {
		tx = tx.Where("id > ?", after)
	}
	if q != "" {
		// LOWER on both sides: LIKE is case-insensitive on SQLite but not on PostgreSQL.
		pattern := "%" + escapeLike(strings.ToLower(q)) + "%"
		tx = tx.Where(`(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(sku) LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	var rows []product
	if err := tx.Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	return toContract(rows), nil
}

func toContract(rows []product) []catalogue.Product {
	out := make([]catalogue.Product, len(rows))
	for i, r := range rows {
		out[i] = r.toContract()
	}
	return out
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Update replaces the editable fields of a live product, records its
// product.updated event and returns the product as it now is.
func (s *Store) Update(ctx context.Context, id string, in catalogue.ProductInput, now time.Time) (catalogue.Product, error) {
	var out catalogue.Product
	err := database.Transaction(ctx, s.db, "catalogue.update", func(tx *gorm.DB) error {
		res := tx.Model(&product{}).
			Where("id = ? AND deleted_at IS NULL", id).
			Updates(map[string]any{
				"sku": in.SKU, "name": in.Name, "description": in.Description,
				"price": in.Price, "currency": in.Currency, "updated_at": now,
			})
		switch {
		case res.Error != nil:
			return res.Error
		case res.RowsAffected == 0:
			return catalogue.ErrNotFound
		}
		var row product
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		out = row.toContract()
		if err := outbox.Record(tx, catalogue.EventUpdated, Resource(id), out, now); err != nil {
			return err
		}
		return countChange(tx)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return out, catalogue.ErrDuplicateSKU
	}
	return out, err
}

// Deleted is the data of a product.deleted event.
type Deleted struct {
	ID  string `json:"id"`
	SKU string `json:"sku"`
}

// Delete marks a live product deleted and records its product.deleted event.
func (s *Store) Delete(ctx context.Context, id string, now time.Time) error {
	return database.Transaction(ctx, s.db, "catalogue.delete", func(tx *gorm.DB) error {
		var row product
		err := tx.Where("id = ? AND deleted_at IS NULL", id).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return catalogue.ErrNotFound
		}
		if err != nil {
			return err
		}
		res := tx.Model(&product{}).Where("id = ? AND deleted_at IS NULL", id).
			Updates(map[string]any{"deleted_at": now, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return catalogue.ErrNotFound // deleted meanwhile
		}
		if err := outbox.Record(tx, catalogue.EventDeleted, Resource(id), Deleted{ID: id, SKU: row.SKU}, now); err != nil {
			return err
		}
		return countChange(tx)
	})
}

// countChange adds one to the count of changes, in the transaction of the
// change, so that no replica sees the change without the count or the
// count without the change. It comes last: on PostgreSQL the row it locks
// makes the catalogue's writes commit one at a time, so it is held only
// until the commit that follows.
func countChange(tx *gorm.DB) error {
	res := tx.Exec("UPDATE changes SET n = n + 1 WHERE id = 1")
	if res.Error == nil && res.RowsAffected != 1 {
		return errors.New("the count of changes is missing: run the catalogue's migrations")
	}
	return res.Error
}

// Changes returns the count of changes ever made to the catalogue, through
// any replica: while it stays the same, what a replica remembers is still
// what the database holds.
func (s *Store) Changes(ctx context.Context) (int64, error) {
	var row struct{ N int64 }
	err := s.db.WithContext(ctx).Table("changes").Select("n").Where("id = 1").Take(&row).Error
	return row.N, err
}
