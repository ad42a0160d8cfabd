package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"
)

// Invariant is one correctness check at the end of a layout's run.
type Invariant struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	// Detail says what was checked, and on failure what broke where.
	Detail string `json:"detail"`
}

// The invariants a layout must keep under load.
const (
	// InvStockConserved: for every product, units on hand now plus units
	// in the checkouts the bench saw succeed equal the units seeded.
	InvStockConserved = "stock_conserved"
	// InvSalesRecorded: the units in the layout's succeeded payments
	// (GET /v1/payments?status=succeeded) are the units the bench saw sold.
	InvSalesRecorded = "sales_recorded"
	// InvNothingReserved: no unit is still reserved once every checkout
	// ended (after waiting at most --settle).
	InvNothingReserved = "nothing_reserved"
	// InvCheckoutsAnswered: every checkout sent got an HTTP answer, no
	// transport error or timeout.
	InvCheckoutsAnswered = "checkouts_answered"
	// InvEventsRelayed: every event the modules recorded left their
	// outboxes for the webhooks: bazaar_outbox_backlog is 0 on every
	// process (after waiting at most --settle). Not checked, and not
	// reported, when no process shows the gauge on its /metrics.
	InvEventsRelayed = "events_relayed"
	// InvariantMemoryFlat, in a soak: no process's resident memory kept
	// growing after the first quarter of the measured window.
	InvariantMemoryFlat = "memory_flat"
)

// InvariantNames lists the invariants of the ledger in the order reports
// show them; a soak's memory_flat follows.
var InvariantNames = []string{InvStockConserved, InvSalesRecorded, InvNothingReserved, InvCheckoutsAnswered,
	InvEventsRelayed}

// Ledger is what is known of a layout's stock and sales at the end of its
// run: what the bench did and saw, and what the layout says.
type Ledger struct {
	Seeded     map[string]int64 // product → units on hand after seeding
	Sold       map[string]int64 // product → units in checkouts the bench saw succeed
	Recorded   map[string]int64 // product → units in payments the layout lists as succeeded
	OnHand     map[string]int64 // product → on hand now
	Reserved   map[string]int64 // product → reserved now
	Checkouts  int64            // checkouts sent
	Unanswered int64            // checkouts without an HTTP answer
	// Backlog is, per process and module ("bazaar/payment"), the events
	// still in the module's outbox; nil when no process showed it.
	Backlog map[string]int64
}

// Check judges a ledger. Every invariant is reported, passed or not.
func (l Ledger) Check() []Invariant {
	products := make([]string, 0, len(l.Seeded))
	for p := range l.Seeded {
		products = append(products, p)
	}
	slices.Sort(products)

	var conserved, recorded, reserved []string
	var sold int64
	for _, p := range products {
		sold += l.Sold[p]
		if got := l.OnHand[p] + l.Sold[p]; got != l.Seeded[p] {
			conserved = append(conserved, fmt.Sprintf("%s: on hand %d + sold %d = %d, seeded %d", p, l.OnHand[p], l.Sold[p], got, l.Seeded[p]))
		}
		if l.Recorded[p] != l.Sold[p] {
			recorded = append(recorded, fmt.Sprintf("%s: the layout's succeeded payments hold %d units, the bench saw %d sold", p, l.Recorded[p], l.Sold[p]))
		}
		if l.Reserved[p] != 0 {
			reserved = append(reserved, fmt.Sprintf("%s: %d reserved", p, l.Reserved[p]))
		}
	}
	invs := []Invariant{
		judge(InvStockConserved, conserved, fmt.Sprintf("on hand + %d units sold = the stock seeded, for each of %d products", sold, len(products))),
		judge(InvSalesRecorded, recorded, fmt.Sprintf("the succeeded payments hold the %d units the bench saw sold", sold)),
		judge(InvNothingReserved, reserved, "no unit of any product is reserved after the run"),
		answered(l.Checkouts, l.Unanswered),
	}
	if l.Backlog != nil {
		invs = append(invs, relayed(l.Backlog))
	}
	return invs
}

func judge(name string, broken []string, ok string) Invariant {
	if len(broken) == 0 {
		return Invariant{Name: name, Passed: true, Detail: ok}
	}
	const show = 3
	detail := fmt.Sprintf("%d products: %s", len(broken), strings.Join(broken[:min(show, len(broken))], "; "))
	if len(broken) > show {
		detail += fmt.Sprintf("; and %d more", len(broken)-show)
	}
	return Invariant{Name: name, Detail: detail}
}

func answered(sent, unanswered int64) Invariant {
	if unanswered > 0 {
		return Invariant{Name: InvCheckoutsAnswered, Detail: fmt.Sprintf("%d of %d checkouts got no answer (transport error or timeout)", unanswered, sent)}
	}
	return Invariant{Name: InvCheckoutsAnswered, Passed: true, Detail: fmt.Sprintf("all %d checkouts were answered", sent)}
}

