// Package config is Bazaar's one typed configuration. It is loaded once, at
// start, from defaults < a YAML file < BAZAAR_* environment variables <
// command-line flags, validated, and passed down as plain structs. Nothing
// else in Bazaar reads viper, files or the environment for settings.
//
// Each setting is declared once, as a field of Config: its key (the
// mapstructure tag; the environment variable follows from it), its default,
// its one-line help, any flag, and what a valid value is (check: positive,
// nonnegative, nonempty, addr, range=A..B, oneof=a|b, optional). The
// defaults, the checks' messages, the flags and bazaar.example.yaml are
// derived from those declarations (settings.go, example.go); only checks
// that relate several settings are written out, in Validate.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/faults"
	"github.com/bazaar-shop/bazaar/modules"
)

// Config is every setting of a Bazaar process.
type Config struct {
	DataDir      string      `mapstructure:"data_dir" default:"./data" flag:"data-dir" check:"nonempty" help:"Directory of the SQLite files of databases that have no DSN of their own."`
	AdminKey     string      `mapstructure:"admin_key" help:"An admin API key accepted besides the stored keys. Empty: the first start creates an admin key and prints it once."`
	ServiceToken string      `mapstructure:"service_token" help:"The secret modules present to each other's internal routes and sign forwarded callers with; every process of a split needs the same one."`
	Remote       Remote      `mapstructure:"remote" help:"Calls to modules that run in other processes."`
	HTTP         HTTP        `mapstructure:"http" help:"The public HTTP listener."`
	Log          Log         `mapstructure:"log" help:"Structured log output, to stderr."`
	Auth         Auth        `mapstructure:"auth" help:"Where API keys are kept and checked."`
	Modules      ModuleSet   `mapstructure:"modules" help:"The modules this process hosts, where their data lives, and where the others run."`
	Inventory    Inventory   `mapstructure:"inventory" help:"Stock reservations."`
	Idempotency  Idempotency `mapstructure:"idempotency" help:"Writes sent with an Idempotency-Key header: a retry gets the first answer again."`
	RateLimit    RateLimit   `mapstructure:"rate_limit" help:"How fast one API key, or one client address without a key, may send requests to an edge; over it a request is 429 rate_limited. The service token is exempt."`
	Webhooks     Webhooks    `mapstructure:"webhooks" help:"Events delivered to registered endpoints, signed per the Standard Webhooks specification."`
	Metrics      Metrics     `mapstructure:"metrics" help:"Where /metrics is served."`
	Tracing      Tracing     `mapstructure:"tracing" help:"OpenTelemetry traces: one checkout is one trace, across processes."`
	Payment      Payment     `mapstructure:"payment" help:"Recovery of payments left pending, e.g. by a crash mid-checkout."`
	Catalogue    Catalogue   `mapstructure:"catalogue" help:"The catalogue's read cache."`
	SQLite       SQLite      `mapstructure:"sqlite" help:"SQLite databases (the default; PostgreSQL ignores this)."`
	Storefront   Storefront  `mapstructure:"storefront" help:"The shop's web pages."`
}

// HTTP is the public listener.
type HTTP struct {
	Addr              string        `mapstructure:"addr" default:":8080" flag:"addr" check:"addr" help:"Listen address, host:port or :port."`
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout" default:"5s" check:"positive" help:"Time allowed to read request headers."`
	ReadTimeout       time.Duration `mapstructure:"read_timeout" default:"15s" check:"positive" help:"Time allowed to read a whole request."`
	WriteTimeout      time.Duration `mapstructure:"write_timeout" default:"30s" check:"positive" help:"Time allowed to write a response."`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout" default:"120s" check:"positive" help:"How long an idle keep-alive connection is kept."`
	ShutdownTimeout   time.Duration `mapstructure:"shutdown_timeout" default:"20s" check:"positive" help:"How long in-flight requests may take to finish after SIGINT or SIGTERM."`
}

