// Package auth decides who a caller is. At the edge of a layout — the
// gateway, or the monolith — it checks API keys: random, shown once when
// created and stored only as SHA-256 hashes in their own small database. A
// module process behind the edge holds no keys: it trusts the caller the
// edge asserts (package identity), or the service token of its peers.
//
// A key has a role: admin may do everything, storefront may read the
// catalogue and stock, and create payments and read its own.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/identity"
	"github.com/bazaar-shop/bazaar/internal/ids"
)

// Role is what a key may do.
type Role string

// Roles.
const (
	Admin      Role = "admin"
	Storefront Role = "storefront"
)

// ParseRole accepts "admin" or "storefront".
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case Admin, Storefront:
		return r, nil
	}
	return "", errs.InvalidField("role", `must be "admin" or "storefront"`)
}

// ConfiguredAdmin is the id of the admin key given in the configuration
// (admin_key): it is not stored, and cannot be listed or revoked.
const ConfiguredAdmin = "admin"

// Key is an API key. Secret is set only when the key is created.
type Key struct {
	ID         string     `json:"id"`
	Role       Role       `json:"role"`
	Secret     string     `json:"key,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// KeyPage is one page of keys, oldest first.
type KeyPage struct {
	Data       []Key  `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// ErrKeyNotFound is a key that does not exist, or was revoked already.
var ErrKeyNotFound = errs.Of(errs.NotFound, "api key not found")

type apiKey struct {
	ID         string `gorm:"primaryKey"`
	Role       string
	Hash       string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

func (apiKey) TableName() string { return "api_keys" }

func (r apiKey) toKey() Key {
	k := Key{ID: r.ID, Role: Role(r.Role), CreatedAt: r.CreatedAt.UTC()}
	if r.LastUsedAt != nil {
		t := r.LastUsedAt.UTC()
		k.LastUsedAt = &t
	}
	return k
}

// Keys checks callers. With a key database it is an edge; without one it
// trusts only asserted callers and the service token.
type Keys struct {
	db           *gorm.DB // nil: not an edge
	adminHash    string   // hash of the configured admin key, if any
	serviceToken string
	verifier     *identity.Verifier // nil: no service token, no assertions
	now          func() time.Time
	known        knownKeys
	limits       *Limits // per key; nil: no rate limit
	anonymous    *Limits // per address of callers with no key; nil: none
}

// New returns Keys. db is the key database of an edge, nil in a module
// process behind one. adminKey, when not empty, is accepted by an edge as
// an admin key without being stored (BAZAAR_ADMIN_KEY); serviceToken, when
// not empty, is what peers present (BAZAAR_SERVICE_TOKEN) and what
// assertions are checked with.
func New(db *gorm.DB, adminKey, serviceToken string, now func() time.Time) *Keys {
	k := &Keys{db: db, serviceToken: serviceToken, now: now}
	if adminKey != "" && db != nil {
		k.adminHash = hash(adminKey)
	}
	if serviceToken != "" {
		k.verifier = identity.NewVerifier(serviceToken, now)
	}
	return k
}

// WithLimits makes an edge rate-limit every API key, and every address
// of callers sending none.
func (k *Keys) WithLimits(keys, anonymous *Limits) *Keys {
	k.limits, k.anonymous = keys, anonymous
	return k
}

// Edge reports whether this process checks API keys itself.
func (k *Keys) Edge() bool { return k.db != nil }

func hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Create makes a new key with role and returns it with its secret.
func (k *Keys) Create(ctx context.Context, role Role) (Key, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return Key{}, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Key{}, err
	}
	secret := "bzr_" + base64.RawURLEncoding.EncodeToString(raw[:])
	row := apiKey{ID: ids.New("key"), Role: string(role), Hash: hash(secret), CreatedAt: k.now()}
	if err := k.db.WithContext(ctx).Create(&row).Error; err != nil {
		return Key{}, fmt.Errorf("create api key: %w", err)
	}
	key := row.toKey()
	key.Secret = secret
	return key, nil
}

// lastUsedEvery is how precisely a key's last use is kept: a write per key
// a minute, not per request.
const lastUsedEvery = time.Minute

// Authenticate returns the caller a secret key belongs to, or
// errs.ErrUnauthorized.
func (k *Keys) Authenticate(ctx context.Context, secret string) (identity.Caller, error) {
	if secret == "" || k.db == nil {
		return identity.Caller{}, errs.ErrUnauthorized
	}
	h := hash(secret)
	if k.adminHash != "" && subtle.ConstantTimeCompare([]byte(h), []byte(k.adminHash)) == 1 {
		return identity.Caller{Key: ConfiguredAdmin, Role: string(Admin)}, nil
	}
	now := k.now()
	if c, ok := k.known.get(h, now); ok {
		return c, nil
	}
	var row apiKey
	err := k.db.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", h).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return identity.Caller{}, errs.ErrUnauthorized
	}
	if err != nil {
		return identity.Caller{}, fmt.Errorf("look up api key: %w", err)
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= lastUsedEvery {
		// Best effort: a key that cannot note its use still works.
		_ = k.db.WithContext(ctx).Model(&apiKey{}).Where("id = ?", row.ID).Update("last_used_at", now).Error
	}
	c := identity.Caller{Key: row.ID, Role: row.Role}
	k.known.put(h, c, now)
	return c, nil
}

// Live reports whether the key with this id may still be used: for a
// session opened with it, which ends when the key is revoked.
func (k *Keys) Live(ctx context.Context, id string) (bool, error) {
	if id == ConfiguredAdmin {
		return k.adminHash != "", nil
	}
	if k.db == nil {
		return false, nil
	}
	var n int64
	err := k.db.WithContext(ctx).Model(&apiKey{}).Where("id = ? AND revoked_at IS NULL", id).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("look up api key: %w", err)
	}
	return n == 1, nil
}

