// Package store keeps stock levels and reservations in the inventory's own
// database. Every change of stock is a conditional UPDATE, so the database,
// not Go code, decides whether units are there: two checkouts racing for the
// last unit cannot both win, on SQLite or on PostgreSQL.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/modules/inventory"
)

type stock struct {
	ProductID string `gorm:"primaryKey"`
	OnHand    int64
	Reserved  int64
	UpdatedAt time.Time
}

func (stock) TableName() string { return "stock" }

type reservation struct {
	ID        string `gorm:"primaryKey"`
	Status    string
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (reservation) TableName() string { return "reservations" }

type reservationItem struct {
	ReservationID string `gorm:"primaryKey"`
	ProductID     string `gorm:"primaryKey"`
	Quantity      int64
}

func (reservationItem) TableName() string { return "reservation_items" }

type adjustment struct {
	ID        string `gorm:"primaryKey"`
	ProductID string
	Delta     int64
	Reason    string
	OnHand    int64
	CreatedAt time.Time
}

func (adjustment) TableName() string { return "adjustments" }

// Store reads and changes stock.
type Store struct {
	db       *gorm.DB
	lowStock int64 // inventory.low_stock fires when on hand falls to this or below
	// lines remembers the lines of reservations made here, by id, until
	// they move: a checkout's commit then needs no read. Lines never change,
	// so a remembered one is never stale; one made by another replica, or
	// forgotten, is read from the database.
	lines *lru.Cache[string, []inventory.Line]
}

// heldLines is how many reservations' lines a Store remembers: more than
// are held at once in a busy shop, for a few kilobytes each.
const heldLines = 4096

// New returns a Store on the inventory's database.
func New(db *gorm.DB, lowStock int64) *Store {
	lines, _ := lru.New[string, []inventory.Line](heldLines) // errs only on a size <= 0
	return &Store{db: db, lowStock: lowStock, lines: lines}
}

// Resource names a product's stock in its events: their sequence counts
// per product, apart from the catalogue's events of the product itself.
func Resource(productID string) string { return "stock:" + productID }

// Adjusted is the data of an inventory.adjusted event.
type Adjusted struct {
	inventory.Level
	Delta  int64  `json:"delta"`
	Reason string `json:"reason"`
}

// LowStock is the data of an inventory.low_stock event.
type LowStock struct {
	inventory.Level
	Threshold int64 `json:"threshold"`
}

// event is one outbox event of a change of stock.
type event struct {
	typ  string
	data any
}

// events are the events of a change of on hand from before to the level
// now: inventory.adjusted when asked, and inventory.low_stock when on hand
// crossed the threshold on its way down.
func (s *Store) events(now inventory.Level, before int64, reason string, adjusted bool) []event {
	var out []event
	if adjusted {
		out = append(out, event{inventory.EventAdjusted, Adjusted{Level: now, Delta: now.OnHand - before, Reason: reason}})
	}
	if before > s.lowStock && now.OnHand <= s.lowStock {
		out = append(out, event{inventory.EventLowStock, LowStock{Level: now, Threshold: s.lowStock}})
	}
	return out
}

// changed records the events of a change of stock in transaction tx.
func (s *Store) changed(tx *gorm.DB, now inventory.Level, before int64, reason string, adjusted bool, at time.Time) error {
	for _, e := range s.events(now, before, reason, adjusted) {
		if err := outbox.Record(tx, e.typ, Resource(now.ProductID), e.data, at); err != nil {
			return err
		}
	}
	return nil
}

// Level returns the stock of a product; a product never stocked has zeros.
func (s *Store) Level(ctx context.Context, productID string) (inventory.Level, error) {
	return level(s.db.WithContext(ctx), productID)
}

func level(db *gorm.DB, productID string) (inventory.Level, error) {
	var row stock
	err := db.Where("product_id = ?", productID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return inventory.Level{ProductID: productID}, nil
	}
	if err != nil {
		return inventory.Level{}, err
	}
	return inventory.Level{ProductID: productID, OnHand: row.OnHand, Reserved: row.Reserved,
		Available: row.OnHand - row.Reserved}, nil
}

// Set sets on hand to onHand unless that is below what is reserved.
func (s *Store) Set(ctx context.Context, productID string, onHand int64, now time.Time) (inventory.Level, error) {
	var out inventory.Level
	err := database.Transaction(ctx, s.db, "inventory.set", func(tx *gorm.DB) error {
		// Touching the row first locks it (PostgreSQL; SQLite's immediate
		// transaction already holds the lock), so the old value read next
		// is the one this update replaces and the audit delta is exact.
		if err := lockRow(tx, productID, now); err != nil {
			return err
		}
		old, err := level(tx, productID)
		if err != nil {
			return err
		}
		res := tx.Exec(`UPDATE stock SET on_hand = ?, updated_at = ? WHERE product_id = ? AND reserved <= ?`,
			onHand, now, productID, onHand)
		if err := oneRow(res, inventory.ErrInsufficientStock); err != nil {
			return err
		}
		if out, err = record(tx, productID, onHand-old.OnHand, "set on hand", now); err != nil {
			return err
		}
		return s.changed(tx, out, old.OnHand, "set on hand", true, now)
	})
	return out, err
}

// Adjust adds delta to on hand unless the result is below what is reserved.
func (s *Store) Adjust(ctx context.Context, productID string, delta int64, reason string, now time.Time) (inventory.Level, error) {
	var out inventory.Level
	err := database.Transaction(ctx, s.db, "inventory.adjust", func(tx *gorm.DB) error {
		if err := lockRow(tx, productID, now); err != nil {
			return err
		}
		res := tx.Exec(`UPDATE stock SET on_hand = on_hand + ?, updated_at = ? WHERE product_id = ? AND on_hand + ? >= reserved`,
			delta, now, productID, delta)
		if err := oneRow(res, inventory.ErrInsufficientStock); err != nil {
			return err
		}
		var err error
		if out, err = record(tx, productID, delta, reason, now); err != nil {
			return err
		}
		return s.changed(tx, out, out.OnHand-delta, reason, true, now)
	})
	return out, err
}

// lockRow creates the product's stock row if it is missing and takes its lock.
func lockRow(tx *gorm.DB, productID string, now time.Time) error {
	err := tx.Exec(`INSERT INTO stock (product_id, on_hand, reserved, updated_at) VALUES (?, 0, 0, ?)
		ON CONFLICT (product_id) DO NOTHING`, productID, now).Error
	if err != nil {
		return err
	}
	return tx.Exec(`UPDATE stock SET updated_at = ? WHERE product_id = ?`, now, productID).Error
}

// record writes the audit row of a stock change and returns the new level.
func record(tx *gorm.DB, productID string, delta int64, reason string, now time.Time) (inventory.Level, error) {
	lvl, err := level(tx, productID)
	if err != nil {
		return lvl, err
	}
	row := adjustment{ID: ids.New("adj"), ProductID: productID, Delta: delta, Reason: reason, OnHand: lvl.OnHand, CreatedAt: now}
	return lvl, tx.Create(&row).Error
}

// oneRow turns "no row matched the condition" into failure.
func oneRow(res *gorm.DB, failure error) error {
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return failure
	}
	return nil
}

