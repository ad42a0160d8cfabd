// Package config is Bazaar's one typed configuration. It is loaded once, at
// start, from defaults < a YAML file < BAZAAR_* environment variables <
// command-line flags, validated, and passed down as plain structs. Nothing
// else in Bazaar reads viper, files or the environment for settings.
package config

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bazaar-shop/bazaar/internal/database"
)

// Modules that Bazaar knows, in the order they are wired.
var Modules = []string{"catalogue", "inventory", "payment"}

// Config is every setting of a Bazaar process.
type Config struct {
	// DataDir holds the SQLite files of modules that have no DSN of their own.
	DataDir string `mapstructure:"data_dir"`
	// AdminKey, when set, is accepted as an admin API key (BAZAAR_ADMIN_KEY).
	AdminKey  string    `mapstructure:"admin_key"`
	HTTP      HTTP      `mapstructure:"http"`
	Log       Log       `mapstructure:"log"`
	Auth      Auth      `mapstructure:"auth"`
	Modules   ModuleSet `mapstructure:"modules"`
	Inventory Inventory `mapstructure:"inventory"`
	Payment   Payment   `mapstructure:"payment"`
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
	Format string `mapstructure:"format"` // text or json
}

// Auth is where API keys are kept.
type Auth struct {
	DSN string `mapstructure:"dsn"` // default: <data_dir>/auth.db
}

// ModuleSet says which modules this process hosts and where their data lives.
type ModuleSet struct {
	Serve     []string `mapstructure:"serve"`
	Catalogue Module   `mapstructure:"catalogue"`
	Inventory Module   `mapstructure:"inventory"`
	Payment   Module   `mapstructure:"payment"`
}

// Module is the settings of one module.
type Module struct {
	DSN string `mapstructure:"dsn"` // default: <data_dir>/<module>.db
}

// Inventory tunes reservations.
type Inventory struct {
	// ReservationTTL is how long a checkout may hold stock before it is
	// given back on its own.
	ReservationTTL time.Duration `mapstructure:"reservation_ttl"`
	// ExpiryInterval is how often expired reservations are looked for.
	ExpiryInterval time.Duration `mapstructure:"expiry_interval"`
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
	"data_dir":                  "./data",
	"admin_key":                 "",
	"http.addr":                 ":8080",
	"http.read_header_timeout":  "5s",
	"http.read_timeout":         "15s",
	"http.write_timeout":        "30s",
	"http.idle_timeout":         "120s",
	"http.shutdown_timeout":     "20s",
	"log.level":                 "info",
	"log.format":                "text",
	"auth.dsn":                  "",
	"modules.serve":             Modules,
	"modules.catalogue.dsn":     "",
	"modules.inventory.dsn":     "",
	"modules.payment.dsn":       "",
	"inventory.reservation_ttl": "15m",
	"inventory.expiry_interval": "30s",
	"payment.recovery_interval": "1m",
	"payment.recover_after":     "2m",
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
	}
	if dsn == "" {
		dsn = filepath.Join(c.DataDir, module+".db")
	}
	return dsn
}

// Validate reports every invalid setting at once, each with its key.
func (c Config) Validate() error {
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s (%s): %s", key, EnvName(key), fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "must be host:port or :port, got %q", c.HTTP.Addr)
	}
	for key, d := range map[string]time.Duration{
		"http.read_header_timeout":  c.HTTP.ReadHeaderTimeout,
		"http.read_timeout":         c.HTTP.ReadTimeout,
		"http.write_timeout":        c.HTTP.WriteTimeout,
		"http.idle_timeout":         c.HTTP.IdleTimeout,
		"http.shutdown_timeout":     c.HTTP.ShutdownTimeout,
		"inventory.reservation_ttl": c.Inventory.ReservationTTL,
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
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	for _, m := range c.Modules.Serve {
		if !slices.Contains(Modules, m) {
			bad("modules.serve", "unknown module %q; the modules are %s", m, strings.Join(Modules, ", "))
		}
	}
	for _, m := range append([]string{"auth"}, Modules...) {
		if _, _, err := database.Parse(c.DSN(m)); err != nil {
			key := "modules." + m + ".dsn"
			if m == "auth" {
				key = "auth.dsn"
			}
			bad(key, "%v", err)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return errors.New("invalid configuration:\n  " + strings.Join(problems, "\n  "))
}
