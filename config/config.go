// Package config is Bazaar's one typed configuration. It is loaded once, at
// start, from defaults < a YAML file < BAZAAR_* environment variables <
// command-line flags, validated, and passed down as plain structs. Nothing
// else in Bazaar reads viper, files or the environment for settings.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bazaar-shop/bazaar/internal/database"
)

// modules are the modules Bazaar knows, in the order they are wired, each
// with the modules it calls: a process that hosts a module must host those
// too or know where they run. Every module with events hands them to
// webhooks. Adding a module starts with an entry here.
var modules = []struct {
	name  string
	needs []string
}{
	{"catalogue", []string{"webhooks"}},
	{"inventory", []string{"catalogue", "webhooks"}},
	{"payment", []string{"catalogue", "inventory", "webhooks"}},
	{"webhooks", nil},
}

// Modules returns the names of the modules Bazaar knows, in the order they
// are wired.
func Modules() []string {
	names := make([]string, len(modules))
	for i, m := range modules {
		names[i] = m.name
	}
	return names
}

// Needs returns the modules a module calls.
func Needs(module string) []string {
	for _, m := range modules {
		if m.name == module {
			return slices.Clone(m.needs)
		}
	}
	return nil
}

// Config is every setting of a Bazaar process.
type Config struct {
	// DataDir holds the SQLite files of modules that have no DSN of their own.
	DataDir string `mapstructure:"data_dir"`
	// AdminKey, when set, is accepted as an admin API key (BAZAAR_ADMIN_KEY).
	AdminKey string `mapstructure:"admin_key"`
	// ServiceToken is the shared secret modules present to each other's
	// internal routes. Every layout but the monolith needs one.
	ServiceToken string      `mapstructure:"service_token"`
	Remote       Remote      `mapstructure:"remote"`
	HTTP         HTTP        `mapstructure:"http"`
	Log          Log         `mapstructure:"log"`
	Auth         Auth        `mapstructure:"auth"`
	Modules      ModuleSet   `mapstructure:"modules"`
	Inventory    Inventory   `mapstructure:"inventory"`
	Idempotency  Idempotency `mapstructure:"idempotency"`
	RateLimit    RateLimit   `mapstructure:"rate_limit"`
	Webhooks     Webhooks    `mapstructure:"webhooks"`
	Metrics      Metrics     `mapstructure:"metrics"`
	Tracing      Tracing     `mapstructure:"tracing"`
	Payment      Payment     `mapstructure:"payment"`
	Catalogue    Catalogue   `mapstructure:"catalogue"`
	SQLite       SQLite      `mapstructure:"sqlite"`
}

// HTTP is the public listener.
type HTTP struct {
	Addr              string        `mapstructure:"addr"`
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
	ReadTimeout       time.Duration `mapstructure:"read_timeout"`
	WriteTimeout      time.Duration `mapstructure:"write_timeout"`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout"`
	// ShutdownTimeout is how long in-flight requests may take to finish
	// after SIGINT or SIGTERM.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
}

// Log is the structured log output.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn or error
	Format string `mapstructure:"format"` // auto (text on a terminal, JSON otherwise), text or json
}

// Auth is where API keys are kept and checked.
type Auth struct {
	DSN string `mapstructure:"dsn"` // default: <data_dir>/auth.db; opened only by an edge
	// Edge says whether this process checks API keys itself: auto (the
	// monolith and a gateway do, a process that hosts some modules trusts
	// the callers its gateway asserts), true or false.
	Edge string `mapstructure:"edge"`
}

// ModuleSet says which modules this process hosts, where their data lives,
// and where the modules it does not host run.
type ModuleSet struct {
	// Serve lists the modules this process hosts: all of them is the
	// monolith, none is a gateway. "all" and "none" may be written too.
	Serve     []string `mapstructure:"serve"`
	Catalogue Module   `mapstructure:"catalogue"`
	Inventory Module   `mapstructure:"inventory"`
	Payment   Module   `mapstructure:"payment"`
	Webhooks  Module   `mapstructure:"webhooks"`
}

