// Package migrations embeds every module's versioned SQL migrations in the
// binary. Each module has its own folder and its own version history; the SQL
// is written to run unchanged on SQLite and PostgreSQL.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed auth catalogue inventory payment sandbox webhooks
var tree embed.FS

// For returns the migrations of one module ("catalogue", "inventory",
// "payment", "auth" for API keys, "webhooks", or "sandbox" for the card
// sandbox's ledger).
func For(module string) (fs.FS, error) {
	if _, err := fs.Stat(tree, module); err != nil {
		return nil, fmt.Errorf("no migrations for module %q", module)
	}
	return fs.Sub(tree, module)
}
