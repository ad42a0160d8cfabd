package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/internal/testdb"
)

// collect is a Publish that keeps what it was given, in order.
type collect struct {
	mu     sync.Mutex
	events []outbox.Event
}

func (c *collect) publish(_ context.Context, events []outbox.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, events...)
	return nil
}

// relayAll relays until the outbox is empty.
func relayAll(t *testing.T, db *gorm.DB, c *collect) {
	t.Helper()
	for {
		n, err := outbox.Relay(context.Background(), db, c.publish)
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
}

// Events recorded at once by many transactions count each resource's
// events 1, 2, 3 … in commit order, with no gap and no repeat, on both
// engines; and they are relayed in that order.
func TestSequencePerResource(t *testing.T) {
	t.Parallel()
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			db := engine.Open(t, "inventory").DB
			const resources, each = 4, 25
			var g errgroup.Group
			for w := range resources * 2 { // two writers per resource
				g.Go(func() error {
					for i := range each {
						err := database.Transaction(context.Background(), db, "test", func(tx *gorm.DB) error {
							return outbox.Record(tx, "inventory.adjusted", fmt.Sprintf("stock:%d", w%resources),
								map[string]int{"writer": w, "i": i}, time.Now().UTC())
						})
						if err != nil {
							return err
						}
					}
					return nil
				})
			}
			require.NoError(t, g.Wait())

			var c collect
			relayAll(t, db, &c)
			require.Len(t, c.events, resources*2*each)
			next := map[string]int64{}
			for _, e := range c.events {
				next[e.Resource]++
				require.Equal(t, next[e.Resource], e.Sequence, "%s: its events in order, none missing", e.Resource)
			}
			require.Len(t, next, resources)
		})
	}
}

// A resource's earlier event whose created_at is later — taken before its
// transaction waited for the resource — and so lies past the end of the
// page, is fetched and relayed before the later ones.
func TestRelayFetchesAnEarlierEventPastThePage(t *testing.T) {
	t.Parallel()
	db := testdb.Engines()[0].Open(t, "inventory").DB
	base := time.Now().UTC()
	record := func(resource string, at time.Time) {
		require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
			return outbox.Record(tx, "inventory.adjusted", resource, map[string]string{}, at)
		}))
	}
	record("stock:late", base.Add(time.Hour)) // sequence 1, read last
	for i := range outbox.RelayPage + 10 {
		record(fmt.Sprintf("stock:%d", i), base.Add(time.Duration(i)*time.Millisecond))
	}
	record("stock:late", base.Add(-time.Millisecond)) // sequence 2, read first

	var c collect
	n, err := outbox.Relay(context.Background(), db, c.publish)
	require.NoError(t, err)
	require.Equal(t, "stock:late", c.events[0].Resource)
	require.Equal(t, int64(1), c.events[0].Sequence, "the earlier event comes first, from past the page")
	require.Equal(t, int64(2), c.events[1].Sequence)
	require.Equal(t, outbox.RelayPage+1, n, "the page and the event fetched for it")
	relayAll(t, db, &c)
	require.Len(t, c.events, outbox.RelayPage+12)
	backlog, err := outbox.Backlog(context.Background(), db)
	require.NoError(t, err)
	require.Zero(t, backlog)
}
