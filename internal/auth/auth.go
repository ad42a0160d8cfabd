// Package auth checks API keys. Keys are random, shown once when created and
// stored only as SHA-256 hashes in their own small database. A key has a
// role: admin may do everything, storefront may read the catalogue and stock
// and create and read payments.
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
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/ids"
	"github.com/bazaar-shop/bazaar/internal/web"
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
	return "", errs.Invalid("role", `must be "admin" or "storefront"`)
}

// Key is an API key. Secret is set only when the key is created.
type Key struct {
	ID     string `json:"id"`
	Role   Role   `json:"role"`
	Secret string `json:"key"`
}

type apiKey struct {
	ID        string `gorm:"primaryKey"`
	Role      string
	Hash      string
	CreatedAt time.Time
}

func (apiKey) TableName() string { return "api_keys" }

// Keys creates and checks API keys.
type Keys struct {
	db           *gorm.DB
	adminHash    string // hash of the configured admin key, if any
	serviceToken string
	now          func() time.Time
	known        knownKeys
	limits       *Limits // nil: no rate limit
}

// WithLimits makes Require rate-limit every API key (not the service token).
func (k *Keys) WithLimits(l *Limits) *Keys {
	k.limits = l
	return k
}

// knownKeys remembers recently checked keys, so a busy process does not ask
// the key database on every request. Keys cannot be revoked yet; when they
// can, the entry lifetime bounds how long a revoked key still works.
type knownKeys struct {
	mu    sync.Mutex
	roles map[string]knownRole
}

type knownRole struct {
	role    Role
	expires time.Time
}

const (
	knownFor = time.Minute
	knownMax = 10_000
)

func (k *knownKeys) get(hash string, now time.Time) (Role, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	r, ok := k.roles[hash]
	if !ok || now.After(r.expires) {
		return "", false
	}
	return r.role, true
}

func (k *knownKeys) put(hash string, role Role, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.roles == nil || len(k.roles) >= knownMax {
		k.roles = map[string]knownRole{} // crude but bounded: start over
	}
	k.roles[hash] = knownRole{role: role, expires: now.Add(knownFor)}
}

// New returns Keys on db. adminKey, when not empty, is accepted as an admin
// key without being stored (BAZAAR_ADMIN_KEY); serviceToken, when not
// empty, is what other modules present (BAZAAR_SERVICE_TOKEN).
func New(db *gorm.DB, adminKey, serviceToken string, now func() time.Time) *Keys {
	k := &Keys{db: db, serviceToken: serviceToken, now: now}
	if adminKey != "" {
		k.adminHash = hash(adminKey)
	}
	return k
}

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
	return Key{ID: row.ID, Role: role, Secret: secret}, nil
}

// Authenticate returns the role of a key, or errs.ErrUnauthorized.
func (k *Keys) Authenticate(ctx context.Context, secret string) (Role, error) {
	if secret == "" {
		return "", errs.ErrUnauthorized
	}
	h := hash(secret)
	if k.adminHash != "" && subtle.ConstantTimeCompare([]byte(h), []byte(k.adminHash)) == 1 {
		return Admin, nil
	}
	if role, ok := k.known.get(h, k.now()); ok {
		return role, nil
	}
	var row apiKey
	err := k.db.WithContext(ctx).Where("hash = ?", h).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", errs.ErrUnauthorized
	}
	if err != nil {
		return "", fmt.Errorf("look up api key: %w", err)
	}
	k.known.put(h, Role(row.Role), k.now())
	return Role(row.Role), nil
}

// EnsureAdmin makes sure somebody can administer the shop: with no admin key
// configured and no key stored, it creates an admin key and logs it, once.
func (k *Keys) EnsureAdmin(ctx context.Context, log *slog.Logger) error {
	if k.adminHash != "" {
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

// ServiceTokenHeader carries the token that modules present to each other.
const ServiceTokenHeader = "X-Service-Token"

// Require enforces an access level. No or an unknown key is 401, a key
// without the role 403. The service token passes everywhere and is the only
// way into internal routes.
func (k *Keys) Require(access web.Access) gin.HandlerFunc {
	if access == web.Public {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		if k.isService(c.GetHeader(ServiceTokenHeader)) {
			web.SetPrincipal(c, "service")
			c.Next()
			return
		}
		if access == web.Internal {
			web.Error(c, errs.New(errs.CodeUnauthorized, "internal routes need the service token"))
			return
		}
		secret := bearer(c.GetHeader("Authorization"))
		role, err := k.Authenticate(c.Request.Context(), secret)
		if err != nil {
			if errors.Is(err, errs.ErrUnauthorized) {
				c.Header("WWW-Authenticate", `Bearer realm="bazaar"`)
			}
			web.Error(c, err)
			return
		}
		if role != Admin && access == web.Admin {
			web.Error(c, errs.ErrForbidden)
			return
		}
		who := "key:" + hash(secret)
		web.SetPrincipal(c, who)
		if !k.limits.limit(c, who) {
			return
		}
		c.Next()
	}
}

func (k *Keys) isService(token string) bool {
	return k.serviceToken != "" && token != "" &&
		subtle.ConstantTimeCompare([]byte(token), []byte(k.serviceToken)) == 1
}

func bearer(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// Routes is the API-key endpoint. Every process serves it: keys live in
// their own database, shared by every process of a layout.
func (k *Keys) Routes() []web.Route {
	return []web.Route{{Method: "POST", Path: "/v1/api-keys", Access: web.Admin, Handler: k.create}}
}

func (k *Keys) create(c *gin.Context) {
	var in struct {
		Role string `json:"role"`
	}
	if err := web.Decode(c, &in); err != nil {
		web.Error(c, err)
		return
	}
	role, err := ParseRole(in.Role)
	if err != nil {
		web.Error(c, err)
		return
	}
	key, err := k.Create(c.Request.Context(), role)
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusCreated, key)
}

var _ web.Guard = (*Keys)(nil)