// Module is the settings of one module.
type Module struct {
	DSN string `mapstructure:"dsn"` // default: <data_dir>/<module>.db
	// URL is where the module runs when this process does not host it; a
	// comma-separated list names replicas.
	URL string `mapstructure:"url"`
}

// Remote tunes calls to modules in other processes.
type Remote struct {
	// Timeout bounds one attempt of one call.
	Timeout time.Duration `mapstructure:"timeout"`
	// Retries is how many times a call that may be repeated is retried.
	Retries int `mapstructure:"retries"`
	// BreakerFailures consecutive failures open a module's circuit breaker,
	// which then fails calls at once for BreakerCooldown.
	BreakerFailures int           `mapstructure:"breaker_failures"`
	BreakerCooldown time.Duration `mapstructure:"breaker_cooldown"`
	// HealthInterval is how often each replica's /readyz is checked.
	HealthInterval time.Duration `mapstructure:"health_interval"`
}

// Idempotency tunes the Idempotency-Key header of writes.
type Idempotency struct {
	// TTL is how long a key and its answer are remembered.
	TTL time.Duration `mapstructure:"ttl"`
	// Lease is how long a request holds its key before a retry may take it
	// over (because the process running it died): longer than any request.
	Lease time.Duration `mapstructure:"lease"`
}

// Tracing says where OpenTelemetry spans go.
type Tracing struct {
	// Exporter is none (ids still cross the wire and appear in logs),
	// stdout (one JSON document per span) or otlp (OTLP over HTTP).
	Exporter string `mapstructure:"exporter"`
	// Endpoint is the collector URL for otlp, e.g. http://collector:4318.
	Endpoint string `mapstructure:"endpoint"`
}

// Metrics says where /metrics is served.
type Metrics struct {
	// Addr, when set, serves /metrics and /debug/pprof on a listener of
	// their own (e.g. 127.0.0.1:9090) instead of /metrics on the public port.
	Addr string `mapstructure:"addr"`
}

// Webhooks tunes the delivery of events to registered endpoints.
type Webhooks struct {
	// AllowPrivate allows http:// URLs and private, loopback and link-local
	// addresses: for local development and tests only.
	AllowPrivate bool `mapstructure:"allow_private"`
	// RetrySchedule is the wait before each retry of a failed delivery.
	RetrySchedule []time.Duration `mapstructure:"retry_schedule"`
	Timeout       time.Duration   `mapstructure:"timeout"`
	PollInterval  time.Duration   `mapstructure:"poll_interval"`
	// Retention is how long a delivery that ended (delivered or failed) is
	// kept, with its attempts, before it is pruned.
	Retention time.Duration `mapstructure:"retention"`
}

// RateLimit bounds how fast one API key may send requests, per process.
type RateLimit struct {
	// RPS is the sustained requests per second of one key; 0 turns the
	// limit off.
	RPS float64 `mapstructure:"rps"`
	// Burst is how many requests a key may send at once.
	Burst int `mapstructure:"burst"`
}

// Inventory tunes reservations.
type Inventory struct {
	// ReservationTTL is how long a checkout may hold stock before it is
	// given back on its own.
	ReservationTTL time.Duration `mapstructure:"reservation_ttl"`
	// LowStockThreshold: an inventory.low_stock event fires when a
	// product's on hand falls to this or below.
	LowStockThreshold int64 `mapstructure:"low_stock_threshold"`
	// ExpiryInterval is how often expired reservations are looked for.
	ExpiryInterval time.Duration `mapstructure:"expiry_interval"`
}

// Catalogue tunes the catalogue's read cache.
type Catalogue struct {
	// CacheTTL is how long the catalogue answers a read from memory. Its
	// own writes clear the cache at once, and CacheCheck bounds how long a
	// replica may serve a product changed through another. 0 turns the
	// cache off.
	CacheTTL time.Duration `mapstructure:"cache_ttl"`
	// CacheCheck is how often, at most, a catalogue replica's cache looks
	// at the database's count of changes, dropping what it remembers when
	// another replica has written: it bounds how long a product page may
	// lag another replica's change. Checkout pricing never reads the cache.
	// Positive, and no longer than CacheTTL when the cache is on.
	CacheCheck time.Duration `mapstructure:"cache_check"`
}

