package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// kept is the ledger of a run that kept every invariant: 3 units of a and
// 1 of b sold out of 10 each.
func kept() Ledger {
	return Ledger{
		Seeded:     map[string]int64{"prod_a": 10, "prod_b": 10, "prod_c": 10},
		Sold:       map[string]int64{"prod_a": 3, "prod_b": 1},
		Recorded:   map[string]int64{"prod_a": 3, "prod_b": 1},
		OnHand:     map[string]int64{"prod_a": 7, "prod_b": 9, "prod_c": 10},
		Reserved:   map[string]int64{"prod_a": 0, "prod_b": 0, "prod_c": 0},
		Checkouts:  5,
		Unanswered: 0,
		Backlog:    map[string]int64{"bazaar/catalogue": 0, "bazaar/payment": 0},
	}
}

func byName(invs []Invariant) map[string]Invariant {
	m := map[string]Invariant{}
	for _, inv := range invs {
		m[inv.Name] = inv
	}
	return m
}

func TestLedgerKept(t *testing.T) {
	invs := kept().Check()
	require.Len(t, invs, len(InvariantNames), "every invariant is reported")
	for i, inv := range invs {
		require.Equal(t, InvariantNames[i], inv.Name)
		require.True(t, inv.Passed, "%s: %s", inv.Name, inv.Detail)
	}
	require.Contains(t, byName(invs)[InvStockConserved].Detail, "4 units sold")
}

func TestLedgerBroken(t *testing.T) {
	for name, tc := range map[string]struct {
		breakIt func(*Ledger)
		broken  string
		want    string
	}{
		"a unit vanished": {func(l *Ledger) { l.OnHand["prod_b"] = 8 }, InvStockConserved,
			"prod_b: on hand 8 + sold 1 = 9, seeded 10"},
		"sold twice": {func(l *Ledger) { l.OnHand["prod_a"] = 6; l.Sold["prod_a"] = 3 }, InvStockConserved,
			"prod_a: on hand 6 + sold 3 = 9, seeded 10"},
		"a sale the layout did not record": {func(l *Ledger) { l.Recorded["prod_a"] = 2 }, InvSalesRecorded,
			"prod_a: the layout's succeeded payments hold 2 units, the bench saw 3 sold"},
		"a sale the bench never saw": {func(l *Ledger) { l.Recorded["prod_c"] = 1 }, InvSalesRecorded,
			"prod_c: the layout's succeeded payments hold 1 units, the bench saw 0 sold"},
		"stock left reserved": {func(l *Ledger) { l.Reserved["prod_c"] = 2 }, InvNothingReserved, "prod_c: 2 reserved"},
		"a checkout unanswered": {func(l *Ledger) { l.Unanswered = 1 }, InvCheckoutsAnswered,
			"1 of 5 checkouts got no answer"},
		"events left behind": {func(l *Ledger) { l.Backlog["bazaar/payment"] = 7 }, InvEventsRelayed,
			"bazaar/payment: 7 events"},
	} {
		t.Run(name, func(t *testing.T) {
			l := kept()
			tc.breakIt(&l)
			for _, inv := range l.Check() {
				if inv.Name == tc.broken {
					require.False(t, inv.Passed)
					require.Contains(t, inv.Detail, tc.want)
				} else {
					require.True(t, inv.Passed, "only %s breaks, not %s: %s", tc.broken, inv.Name, inv.Detail)
				}
			}
		})
	}
}

// A layout whose processes show no outbox backlog (metrics elsewhere) is
// not judged on it: the invariant is left out, not passed.
func TestLedgerWithoutBacklog(t *testing.T) {
	l := kept()
	l.Backlog = nil
	invs := l.Check()
	require.Len(t, invs, len(InvariantNames)-1)
	require.NotContains(t, byName(invs), InvEventsRelayed)
}

// backlogOf reads the gauge off each process's /metrics, and finds none
// where /metrics is not served.
func TestBacklogOf(t *testing.T) {
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/metrics", r.URL.Path)
		fmt.Fprint(w, "# TYPE bazaar_outbox_backlog gauge\n"+
			"bazaar_outbox_backlog{module=\"catalogue\"} 0\nbazaar_outbox_backlog{module=\"payment\"} 3\n"+
			"# TYPE other gauge\nother 1\n")
	}))
	defer metrics.Close()
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()

	got, err := backlogOf(context.Background(), map[string]string{"bazaar": metrics.URL, "gateway": none.URL}, 0)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"bazaar/catalogue": 0, "bazaar/payment": 3}, got)
	got, err = backlogOf(context.Background(), map[string]string{"gateway": none.URL}, 0)
	require.NoError(t, err)
	require.Nil(t, got)
}

// TestLedgerBrokenEverywhere: a long list of broken products is cut short,
// in a stable order.
func TestLedgerBrokenEverywhere(t *testing.T) {
	l := Ledger{Seeded: map[string]int64{}, OnHand: map[string]int64{}}
	for _, p := range []string{"p5", "p1", "p4", "p2", "p3"} {
		l.Seeded[p] = 10
	}
	inv := byName(l.Check())[InvStockConserved]
	require.False(t, inv.Passed)
	require.Equal(t, "5 products: p1: on hand 0 + sold 0 = 0, seeded 10; p2: on hand 0 + sold 0 = 0, seeded 10; "+
		"p3: on hand 0 + sold 0 = 0, seeded 10; and 2 more", inv.Detail)
}