// Log is the structured log output.
type Log struct {
	Level  string `mapstructure:"level" default:"info" flag:"log-level" check:"oneof=debug|info|warn|error" help:"The least severe level written."`
	Format string `mapstructure:"format" default:"auto" check:"oneof=auto|text|json" help:"auto is text on a terminal and JSON lines otherwise."`
	// A busy shop would write a line per request: requests answered below
	// 500 are logged up to a rate, server errors and slow ones always.
	RequestsPerSecond float64       `mapstructure:"requests_per_second" default:"10" check:"nonnegative" help:"At most about this many access-log lines a second for requests answered below 500 and faster than log.slow_request; server errors and slow requests are always logged, and every request at debug level. 0 logs every request."`
	SlowRequest       time.Duration `mapstructure:"slow_request" default:"1s" check:"positive" help:"A request that takes this long or longer is always logged."`
}

// Auth is where API keys are kept and checked.
type Auth struct {
	DSN string `mapstructure:"dsn" help:"The key database. Empty: <data_dir>/auth.db. Opened only by an edge."`
	// Edge says whether this process checks API keys itself: auto (the
	// monolith and a gateway do, a process that hosts some modules trusts
	// the callers its gateway asserts), true or false.
	Edge string `mapstructure:"edge" default:"auto" check:"oneof=auto|true|false" help:"Whether this process checks API keys: auto means the monolith and a gateway do, a process hosting some modules trusts its gateway."`
}

// ModuleSet says which modules this process hosts, where their data lives,
// and where the modules it does not host run.
type ModuleSet struct {
	// Serve lists the modules this process hosts: all of them is the
	// monolith, none is a gateway. "all" and "none" may be written too.
	Serve []modules.Module `mapstructure:"serve" default:"all" flag:"modules" env:"BAZAAR_SERVE" help:"The modules this process hosts (comma-separated), all (the monolith) or none (a gateway)."`
	// Each is every module's settings, modules.<name>.dsn and .url: one
	// entry per module of the modules package's table.
	Each map[modules.Module]ModuleSettings `mapstructure:"-" help:"The {module} module."`
}

// ModuleSettings is the settings of one module; "{module}" in a help
// stands for its name.
type ModuleSettings struct {
	DSN string `mapstructure:"dsn" help:"The {module} database. Empty: <data_dir>/{module}.db."`
	// URL is where the module runs when this process does not host it; a
	// comma-separated list names replicas.
	URL string `mapstructure:"url" help:"Where {module} runs when this process does not host it; comma-separated URLs are replicas."`
	// Mode overrides modules.serve for this module. Wire keeps it here but
	// has every caller reach it through its HTTP client, over an in-memory
	// connection: the split's encoding, errors and routes at in-process speed.
	Mode string `mapstructure:"mode" default:"auto" check:"oneof=auto|local|wire|remote" help:"How this process reaches {module}: auto (hosted if modules.serve lists it, else at its url), local (hosted, called in-process), wire (hosted, but called through its HTTP client over an in-memory connection, as if split) or remote (at its url)."`
	// Faults are made on purpose in every call to the module from this
	// process, for teaching and tests; they can be changed at run time
	// (PUT /v1/faults/{module}).
	FaultLatency     time.Duration `mapstructure:"fault_latency" default:"0s" check:"nonnegative" help:"Latency added to every call to {module} from this process (a fault made on purpose)."`
	FaultJitter      time.Duration `mapstructure:"fault_jitter" default:"0s" check:"nonnegative" help:"Up to this much more latency, at random, on each call to {module}."`
	FaultErrorRate   float64       `mapstructure:"fault_error_rate" default:"0" check:"share" help:"The share of calls to {module}, 0 to 1, answered 503 on purpose."`
	FaultTimeoutRate float64       `mapstructure:"fault_timeout_rate" default:"0" check:"share" help:"The share of calls to {module} whose answer is lost on purpose: the work is done, the call times out."`
	FaultResetRate   float64       `mapstructure:"fault_reset_rate" default:"0" check:"share" help:"The share of calls to {module} whose connection is reset on purpose before the request arrives."`
}

