// Package idempotency makes a retried write safe: a request sent again with
// the same Idempotency-Key gets the first answer again instead of running
// twice. It follows the semantics payment APIs use:
//
//   - the first result, success or error, is stored with the key (for 24
//     hours by default) and replayed for a repeat with the same body, with
//     the header Idempotent-Replayed: true;
//   - the same key with a different request is 422 idempotency_key_reused;
//   - a repeat while the first is still running is 409 idempotency_key_in_use;
//   - keys are scoped to the API key that sent them.
//
// Records live in the database of the module that serves the route, so a
// replica that restarts, or another replica, replays them too.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/periodic"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// ReplayedHeader marks an answer that is a replay of the first one.
const ReplayedHeader = "Idempotent-Replayed"

// Errors of the idempotency contract.
var (
	ErrInUse  = errs.ErrIdempotencyKeyInUse
	ErrReused = errs.ErrIdempotencyKeyReused
	// ErrBadKey is a key ValidKey refuses.
	ErrBadKey = errs.InvalidField("Idempotency-Key", "must be 1 to 255 printable ASCII characters")
)

type record struct {
	Scope       string `gorm:"primaryKey"`
	Key         string `gorm:"primaryKey;column:idem_key"`
	RequestHash string
	State       string // running or done
	Status      int
	Body        string
	ContentType string
	Location    string
	LockedUntil time.Time
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

func (record) TableName() string { return "idempotency_keys" }

const (
	running = "running"
	done    = "done"
)

// Store keeps idempotency records in one module's database.
type Store struct {
	db  *gorm.DB
	now func() time.Time
	// ttl is how long a key is remembered; lease is how long a running
	// request holds its key before another attempt may take it over (its
	// process died). The lease must outlast the slowest request.
	ttl, lease time.Duration
}

// New returns a Store on a module's database.
func New(db *gorm.DB, now func() time.Time, ttl, lease time.Duration) *Store {
	return &Store{db: db, now: now, ttl: ttl, lease: lease}
}

// Wrap makes h idempotent for requests that carry an Idempotency-Key.
// Requests without one are served as they are.
func (s *Store) Wrap(h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		key := c.GetHeader(Header)
		if key == "" {
			h(c)
			return
		}
		if !ValidKey(key) {
			web.Error(c, ErrBadKey)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, web.MaxBodyBytes))
		if err != nil {
			web.Error(c, errs.Of(errs.TooLarge, "the request body is too large"))
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))

		scope := web.Principal(c)
		rec, err := s.begin(c.Request.Context(), scope, key, fingerprint(c.Request.Method, c.Request.URL.Path, body))
		if errors.Is(err, ErrInUse) {
			c.Header("Retry-After", "1")
		}
		if err != nil {
			web.Error(c, err)
			return
		}
		if rec != nil {
			replay(c, rec)
			return
		}
		w := &capture{ResponseWriter: c.Writer}
		c.Writer = w
		h(c)
		// The answer is stored even if the client has gone: its retry must
		// find it.
		ctx := context.WithoutCancel(c.Request.Context())
		if err := s.finish(ctx, scope, key, w); err != nil {
			web.Logger(c).Error("store idempotent answer", "key", key, "err", err)
		}
	}
}

// ValidKey tells whether k can be an Idempotency-Key.
func ValidKey(k string) bool {
	if len(k) > 255 {
		return false
	}
	for _, r := range k {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// fingerprint identifies a request: the same key must come with the same
// method, path and body.
func fingerprint(method, path string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// begin claims the key for this request. It returns the stored record when
// the request is a repeat of a finished one, nil when this request should
// run, or an error (in use, reused).
func (s *Store) begin(ctx context.Context, scope, key, hash string) (*record, error) {
	db := s.db.WithContext(ctx)
	for attempt := 0; attempt < 2; attempt++ {
		now := s.now()
		claim := record{Scope: scope, Key: key, RequestHash: hash, State: running,
			LockedUntil: now.Add(s.lease), CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
		err := database.Transaction(ctx, s.db, "idempotency.claim", func(tx *gorm.DB) error {
			return tx.Create(&claim).Error
		})
		if err == nil {
			return nil, nil
		}
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, fmt.Errorf("claim idempotency key: %w", err)
		}
		var rec record
		if err := db.Where("scope = ? AND idem_key = ?", scope, key).Take(&rec).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				continue // it expired and was removed meanwhile: claim again
			}
			return nil, err
		}
		switch {
		case now.After(rec.ExpiresAt):
			// Forgotten: remove it and claim the key afresh.
			if err := db.Where("scope = ? AND idem_key = ? AND expires_at = ?", scope, key, rec.ExpiresAt).Delete(&record{}).Error; err != nil {
				return nil, err
			}
			continue
		case rec.RequestHash != hash:
			return nil, ErrReused
		case rec.State == done:
			return &rec, nil
		case now.Before(rec.LockedUntil):
			return nil, ErrInUse
		}
		// Running, but its lease ran out: the process that ran it died.
		// Take it over, unless another attempt just did.
		res := db.Model(&record{}).
			Where("scope = ? AND idem_key = ? AND state = ? AND locked_until = ?", scope, key, running, rec.LockedUntil).
			Update("locked_until", now.Add(s.lease))
		if res.Error != nil {
			return nil, res.Error
		}
		if res.RowsAffected == 0 {
			return nil, ErrInUse
		}
		return nil, nil
	}
	return nil, ErrInUse
}

// finish stores the answer of the request that holds the key.
func (s *Store) finish(ctx context.Context, scope, key string, w *capture) error {
	return database.Transaction(ctx, s.db, "idempotency.finish", func(tx *gorm.DB) error {
		return tx.Model(&record{}).
			Where("scope = ? AND idem_key = ? AND state = ?", scope, key, running).
			Updates(map[string]any{
				"state": done, "status": w.Status(), "body": w.body.String(),
				"content_type": w.Header().Get("Content-Type"), "location": w.Header().Get("Location"),
			}).Error
	})
}

func replay(c *gin.Context, rec *record) {
	c.Header(ReplayedHeader, "true")
	if rec.Location != "" {
		c.Header("Location", rec.Location)
	}
	c.Data(rec.Status, rec.ContentType, []byte(rec.Body))
	c.Abort()
}

// capture keeps a copy of what the handler writes.
type capture struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *capture) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *capture) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

// Prune deletes the records that expired (past the TTL a key is
// remembered for: a repeat is then a new request), a batch at a time, and
// says how many it deleted.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	now := s.now()
	n, err := database.Prune(ctx, func(ctx context.Context, limit int) (int64, error) {
		res := s.db.WithContext(ctx).Where("(scope, idem_key) IN (?)",
			s.db.Model(&record{}).Select("scope, idem_key").Where("expires_at < ?", now).Limit(limit)).
			Delete(&record{})
		return res.RowsAffected, res.Error
	})
	if err != nil {
		return n, fmt.Errorf("prune idempotency keys: %w", err)
	}
	return n, nil
}

// RunPruning prunes every interval until ctx ends.
func (s *Store) RunPruning(ctx context.Context, interval time.Duration, log *slog.Logger) {
	periodic.Run(ctx, interval, func(ctx context.Context) {
		if n, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
			log.Error("prune expired idempotency keys", "err", err)
		} else if n > 0 {
			log.Debug("pruned expired idempotency keys", "count", n)
		}
	})
}
