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
	"github.com/bazaar-shop/bazaar/internal/faults"
	"github.com/bazaar-shop/bazaar/internal/idempotency"
	"github.com/bazaar-shop/bazaar/internal/identity"
	"github.com/bazaar-shop/bazaar/internal/metrics"
	"github.com/bazaar-shop/bazaar/internal/outbox"
	"github.com/bazaar-shop/bazaar/internal/remote"
	"github.com/bazaar-shop/bazaar/internal/topology"
	"github.com/bazaar-shop/bazaar/internal/tracing"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/migrations"
	"github.com/bazaar-shop/bazaar/modules"
	"github.com/bazaar-shop/bazaar/modules/catalogue"
	cataloguehttp "github.com/bazaar-shop/bazaar/modules/catalogue/httpapi"
	"github.com/bazaar-shop/bazaar/modules/inventory"
	"github.com/bazaar-shop/bazaar/modules/payment"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
)

// App is a wired Bazaar process.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	dbs     map[string]*database.DB           // "auth" at an edge, and the hosted modules
	remotes map[modules.Module]*remote.Module // the modules hosted elsewhere
	keys    *auth.Keys
	metrics *metrics.Metrics
	traces  *sdktrace.TracerProvider
	tracer  trace.Tracer
	spans   *tracing.Recent // the latest recorded spans, for the console
	secret  []byte          // signs the sessions of shoppers and of the console

	// Each module as the others see it: the local service or a client.
	catalogue catalogue.Service
	inventory inventory.Service
	payment   payment.Service
	webhooks  webhooks.Service
	// catalogueEdge answers the public product reads of a process that
	// forwards the catalogue, and speaks for its callers (catalogueSeen);
	// nil when the catalogue is here or edge_cache is off.
	catalogueEdge *cataloguehttp.Client

	routes  map[modules.Module]moduleRoutes
	starts  []func(context.Context)     // the hosted modules' start-up work, run by Start in turn
	work    []func(ctx context.Context) // their background work, run by Start until ctx ends
	workers sync.WaitGroup
	wired   map[modules.Module]wiredModule // the modules served in memory

	faults        *faults.Injector // faults made on purpose in calls to each module
	remoteOptions remote.Options   // how every call over the wire is made
}

// moduleRoutes are a module's route tables: the public API, served or
// forwarded by every process, and the module-to-module routes, served only
// where it runs.
type moduleRoutes struct {
	public, internal []web.Route
	// forwarded, when set, is what serves the public routes in a process
	// that forwards the module, in place of forwarding every one: the
	// catalogue's reads, answered from a cache kept here.
	forwarded []web.Route
}

// Now is the clock of every module: UTC, at the microsecond precision that
// both SQLite and PostgreSQL keep, so a value read back equals the one written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// New opens and migrates the databases of the modules this process hosts
// and builds every module, local or remote.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log, dbs: map[string]*database.DB{}, remotes: map[modules.Module]*remote.Module{},
		metrics: metrics.New(), routes: map[modules.Module]moduleRoutes{}, wired: map[modules.Module]wiredModule{}}
	a.spans = tracing.NewRecent()
	traces, err := tracing.New(ctx, cfg.Tracing.Exporter, cfg.Tracing.Endpoint, "bazaar "+serviceName(cfg), os.Stdout, a.spans)
	if err != nil {
		return nil, err
	}
	if a.secret, err = sessionKey(cfg); err != nil {
		return nil, err
	}
	a.traces, a.tracer = traces, traces.Tracer("github.com/bazaar-shop/bazaar")
	specs := map[string]faults.Spec{}
	for _, m := range modules.All() {
		specs[string(m)] = cfg.Modules.Each[m].Faults()
	}
	a.faults = faults.New(specs)
	client := remote.NewClient()
	a.remoteOptions = remote.Options{
		Timeout: cfg.Remote.Timeout, ForwardTimeout: cfg.Remote.ForwardTimeout, Retries: cfg.Remote.Retries,
		BreakerFailures: cfg.Remote.BreakerFailures, BreakerCooldown: cfg.Remote.BreakerCooldown,
		ServiceToken: cfg.ServiceToken, Tracer: a.tracer, Faults: a.faults, Retried: a.metrics.Retry,
	}
	if a.remoteOptions.ServiceToken == "" && slices.ContainsFunc(modules.All(), cfg.Wire) {
		a.remoteOptions.ServiceToken = wireToken()
	}
	if token := a.remoteOptions.ServiceToken; token != "" {
		a.remoteOptions.Signer = identity.NewSigner(token, time.Now)
	}
	for _, m := range modules.All() {
		if urls := cfg.URLs(m); !cfg.Hosts(m) && len(urls) > 0 {
			if err := resolvable(ctx, urls, startupWait); err != nil {
				a.Close()
				return nil, fmt.Errorf("%s: %w", config.Setting("modules."+string(m)+".url"), err)
			}
			a.remotes[m] = remote.New(string(m), urls, client, a.remoteOptions)
		}
	}
	for _, owner := range config.Owners() {
		if owner == "auth" && !cfg.Edge() || owner != "auth" && !cfg.Hosts(modules.Module(owner)) {
			continue // a module process trusts the callers its edge asserts; another process opens the rest
		}
		db, err := openMigrated(ctx, owner, cfg.DSN(owner), database.Synchronous(cfg.SQLite.Synchronous))
		if err != nil {
			a.Close()
			return nil, err
		}
		a.dbs[owner] = db
	}
	if cfg.Hosts(modules.Payment) {
		db, err := openMigrated(ctx, sandboxDB, cfg.SandboxDSN(), database.Synchronous(cfg.SQLite.Synchronous))
		if err != nil {
			a.Close()
			return nil, err
		}
		a.dbs[sandboxDB] = db
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
		a.metrics.Breaker(string(name), func() bool { return m.BreakerState() == "open" })
	}
	var keyDB *gorm.DB // nil: not an edge
	if db, ok := a.dbs["auth"]; ok {
		keyDB = db.DB
	}
	a.keys = auth.New(keyDB, cfg.AdminKey, cfg.ServiceToken, Now).
		WithLimits(auth.NewLimits("key", cfg.RateLimit.RPS, cfg.RateLimit.Burst),
			auth.NewLimits("address", cfg.RateLimit.AnonymousRPS, cfg.RateLimit.AnonymousBurst))

	// Each module is its service here or its client of where it runs, a
	// module after those it calls (catalogue.go, inventory.go, …). One
	// neither hosted nor reachable stays nil: config validation made sure
	// no hosted module needs it.
	a.wireCatalogue()
	a.wireInventory()
	a.wirePayment()
	a.wireWebhooks()
	a.wireStorefront()
	a.gauges()
	return a, nil
}

