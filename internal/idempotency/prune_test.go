package idempotency

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/testclock"
	"github.com/bazaar-shop/bazaar/internal/testdb"
)

// TestPrune: records past their expiry go, in batches; records still
// remembered stay, running or done.
func TestPrune(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			clock := testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
			db := engine.Open(t, "catalogue").DB // any module's database with the table
			s := New(db, clock.Now, 24*time.Hour, time.Minute)
			add := func(key string, expires time.Time, state string) {
				require.NoError(t, db.Create(&record{Scope: "key:k1", Key: key, RequestHash: "h", State: state,
					LockedUntil: clock.Now(), CreatedAt: clock.Now(), ExpiresAt: expires}).Error)
			}
			const expired = 1100 // more than two batches
			for i := range expired {
				add(fmt.Sprintf("old-%d", i), clock.Now().Add(-time.Minute), done)
			}
			add("fresh-done", clock.Now().Add(time.Hour), done)
			add("fresh-running", clock.Now().Add(time.Hour), running)

			n, err := s.Prune(context.Background())
			require.NoError(t, err)
			require.Equal(t, int64(expired), n)
			var left []string
			require.NoError(t, db.Model(&record{}).Order("idem_key").Pluck("idem_key", &left).Error)
			require.Equal(t, []string{"fresh-done", "fresh-running"}, left)

			clock.Advance(2 * time.Hour)
			n, err = s.Prune(context.Background())
			require.NoError(t, err)
			require.Equal(t, int64(2), n, "once past the TTL, they go too")
		})
	}
}
