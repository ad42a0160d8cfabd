package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/launch"
	"github.com/bazaar-shop/bazaar/internal/shoptest"
	"github.com/bazaar-shop/bazaar/internal/testdb"
	"github.com/bazaar-shop/bazaar/migrations"
)

// These tests run the real command line: run() in-process for the short
// commands, and the built binary as a child process for serve, so that
// signals, logs and restarts are the real thing.

func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, nil, "version")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "bazaar "), out)
}

func TestBadConfigurationIsExplained(t *testing.T) {
	env := map[string]string{
		"BAZAAR_DATA_DIR":                  t.TempDir(),
		"BAZAAR_INVENTORY_RESERVATION_TTL": "-5s",
		"BAZAAR_MODULES_CATALOGUE_DSN":     "mysql://db/shop",
	}
	code, _, errOut := runCmd(t, env, "serve")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "inventory.reservation_ttl")
	require.Contains(t, errOut, "BAZAAR_INVENTORY_RESERVATION_TTL")
	require.Contains(t, errOut, "modules.catalogue.dsn")

	require.Equal(t, 1, strings.Count(errOut, "\n"), "one line, for a log collector:\n%s", errOut)

	// A database that refuses is named by its setting, in one line too
	// (pgx's own message spans several), without its password.
	code, _, errOut = runCmd(t, map[string]string{
		"BAZAAR_DATA_DIR":              t.TempDir(),
		"BAZAAR_MODULES_CATALOGUE_DSN": "postgres://shop:secret@127.0.0.1:1/shop?sslmode=disable",
	}, "serve")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "modules.catalogue.dsn (BAZAAR_MODULES_CATALOGUE_DSN)")
	require.Contains(t, errOut, "connection refused")
	require.NotContains(t, errOut, "secret")
	require.Equal(t, 1, strings.Count(errOut, "\n"), errOut)

	code, _, errOut = runCmd(t, map[string]string{"BAZAAR_DATA_DIR": t.TempDir()}, "serve", "--modules", "catalogue,shipping")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `unknown module "shipping"`)

	code, _, errOut = runCmd(t, nil, "migrate", "sideways")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "sideways")
}

func TestMigrateCommand(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			env := map[string]string{
				"BAZAAR_DATA_DIR":              t.TempDir(),
				"BAZAAR_AUTH_DSN":              engine.New(t, "auth"),
				"BAZAAR_MODULES_CATALOGUE_DSN": engine.New(t, "catalogue"),
				"BAZAAR_MODULES_INVENTORY_DSN": engine.New(t, "inventory"),
				"BAZAAR_MODULES_PAYMENT_DSN":   engine.New(t, "payment"),
			}
			code, out, errOut := runCmd(t, env, "migrate", "status")
			require.Equal(t, 0, code, errOut)
			require.Regexp(t, `payment\s+00001_payments.sql\s+pending`, out)

			code, out, errOut = runCmd(t, env, "migrate", "up")
			require.Equal(t, 0, code, errOut)
			for _, m := range []string{"auth", "catalogue", "inventory", "payment"} {
				require.Contains(t, out, fmt.Sprintf("%s: applied %d migration(s)", m, len(migrationFiles(t, m))))
			}
			code, out, _ = runCmd(t, env, "migrate", "status")
			require.Equal(t, 0, code)
			require.Regexp(t, `inventory\s+00001_stock.sql\s+applied`, out)

			code, out, errOut = runCmd(t, env, "migrate", "down", "--module", "payment")
			require.Equal(t, 0, code, errOut)
			files := migrationFiles(t, "payment")
			latest, before := files[len(files)-1], files[len(files)-2]
			require.Contains(t, out, "payment: rolled back "+latest)
			_, out, _ = runCmd(t, env, "migrate", "status")
			require.Regexp(t, `payment\s+`+regexp.QuoteMeta(latest)+`\s+pending`, out)
			require.Regexp(t, `payment\s+`+regexp.QuoteMeta(before)+`\s+applied`, out)
			require.Regexp(t, `catalogue\s+00001_products.sql\s+applied`, out, "other modules are untouched")

			code, out, _ = runCmd(t, env, "migrate", "up")
			require.Equal(t, 0, code)
			require.Contains(t, out, "payment: applied 1 migration(s)")
			require.Contains(t, out, "catalogue: applied 0 migration(s)")

			code, _, errOut = runCmd(t, env, "migrate", "up", "--module", "shipping")
			require.Equal(t, 1, code)
			require.Contains(t, errOut, "shipping")
		})
	}
}

// binary builds bazaar once for the tests of this package.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "bazaar-bin-")
	if err != nil {
		return "", err
	}
	return launch.Build(dir)
})

// process is a running bazaar serve.
type process struct{ *launch.Proc }

// adminLine is where the first start prints the admin key it made. Log
// lines are text or JSON (the default when stderr is not a terminal).
var adminLine = regexp.MustCompile(`key"?[=:]"?(bzr_[^\s"]+)`)