// Faults is the faults set for calls to the module.
func (s ModuleSettings) Faults() faults.Spec {
	return faults.Spec{Latency: s.FaultLatency, Jitter: s.FaultJitter,
		ErrorRate: s.FaultErrorRate, TimeoutRate: s.FaultTimeoutRate, ResetRate: s.FaultResetRate}
}

// Remote tunes calls to modules in other processes.
type Remote struct {
	Timeout time.Duration `mapstructure:"timeout" default:"5s" check:"positive" help:"Time allowed for one attempt of one call."`
	// ForwardTimeout is longer than Timeout: the module serving a forwarded
	// write may itself call others, each with its retries, and it is told
	// the deadline so that it gives up in time.
	ForwardTimeout time.Duration `mapstructure:"forward_timeout" default:"20s" check:"positive" help:"Time allowed for a public write (a checkout, say) forwarded to the module that serves it, which may itself call other modules with retries; the module is told the deadline. A read is allowed remote.timeout per attempt."`
	Retries        int           `mapstructure:"retries" default:"2" check:"range=0..10" help:"Retries of a call that is safe to repeat."`
	// BreakerFailures consecutive failures open a module's circuit breaker,
	// which then fails calls at once for BreakerCooldown.
	BreakerFailures int           `mapstructure:"breaker_failures" default:"5" check:"positive" help:"Consecutive failures that open a module's circuit breaker."`
	BreakerCooldown time.Duration `mapstructure:"breaker_cooldown" default:"5s" check:"positive" help:"How long an open breaker fails calls at once before trying again."`
	HealthInterval  time.Duration `mapstructure:"health_interval" default:"2s" check:"positive" help:"How often each replica's /readyz is checked."`
}

// Idempotency tunes the Idempotency-Key header of writes.
type Idempotency struct {
	TTL time.Duration `mapstructure:"ttl" default:"24h" check:"positive" help:"How long a key and its answer are remembered."`
	// Lease is longer than any request: a retry takes a key over only when
	// the process running its first try died.
	Lease time.Duration `mapstructure:"lease" default:"1m" check:"positive" help:"How long a running request holds its key before a retry may take it over."`
}

// Tracing says where OpenTelemetry spans go.
type Tracing struct {
	Exporter string `mapstructure:"exporter" default:"none" check:"oneof=none|stdout|otlp" help:"none (trace ids still cross the wire and reach the logs), stdout (a JSON document per span) or otlp."`
	Endpoint string `mapstructure:"endpoint" help:"The collector for otlp, e.g. http://collector:4318."`
}

// Metrics says where /metrics is served.
type Metrics struct {
	Addr string `mapstructure:"addr" check:"optional,addr" help:"Empty: /metrics on the public port. Set (e.g. 127.0.0.1:9090): /metrics and /debug/pprof on a listener of their own."`
}

// Webhooks tunes the delivery of events to registered endpoints.
type Webhooks struct {
	AllowPrivate  bool            `mapstructure:"allow_private" default:"false" help:"Allow http:// URLs and private, loopback and link-local addresses: for development only, it opens the door to request forgery."`
	RetrySchedule []time.Duration `mapstructure:"retry_schedule" default:"5s,5m,30m,2h,5h,10h,10h" check:"positive" help:"The wait before each retry of a failed delivery; after the last it is given up."`
	Timeout       time.Duration   `mapstructure:"timeout" default:"10s" check:"positive" help:"Time allowed for one attempt."`
	PollInterval  time.Duration   `mapstructure:"poll_interval" default:"1s" check:"positive" help:"How often outboxes and due deliveries are looked at when there is little to do."`
	Retention     time.Duration   `mapstructure:"retention" default:"720h" check:"positive" help:"How long a delivery that ended is kept, with its attempts, before it is pruned."`
}