// Reserve holds every line or none. An existing reservation with the same
// id is returned as it is, so retries are safe.
func (s *Store) Reserve(ctx context.Context, id string, lines []inventory.Line, now, expires time.Time) (inventory.Reservation, error) {
	// Lock rows in one global order so two multi-line reservations cannot
	// deadlock on PostgreSQL.
	lines = append([]inventory.Line(nil), lines...)
	sort.Slice(lines, func(i, j int) bool { return lines[i].ProductID < lines[j].ProductID })

	// One pipeline: the reservation, a conditional update per line, the
	// lines; then, if any line found too little stock, all of it undone.
	var reserve database.Pipeline
	reserve.Exec(nil, `INSERT INTO reservations (id, status, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		id, inventory.Held, expires, now, now)
	reserved := make([]int64, len(lines))
	items := make([]string, len(lines))
	args := make([]any, 0, 3*len(lines))
	for i, l := range lines {
		reserve.Exec(&reserved[i], `UPDATE stock SET reserved = reserved + ?, updated_at = ?
			WHERE product_id = ? AND on_hand - reserved >= ?`, l.Quantity, now, l.ProductID, l.Quantity)
		items[i] = "(?, ?, ?)"
		args = append(args, id, l.ProductID, l.Quantity)
	}
	reserve.Exec(nil, `INSERT INTO reservation_items (reservation_id, product_id, quantity) VALUES `+
		strings.Join(items, ", "), args...)
	err := reserve.Run(ctx, s.db, "inventory.reserve", func(*database.Pipeline) error {
		for i, l := range lines {
			if reserved[i] == 0 {
				return fmt.Errorf("reserve %d of %s: %w", l.Quantity, l.ProductID, inventory.ErrOutOfStock)
			}
		}
		return nil
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return s.existing(ctx, id, lines)
	}
	if err != nil {
		return inventory.Reservation{}, err
	}
	s.lines.Add(id, slices.Clone(lines)) // the caller may change its copy
	return inventory.Reservation{ID: id, Status: inventory.Held, Lines: lines, ExpiresAt: expires}, nil
}

// existing returns a reservation made by an earlier call with the same id,
// provided it was for the same lines. One closed before it was made
// (Close) refuses them.
func (s *Store) existing(ctx context.Context, id string, lines []inventory.Line) (inventory.Reservation, error) {
	r, err := s.Reservation(ctx, id)
	if err != nil {
		return r, err
	}
	if len(r.Lines) == 0 && r.Status != inventory.Held {
		return inventory.Reservation{}, fmt.Errorf("reservation %s was released before it was made: %w", id, inventory.ErrReservationClosed)
	}
	if !sameLines(r.Lines, lines) {
		return inventory.Reservation{}, inventory.ErrReservationMismatch
	}
	return r, nil
}

func sameLines(a, b []inventory.Line) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Close records reservation id as released, with no lines, when no
// reservation has that id: a Reserve with it that arrives later is refused.
// It reports whether it made the record; false means a reservation with
// that id exists.
func (s *Store) Close(ctx context.Context, id string, now time.Time) (bool, error) {
	created := false
	err := database.Transaction(ctx, s.db, "inventory.close", func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO reservations (id, status, expires_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, id, inventory.Released, now, now, now)
		created = res.RowsAffected == 1
		return res.Error
	})
	return created, err
}

// Reservation reads a reservation with its lines, ordered by product id.
func (s *Store) Reservation(ctx context.Context, id string) (inventory.Reservation, error) {
	var r reservation
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return inventory.Reservation{}, inventory.ErrReservationNotFound
	}
	if err != nil {
		return inventory.Reservation{}, err
	}
	lines, err := s.linesOf(ctx, id)
	if err != nil {
		return inventory.Reservation{}, err
	}
	return inventory.Reservation{ID: r.ID, Status: inventory.ReservationStatus(r.Status),
		Lines: slices.Clone(lines), ExpiresAt: r.ExpiresAt.UTC()}, nil
}

// Transition moves a reservation from one status to another and applies the
// stock change that move means, in one transaction. It reports whether this
// call made the move; false means the reservation was not in status from.
func (s *Store) Transition(ctx context.Context, id string, from, to inventory.ReservationStatus, now time.Time) (bool, error) {
	change, ok := stockChanges[[2]inventory.ReservationStatus{from, to}]
	if !ok {
		return false, fmt.Errorf("no transition from %s to %s", from, to)
	}
	// A reservation's lines never change: known, or read first, off the writer.
	lines, err := s.linesOf(ctx, id)
	if err != nil || len(lines) == 0 {
		return false, err // no lines: no such reservation
	}
	// Then one pipeline. Locking the reservation's row first makes
	// concurrent moves of one reservation wait for each other. The stock of
	// each line changes only while the reservation is still in status from,
	// so a reservation moved already changes nothing; then the move itself.
	var move database.Pipeline
	move.Lock(`SELECT 1 FROM reservations WHERE id = ? AND status = ? FOR UPDATE`, id, from)
	after := make([]inventory.Level, len(lines))
	for i, l := range lines {
		move.Query(func(scan func(...any) error) error {
			after[i].ProductID = l.ProductID
			return scan(&after[i].OnHand, &after[i].Reserved)
		}, `UPDATE stock SET on_hand = on_hand + ?, reserved = reserved + ?, updated_at = ?
			WHERE product_id = ? AND EXISTS (SELECT 1 FROM reservations WHERE id = ? AND status = ?)
			RETURNING on_hand, reserved`,
			change.onHand*l.Quantity, change.reserved*l.Quantity, now, l.ProductID, id, from)
	}
	var moved int64
	move.Exec(&moved, `UPDATE reservations SET status = ?, updated_at = ? WHERE id = ? AND status = ?`, to, now, id, from)
	err = move.Run(ctx, s.db, "inventory.transition", func(then *database.Pipeline) error {
		if moved == 0 {
			return errNotMoved
		}
		for i, lvl := range after {
			if lvl.ProductID == "" {
				return fmt.Errorf("%s reservation %s: no stock row for %s", to, id, lines[i].ProductID)
			}
			if change.onHand == 0 {
				continue // on hand unchanged: no event
			}
			lvl.Available = lvl.OnHand - lvl.Reserved
			before := lvl.OnHand - change.onHand*lines[i].Quantity
			for _, e := range s.events(lvl, before, "restock after a refund", to == inventory.Restocked) {
				if err := outbox.Queue(then, e.typ, Resource(lvl.ProductID), e.data, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNotMoved) {
		return false, err
	}
	s.lines.Remove(id) // moved on, by this call or another: a restock, if ever, reads them
	return err == nil, nil
}

// linesOf returns the lines of reservation id, ordered by product id; they
// may be the remembered ones, not to be changed.
func (s *Store) linesOf(ctx context.Context, id string) ([]inventory.Line, error) {
	if lines, ok := s.lines.Get(id); ok {
		return lines, nil
	}
	var items []reservationItem
	if err := s.db.WithContext(ctx).Where("reservation_id = ?", id).Order("product_id").Find(&items).Error; err != nil {
		return nil, err
	}
	lines := make([]inventory.Line, len(items))
	for i, it := range items {
		lines[i] = inventory.Line{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return lines, nil
}

// errNotMoved rolls back a transition that found the reservation in
// another status.
var errNotMoved = errors.New("the reservation was not in the status to move from")

// stockChanges is what each reservation move does to the stock of its
// lines: on hand and reserved change by these multiples of the quantity.
// A sale may bring stock low; a restock is an adjustment.
var stockChanges = map[[2]inventory.ReservationStatus]struct{ onHand, reserved int64 }{
	{inventory.Held, inventory.Committed}:      {onHand: -1, reserved: -1},
	{inventory.Held, inventory.Released}:       {onHand: 0, reserved: -1},
	{inventory.Held, inventory.Expired}:        {onHand: 0, reserved: -1},
	{inventory.Committed, inventory.Restocked}: {onHand: +1, reserved: 0},
}

// ReservedUnits is the number of units held by reservations right now.
func (s *Store) ReservedUnits(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(SUM(reserved), 0) FROM stock`).Scan(&n).Error
	return n, err
}