// SQLite tunes the SQLite databases.
type SQLite struct {
	// Synchronous is SQLite's synchronous setting: normal (a commit
	// survives a crash of the process; the last ones may be lost if the
	// machine loses power) or full (they survive that too, for an fsync
	// per commit). A DSN's own _synchronous parameter wins.
	Synchronous string `mapstructure:"synchronous"`
}

// Payment tunes the recovery of payments left pending.
type Payment struct {
	// RecoveryInterval is how often pending payments are looked for.
	RecoveryInterval time.Duration `mapstructure:"recovery_interval"`
	// RecoverAfter is how old a pending payment must be before recovery
	// resolves it: longer than any live checkout takes.
	RecoverAfter time.Duration `mapstructure:"recover_after"`
}

// defaults lists every key with its default value. Every key has one, so
// every key can be set from the environment alone.
var defaults = map[string]any{
	"data_dir":                      "./data",
	"admin_key":                     "",
	"service_token":                 "",
	"remote.timeout":                "5s",
	"remote.retries":                2,
	"remote.breaker_failures":       5,
	"remote.breaker_cooldown":       "5s",
	"remote.health_interval":        "2s",
	"modules.catalogue.url":         "",
	"modules.inventory.url":         "",
	"modules.payment.url":           "",
	"modules.webhooks.url":          "",
	"http.addr":                     ":8080",
	"http.read_header_timeout":      "5s",
	"http.read_timeout":             "15s",
	"http.write_timeout":            "30s",
	"http.idle_timeout":             "120s",
	"http.shutdown_timeout":         "20s",
	"log.level":                     "info",
	"log.format":                    "auto",
	"auth.dsn":                      "",
	"auth.edge":                     "auto",
	"modules.serve":                 Modules(),
	"modules.catalogue.dsn":         "",
	"modules.inventory.dsn":         "",
	"modules.payment.dsn":           "",
	"modules.webhooks.dsn":          "",
	"inventory.reservation_ttl":     "15m",
	"inventory.low_stock_threshold": 5,
	"idempotency.ttl":               "24h",
	"rate_limit.rps":                500,
	"metrics.addr":                  "",
	"tracing.exporter":              "none",
	"tracing.endpoint":              "",
	"webhooks.allow_private":        false,
	"webhooks.retry_schedule":       "5s,5m,30m,2h,5h,10h,10h",
	"webhooks.timeout":              "10s",
	"webhooks.poll_interval":        "1s",
	"webhooks.retention":            "720h",
	"rate_limit.burst":              1000,
	"idempotency.lease":             "1m",
	"inventory.expiry_interval":     "30s",
	"payment.recovery_interval":     "1m",
	"payment.recover_after":         "2m",
	"catalogue.cache_ttl":           "5s",
	"catalogue.cache_check":         "1s",
	"sqlite.synchronous":            "normal",
}