// retentionInterval is how often what outlived its retention is pruned.
const retentionInterval = 10 * time.Minute

// db is the database of a module hosted here.
func (a *App) db(m modules.Module) *gorm.DB { return a.dbs[string(m)].DB }

// serviceName names the process in traces by the modules it hosts.
func serviceName(cfg config.Config) string {
	switch {
	case len(cfg.Modules.Serve) == 0:
		return "gateway"
	case cfg.Monolith():
		return "monolith"
	}
	return strings.ReplaceAll(modules.List(cfg.Modules.Serve), ",", "+")
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
	for _, m := range modules.All() {
		if !a.cfg.Hosts(m) || m == modules.Webhooks || !m.Stores() {
			continue
		}
		db, publish, log := a.db(m), a.publish(m), a.log.With("module", m, "component", "relay")
		a.goWork(func() { outbox.RunRelay(ctx, db, a.cfg.Webhooks.PollInterval, publish, log) })
	}
	// Keys remembered past their TTL are of no use: each module that takes
	// them prunes its own.
	for _, m := range modules.All() {
		if !a.cfg.Hosts(m) || !m.Stores() || !slices.ContainsFunc(a.routes[m].public, func(rt web.Route) bool { return rt.Idempotent }) {
			continue
		}
		keys, log := idempotency.New(a.db(m), Now, a.cfg.Idempotency.TTL, a.cfg.Idempotency.Lease), a.log.With("module", m)
		a.goWork(func() { keys.RunPruning(ctx, retentionInterval, log) })
	}
	for _, start := range a.starts {
		start(ctx)
	}
	for _, work := range a.work {
		a.goWork(func() { work(ctx) })
	}
	return nil
}

// publish hands a module's outbox events to the webhooks module, as a
// module call of caller like any other: counted, timed, local or remote.
func (a *App) publish(caller modules.Module) outbox.Publish {
	hooks, c := a.webhooks, a.calls(caller, modules.Webhooks)
	return func(ctx context.Context, events []outbox.Event) error {
		out := make([]webhooks.Event, len(events))
		for i, e := range events {
			out[i] = webhooks.Event{ID: e.ID, Type: e.Type, Resource: e.Resource, Sequence: e.Sequence,
				Data: e.Data, CreatedAt: e.CreatedAt}
		}
		return observeErr(ctx, c, modules.Webhooks, "Publish", func(ctx context.Context) error { return hooks.Publish(ctx, out) })
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
			out[string(name)] = m.Ready()
		}
	}
	return out
}

// Close waits for the background work (stopped by its context) and closes
// the databases.
func (a *App) Close() error {
	a.workers.Wait()
	var errList []error
	for _, w := range a.wired {
		errList = append(errList, w.srv.Close())
	}
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

// peers lists the other processes of the layout this one reaches: each
// replica of each module that runs elsewhere, once (one process may host
// several modules).
func (a *App) peers() []string {
	var out []string
	for _, m := range modules.All() {
		r, ok := a.remotes[m]
		if !ok || a.cfg.Wire(m) {
			continue // not a module elsewhere, or this very process
		}
		for _, url := range r.URLs() {
			if !slices.Contains(out, url) {
				out = append(out, url)
			}
		}
	}
	return out
}

// Topology asks every module now.
func (a *App) Topology(ctx context.Context) topology.Topology {
	t := topology.Topology{Hosts: strings.Split(modules.List(a.cfg.Modules.Serve), ","), APIKeys: "edge", Modules: map[string]topology.Location{}}
	if len(a.cfg.Modules.Serve) == 0 {
		t.Hosts = []string{}
	}
	if a.keys.Edge() {
		t.APIKeys = "local"
	}
	for _, m := range modules.All() {
		name := string(m)
		if !a.cfg.Hosts(m) && a.remotes[m] == nil {
			t.Modules[name] = topology.Location{Mode: topology.Unreachable}
			continue
		}
		if r, ok := a.remotes[m]; ok {
			reps := r.Replicas(ctx)
			loc := topology.Location{Mode: topology.Remote, Replicas: reps, Breaker: r.BreakerState(), Faults: a.faultsOf(m)}
			if a.cfg.Wire(m) {
				loc.Mode, loc.Wire = topology.Local, true
			}
			loc.CachedReads = a.routes[m].forwarded != nil
			for _, r := range reps {
				loc.Ready = loc.Ready || r.Healthy
			}
			t.Modules[name] = loc
			continue
		}
		loc := topology.Location{Mode: topology.Local, Ready: true, Faults: a.faultsOf(m)}
		if db, ok := a.dbs[name]; ok {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			loc.Ready = db.Ping(pctx) == nil
			cancel()
		}
		t.Modules[name] = loc
	}
	return t
}
