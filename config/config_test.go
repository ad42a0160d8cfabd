package config_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/modules"
)

// exampleFile is the commented example configuration at the repository root.
const exampleFile = "../bazaar.example.yaml"

// envOf returns a getenv func over a fixed map, so tests never touch the
// process environment and can run in parallel.
func envOf(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// writeFile writes a YAML config file in a fresh temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bazaar.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// flagSet returns a FlagSet with Bazaar's flags, parsed from args.
func flagSet(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("bazaar", pflag.ContinueOnError)
	config.AddFlags(fs)
	require.NoError(t, fs.Parse(args))
	return fs
}

// wantDefaults is the documented default configuration.
func wantDefaults() config.Config {
	return config.Config{
		DataDir:  "./data",
		AdminKey: "",
		HTTP: config.HTTP{
			Addr:              ":8080",
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   20 * time.Second,
		},
		Remote: config.Remote{
			Timeout:         5 * time.Second,
			ForwardTimeout:  20 * time.Second,
			Retries:         2,
			BreakerFailures: 5,
			BreakerCooldown: 5 * time.Second,
			HealthInterval:  2 * time.Second,
		},
		Log:  config.Log{Level: "info", Format: "auto", RequestsPerSecond: 10, SlowRequest: time.Second},
		Auth: config.Auth{DSN: "", Edge: "auto"},
		Modules: config.ModuleSet{
			Serve: modules.All(),
			Each: map[modules.Module]config.ModuleSettings{
				modules.Catalogue: {Mode: "auto"}, modules.Inventory: {Mode: "auto"}, modules.Payment: {Mode: "auto"},
				modules.Webhooks: {Mode: "auto"}, modules.Storefront: {Mode: "auto"},
			},
		},
		Idempotency: config.Idempotency{TTL: 24 * time.Hour, Lease: time.Minute},
		RateLimit:   config.RateLimit{RPS: 500, Burst: 1000, AnonymousRPS: 100, AnonymousBurst: 200, TrustedProxies: []string{}},
		Tracing:     config.Tracing{Exporter: "none"},
		Webhooks: config.Webhooks{
			RetrySchedule: []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute,
				2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour},
			Timeout:      10 * time.Second,
			PollInterval: time.Second,
			Retention:    720 * time.Hour,
		},
		Inventory: config.Inventory{
			ReservationTTL:       15 * time.Minute,
			LowStockThreshold:    5,
			ExpiryInterval:       30 * time.Second,
			ReservationRetention: 720 * time.Hour,
			AdjustmentRetention:  8760 * time.Hour,
		},
		Payment: config.Payment{
			RecoveryInterval: time.Minute,
			RecoverAfter:     2 * time.Minute,
			SandboxRetention: 2160 * time.Hour,
		},
		Catalogue: config.Catalogue{CacheTTL: 5 * time.Second, CacheCheck: time.Second, EdgeCache: true},
		SQLite:    config.SQLite{Synchronous: "normal"},
	}
}

func loadDefaults(t *testing.T) config.Config {
	t.Helper()
	_, err := os.Stat(config.DefaultFile)
	require.ErrorIs(t, err, os.ErrNotExist,
		"the tests expect no ./%s in the config package directory", config.DefaultFile)
	c, err := config.Load(nil, envOf(nil))
	require.NoError(t, err)
	return c
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := loadDefaults(t)
	require.Equal(t, wantDefaults(), c)

	require.Equal(t, ":8080", c.HTTP.Addr)
	require.Equal(t, "./data", c.DataDir)
	require.Equal(t, 15*time.Minute, c.Inventory.ReservationTTL)
	require.Equal(t, modules.All(), c.Modules.Serve)
	require.Equal(t, []string{"auth", "catalogue", "inventory", "payment", "webhooks"}, config.Owners())
	for _, m := range config.Owners() {
		require.Equal(t, filepath.Join("./data", m+".db"), c.DSN(m), m)
	}
	require.NoError(t, c.Validate())

	// A nil FlagSet and an empty FlagSet are the same thing.
	withFlags, err := config.Load(flagSet(t), envOf(nil))
	require.NoError(t, err)
	require.Equal(t, c, withFlags)
}

func TestDefaultsAreNotShared(t *testing.T) {
	t.Parallel()
	c := loadDefaults(t)
	c.Modules.Serve[0] = "changed"
	require.Equal(t, []modules.Module{"catalogue", "inventory", "payment", "webhooks", "storefront"}, modules.All())
	require.Equal(t, wantDefaults(), loadDefaults(t))
}

func TestDSNDefaultsFollowDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := config.Load(nil, envOf(map[string]string{
		"BAZAAR_DATA_DIR":            dir,
		"BAZAAR_MODULES_PAYMENT_DSN": "postgres://u@db/payment",
	}))
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "catalogue.db"), c.DSN("catalogue"))
	require.Equal(t, filepath.Join(dir, "inventory.db"), c.DSN("inventory"))
	require.Equal(t, filepath.Join(dir, "auth.db"), c.DSN("auth"))
	require.Equal(t, "postgres://u@db/payment", c.DSN("payment"))
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"http.addr":                 "BAZAAR_HTTP_ADDR",
		"admin_key":                 "BAZAAR_ADMIN_KEY",
		"data_dir":                  "BAZAAR_DATA_DIR",
		"inventory.reservation_ttl": "BAZAAR_INVENTORY_RESERVATION_TTL",
		"modules.catalogue.dsn":     "BAZAAR_MODULES_CATALOGUE_DSN",
	} {
		require.Equal(t, want, config.EnvName(key), key)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	keys := config.Keys()
	require.True(t, slices.IsSorted(keys), "Keys must be sorted: %v", keys)
	require.Len(t, slices.Compact(slices.Clone(keys)), len(keys), "Keys must be unique")
	for _, k := range []string{"http.addr", "data_dir", "admin_key", "modules.serve", "inventory.reservation_ttl"} {
		require.Contains(t, keys, k)
	}
}

// TestPrecedence checks defaults < file < environment < flags, with the
// file named both by BAZAAR_CONFIG and by --config.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	type layer struct {
		set  string // file content, env value or flag argument
		want any
	}
	cases := []struct {
		name string
		key  string
		get  func(config.Config) any
		def  any
		file layer
		env  layer
		flag *layer // nil: the key has no flag
	}{
		{
			name: "duration",
			key:  "inventory.reservation_ttl",
			get:  func(c config.Config) any { return c.Inventory.ReservationTTL },
			def:  15 * time.Minute,
			file: layer{"inventory:\n  reservation_ttl: 90s\n", 90 * time.Second},
			env:  layer{"2h", 2 * time.Hour},
		},
		{
			name: "string",
			key:  "http.addr",
			get:  func(c config.Config) any { return c.HTTP.Addr },
			def:  ":8080",
			file: layer{"http:\n  addr: \":9000\"\n", ":9000"},
			env:  layer{"127.0.0.1:9001", "127.0.0.1:9001"},
			flag: &layer{"--addr=localhost:9002", "localhost:9002"},
		},
		{
			name: "nested DSN",
			key:  "modules.payment.dsn",
			get:  func(c config.Config) any { return c.DSN("payment") },
			def:  filepath.Join("./data", "payment.db"),
			file: layer{"modules:\n  payment:\n    dsn: sqlite:///var/lib/bazaar/pay.db\n", "sqlite:///var/lib/bazaar/pay.db"},
			env:  layer{"postgres://bazaar:secret@db:5432/payment", "postgres://bazaar:secret@db:5432/payment"},
		},
		{
			name: "list",
			key:  "modules.serve",
			get:  func(c config.Config) any { return modules.List(c.Modules.Serve) },
			def:  "catalogue,inventory,payment,webhooks,storefront",
			file: layer{"modules:\n  serve: [payment, catalogue, inventory, webhooks, storefront]\n", "payment,catalogue,inventory,webhooks,storefront"},
			env:  layer{"storefront,catalogue, inventory,payment,webhooks", "storefront,catalogue,inventory,payment,webhooks"},
			flag: &layer{"--modules=webhooks,inventory,storefront,payment,catalogue", "webhooks,inventory,storefront,payment,catalogue"},
		},
		{
			name: "data_dir",
			key:  "data_dir",
			get:  func(c config.Config) any { return c.DSN("catalogue") },
			def:  filepath.Join("./data", "catalogue.db"),
			file: layer{"data_dir: /from/file\n", filepath.Join("/from/file", "catalogue.db")},
			env:  layer{"/from/env", filepath.Join("/from/env", "catalogue.db")},
			flag: &layer{"--data-dir=/from/flag", filepath.Join("/from/flag", "catalogue.db")},
		},
		{
			name: "log level",
			key:  "log.level",
			get:  func(c config.Config) any { return c.Log.Level },
			def:  "info",
			file: layer{"log:\n  level: warn\n", "warn"},
			env:  layer{"error", "error"},
			flag: &layer{"--log-level=debug", "debug"},
		},
	}
	for _, tc := range cases {
		for _, via := range []string{"BAZAAR_CONFIG", "--config"} {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				t.Parallel()
				path := writeFile(t, tc.file.set)
				load := func(env map[string]string, args ...string) config.Config {
					t.Helper()
					if env == nil {
						env = map[string]string{}
					}
					if via == "BAZAAR_CONFIG" {
						env["BAZAAR_CONFIG"] = path
					} else {
						args = append(args, "--config", path)
					}
					c, err := config.Load(flagSet(t, args...), envOf(env))
					require.NoError(t, err)
					return c
				}

				c, err := config.Load(flagSet(t), envOf(nil))
				require.NoError(t, err)
				require.Equal(t, tc.def, tc.get(c), "default")

				require.Equal(t, tc.file.want, tc.get(load(nil)), "file over default")

				env := map[string]string{config.EnvName(tc.key): tc.env.set}
				require.Equal(t, tc.env.want, tc.get(load(env)), "env over file")

				if tc.flag != nil {
					env := map[string]string{config.EnvName(tc.key): tc.env.set}
					require.Equal(t, tc.flag.want, tc.get(load(env, tc.flag.set)), "flag over env")
				}
			})
		}
	}
}