// ExpiredHolds lists up to limit held reservations whose time ran out.
func (s *Store) ExpiredHolds(ctx context.Context, now time.Time, limit int) ([]string, error) {
	var idList []string
	err := s.db.WithContext(ctx).Model(&reservation{}).
		Where("status = ? AND expires_at < ?", inventory.Held, now).
		Order("expires_at").Limit(limit).Pluck("id", &idList).Error
	return idList, err
}

// PruneReservations deletes up to limit reservations that ended — released,
// expired or restocked — before cutoff, with their lines, and says how many.
// Committed ones stay: a refund restocks them, as long as their payment is
// kept.
func (s *Store) PruneReservations(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	var pruned int64
	err := database.Transaction(ctx, s.db, "inventory.prune_reservations", func(tx *gorm.DB) error {
		var idList []string
		if err := tx.Model(&reservation{}).
			Where("status IN ? AND updated_at < ?", []inventory.ReservationStatus{inventory.Released, inventory.Expired, inventory.Restocked}, cutoff).
			Order("updated_at").Limit(limit).Pluck("id", &idList).Error; err != nil {
			return err
		}
		if len(idList) == 0 {
			pruned = 0
			return nil
		}
		if err := tx.Where("reservation_id IN ?", idList).Delete(&reservationItem{}).Error; err != nil {
			return err
		}
		res := tx.Where("id IN ?", idList).Delete(&reservation{})
		pruned = res.RowsAffected
		return res.Error
	})
	return pruned, err
}

// PruneAdjustments deletes up to limit adjustments made before cutoff and
// says how many.
func (s *Store) PruneAdjustments(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	res := s.db.WithContext(ctx).Where("id IN (?)",
		s.db.Model(&adjustment{}).Select("id").Where("created_at < ?", cutoff).Limit(limit)).Delete(&adjustment{})
	return res.RowsAffected, res.Error
}
