// Package app wires Bazaar together. For each module it decides, from the
// config, whether this process hosts it (its database, its service, its
// routes) or reaches it elsewhere (an HTTP client of the same interface, and
// a forwarder for its public routes). It is the only package that knows
// every module's implementation.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/identity"
	"github.com/bazaar-shop/bazaar/internal/metrics"
	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/tracing"
	"github.com/bazaar-shop/bazaar/migrations"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	cataloguehttp "github.com/bazaar-shop/bazaar/modules/catalogue/httpapi"
	cataloguesvc "github.com/bazaar-shop/bazaar/modules/catalogue/service"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	inventoryhttp "github.com/bazaar-shop/bazaar/modules/inventory/httpapi"
	inventorysvc "github.com/bazaar-shop/bazaar/modules/inventory/service"
	"github.com/bazaar-shop/bazaar/modules/payment"
	paymenthttp "github.com/bazaar-shop/bazaar/modules/payment/httpapi"
	"github.com/bazaar-shop/bazaar/modules/payment/sandbox"
	paymentsvc "github.com/bazaar-shop/bazaar/modules/payment/service"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
	webhookshttp "github.com/bazaar-shop/bazaar/modules/webhooks/httpapi"
	webhookssvc "github.com/bazaar-shop/bazaar/modules/webhooks/service"
)

// App is a wired Bazaar process.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	dbs     map[string]*database.DB   // "auth" at an edge, and the hosted modules
	remotes map[string]*remote.Module // the modules hosted elsewhere
	keys    *auth.Keys
	metrics *metrics.Metrics
	traces  *sdktrace.TracerProvider
	tracer  trace.Tracer

	// Each module as the others see it: the local service or a client.
	catalogue catalogue.Service
	inventory inventory.Service
	payment   payment.Service
	webhooks  webhooks.Service

	// The services hosted here, for their background work and gauges.
	hostedInventory *inventorysvc.Service
	hostedPayment   *paymentsvc.Service
	hostedWebhooks  *webhookssvc.Service

	workers sync.WaitGroup
}