// Keys returns every configuration key, sorted.
func Keys() []string {
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// EnvName is the environment variable that sets key: http.addr is BAZAAR_HTTP_ADDR.
func EnvName(key string) string {
	return "BAZAAR_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Setting names a setting the two ways a person sets it, for messages:
// "auth.dsn (BAZAAR_AUTH_DSN)".
func Setting(key string) string { return key + " (" + EnvName(key) + ")" }

// DSNKey is the key of the setting that names a module's database, or
// the key database's ("auth").
func DSNKey(module string) string {
	if module == "auth" {
		return "auth.dsn"
	}
	return "modules." + module + ".dsn"
}

// DSN returns the DSN of a module's database, or of "auth".
func (c Config) DSN(module string) string {
	var dsn string
	switch module {
	case "auth":
		dsn = c.Auth.DSN
	case "catalogue":
		dsn = c.Modules.Catalogue.DSN
	case "inventory":
		dsn = c.Modules.Inventory.DSN
	case "payment":
		dsn = c.Modules.Payment.DSN
	case "webhooks":
		dsn = c.Modules.Webhooks.DSN
	}
	if dsn == "" {
		dsn = filepath.Join(c.DataDir, module+".db")
	}
	return dsn
}

// Hosts reports whether this process hosts module.
func (c Config) Hosts(module string) bool { return slices.Contains(c.Modules.Serve, module) }

// Module returns the settings of a module by name.
func (c Config) Module(name string) Module {
	switch name {
	case "catalogue":
		return c.Modules.Catalogue
	case "inventory":
		return c.Modules.Inventory
	case "payment":
		return c.Modules.Payment
	case "webhooks":
		return c.Modules.Webhooks
	}
	return Module{}
}

// URLs returns the replicas of a module this process does not host.
func (c Config) URLs(module string) []string {
	var out []string
	for _, u := range strings.Split(c.Module(module).URL, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// Edge reports whether this process checks API keys (and so opens the key
// database) rather than trusting the callers a gateway asserts.
func (c Config) Edge() bool {
	switch c.Auth.Edge {
	case "true":
		return true
	case "false":
		return false
	}
	return c.Monolith() || len(c.Modules.Serve) == 0
}

// Monolith reports whether this process hosts every module.
func (c Config) Monolith() bool {
	for _, m := range Modules() {
		if !c.Hosts(m) {
			return false
		}
	}
	return true
}

// normalize turns the words "all" and "none" in modules.serve into names.
func (c *Config) normalize() {
	switch {
	case len(c.Modules.Serve) == 1 && c.Modules.Serve[0] == "all":
		c.Modules.Serve = Modules()
	case len(c.Modules.Serve) == 1 && c.Modules.Serve[0] == "none":
		c.Modules.Serve = []string{}
	}
}

// Validate reports every invalid setting at once, each with its key.
func (c Config) Validate() error {
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, Setting(key)+": "+fmt.Sprintf(format, args...))
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "must be host:port or :port, got %q", c.HTTP.Addr)
	}
	for key, d := range map[string]time.Duration{
		"remote.timeout":            c.Remote.Timeout,
		"remote.breaker_cooldown":   c.Remote.BreakerCooldown,
		"remote.health_interval":    c.Remote.HealthInterval,
		"http.read_header_timeout":  c.HTTP.ReadHeaderTimeout,
		"http.read_timeout":         c.HTTP.ReadTimeout,
		"http.write_timeout":        c.HTTP.WriteTimeout,
		"http.idle_timeout":         c.HTTP.IdleTimeout,
		"http.shutdown_timeout":     c.HTTP.ShutdownTimeout,
		"inventory.reservation_ttl": c.Inventory.ReservationTTL,
		"idempotency.ttl":           c.Idempotency.TTL,
		"idempotency.lease":         c.Idempotency.Lease,
		"webhooks.timeout":          c.Webhooks.Timeout,
		"webhooks.poll_interval":    c.Webhooks.PollInterval,
		"webhooks.retention":        c.Webhooks.Retention,
		"inventory.expiry_interval": c.Inventory.ExpiryInterval,
		"payment.recovery_interval": c.Payment.RecoveryInterval,
		"payment.recover_after":     c.Payment.RecoverAfter,
	} {
		if d <= 0 {
			bad(key, "must be a positive duration such as 30s or 15m, got %s", d)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if !slices.Contains([]string{"auto", "text", "json"}, c.Log.Format) {
		bad("log.format", "must be auto, text or json, got %q", c.Log.Format)
	}
	if !slices.Contains([]string{"auto", "true", "false"}, c.Auth.Edge) {
		bad("auth.edge", "must be auto, true or false, got %q", c.Auth.Edge)
	}
	if !slices.Contains([]string{"normal", "full"}, c.SQLite.Synchronous) {
		bad("sqlite.synchronous", "must be normal or full, got %q", c.SQLite.Synchronous)
	}
	if c.Catalogue.CacheTTL < 0 {
		bad("catalogue.cache_ttl", "must not be negative (0 turns the cache off), got %s", c.Catalogue.CacheTTL)
	}
	switch {
	case c.Catalogue.CacheCheck <= 0:
		bad("catalogue.cache_check", "must be a positive duration such as 1s, got %s", c.Catalogue.CacheCheck)
	case c.Catalogue.CacheTTL > 0 && c.Catalogue.CacheCheck > c.Catalogue.CacheTTL:
		// What a replica remembers is gone after the TTL anyway: a longer
		// check would bound nothing.
		bad("catalogue.cache_check", "must not be longer than catalogue.cache_ttl (%s), got %s",
			c.Catalogue.CacheTTL, c.Catalogue.CacheCheck)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if c.Inventory.LowStockThreshold < 0 {
		bad("inventory.low_stock_threshold", "must not be negative, got %d", c.Inventory.LowStockThreshold)
	}
	if !slices.Contains([]string{"none", "stdout", "otlp"}, c.Tracing.Exporter) {
		bad("tracing.exporter", "must be none, stdout or otlp, got %q", c.Tracing.Exporter)
	}
	if c.Tracing.Exporter == "otlp" {
		if u, err := url.Parse(c.Tracing.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			bad("tracing.endpoint", "otlp needs the collector's http(s) URL, got %q", c.Tracing.Endpoint)
		}
	}
	if c.Metrics.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Addr); err != nil {
			bad("metrics.addr", "must be host:port or :port, got %q", c.Metrics.Addr)
		}
	}
	if len(c.Webhooks.RetrySchedule) == 0 {
		bad("webhooks.retry_schedule", "must list at least one wait, such as 5s,5m,30m")
	}
	for _, d := range c.Webhooks.RetrySchedule {
		if d <= 0 {
			bad("webhooks.retry_schedule", "every wait must be positive, got %s", d)
		}
	}
	if c.RateLimit.RPS < 0 {
		bad("rate_limit.rps", "must not be negative (0 turns the limit off), got %v", c.RateLimit.RPS)
	}
	if c.RateLimit.RPS > 0 && c.RateLimit.Burst < 1 {
		bad("rate_limit.burst", "must be at least 1, got %d", c.RateLimit.Burst)
	}
	if c.Remote.Retries < 0 || c.Remote.Retries > 10 {
		bad("remote.retries", "must be between 0 and 10, got %d", c.Remote.Retries)
	}
	if c.Remote.BreakerFailures < 1 {
		bad("remote.breaker_failures", "must be at least 1, got %d", c.Remote.BreakerFailures)
	}
	for _, m := range c.Modules.Serve {
		if !slices.Contains(Modules(), m) {
			bad("modules.serve", "unknown module %q; the modules are %s (or all, or none)", m, strings.Join(Modules(), ", "))
		}
	}
	for _, m := range c.Modules.Serve {
		for _, need := range Needs(m) {
			if !c.Hosts(need) && len(c.URLs(need)) == 0 {
				bad("modules."+need+".url", "%s calls %s, which this process does not host (modules.serve), so it needs the URL where %s runs", m, need, need)
			}
		}
	}
	for _, m := range Modules() {
		key := "modules." + m + ".url"
		if c.Hosts(m) {
			continue
		}
		for _, u := range c.URLs(m) {
			if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
				bad(key, "%q is not an http:// or https:// URL", u)
			}
		}
	}
	if !c.Monolith() && c.ServiceToken == "" {
		bad("service_token", "a split layout needs a shared service token for module-to-module calls")
	}
	for _, m := range append([]string{"auth"}, Modules()...) {
		if slices.Contains(Modules(), m) && !c.Hosts(m) || m == "auth" && !c.Edge() {
			continue // another process opens it
		}
		if _, _, err := database.Parse(c.DSN(m)); err != nil {
			bad(DSNKey(m), "%v", err)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return errors.New(strings.Join(problems, "; "))
}
