package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/bazaar-shop/bazaar/modules"
)

// DefaultFile is read when it exists and no other file is named.
const DefaultFile = "bazaar.yaml"

// AddFlags declares the flags that Load understands on fs: --config, and
// one for each setting that declares a flag.
func AddFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "configuration file (default ./"+DefaultFile+" when it exists; env BAZAAR_CONFIG)")
	for _, s := range settings() {
		if s.flag == "" {
			continue
		}
		usage := s.help + " (" + s.key + ")"
		if s.value(Config{}).Kind() == reflect.Slice {
			fs.StringSlice(s.flag, nil, usage)
		} else {
			fs.String(s.flag, "", usage)
		}
	}
}

// Load builds the Config from defaults, the config file, the environment
// (read through getenv, so tests need not touch the process environment)
// and the flags in fs, which may be nil. It validates the result.
func Load(flags *pflag.FlagSet, getenv func(string) string) (Config, error) {
	v := viper.New()
	all := settings()
	for _, s := range all {
		if !s.section {
			v.SetDefault(s.key, s.def)
		}
	}
	if err := readFile(v, flags, getenv); err != nil {
		return Config{}, err
	}
	// Environment values are merged above the file; flags, bound below,
	// still win over both.
	env := map[string]any{}
	for _, s := range all {
		for _, name := range s.env { // the long name last: it wins
			if val, ok := lookup(getenv, name); ok && !s.section {
				setPath(env, s.key, val)
			}
		}
	}
	if err := v.MergeConfigMap(env); err != nil {
		return Config{}, err
	}
	if flags != nil {
		for _, s := range all {
			if f := flags.Lookup(s.flag); s.flag != "" && f != nil {
				if err := v.BindPFlag(s.key, f); err != nil {
					return Config{}, err
				}
			}
		}
	}
	var c Config
	if err := v.Unmarshal(&c, viper.DecodeHook(decodeHook)); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	c.Modules.Each = map[modules.Module]ModuleSettings{}
	for _, m := range modules.All() {
		var each ModuleSettings
		if err := v.UnmarshalKey("modules."+string(m), &each, viper.DecodeHook(decodeHook)); err != nil {
			return Config{}, fmt.Errorf("invalid configuration: %w", err)
		}
		if each.Mode == "" {
			each.Mode = "auto" // viper leaves a default out of a section the file sets
		}
		c.Modules.Each[m] = each
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
	known := Keys()
	var unknown []string
	for _, k := range v.AllKeys() {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("config file %s: unknown keys %s", path, strings.Join(unknown, ", "))
	}
	return nil
}