func TestPrecedenceLeavesOtherKeysAlone(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "http:\n  addr: \":9000\"\n  read_timeout: 7s\nmodules:\n  catalogue:\n    dsn: cat.db\n")
	c, err := config.Load(flagSet(t, "--log-level", "warn"), envOf(map[string]string{
		"BAZAAR_CONFIG":              path,
		"BAZAAR_HTTP_WRITE_TIMEOUT":  "45s",
		"BAZAAR_MODULES_PAYMENT_DSN": "pay.db",
	}))
	require.NoError(t, err)
	want := wantDefaults()
	want.HTTP.Addr = ":9000"
	want.HTTP.ReadTimeout = 7 * time.Second
	want.HTTP.WriteTimeout = 45 * time.Second
	want.Modules.Each[modules.Catalogue] = config.ModuleSettings{DSN: "cat.db", Mode: "auto"}
	want.Modules.Each[modules.Payment] = config.ModuleSettings{DSN: "pay.db", Mode: "auto"}
	want.Log.Level = "warn"
	require.Equal(t, want, c)
}

func TestFlagConfigBeatsEnvConfig(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "http:\n  addr: \":9000\"\n")
	c, err := config.Load(flagSet(t, "--config", path), envOf(map[string]string{
		"BAZAAR_CONFIG": filepath.Join(t.TempDir(), "missing.yaml"),
	}))
	require.NoError(t, err)
	require.Equal(t, ":9000", c.HTTP.Addr)
}

// envCase is a valid, non-default value for one key set from the environment.
type envCase struct {
	env  string
	want any
	get  func(config.Config) any
	also map[string]string // other settings the value needs to be valid
}

// split is what a process that hosts only payment needs besides.
var split = map[string]string{
	"BAZAAR_MODULES_CATALOGUE_URL": "http://catalogue:8080",
	"BAZAAR_MODULES_INVENTORY_URL": "http://inventory:8080",
	"BAZAAR_MODULES_WEBHOOKS_URL":  "http://webhooks:8080",
	"BAZAAR_SERVICE_TOKEN":         "shared-secret",
}

