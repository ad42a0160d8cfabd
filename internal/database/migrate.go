package database

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrator applies one module's versioned SQL migrations with goose. Each
// module keeps its own version table, so modules can share one PostgreSQL
// database without sharing a migration history.
func (d *DB) Migrator(module string, migrations fs.FS) (*goose.Provider, error) {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithTableName("goose_" + module)}
	dialect := goose.DialectSQLite3
	if d.Kind == Postgres {
		dialect = goose.DialectPostgres
		// Replicas starting together take turns instead of racing.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, sqlDB, migrations, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s migrations: %w", module, err)
	}
	return p, nil
}

// MigrateUp applies every pending migration of module.
func (d *DB) MigrateUp(ctx context.Context, module string, migrations fs.FS) error {
	p, err := d.Migrator(module, migrations)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", module, err)
	}
	return nil
}
