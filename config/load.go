package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// DefaultFile is read when it exists and no other file is named.
const DefaultFile = "bazaar.yaml"

// Flags binds command-line flags to configuration keys.
var flagKeys = map[string]string{
	"addr":      "http.addr",
	"data-dir":  "data_dir",
	"modules":   "modules.serve",
	"log-level": "log.level",
}

// AddFlags declares the flags that Load understands on fs.
func AddFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "configuration file (default ./"+DefaultFile+" when it exists; env BAZAAR_CONFIG)")
	fs.String("addr", "", "listen address, e.g. :8080 (http.addr)")
	fs.String("data-dir", "", "directory of the SQLite files (data_dir)")
	fs.StringSlice("modules", nil, "modules this process hosts (modules.serve)")
	fs.String("log-level", "", "debug, info, warn or error (log.level)")
}

// Load builds the Config from defaults, the config file, the environment
// (read through getenv, so tests need not touch the process environment)
// and the flags in fs, which may be nil. It validates the result.
func Load(flags *pflag.FlagSet, getenv func(string) string) (Config, error) {
	v := viper.New()
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	if err := readFile(v, flags, getenv); err != nil {
		return Config{}, err
	}
	// Environment values are merged above the file; flags, bound below,
	// still win over both.
	env := map[string]any{}
	if val, ok := lookup(getenv, "BAZAAR_SERVE"); ok {
		setPath(env, "modules.serve", val) // the short name; BAZAAR_MODULES_SERVE wins below
	}
	for _, key := range Keys() {
		if val, ok := lookup(getenv, EnvName(key)); ok {
			setPath(env, key, val)
		}
	}
	if err := v.MergeConfigMap(env); err != nil {
		return Config{}, err
	}
	if flags != nil {
		for name, key := range flagKeys {
			if f := flags.Lookup(name); f != nil {
				if err := v.BindPFlag(key, f); err != nil {
					return Config{}, err
				}
			}
		}
	}
	var c Config
	if err := v.Unmarshal(&c, viper.DecodeHook(decodeHook)); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	c.normalize()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

// decodeHook is viper's default (strings to durations, comma-separated
// strings to lists), except that it refuses a bare number for a duration:
// YAML `reservation_ttl: 60` would otherwise silently mean 60 nanoseconds.
var decodeHook = mapstructure.ComposeDecodeHookFunc(
	func(from, to reflect.Type, data any) (any, error) {
		if to != reflect.TypeFor[time.Duration]() || from == to {
			return data, nil
		}
		switch from.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			return nil, fmt.Errorf("%v has no unit: write a duration such as 30s or 15m", data)
		}
		return data, nil
	},
	mapstructure.StringToTimeDurationHookFunc(),
	func(from, to reflect.Type, data any) (any, error) {
		if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
			return data, nil
		}
		if data.(string) == "" {
			return []string{}, nil
		}
		parts := strings.Split(data.(string), ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i]) // "catalogue, inventory" is meant kindly
		}
		return parts, nil
	},
)

func lookup(getenv func(string) string, name string) (string, bool) {
	val := getenv(name)
	return val, val != ""
}

// setPath sets m["a"]["b"] = val for key "a.b".
func setPath(m map[string]any, key, val string) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = val
}

// readFile reads the file named by --config or BAZAAR_CONFIG (which must
// exist), else ./bazaar.yaml if it exists.
func readFile(v *viper.Viper, flags *pflag.FlagSet, getenv func(string) string) error {
	path := getenv("BAZAAR_CONFIG")
	if flags != nil {
		if p, _ := flags.GetString("config"); p != "" {
			path = p
		}
	}
	explicit := path != ""
	if !explicit {
		path = DefaultFile
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		return fmt.Errorf("read config file %s: %w", path, err)
	}
	return checkFileKeys(v, path)
}

// checkFileKeys refuses a config file with keys Bazaar does not know, so a
// misspelt setting is an error rather than silently ignored.
func checkFileKeys(v *viper.Viper, path string) error {
	var unknown []string
	for _, k := range v.AllKeys() {
		if _, ok := defaults[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("config file %s: unknown keys %s", path, strings.Join(unknown, ", "))
	}
	return nil
}