// RateLimit bounds how fast one API key, or one client address sending no
// key, may send requests to an edge.
type RateLimit struct {
	RPS   float64 `mapstructure:"rps" default:"500" check:"nonnegative" help:"Sustained requests per second of one key; 0 turns the limit off."`
	Burst int     `mapstructure:"burst" default:"1000" help:"How many requests a key may send at once."`
	// AnonymousRPS bounds the callers with no key — catalogue readers,
	// shoppers in the storefront — per client address.
	AnonymousRPS   float64 `mapstructure:"anonymous_rps" default:"100" check:"nonnegative" help:"Sustained requests per second from one client address sending no key; 0 turns the limit off."`
	AnonymousBurst int     `mapstructure:"anonymous_burst" default:"200" help:"How many requests one client address sending no key may send at once."`
	// TrustedProxies are believed when they say, in X-Forwarded-For, whose
	// request they pass on; nobody else is.
	TrustedProxies []string `mapstructure:"trusted_proxies" default:"" check:"optional,proxies" help:"Addresses or CIDR ranges of the proxies in front whose X-Forwarded-For names the client; empty: the connection's address is the client's."`
}

// Inventory tunes reservations.
type Inventory struct {
	ReservationTTL    time.Duration `mapstructure:"reservation_ttl" default:"15m" check:"positive" help:"How long a checkout may hold stock before it is given back on its own."`
	LowStockThreshold int64         `mapstructure:"low_stock_threshold" default:"5" check:"nonnegative" help:"An inventory.low_stock event fires when a product's on hand falls to this or below."`
	ExpiryInterval    time.Duration `mapstructure:"expiry_interval" default:"30s" check:"positive" help:"How often expired reservations are looked for."`
	// Ended reservations and old adjustments are pruned, a batch at a
	// time; committed reservations stay, since a refund restocks them.
	ReservationRetention time.Duration `mapstructure:"reservation_retention" default:"720h" check:"positive" help:"How long a reservation that ended (released, expired or restocked) is kept; committed ones are kept, a refund restocks them."`
	AdjustmentRetention  time.Duration `mapstructure:"adjustment_retention" default:"8760h" check:"positive" help:"How long the audit trail of manual stock changes is kept."`
}

// Catalogue tunes the catalogue's read caches.
type Catalogue struct {
	// CacheTTL: the catalogue's own writes clear the cache at once, and
	// CacheCheck bounds how long a replica may serve a product changed
	// through another.
	CacheTTL time.Duration `mapstructure:"cache_ttl" default:"5s" check:"nonnegative" help:"How long the catalogue answers a read from memory; its own writes clear it at once. 0 turns the cache off."`
	// CacheCheck is how often, at most, a replica's cache looks at the
	// database's count of changes, dropping what it remembers when another
	// replica has written. Checkout pricing never reads the cache.
	CacheCheck time.Duration `mapstructure:"cache_check" default:"1s" check:"positive" help:"How long a replica may serve a product changed through another; no longer than cache_ttl."`
	// EdgeCache spares a split the hop for most of a shop's requests: the
	// process a shopper's product reads reach keeps a read cache of its
	// own, which learns of changes as a catalogue replica does, and says
	// which changes its callers may have seen; the modules that read the
	// catalogue for those callers (inventory, storefront) answer them from
	// a cache that holds at least those.
	EdgeCache bool `mapstructure:"edge_cache" default:"true" help:"Whether a process that forwards the catalogue answers its product reads from a cache of its own (cache_ttl, cache_check), as a catalogue replica would, and whether the modules of a split read it through one for the callers a gateway speaks for, never older than what those callers saw; false sends every read on to the catalogue."`
}

// SQLite tunes the SQLite databases.
type SQLite struct {
	// Synchronous: normal means a commit survives a crash of the process
	// but the last ones may be lost if the machine loses power; full
	// survives that too, for an fsync per commit.
	Synchronous string `mapstructure:"synchronous" default:"normal" check:"oneof=normal|full" help:"normal: a commit survives a crash of the process; full: a power loss too, for an fsync per commit."`
}

// Storefront tunes the shop's web pages.
type Storefront struct {
	// Secret signs shoppers' session cookies. Empty: derived from the
	// service token in a split, so that every replica reads every
	// session; kept in <data_dir>/storefront.key in the monolith.
	Secret string `mapstructure:"secret" help:"Signs shoppers' session cookies; every storefront replica needs the same. Empty: derived from service_token, or kept in <data_dir>/storefront.key."`
}