func relayed(backlog map[string]int64) Invariant {
	outboxes := slices.Sorted(maps.Keys(backlog))
	var left []string
	for _, o := range outboxes {
		if backlog[o] != 0 {
			left = append(left, fmt.Sprintf("%s: %d events", o, backlog[o]))
		}
	}
	if len(left) > 0 {
		return Invariant{Name: InvEventsRelayed, Detail: "events left in outboxes: " + strings.Join(left, "; ")}
	}
	return Invariant{Name: InvEventsRelayed, Passed: true,
		Detail: fmt.Sprintf("every outbox is empty (%s)", strings.Join(outboxes, ", "))}
}

// ledgerOf asks a layout for its side of the ledger: the stock of every
// seeded product, once nothing is reserved any more or settle has passed,
// and the units in its succeeded payments made since the run began.
func ledgerOf(ctx context.Context, c *client, cat catalogue, m *measurement, since time.Time, settle time.Duration) (Ledger, error) {
	l := Ledger{Seeded: map[string]int64{}, Sold: m.sold, Checkouts: m.checkouts, Unanswered: m.unanswered}
	for _, id := range cat.ids {
		l.Seeded[id] = cat.stock
	}
	deadline := time.Now().Add(settle)
	for {
		var err error
		l.OnHand, l.Reserved, err = stockOf(ctx, c, cat.ids)
		if err != nil {
			return Ledger{}, err
		}
		if !anyReserved(l.Reserved) || time.Now().After(deadline) {
			break
		}
		if !sleepUntil(ctx, time.Now().Add(500*time.Millisecond)) {
			return Ledger{}, ctx.Err()
		}
	}
	var err error
	l.Recorded, err = salesOf(ctx, c, l.Seeded, since)
	return l, err
}

func anyReserved(reserved map[string]int64) bool {
	for _, n := range reserved {
		if n != 0 {
			return true
		}
	}
	return false
}

// stockOf reads GET /v1/inventory/{id} of every product.
func stockOf(ctx context.Context, c *client, ids []string) (onHand, reserved map[string]int64, err error) {
	onHand, reserved = map[string]int64{}, map[string]int64{}
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(seedWorkers)
	for _, id := range ids {
		g.Go(func() error {
			out, err := c.call(ctx, request{method: "GET", path: "/v1/inventory/" + id, auth: true}, 200)
			if err != nil {
				return err
			}
			var s struct {
				OnHand   int64 `json:"on_hand"`
				Reserved int64 `json:"reserved"`
			}
			if err := json.Unmarshal(out, &s); err != nil {
				return fmt.Errorf("GET /v1/inventory/%s: %w", id, err)
			}
			mu.Lock()
			onHand[id], reserved[id] = s.OnHand, s.Reserved
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, fmt.Errorf("read stock: %w", err)
	}
	return onHand, reserved, nil
}

// salesOf pages through the layout's succeeded payments, newest first,
// and adds up the units of the given products. It stops at payments made
// before since (with a minute's slack for clocks): a running shop's
// history is not the bench's business.
func salesOf(ctx context.Context, c *client, products map[string]int64, since time.Time) (map[string]int64, error) {
	units := map[string]int64{}
	cursor := ""
	for {
		path := "/v1/payments?status=succeeded&limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		out, err := c.call(ctx, request{method: "GET", path: path, auth: true}, 200)
		if err != nil {
			return nil, fmt.Errorf("list payments: %w", err)
		}
		var page struct {
			Data []struct {
				CreatedAt time.Time `json:"created_at"`
				Items     []item    `json:"items"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(out, &page); err != nil {
			return nil, fmt.Errorf("list payments: %w", err)
		}
		for _, p := range page.Data {
			if p.CreatedAt.Before(since.Add(-time.Minute)) {
				return units, nil
			}
			for _, it := range p.Items {
				if _, ours := products[it.ProductID]; ours {
					units[it.ProductID] += it.Quantity
				}
			}
		}
		if page.NextCursor == "" {
			return units, nil
		}
		cursor = page.NextCursor
	}
}

// backlogOf reads bazaar_outbox_backlog from the /metrics of each process
// (name → base URL) until every outbox is empty or settle has passed. It
// returns nil when no process shows the gauge: its metrics are on another
// address, or it hosts no module (a gateway).
func backlogOf(ctx context.Context, procs map[string]string, settle time.Duration) (map[string]int64, error) {
	deadline := time.Now().Add(settle)
	for {
		backlog := map[string]int64{}
		for name, base := range procs {
			gauge, err := outboxGauge(ctx, base)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			for module, n := range gauge {
				backlog[name+"/"+module] = n
			}
		}
		if len(backlog) == 0 {
			return nil, nil
		}
		if relayed(backlog).Passed || time.Now().After(deadline) {
			return backlog, nil
		}
		if !sleepUntil(ctx, time.Now().Add(200*time.Millisecond)) {
			return nil, ctx.Err()
		}
	}
}

// outboxGauge returns bazaar_outbox_backlog by module from one process's
// /metrics; none when it has no /metrics there.
func outboxGauge(ctx context.Context, base string) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read /metrics: %w", err)
	}
	out := map[string]int64{}
	for _, m := range families["bazaar_outbox_backlog"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "module" {
				out[l.GetValue()] = int64(m.GetGauge().GetValue())
			}
		}
	}
	return out, nil
}