// Now is the clock of every module: UTC, at the microsecond precision that
// both SQLite and PostgreSQL keep, so a value read back equals the one written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// New opens and migrates the databases of the modules this process hosts
// and builds every module, local or remote.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log, dbs: map[string]*database.DB{}, remotes: map[string]*remote.Module{},
		metrics: metrics.New()}
	traces, err := tracing.New(ctx, cfg.Tracing.Exporter, cfg.Tracing.Endpoint, "bazaar "+serviceName(cfg), os.Stdout)
	if err != nil {
		return nil, err
	}
	a.traces, a.tracer = traces, traces.Tracer("github.com/bazaar-shop/bazaar")
	client := remote.NewClient()
	opts := remote.Options{
		Timeout: cfg.Remote.Timeout, Retries: cfg.Remote.Retries,
		BreakerFailures: cfg.Remote.BreakerFailures, BreakerCooldown: cfg.Remote.BreakerCooldown,
		ServiceToken: cfg.ServiceToken, Tracer: a.tracer,
	}
	if cfg.ServiceToken != "" {
		opts.Signer = identity.NewSigner(cfg.ServiceToken, time.Now)
	}
	for _, name := range append([]string{"auth"}, config.Modules()...) {
		if name == "auth" && !cfg.Edge() {
			continue // a module process trusts the callers its edge asserts
		}
		if slices.Contains(config.Modules(), name) && !cfg.Hosts(name) {
			if urls := cfg.URLs(name); len(urls) > 0 {
				if err := resolvable(ctx, urls, startupWait); err != nil {
					a.Close()
					return nil, fmt.Errorf("%s: %w", config.Setting("modules."+name+".url"), err)
				}
				a.remotes[name] = remote.New(name, urls, client, opts)
			}
			continue
		}
		db, err := openMigrated(ctx, name, cfg.DSN(name), database.Synchronous(cfg.SQLite.Synchronous))
		if err != nil {
			a.Close()
			return nil, err
		}
		a.dbs[name] = db
	}
	for name, db := range a.dbs {
		if db.Kind == database.SQLite {
			a.metrics.Writes(name, db.Writes)
		}
		for role, pool := range db.Pools() {
			if role == "write" {
				a.metrics.Database(name, pool) // the pool that does both on PostgreSQL
			} else {
				a.metrics.Database(name+"_"+role, pool)
			}
		}
	}
	for name, m := range a.remotes {
		a.metrics.Breaker(name, func() bool { return m.BreakerState() == "open" })
	}
	var keyDB *gorm.DB // nil: not an edge
	if db, ok := a.dbs["auth"]; ok {
		keyDB = db.DB
	}
	a.keys = auth.New(keyDB, cfg.AdminKey, cfg.ServiceToken, Now).
		WithLimits(auth.NewLimits(cfg.RateLimit.RPS, cfg.RateLimit.Burst))

	// A module that is neither hosted nor reachable stays nil: config
	// validation made sure no hosted module needs it.
	switch {
	case cfg.Hosts("catalogue"):
		a.catalogue = cataloguesvc.New(a.dbs["catalogue"].DB, Now).WithCache(cfg.Catalogue.CacheTTL, cfg.Catalogue.CacheCheck)
	case a.remotes["catalogue"] != nil:
		a.catalogue = cataloguehttp.NewClient(a.remotes["catalogue"])
	}
	switch {
	case cfg.Hosts("inventory"):
		a.hostedInventory = inventorysvc.New(a.dbs["inventory"].DB, a.catalogueFor("inventory"), cfg.Inventory.ReservationTTL,
			cfg.Inventory.LowStockThreshold, Now)
		a.inventory = a.hostedInventory
	case a.remotes["inventory"] != nil:
		a.inventory = inventoryhttp.NewClient(a.remotes["inventory"])
	}
	switch {
	case cfg.Hosts("payment"):
		a.hostedPayment = paymentsvc.New(a.dbs["payment"].DB, a.catalogueFor("payment"), a.inventoryFor("payment"), sandbox.New(), Now,
			log.With("module", "payment"))
		a.payment = countedCheckouts{a.hostedPayment, a.metrics}
	case a.remotes["payment"] != nil:
		a.payment = paymenthttp.NewClient(a.remotes["payment"])
	}
	switch {
	case cfg.Hosts("webhooks"):
		a.hostedWebhooks = webhookssvc.New(a.dbs["webhooks"].DB, webhookssvc.Options{
			AllowPrivate: cfg.Webhooks.AllowPrivate, Schedule: cfg.Webhooks.RetrySchedule,
			Timeout: cfg.Webhooks.Timeout, PollInterval: cfg.Webhooks.PollInterval, Retention: cfg.Webhooks.Retention,
		}, Now)
		a.webhooks = a.hostedWebhooks
	case a.remotes["webhooks"] != nil:
		a.webhooks = webhookshttp.NewClient(a.remotes["webhooks"])
	}
	a.gauges()
	return a, nil
}

// serviceName names the process in traces by the modules it hosts.
func serviceName(cfg config.Config) string {
	if len(cfg.Modules.Serve) == 0 {
		return "gateway"
	}
	return strings.Join(cfg.Modules.Serve, "+")
}

// openMigrated opens a module's database and applies its migrations.
func openMigrated(ctx context.Context, module, dsn string, opts ...database.Option) (*database.DB, error) {
	db, err := database.Open(ctx, dsn, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: the %s database does not open: %w", config.Setting(config.DSNKey(module)), module, err)
	}
	fsys, err := migrations.For(module)
	if err == nil {
		err = db.MigrateUp(ctx, module, fsys)
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: migrating the %s database: %w", config.Setting(config.DSNKey(module)), module, err)
	}
	return db, nil
}

// Start makes sure an admin key exists, resolves payments a crash left
// pending, and starts the background work, which stops when ctx ends.
func (a *App) Start(ctx context.Context) error {
	if err := a.keys.EnsureAdmin(ctx, a.log); err != nil {
		return err
	}
	for _, m := range a.remotes {
		a.goWork(func() { m.Watch(ctx, a.cfg.Remote.HealthInterval) })
	}
	// Each hosted module's events go from its outbox to webhooks, in-process
	// or over the network; the process that hosts webhooks sends them.
	for _, m := range config.Modules() {
		if !a.cfg.Hosts(m) || m == "webhooks" {
			continue
		}
		db, publish, log := a.dbs[m].DB, a.publish(m), a.log.With("module", m, "component", "relay")
		a.goWork(func() { outbox.RunRelay(ctx, db, a.cfg.Webhooks.PollInterval, publish, log) })
	}
	if a.hostedWebhooks != nil {
		a.goWork(func() { a.hostedWebhooks.Run(ctx, a.log.With("module", "webhooks")) })
	}
	if a.hostedInventory != nil {
		a.goWork(func() {
			a.hostedInventory.RunExpiry(ctx, a.cfg.Inventory.ExpiryInterval, a.log.With("module", "inventory"))
		})
	}
	if a.hostedPayment != nil {
		// Payments pending from before this start have no checkout running
		// in this process any more: resolve them now rather than after the
		// usual grace period.
		if n, err := a.hostedPayment.ResolvePending(ctx, Now()); err != nil {
			a.log.Error("resolve payments left pending", "err", err)
		} else if n > 0 {
			a.log.Info("resolved payments left pending by an earlier run", "count", n)
		}
		a.goWork(func() {
			a.hostedPayment.RunRecovery(ctx, a.cfg.Payment.RecoveryInterval, a.cfg.Payment.RecoverAfter)
		})
	}
	return nil
}

