package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/console"
	"github.com/bazaar-shop/bazaar/internal/faults"
	"github.com/bazaar-shop/bazaar/internal/topology"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
)

// Paths the console reads on every process of the layout, with the
// service token.
const (
	topologyPath        = "/v1/topology"
	internalMetricsPath = "/internal/v1/metrics"
	internalTracesPath  = "/internal/v1/traces"
)

// newConsole is the console of an edge: it reads this process directly and
// every process of the modules it reaches elsewhere over the network.
func (a *App) newConsole() *console.Console {
	client := &http.Client{Timeout: 3 * time.Second}
	return console.New(console.Deps{
		Keys: a.keys, Stock: a.stockLevels, Hooks: a.hooks, Key: a.secret, Now: time.Now, Log: a.log,
		SetFaults: func(ctx context.Context, m modules.Module, s faults.Spec) ([]string, error) {
			applied, err := a.applyFaults(ctx, m, s)
			var refused []string
			for _, p := range applied.Processes {
				if !p.Applied {
					refused = append(refused, p.URL+": "+p.Detail)
				}
			}
			return refused, err
		},
		Sources: func(ctx context.Context) []console.Source {
			here := console.Source{
				Name:     "this process",
				Topology: func(ctx context.Context) (topology.Topology, error) { return a.Topology(ctx), nil },
				Metrics:  func(context.Context) ([]*dto.MetricFamily, error) { return a.metrics.Gather() },
				Traces:   func(context.Context) ([]console.Span, error) { return a.spans.Spans(), nil },
			}
			sources := []console.Source{here}
			for _, peer := range a.peers() {
				sources = append(sources, a.remoteSource(client, peer))
			}
			return sources
		},
	})
}

// remoteSource reads another process of the layout.
func (a *App) remoteSource(client *http.Client, base string) console.Source {
	get := func(ctx context.Context, path string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set(auth.ServiceTokenHeader, a.cfg.ServiceToken)
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return resp, nil
	}
	return console.Source{
		Name: base,
		Topology: func(ctx context.Context) (topology.Topology, error) {
			var t topology.Topology
			resp, err := get(ctx, topologyPath)
			if err != nil {
				return t, err
			}
			defer resp.Body.Close()
			return t, json.NewDecoder(resp.Body).Decode(&t)
		},
		Metrics: func(ctx context.Context) ([]*dto.MetricFamily, error) {
			resp, err := get(ctx, internalMetricsPath)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			parser := expfmt.NewTextParser(model.UTF8Validation)
			families, err := parser.TextToMetricFamilies(resp.Body)
			var out []*dto.MetricFamily
			for _, f := range families {
				out = append(out, f)
			}
			return out, err
		},
		Traces: func(ctx context.Context) ([]console.Span, error) {
			var spans []console.Span
			resp, err := get(ctx, internalTracesPath)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			return spans, json.NewDecoder(resp.Body).Decode(&spans)
		},
	}
}

// internalRoutes are what the console of an edge reads of this process.
func (a *App) internalRoutes() []web.Route {
	return []web.Route{
		{Method: http.MethodGet, Path: internalMetricsPath, Access: web.Internal, Handler: func(c *gin.Context) {
			a.metrics.Handler().ServeHTTP(c.Writer, c.Request)
		}},
		{Method: http.MethodGet, Path: internalTracesPath, Access: web.Internal, Handler: func(c *gin.Context) {
			c.JSON(http.StatusOK, a.spans.Spans())
		}},
	}
}

// stockShown is how many products the console lists.
const stockShown = 50

// stockLevels lists the stock of the catalogue's first products, the
// lowest first: what needs restocking.
func (a *App) stockLevels(ctx context.Context) ([]console.Stock, error) {
	if a.catalogue == nil || a.inventory == nil {
		return nil, nil
	}
	page, err := a.catalogue.List(ctx, catalogue.ListQuery{Limit: stockShown})
	if err != nil {
		return nil, err
	}
	out := make([]console.Stock, len(page.Data))
	var wg sync.WaitGroup
	for i, p := range page.Data {
		out[i] = console.Stock{ID: p.ID, Name: p.Name}
		wg.Go(func() {
			if l, err := a.inventory.Get(ctx, p.ID); err == nil {
				out[i].OnHand, out[i].Reserved, out[i].Available, out[i].Known = l.OnHand, l.Reserved, l.Available, true
				out[i].Low = l.Available <= a.cfg.Inventory.LowStockThreshold
			}
		})
	}
	wg.Wait()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Known && (!out[j].Known || out[i].Available < out[j].Available) })
	return out, nil
}

// hooks lists the webhook endpoints, each with its five latest deliveries.
func (a *App) hooks(ctx context.Context) ([]console.Hook, error) {
	if a.webhooks == nil {
		return nil, nil
	}
	endpoints, err := a.webhooks.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []console.Hook
	for _, e := range endpoints {
		h := console.Hook{URL: e.URL, Events: e.Events}
		deliveries, err := a.webhooks.Deliveries(ctx, e.ID)
		if err != nil {
			return out, err
		}
		for _, d := range deliveries[:min(len(deliveries), 5)] {
			h.Deliveries = append(h.Deliveries, console.Delivery{EventType: d.EventType, Status: d.Status,
				Attempts: d.Attempts, CreatedAt: d.CreatedAt})
		}
		out = append(out, h)
	}
	return out, nil
}