func envCases() map[string]envCase {
	cases := map[string]envCase{
		"data_dir":                        {"/srv/bazaar", "/srv/bazaar", func(c config.Config) any { return c.DataDir }, nil},
		"admin_key":                       {"bzr_env_admin", "bzr_env_admin", func(c config.Config) any { return c.AdminKey }, nil},
		"http.addr":                       {"127.0.0.1:9999", "127.0.0.1:9999", func(c config.Config) any { return c.HTTP.Addr }, nil},
		"http.read_header_timeout":        {"3s", 3 * time.Second, func(c config.Config) any { return c.HTTP.ReadHeaderTimeout }, nil},
		"http.read_timeout":               {"11s", 11 * time.Second, func(c config.Config) any { return c.HTTP.ReadTimeout }, nil},
		"http.write_timeout":              {"1m30s", 90 * time.Second, func(c config.Config) any { return c.HTTP.WriteTimeout }, nil},
		"http.idle_timeout":               {"5m", 5 * time.Minute, func(c config.Config) any { return c.HTTP.IdleTimeout }, nil},
		"http.shutdown_timeout":           {"45s", 45 * time.Second, func(c config.Config) any { return c.HTTP.ShutdownTimeout }, nil},
		"log.level":                       {"debug", "debug", func(c config.Config) any { return c.Log.Level }, nil},
		"log.format":                      {"json", "json", func(c config.Config) any { return c.Log.Format }, nil},
		"log.requests_per_second":         {"2.5", 2.5, func(c config.Config) any { return c.Log.RequestsPerSecond }, nil},
		"log.slow_request":                {"250ms", 250 * time.Millisecond, func(c config.Config) any { return c.Log.SlowRequest }, nil},
		"auth.dsn":                        {"postgres://u:p@db/auth", "postgres://u:p@db/auth", func(c config.Config) any { return c.Auth.DSN }, nil},
		"auth.edge":                       {"false", "false", func(c config.Config) any { return c.Auth.Edge }, nil},
		"modules.serve":                   {"payment", "payment", func(c config.Config) any { return modules.List(c.Modules.Serve) }, split},
		"modules.catalogue.url":           {"http://a:1, http://b:2/", "http://a:1, http://b:2/", func(c config.Config) any { return c.Modules.Each[modules.Catalogue].URL }, nil},
		"modules.inventory.url":           {"http://inv:8080", "http://inv:8080", func(c config.Config) any { return c.Modules.Each[modules.Inventory].URL }, nil},
		"modules.payment.url":             {"https://pay.example", "https://pay.example", func(c config.Config) any { return c.Modules.Each[modules.Payment].URL }, nil},
		"service_token":                   {"s3cret", "s3cret", func(c config.Config) any { return c.ServiceToken }, nil},
		"remote.timeout":                  {"750ms", 750 * time.Millisecond, func(c config.Config) any { return c.Remote.Timeout }, nil},
		"remote.retries":                  {"4", 4, func(c config.Config) any { return c.Remote.Retries }, nil},
		"remote.forward_timeout":          {"25s", 25 * time.Second, func(c config.Config) any { return c.Remote.ForwardTimeout }, nil},
		"remote.breaker_failures":         {"9", 9, func(c config.Config) any { return c.Remote.BreakerFailures }, nil},
		"remote.breaker_cooldown":         {"30s", 30 * time.Second, func(c config.Config) any { return c.Remote.BreakerCooldown }, nil},
		"remote.health_interval":          {"500ms", 500 * time.Millisecond, func(c config.Config) any { return c.Remote.HealthInterval }, nil},
		"modules.catalogue.dsn":           {"sqlite:///tmp/cat.db", "sqlite:///tmp/cat.db", func(c config.Config) any { return c.Modules.Each[modules.Catalogue].DSN }, nil},
		"modules.inventory.dsn":           {"file:/tmp/inv.db", "file:/tmp/inv.db", func(c config.Config) any { return c.Modules.Each[modules.Inventory].DSN }, nil},
		"modules.payment.dsn":             {"/tmp/pay.db", "/tmp/pay.db", func(c config.Config) any { return c.Modules.Each[modules.Payment].DSN }, nil},
		"rate_limit.rps":                  {"25.5", 25.5, func(c config.Config) any { return c.RateLimit.RPS }, nil},
		"rate_limit.burst":                {"7", 7, func(c config.Config) any { return c.RateLimit.Burst }, nil},
		"rate_limit.anonymous_rps":        {"3.5", 3.5, func(c config.Config) any { return c.RateLimit.AnonymousRPS }, nil},
		"rate_limit.anonymous_burst":      {"9", 9, func(c config.Config) any { return c.RateLimit.AnonymousBurst }, nil},
		"rate_limit.trusted_proxies":      {"10.0.0.0/8, 192.168.1.1", []string{"10.0.0.0/8", "192.168.1.1"}, func(c config.Config) any { return c.RateLimit.TrustedProxies }, nil},
		"inventory.low_stock_threshold":   {"12", int64(12), func(c config.Config) any { return c.Inventory.LowStockThreshold }, nil},
		"modules.webhooks.dsn":            {"postgres://u@db/webhooks", "postgres://u@db/webhooks", func(c config.Config) any { return c.Modules.Each[modules.Webhooks].DSN }, nil},
		"modules.webhooks.url":            {"http://hooks:8080", "http://hooks:8080", func(c config.Config) any { return c.Modules.Each[modules.Webhooks].URL }, nil},
		"modules.storefront.url":          {"http://shop:8080", "http://shop:8080", func(c config.Config) any { return c.Modules.Each[modules.Storefront].URL }, nil},
		"storefront.secret":               {"shhh", "shhh", func(c config.Config) any { return c.Storefront.Secret }, nil},
		"webhooks.allow_private":          {"true", true, func(c config.Config) any { return c.Webhooks.AllowPrivate }, nil},
		"webhooks.retry_schedule":         {"1s, 2s", []time.Duration{time.Second, 2 * time.Second}, func(c config.Config) any { return c.Webhooks.RetrySchedule }, nil},
		"webhooks.timeout":                {"3s", 3 * time.Second, func(c config.Config) any { return c.Webhooks.Timeout }, nil},
		"webhooks.poll_interval":          {"250ms", 250 * time.Millisecond, func(c config.Config) any { return c.Webhooks.PollInterval }, nil},
		"webhooks.retention":              {"168h", 168 * time.Hour, func(c config.Config) any { return c.Webhooks.Retention }, nil},
		"metrics.addr":                    {"127.0.0.1:9090", "127.0.0.1:9090", func(c config.Config) any { return c.Metrics.Addr }, nil},
		"tracing.exporter":                {"stdout", "stdout", func(c config.Config) any { return c.Tracing.Exporter }, nil},
		"tracing.endpoint":                {"http://collector:4318", "http://collector:4318", func(c config.Config) any { return c.Tracing.Endpoint }, nil},
		"idempotency.ttl":                 {"48h", 48 * time.Hour, func(c config.Config) any { return c.Idempotency.TTL }, nil},
		"idempotency.lease":               {"90s", 90 * time.Second, func(c config.Config) any { return c.Idempotency.Lease }, nil},
		"inventory.reservation_ttl":       {"7m", 7 * time.Minute, func(c config.Config) any { return c.Inventory.ReservationTTL }, nil},
		"inventory.expiry_interval":       {"10s", 10 * time.Second, func(c config.Config) any { return c.Inventory.ExpiryInterval }, nil},
		"inventory.reservation_retention": {"48h", 48 * time.Hour, func(c config.Config) any { return c.Inventory.ReservationRetention }, nil},
		"inventory.adjustment_retention":  {"2160h", 2160 * time.Hour, func(c config.Config) any { return c.Inventory.AdjustmentRetention }, nil},
		"payment.recovery_interval":       {"2m", 2 * time.Minute, func(c config.Config) any { return c.Payment.RecoveryInterval }, nil},
		"payment.recover_after":           {"1h", time.Hour, func(c config.Config) any { return c.Payment.RecoverAfter }, nil},
		"payment.sandbox_dsn":             {"/tmp/ledger.db", "/tmp/ledger.db", func(c config.Config) any { return c.Payment.SandboxDSN }, nil},
		"payment.sandbox_retention":       {"4320h", 4320 * time.Hour, func(c config.Config) any { return c.Payment.SandboxRetention }, nil},
		"catalogue.cache_ttl":             {"0s", time.Duration(0), func(c config.Config) any { return c.Catalogue.CacheTTL }, nil},
		"catalogue.cache_check":           {"250ms", 250 * time.Millisecond, func(c config.Config) any { return c.Catalogue.CacheCheck }, nil},
		"catalogue.edge_cache":            {"false", false, func(c config.Config) any { return c.Catalogue.EdgeCache }, nil},
		"sqlite.synchronous":              {"full", "full", func(c config.Config) any { return c.SQLite.Synchronous }, nil},
	}
	for _, m := range modules.All() {
		each := func(f func(config.ModuleSettings) any) func(config.Config) any {
			return func(c config.Config) any { return f(c.Modules.Each[m]) }
		}
		key := "modules." + string(m) + "."
		// Payment local, the others remote: the values "all at once" can
		// take together with modules.serve=payment.
		mode, also := "remote", map[string]string{config.EnvName(key + "url"): "http://elsewhere:8080", "BAZAAR_SERVICE_TOKEN": "s3cret"}
		if m == modules.Payment {
			mode, also = "local", nil
		}
		cases[key+"mode"] = envCase{mode, mode, each(func(s config.ModuleSettings) any { return s.Mode }), also}
		cases[key+"fault_latency"] = envCase{"2ms", 2 * time.Millisecond, each(func(s config.ModuleSettings) any { return s.FaultLatency }), nil}
		cases[key+"fault_jitter"] = envCase{"500us", 500 * time.Microsecond, each(func(s config.ModuleSettings) any { return s.FaultJitter }), nil}
		cases[key+"fault_error_rate"] = envCase{"0.25", 0.25, each(func(s config.ModuleSettings) any { return s.FaultErrorRate }), nil}
		cases[key+"fault_timeout_rate"] = envCase{"0.125", 0.125, each(func(s config.ModuleSettings) any { return s.FaultTimeoutRate }), nil}
		cases[key+"fault_reset_rate"] = envCase{"0.5", 0.5, each(func(s config.ModuleSettings) any { return s.FaultResetRate }), nil}
	}
	return cases
}