// publish hands a module's outbox events to the webhooks module, as a
// module call of caller like any other: counted, timed, local or remote.
func (a *App) publish(caller string) outbox.Publish {
	hooks, c := a.webhooks, call{a.metrics, a.tracer, caller, a.mode("webhooks")}
	return func(ctx context.Context, events []outbox.Event) error {
		out := make([]webhooks.Event, len(events))
		for i, e := range events {
			out[i] = webhooks.Event{ID: e.ID, Type: e.Type, Resource: e.Resource, Sequence: e.Sequence,
				Data: e.Data, CreatedAt: e.CreatedAt}
		}
		return observeErr(ctx, c, "webhooks", "Publish", func(ctx context.Context) error { return hooks.Publish(ctx, out) })
	}
}

func (a *App) goWork(f func()) {
	a.workers.Add(1)
	go func() {
		defer a.workers.Done()
		f()
	}()
}

// Ready checks every database of this process and, unless localOnly, every
// remote module it knows, and returns the failures by name. Peers probe
// with localOnly: two processes that call each other must not wait for
// each other to become ready.
func (a *App) Ready(ctx context.Context, localOnly bool) map[string]error {
	out := map[string]error{}
	for name, db := range a.dbs {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		out[name] = db.Ping(ctx)
		cancel()
	}
	if !localOnly {
		for name, m := range a.remotes {
			out[name] = m.Ready()
		}
	}
	return out
}

// Close waits for the background work (stopped by its context) and closes
// the databases.
func (a *App) Close() error {
	a.workers.Wait()
	var errList []error
	if a.traces != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errList = append(errList, a.traces.Shutdown(ctx)) // flush buffered spans
		cancel()
	}
	for name, db := range a.dbs {
		if err := db.Close(); err != nil {
			errList = append(errList, fmt.Errorf("close %s database: %w", name, err))
		}
	}
	return errors.Join(errList...)
}

// Topology is where each module runs, as seen from this process.
type Topology struct {
	Hosts []string `json:"hosts"`
	// APIKeys is "local" where this process checks API keys itself (an
	// edge), "edge" where it trusts the callers its gateway asserts.
	APIKeys string                    `json:"api_keys"`
	Modules map[string]ModuleLocation `json:"modules"`
}

// ModuleLocation is where one module runs and whether it answers.
type ModuleLocation struct {
	Mode     string           `json:"mode"` // local, remote, or unreachable (no URL known)
	Ready    bool             `json:"ready"`
	Replicas []remote.Replica `json:"replicas,omitempty"`
	Breaker  string           `json:"breaker,omitempty"`
}

// Topology asks every module now.
func (a *App) Topology(ctx context.Context) Topology {
	t := Topology{Hosts: a.cfg.Modules.Serve, APIKeys: "edge", Modules: map[string]ModuleLocation{}}
	if a.keys.Edge() {
		t.APIKeys = "local"
	}
	for _, name := range config.Modules() {
		if !a.cfg.Hosts(name) && a.remotes[name] == nil {
			t.Modules[name] = ModuleLocation{Mode: "unreachable"}
			continue
		}
		if m, ok := a.remotes[name]; ok {
			reps := m.Replicas(ctx)
			loc := ModuleLocation{Mode: "remote", Replicas: reps, Breaker: m.BreakerState()}
			for _, r := range reps {
				loc.Ready = loc.Ready || r.Healthy
			}
			t.Modules[name] = loc
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		t.Modules[name] = ModuleLocation{Mode: "local", Ready: a.dbs[name].Ping(pctx) == nil}
		cancel()
	}
	return t
}