// Payment tunes the recovery of payments left pending.
type Payment struct {
	RecoveryInterval time.Duration `mapstructure:"recovery_interval" default:"1m" check:"positive" help:"How often pending payments are looked for."`
	RecoverAfter     time.Duration `mapstructure:"recover_after" default:"2m" check:"positive" help:"How old a pending payment must be before recovery resolves it; longer than any live checkout."`
	// The card sandbox keeps a ledger as a processor would, in a database
	// of its own: not the shop's, which it stands apart from.
	SandboxDSN       string        `mapstructure:"sandbox_dsn" help:"The card sandbox's ledger of charges, a database apart from the shop's. Empty: <data_dir>/sandbox.db."`
	SandboxRetention time.Duration `mapstructure:"sandbox_retention" default:"2160h" check:"positive" help:"How long the card sandbox remembers a charge; longer than any recovery (payment.recover_after)."`
}

// SandboxDSN is the database of the card sandbox's ledger.
func (c Config) SandboxDSN() string {
	if c.Payment.SandboxDSN != "" {
		return c.Payment.SandboxDSN
	}
	return filepath.Join(c.DataDir, "sandbox.db")
}

// DSNKey is the key of the setting that names a module's database, the
// key database's ("auth") or the card sandbox's ledger's ("sandbox").
func DSNKey(owner string) string {
	switch owner {
	case "auth":
		return "auth.dsn"
	case "sandbox":
		return "payment.sandbox_dsn"
	}
	return "modules." + owner + ".dsn"
}

// Owners lists every database's owner: "auth" (the API keys), then each
// module that stores data.
func Owners() []string {
	owners := []string{"auth"}
	for _, m := range modules.All() {
		if m.Stores() {
			owners = append(owners, string(m))
		}
	}
	return owners
}

// DSN returns the DSN of a module's database, or of "auth".
func (c Config) DSN(owner string) string {
	dsn := c.Modules.Each[modules.Module(owner)].DSN
	if owner == "auth" {
		dsn = c.Auth.DSN
	}
	if dsn == "" {
		dsn = filepath.Join(c.DataDir, owner+".db")
	}
	return dsn
}

// Hosts reports whether this process hosts module m.
func (c Config) Hosts(m modules.Module) bool { return slices.Contains(c.Modules.Serve, m) }