// TestEveryKeyFromEnv checks that every key can be set from the environment
// alone. A key added to config.Keys() without a row here fails the test.
func TestEveryKeyFromEnv(t *testing.T) {
	t.Parallel()
	cases := envCases()
	keys := config.Keys()
	tableKeys := make([]string, 0, len(cases))
	for k := range cases {
		tableKeys = append(tableKeys, k)
	}
	require.ElementsMatch(t, keys, tableKeys, "every key in config.Keys() needs a row in envCases")

	defaults := wantDefaults()
	for _, key := range keys {
		tc := cases[key]
		t.Run(key, func(t *testing.T) {
			t.Parallel()
			require.NotEqual(t, tc.get(defaults), tc.want, "the test value of %s must not be its default", key)
			env := map[string]string{config.EnvName(key): tc.env}
			for k, v := range tc.also {
				env[k] = v
			}
			c, err := config.Load(nil, envOf(env))
			require.NoError(t, err)
			require.Equal(t, tc.want, tc.get(c))
		})
	}

	t.Run("all at once", func(t *testing.T) {
		t.Parallel()
		env := map[string]string{}
		for key, tc := range cases {
			env[config.EnvName(key)] = tc.env
		}
		c, err := config.Load(nil, envOf(env))
		require.NoError(t, err)
		for key, tc := range cases {
			require.Equal(t, tc.want, tc.get(c), key)
		}
	})
}

func TestValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		keys []string // each must be named in the error
	}{
		{"negative duration", map[string]string{"BAZAAR_INVENTORY_RESERVATION_TTL": "-5s"}, []string{"inventory.reservation_ttl"}},
		{"zero duration", map[string]string{"BAZAAR_HTTP_SHUTDOWN_TIMEOUT": "0s"}, []string{"http.shutdown_timeout"}},
		{"unknown module", map[string]string{"BAZAAR_MODULES_SERVE": "catalogue,shipping"}, []string{"modules.serve", "shipping"}},
		{"bad DSN scheme", map[string]string{"BAZAAR_MODULES_CATALOGUE_DSN": "mysql://x"}, []string{"modules.catalogue.dsn"}},
		{"bad auth DSN", map[string]string{"BAZAAR_AUTH_DSN": "redis://x"}, []string{"auth.dsn"}},
		{"in-memory SQLite", map[string]string{"BAZAAR_MODULES_INVENTORY_DSN": "file::memory:"}, []string{"modules.inventory.dsn"}},
		{"bad addr", map[string]string{"BAZAAR_HTTP_ADDR": "8080"}, []string{"http.addr"}},
		{"bad log level", map[string]string{"BAZAAR_LOG_LEVEL": "verbose"}, []string{"log.level"}},
		{"bad log format", map[string]string{"BAZAAR_LOG_FORMAT": "xml"}, []string{"log.format"}},
		{"bad synchronous", map[string]string{"BAZAAR_SQLITE_SYNCHRONOUS": "off"}, []string{"sqlite.synchronous"}},
		{"bad trusted proxy", map[string]string{"BAZAAR_RATE_LIMIT_TRUSTED_PROXIES": "proxy.local"}, []string{"rate_limit.trusted_proxies"}},
		{"negative cache ttl", map[string]string{"BAZAAR_CATALOGUE_CACHE_TTL": "-1s"}, []string{"catalogue.cache_ttl"}},
		{
			"several at once",
			map[string]string{
				"BAZAAR_INVENTORY_RESERVATION_TTL": "-5s",
				"BAZAAR_MODULES_SERVE":             "catalogue,shipping",
				"BAZAAR_MODULES_CATALOGUE_DSN":     "mysql://x",
				"BAZAAR_HTTP_ADDR":                 "nope",
				"BAZAAR_LOG_LEVEL":                 "verbose",
			},
			[]string{"inventory.reservation_ttl", "modules.serve", "modules.catalogue.dsn", "http.addr", "log.level"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(nil, envOf(tc.env))
			require.Error(t, err)
			for _, k := range tc.keys {
				require.ErrorContains(t, err, k)
			}
			for name := range tc.env {
				require.ErrorContains(t, err, name, "the error should name the environment variable too")
			}
		})
	}

	t.Run("flag value is validated", func(t *testing.T) {
		t.Parallel()
		_, err := config.Load(flagSet(t, "--log-level", "loud"), envOf(nil))
		require.ErrorContains(t, err, "log.level")
	})

	t.Run("file value is validated", func(t *testing.T) {
		t.Parallel()
		path := writeFile(t, "payment:\n  recover_after: -1m\n")
		_, err := config.Load(nil, envOf(map[string]string{"BAZAAR_CONFIG": path}))
		require.ErrorContains(t, err, "payment.recover_after")
	})
}

func TestGarbageDuration(t *testing.T) {
	t.Parallel()
	_, err := config.Load(nil, envOf(map[string]string{"BAZAAR_INVENTORY_RESERVATION_TTL": "soon"}))
	require.Error(t, err)
	require.ErrorContains(t, err, "inventory.reservation_ttl")

	for _, content := range []string{
		"http:\n  idle_timeout: whenever\n",
		// A bare number has no unit; it must not silently mean nanoseconds.
		"http:\n  idle_timeout: 60\n",
		"http:\n  idle_timeout: 1.5\n",
	} {
		path := writeFile(t, content)
		_, err = config.Load(nil, envOf(map[string]string{"BAZAAR_CONFIG": path}))
		require.Error(t, err, content)
		require.ErrorContains(t, err, "http.idle_timeout", content)
	}
	_, err = config.Load(nil, envOf(map[string]string{"BAZAAR_HTTP_IDLE_TIMEOUT": "60"}))
	require.ErrorContains(t, err, "http.idle_timeout")
}