// start runs `bazaar` (no arguments: serve is the default) in dir with env,
// and waits until it listens.
func start(t *testing.T, dir string, env ...string) *process {
	t.Helper()
	bin, err := binary()
	require.NoError(t, err)
	p, err := launch.StartProc(context.Background(), bin, dir, append([]string{"PATH=" + os.Getenv("PATH")}, env...))
	if p != nil {
		t.Cleanup(func() {
			if exited, _ := p.Exited(); !exited {
				p.Kill()
			}
		})
	}
	require.NoError(t, err)
	return &process{p}
}

// Log is what the process wrote.
func (p *process) Log() string { return p.Output() }

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.Stop(), "bazaar must exit 0 after SIGTERM")
}

func (p *process) request(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	return shoptest.Call(t, method, p.URL()+path, key, body)
}

// TestFreshStart is what a new user does: run bazaar with no configuration
// at all, use the admin key it prints once, stop it, start it again.
func TestFreshStart(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	m := adminLine.FindStringSubmatch(p.Log())
	require.NotNil(t, m, "the first start prints an admin key:\n%s", p.Log())
	admin := m[1]

	code, _ := p.request(t, "GET", "/readyz", "", "")
	require.Equal(t, http.StatusOK, code)
	code, body := p.request(t, "POST", "/v1/products", admin, `{"sku":"TEA-1","name":"Green tea","price":450,"currency":"EUR"}`)
	require.Equal(t, http.StatusCreated, code, "%s", body)
	var prod struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &prod))
	for _, f := range []string{"auth.db", "catalogue.db", "inventory.db", "payment.db"} {
		require.FileExists(t, filepath.Join(dir, "data", f), "each module has its own database in ./data")
	}
	p.stop(t)
	require.Contains(t, p.Log(), "shutting down")
	for _, line := range strings.Split(strings.TrimSpace(p.Log()), "\n") {
		require.True(t, json.Valid([]byte(line)), "logs to a pipe are JSON lines: %s", line)
	}

	again := start(t, dir)
	require.NotRegexp(t, adminLine, again.Log(), "the admin key is printed only once")
	code, body = again.request(t, "GET", "/v1/products/"+prod.ID, "", "")
	require.Equal(t, http.StatusOK, code, "data survives a restart: %s", body)
	code, _ = again.request(t, "PUT", "/v1/inventory/"+prod.ID, admin, `{"on_hand": 4}`)
	require.Equal(t, http.StatusOK, code, "the printed key keeps working")
	again.stop(t)
}

// TestKeysCreate: a key made on the command line works against the server.
func TestKeysCreate(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"BAZAAR_DATA_DIR": filepath.Join(dir, "data")}
	code, out, errOut := runCmd(t, env, "keys", "create", "--role", "storefront")
	require.Equal(t, 0, code, errOut)
	storefront := strings.TrimSpace(out)
	require.True(t, strings.HasPrefix(storefront, "bzr_"), out)

	code, _, errOut = runCmd(t, env, "keys", "create", "--role", "owner")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "admin or storefront")
	code, _, _ = runCmd(t, env, "keys", "create")
	require.Equal(t, 1, code, "--role is required")

	p := start(t, dir, "BAZAAR_ADMIN_KEY=bzr_configured_admin")
	require.NotRegexp(t, adminLine, p.Log(), "no key is generated when one is configured")
	code, _ = p.request(t, "POST", "/v1/products", storefront, `{"sku":"A","name":"A","price":1,"currency":"EUR"}`)
	require.Equal(t, http.StatusForbidden, code)
	code, body := p.request(t, "POST", "/v1/products", "bzr_configured_admin", `{"sku":"A","name":"A","price":1,"currency":"EUR"}`)
	require.Equal(t, http.StatusCreated, code, "%s", body)
	var prod struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &prod))
	code, _ = p.request(t, "GET", "/v1/inventory/"+prod.ID, storefront, "")
	require.Equal(t, http.StatusOK, code)
	p.stop(t)

	code, out, errOut = runCmd(t, env, "keys", "list")
	require.Equal(t, 0, code, errOut)
	require.NotContains(t, out, storefront, "a listed key never shows its secret")
	id := regexp.MustCompile(`key_[0-9a-z]{26}`).FindString(out)
	require.NotEmpty(t, id, out)
	require.Contains(t, out, "storefront")
	code, _, errOut = runCmd(t, env, "keys", "revoke", id)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runCmd(t, env, "keys", "revoke", id)
	require.Equal(t, 1, code, "revoked once")
	require.Contains(t, errOut, "not found")
	code, out, _ = runCmd(t, env, "keys", "list")
	require.Equal(t, 0, code)
	require.NotContains(t, out, id)

	p = start(t, dir, "BAZAAR_ADMIN_KEY=bzr_configured_admin")
	code, _ = p.request(t, "GET", "/v1/inventory/"+prod.ID, storefront, "")
	require.Equal(t, http.StatusUnauthorized, code, "a revoked key is refused")
	p.stop(t)
}

// migrationFiles lists a module's migrations, in order.
func migrationFiles(t *testing.T, module string) []string {
	t.Helper()
	fsys, err := migrations.For(module)
	require.NoError(t, err)
	names, err := fs.Glob(fsys, "*.sql")
	require.NoError(t, err)
	return names
}