// URLs returns the replicas of a module this process does not host.
func (c Config) URLs(m modules.Module) []string {
	var out []string
	for _, u := range strings.Split(c.Modules.Each[m].URL, ",") {
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
	for _, m := range modules.All() {
		if !c.Hosts(m) {
			return false
		}
	}
	return true
}

// normalize turns the words "all" and "none" in modules.serve into names,
// then adds or removes the modules whose mode says where they run.
func (c *Config) normalize() {
	switch {
	case len(c.Modules.Serve) == 1 && c.Modules.Serve[0] == "all":
		c.Modules.Serve = modules.All()
	case len(c.Modules.Serve) == 1 && c.Modules.Serve[0] == "none":
		c.Modules.Serve = []modules.Module{}
	}
	serve := []modules.Module{}
	for _, m := range c.Modules.Serve {
		if c.Modules.Each[m].Mode != "remote" {
			serve = append(serve, m)
		}
	}
	for _, m := range modules.All() {
		if mode := c.Modules.Each[m].Mode; (mode == "local" || mode == "wire") && !slices.Contains(serve, m) {
			serve = append(serve, m)
		}
	}
	c.Modules.Serve = serve
}

// Wire reports whether this process hosts m but calls it through its HTTP
// client, over an in-memory connection (modules.<m>.mode: wire).
func (c Config) Wire(m modules.Module) bool { return c.Modules.Each[m].Mode == "wire" }

// Validate reports every invalid setting at once, each with its key: what
// each setting's declared checks find, then what relates several settings.
func (c Config) Validate() error {
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, Setting(key)+": "+fmt.Sprintf(format, args...))
	}
	for _, s := range settings() {
		if p := s.problem(c); p != "" {
			bad(s.key, "%s", p)
		}
	}
	if c.Catalogue.CacheTTL > 0 && c.Catalogue.CacheCheck > c.Catalogue.CacheTTL {
		// What a replica remembers is gone after the TTL anyway: a longer
		// check would bound nothing.
		bad("catalogue.cache_check", "must not be longer than catalogue.cache_ttl (%s), got %s",
			c.Catalogue.CacheTTL, c.Catalogue.CacheCheck)
	}
	if c.Tracing.Exporter == "otlp" {
		if u, err := url.Parse(c.Tracing.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			bad("tracing.endpoint", "otlp needs the collector's http(s) URL, got %q", c.Tracing.Endpoint)
		}
	}
	if c.Remote.ForwardTimeout < c.Remote.Timeout || c.Remote.ForwardTimeout >= c.HTTP.WriteTimeout {
		bad("remote.forward_timeout", "must be at least remote.timeout (%s) and less than http.write_timeout (%s), or a forwarded write would be cut off, got %s",
			c.Remote.Timeout, c.HTTP.WriteTimeout, c.Remote.ForwardTimeout)
	}
	if c.Inventory.ReservationRetention <= c.Inventory.ReservationTTL {
		bad("inventory.reservation_retention", "must be longer than inventory.reservation_ttl (%s), got %s",
			c.Inventory.ReservationTTL, c.Inventory.ReservationRetention)
	}
	if c.Payment.SandboxRetention <= c.Payment.RecoverAfter {
		bad("payment.sandbox_retention", "must be longer than payment.recover_after (%s), or recovery would ask about charges the sandbox forgot, got %s",
			c.Payment.RecoverAfter, c.Payment.SandboxRetention)
	}
	if c.Hosts(modules.Payment) {
		if _, _, err := database.Parse(c.SandboxDSN()); err != nil {
			bad("payment.sandbox_dsn", "%v", err)
		}
	}
	if c.RateLimit.RPS > 0 && c.RateLimit.Burst < 1 {
		bad("rate_limit.burst", "must be at least 1 while the limit is on, got %d", c.RateLimit.Burst)
	}
	if c.RateLimit.AnonymousRPS > 0 && c.RateLimit.AnonymousBurst < 1 {
		bad("rate_limit.anonymous_burst", "must be at least 1 while the limit is on, got %d", c.RateLimit.AnonymousBurst)
	}
	for _, m := range c.Modules.Serve {
		if _, err := modules.Parse(string(m)); err != nil {
			bad("modules.serve", "%v (or all, or none)", err)
		}
	}
	for _, m := range modules.All() {
		if c.Modules.Each[m].Mode == "remote" && len(c.URLs(m)) == 0 {
			bad("modules."+string(m)+".url", "modules.%s.mode is remote, so it needs the URL where %s runs", m, m)
		}
		if err := c.Modules.Each[m].Faults().Validate(); err != nil {
			bad("modules."+string(m)+".fault_*", "%v (latency_ms is fault_latency, error_rate fault_error_rate, and so on)", err)
		}
	}
	for _, m := range c.Modules.Serve {
		for _, need := range m.Needs() {
			if !c.Hosts(need) && len(c.URLs(need)) == 0 {
				bad("modules."+string(need)+".url", "%s calls %s, which this process does not host (modules.serve), so it needs the URL where %s runs", m, need, need)
			}
		}
	}
	for _, m := range modules.All() {
		if c.Hosts(m) {
			continue
		}
		for _, u := range c.URLs(m) {
			if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
				bad("modules."+string(m)+".url", "%q is not an http:// or https:// URL", u)
			}
		}
	}
	if !c.Monolith() && c.ServiceToken == "" {
		bad("service_token", "a split layout needs a shared service token for module-to-module calls")
	}
	for _, owner := range Owners() {
		if owner == "auth" && !c.Edge() || owner != "auth" && !c.Hosts(modules.Module(owner)) {
			continue // another process opens it
		}
		if _, _, err := database.Parse(c.DSN(owner)); err != nil {
			bad(DSNKey(owner), "%v", err)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return errors.New(strings.Join(problems, "; "))
}