func TestUnknownFileKey(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"http.adr":                  "http:\n  adr: \":9000\"\n",
		"inventory.reservation_tll": "inventory:\n  reservation_tll: 1m\n",
		"datadir":                   "datadir: /srv\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, content)
			_, err := config.Load(nil, envOf(map[string]string{"BAZAAR_CONFIG": path}))
			require.Error(t, err)
			require.ErrorContains(t, err, name)
		})
	}
}

func TestMissingConfigFile(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.yaml")

	_, err := config.Load(nil, envOf(map[string]string{"BAZAAR_CONFIG": missing}))
	require.Error(t, err)
	require.ErrorContains(t, err, missing)

	_, err = config.Load(flagSet(t, "--config", missing), envOf(nil))
	require.Error(t, err)
	require.ErrorContains(t, err, missing)
}

func TestMalformedConfigFile(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "http: [unclosed\n")
	_, err := config.Load(nil, envOf(map[string]string{"BAZAAR_CONFIG": path}))
	require.Error(t, err)
	require.ErrorContains(t, err, path)
}

// TestDefaultFile checks that ./bazaar.yaml is read when present and that a
// named file replaces it. It changes directory, so it cannot be parallel.
func TestDefaultFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.WriteFile(config.DefaultFile, []byte("http:\n  addr: \":7000\"\n"), 0o600))

	c, err := config.Load(nil, envOf(nil))
	require.NoError(t, err)
	require.Equal(t, ":7000", c.HTTP.Addr)

	other := filepath.Join(t.TempDir(), "other.yaml")
	require.NoError(t, os.WriteFile(other, []byte("log:\n  level: warn\n"), 0o600))
	c, err = config.Load(nil, envOf(map[string]string{"BAZAAR_CONFIG": other}))
	require.NoError(t, err)
	require.Equal(t, ":8080", c.HTTP.Addr, "a named file replaces ./bazaar.yaml")
	require.Equal(t, "warn", c.Log.Level)

	require.NoError(t, os.WriteFile(config.DefaultFile, []byte("htttp:\n  addr: \":7000\"\n"), 0o600))
	_, err = config.Load(nil, envOf(nil))
	require.ErrorContains(t, err, "htttp")
}

// update rewrites bazaar.example.yaml from the declarations:
// go test ./config -run TestExampleFile -update
var update = flag.Bool("update", false, "rewrite "+exampleFile+" from the settings' declarations")

// TestExampleFile keeps bazaar.example.yaml in step with the declarations:
// it is what they write, it loads, it equals the defaults, and it lists
// every key with its environment variable.
func TestExampleFile(t *testing.T) {
	if *update {
		require.NoError(t, os.WriteFile(exampleFile, []byte(config.Example()), 0o644))
	}
	data, err := os.ReadFile(exampleFile)
	require.NoError(t, err)
	require.Equal(t, config.Example(), string(data),
		"%s differs from the settings' declarations; rewrite it: go test ./config -run TestExampleFile -update", exampleFile)

	c, err := config.Load(nil, envOf(map[string]string{"BAZAAR_CONFIG": exampleFile}))
	require.NoError(t, err)
	require.Equal(t, loadDefaults(t), c, "%s must give exactly the defaults", exampleFile)

	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	var leaves []string
	flatten("", doc, &leaves)
	require.ElementsMatch(t, config.Keys(), leaves, "%s must list every key, and only those", exampleFile)
	for _, key := range config.Keys() {
		require.Contains(t, string(data), config.EnvName(key), "%s should document the environment variable of %s", exampleFile, key)
	}
}

// flatten collects the dotted paths of the leaves of a decoded YAML mapping.
func flatten(prefix string, m map[string]any, out *[]string) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(key, sub, out)
			continue
		}
		*out = append(*out, strings.ToLower(key))
	}
}

