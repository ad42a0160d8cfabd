// Package app wires Bazaar together: it opens each module's database, builds
// the modules on each other's contracts, and serves them over HTTP. It is the
// only package that knows every module's implementation.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/internal/auth"
	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/migrations"
	cataloguesvc "github.com/bazaar-shop/bazaar/modules/catalogue/service"
	inventorysvc "github.com/bazaar-shop/bazaar/modules/inventory/service"
	"github.com/bazaar-shop/bazaar/modules/payment/sandbox"
	paymentsvc "github.com/bazaar-shop/bazaar/modules/payment/service"
)

// App is a wired Bazaar process.
type App struct {
	cfg       config.Config
	log       *slog.Logger
	dbs       map[string]*database.DB
	keys      *auth.Keys
	catalogue *cataloguesvc.Service
	inventory *inventorysvc.Service
	payment   *paymentsvc.Service
	workers   sync.WaitGroup
}

// Now is the clock of every module: UTC, at the microsecond precision that
// both SQLite and PostgreSQL keep, so a value read back equals the one written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// New opens and migrates every database and builds the modules.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	if missing := missingModules(cfg.Modules.Serve); len(missing) > 0 {
		return nil, fmt.Errorf("modules.serve: this build runs the whole shop in one process; it cannot leave out %v yet", missing)
	}
	a := &App{cfg: cfg, log: log, dbs: map[string]*database.DB{}}
	for _, name := range append([]string{"auth"}, config.Modules...) {
		db, err := openMigrated(ctx, name, cfg.DSN(name))
		if err != nil {
			a.Close()
			return nil, err
		}
		a.dbs[name] = db
	}
	a.keys = auth.New(a.dbs["auth"].DB, cfg.AdminKey, Now)
	a.catalogue = cataloguesvc.New(a.dbs["catalogue"].DB, Now)
	a.inventory = inventorysvc.New(a.dbs["inventory"].DB, a.catalogue, cfg.Inventory.ReservationTTL, Now)
	a.payment = paymentsvc.New(a.dbs["payment"].DB, a.catalogue, a.inventory, sandbox.New(), Now,
		log.With("module", "payment"))
	return a, nil
}

func missingModules(serve []string) []string {
	var missing []string
	for _, m := range config.Modules {
		if !slices.Contains(serve, m) {
			missing = append(missing, m)
		}
	}
	return missing
}

// openMigrated opens a module's database and applies its migrations.
func openMigrated(ctx context.Context, module, dsn string) (*database.DB, error) {
	db, err := database.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("%s database: %w", module, err)
	}
	fsys, err := migrations.For(module)
	if err == nil {
		err = db.MigrateUp(ctx, module, fsys)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// Start makes sure an admin key exists, resolves payments a crash left
// pending, and starts the background work, which stops when ctx ends.
func (a *App) Start(ctx context.Context) error {
	if err := a.keys.EnsureAdmin(ctx, a.log); err != nil {
		return err
	}
	// Payments pending from before this start can have no checkout running
	// in this process any more: resolve them now rather than after the
	// usual grace period.
	if n, err := a.payment.ResolvePending(ctx, Now()); err != nil {
		a.log.Error("resolve payments left pending", "err", err)
	} else if n > 0 {
		a.log.Info("resolved payments left pending by an earlier run", "count", n)
	}
	a.goWork(func() {
		a.inventory.RunExpiry(ctx, a.cfg.Inventory.ExpiryInterval, a.log.With("module", "inventory"))
	})
	a.goWork(func() {
		a.payment.RunRecovery(ctx, a.cfg.Payment.RecoveryInterval, a.cfg.Payment.RecoverAfter)
	})
	return nil
}

func (a *App) goWork(f func()) {
	a.workers.Add(1)
	go func() {
		defer a.workers.Done()
		f()
	}()
}

// Ready pings every database and returns the failures by module.
func (a *App) Ready(ctx context.Context) map[string]error {
	out := map[string]error{}
	for name, db := range a.dbs {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		out[name] = db.Ping(ctx)
		cancel()
	}
	return out
}

// Close waits for the background work (stopped by its context) and closes
// the databases.
func (a *App) Close() error {
	a.workers.Wait()
	var errList []error
	for name, db := range a.dbs {
		if err := db.Close(); err != nil {
			errList = append(errList, fmt.Errorf("close %s database: %w", name, err))
		}
	}
	return errors.Join(errList...)
}