// List returns a page of live keys, oldest first, without their secrets.
func (k *Keys) List(ctx context.Context, limit int, cursor string) (KeyPage, error) {
	after, err := ids.FromCursor(cursor, "key")
	if err != nil {
		return KeyPage{}, errs.InvalidField("cursor", err.Error())
	}
	var rows []apiKey
	err = k.db.WithContext(ctx).Where("revoked_at IS NULL AND id > ?", after).
		Order("id").Limit(limit + 1).Find(&rows).Error
	if err != nil {
		return KeyPage{}, fmt.Errorf("list api keys: %w", err)
	}
	page := KeyPage{Data: []Key{}}
	for i, r := range rows {
		if i == limit {
			page.NextCursor = ids.Cursor(rows[i-1].ID)
			break
		}
		page.Data = append(page.Data, r.toKey())
	}
	return page, nil
}

// Revoke ends a key. This process refuses it at once; other edges of the
// layout within knownFor, when their memory of it runs out.
func (k *Keys) Revoke(ctx context.Context, id string) error {
	res := k.db.WithContext(ctx).Model(&apiKey{}).Where("id = ? AND revoked_at IS NULL", id).
		Update("revoked_at", k.now())
	if res.Error != nil {
		return fmt.Errorf("revoke api key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrKeyNotFound
	}
	k.known.forget(id)
	return nil
}

// EnsureAdmin makes sure somebody can administer the shop: with no admin key
// configured and no key stored, it creates an admin key and logs it, once.
func (k *Keys) EnsureAdmin(ctx context.Context, log *slog.Logger) error {
	if k.adminHash != "" || k.db == nil {
		return nil
	}
	var n int64
	if err := k.db.WithContext(ctx).Model(&apiKey{}).Count(&n).Error; err != nil {
		return fmt.Errorf("count api keys: %w", err)
	}
	if n > 0 {
		return nil
	}
	key, err := k.Create(ctx, Admin)
	if err != nil {
		return err
	}
	log.Warn("created the first admin API key; it is shown only this once, store it now",
		"key", key.Secret, "id", key.ID)
	return nil
}

// knownKeys remembers recently checked keys, so a busy edge does not ask
// the key database on every request. The entry lifetime bounds how long a
// key revoked through another edge still works here.
type knownKeys struct {
	mu      sync.Mutex
	callers map[string]knownCaller
}

type knownCaller struct {
	caller  identity.Caller
	expires time.Time
}

const (
	knownFor = 5 * time.Second
	knownMax = 10_000
)

func (k *knownKeys) get(hash string, now time.Time) (identity.Caller, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.callers[hash]
	if !ok || now.After(c.expires) {
		return identity.Caller{}, false
	}
	return c.caller, true
}

func (k *knownKeys) put(hash string, c identity.Caller, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.callers == nil || len(k.callers) >= knownMax {
		k.callers = map[string]knownCaller{} // crude but bounded: start over
	}
	k.callers[hash] = knownCaller{caller: c, expires: now.Add(knownFor)}
}

func (k *knownKeys) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for h, c := range k.callers {
		if c.caller.Key == id {
			delete(k.callers, h)
		}
	}
}