// TestLayout covers the settings that choose the layout: which modules a
// process hosts, where the others run, and the token they share.
func TestLayout(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) (config.Config, error) { return config.Load(nil, envOf(env)) }

	t.Run("the monolith needs no URL and no token", func(t *testing.T) {
		c, err := load(nil)
		require.NoError(t, err)
		require.True(t, c.Monolith())
	})
	t.Run("all and none", func(t *testing.T) {
		c, err := load(map[string]string{"BAZAAR_SERVE": "all"})
		require.NoError(t, err)
		require.Equal(t, modules.All(), c.Modules.Serve)
		c, err = load(map[string]string{"BAZAAR_SERVE": "none", "BAZAAR_SERVICE_TOKEN": "t",
			"BAZAAR_MODULES_PAYMENT_URL": "http://p:1"})
		require.NoError(t, err)
		require.Empty(t, c.Modules.Serve, "a gateway hosts nothing")
		require.False(t, c.Monolith())
		require.Equal(t, []string{"http://p:1"}, c.URLs(modules.Payment))
	})
	t.Run("BAZAAR_SERVE is short for BAZAAR_MODULES_SERVE, which wins", func(t *testing.T) {
		c, err := load(map[string]string{"BAZAAR_SERVE": "catalogue", "BAZAAR_SERVICE_TOKEN": "t", "BAZAAR_MODULES_WEBHOOKS_URL": "http://w:1"})
		require.NoError(t, err)
		require.Equal(t, []modules.Module{modules.Catalogue}, c.Modules.Serve)
		c, err = load(map[string]string{"BAZAAR_SERVE": "catalogue", "BAZAAR_MODULES_SERVE": "all"})
		require.NoError(t, err)
		require.True(t, c.Monolith())
	})
	t.Run("a hosted module needs the URLs of the modules it calls", func(t *testing.T) {
		_, err := load(map[string]string{"BAZAAR_SERVE": "payment", "BAZAAR_SERVICE_TOKEN": "t"})
		require.ErrorContains(t, err, "modules.catalogue.url")
		require.ErrorContains(t, err, "modules.inventory.url")
		require.ErrorContains(t, err, "modules.webhooks.url", "every module with events hands them to webhooks")
		require.NotContains(t, err.Error(), "modules.payment.url")
		_, err = load(map[string]string{"BAZAAR_SERVE": "payment,catalogue,webhooks", "BAZAAR_SERVICE_TOKEN": "t",
			"BAZAAR_MODULES_INVENTORY_URL": "http://inv:8080, http://inv2:8080"})
		require.NoError(t, err)
	})
	t.Run("replica URLs", func(t *testing.T) {
		c, err := load(map[string]string{"BAZAAR_SERVE": "inventory", "BAZAAR_SERVICE_TOKEN": "t",
			"BAZAAR_MODULES_CATALOGUE_URL": " http://a:1/ ,http://b:2", "BAZAAR_MODULES_WEBHOOKS_URL": "http://w:1"})
		require.NoError(t, err)
		require.Equal(t, []string{"http://a:1", "http://b:2"}, c.URLs(modules.Catalogue))
		_, err = load(map[string]string{"BAZAAR_SERVE": "inventory", "BAZAAR_SERVICE_TOKEN": "t",
			"BAZAAR_MODULES_CATALOGUE_URL": "catalogue:8080"})
		require.ErrorContains(t, err, "modules.catalogue.url")
	})
	t.Run("a split needs the service token", func(t *testing.T) {
		_, err := load(map[string]string{"BAZAAR_SERVE": "catalogue"})
		require.ErrorContains(t, err, "service_token")
		require.ErrorContains(t, err, "BAZAAR_SERVICE_TOKEN")
	})
	t.Run("only hosted modules' databases are checked", func(t *testing.T) {
		_, err := load(map[string]string{"BAZAAR_SERVE": "catalogue", "BAZAAR_SERVICE_TOKEN": "t",
			"BAZAAR_MODULES_PAYMENT_DSN": "mysql://elsewhere", "BAZAAR_MODULES_WEBHOOKS_URL": "http://w:1"})
		require.NoError(t, err, "payment's database is another process's business")
	})
	t.Run("remote settings", func(t *testing.T) {
		_, err := load(map[string]string{"BAZAAR_REMOTE_RETRIES": "-1", "BAZAAR_REMOTE_BREAKER_FAILURES": "0", "BAZAAR_REMOTE_TIMEOUT": "0s"})
		require.ErrorContains(t, err, "remote.retries")
		require.ErrorContains(t, err, "remote.breaker_failures")
		require.ErrorContains(t, err, "remote.timeout")
	})
}

func TestCatalogueCacheCheck(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) error { _, err := config.Load(nil, envOf(env)); return err }
	require.ErrorContains(t, load(map[string]string{"BAZAAR_CATALOGUE_CACHE_CHECK": "0s"}), "catalogue.cache_check")
	require.ErrorContains(t, load(map[string]string{"BAZAAR_CATALOGUE_CACHE_CHECK": "10s", "BAZAAR_CATALOGUE_CACHE_TTL": "5s"}),
		"catalogue.cache_check", "a check less often than the TTL would bound nothing")
	require.NoError(t, load(map[string]string{"BAZAAR_CATALOGUE_CACHE_CHECK": "10s", "BAZAAR_CATALOGUE_CACHE_TTL": "0s"}),
		"with the cache off the check does not matter")
}
