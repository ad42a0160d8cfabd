package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"golang.org/x/sync/errgroup"
)

// seedWorkers is how many products are created at once: enough to keep a
// layout busy, few enough not to look like the load itself.
const seedWorkers = 16

// catalogue is what the workload knows of the shop: the seeded products,
// the words their names are made of (the list op searches for them) and
// how much stock each got.
type catalogue struct {
	ids   []string
	words []string
	stock int64
}

// Product names are an adjective, a noun and a number, so a search for a
// word matches about one product in eight.
var (
	adjectives = []string{"blue", "oak", "linen", "steel", "paper", "glass", "wool", "copper"}
	nouns      = []string{"mug", "lamp", "chair", "notebook", "scarf", "bowl", "kettle", "pen"}
)

// seed creates n products (SKUs unique to this run, so a running shop's
// own products are never touched) and sets stock on hand for each.
func seed(ctx context.Context, c *client, n int, stock int64, run string) (catalogue, error) {
	cat := catalogue{ids: make([]string, n), words: append(append([]string{}, adjectives...), nouns...), stock: stock}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(seedWorkers)
	for i := range n {
		g.Go(func() error {
			id, err := seedOne(ctx, c, i, stock, run)
			cat.ids[i] = id
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return catalogue{}, fmt.Errorf("seed: %w", err)
	}
	return cat, nil
}

func seedOne(ctx context.Context, c *client, i int, stock int64, run string) (string, error) {
	body, err := json.Marshal(map[string]any{
		"sku":         fmt.Sprintf("BENCH-%s-%05d", run, i),
		"name":        fmt.Sprintf("%s %s %d", adjectives[i%len(adjectives)], nouns[i/len(adjectives)%len(nouns)], i),
		"description": "seeded by bazaar bench",
		"price":       100 + (i*37)%9900, // minor units: 1.00 to 99.99
		"currency":    "EUR",
	})
	if err != nil {
		return "", err
	}
	out, err := c.call(ctx, request{method: "POST", path: "/v1/products", body: body, auth: true}, 201)
	if err != nil {
		return "", err
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &p); err != nil || p.ID == "" {
		return "", fmt.Errorf("POST /v1/products: no product id in %s", truncate(out, 200))
	}
	set := []byte(`{"on_hand":` + strconv.FormatInt(stock, 10) + `}`)
	if _, err := c.call(ctx, request{method: "PUT", path: "/v1/inventory/" + p.ID, body: set, auth: true}, 200); err != nil {
		return "", err
	}
	return p.ID, nil
}
