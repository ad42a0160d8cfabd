package config

import (
	"fmt"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bazaar-shop/bazaar/modules"
)

// setting is one key as its field in Config declares it.
type setting struct {
	key     string // data_dir, http.addr, modules.catalogue.dsn
	def     string // its default, as the environment would write it
	help    string
	flag    string   // a command-line flag that sets it, if any
	env     []string // the environment variables that set it, the long name last (it wins)
	checks  []string
	section bool  // a struct of settings, not a setting
	index   []int // the field in Config; nil for a module's settings
	module  modules.Module
	field   string // the field of ModuleSettings, for a module's settings
}

// settings lists every setting declared in Config, and the sections that
// hold them, in the order they are declared; a module's settings once for
// each module.
func settings() []setting {
	var out []setting
	walk(reflect.TypeFor[Config](), "", nil, &out)
	return out
}

func walk(t reflect.Type, prefix string, index []int, out *[]setting) {
	for i := range t.NumField() {
		f := t.Field(i)
		idx := append(slices.Clone(index), i)
		if f.Type == reflect.TypeFor[map[modules.Module]ModuleSettings]() {
			each := reflect.TypeFor[ModuleSettings]()
			for _, m := range modules.All() {
				help := strings.ReplaceAll(f.Tag.Get("help"), "{module}", string(m))
				*out = append(*out, setting{key: prefix + string(m), help: help, section: true})
				for j := range each.NumField() {
					if each.Field(j).Name == "DSN" && !m.Stores() {
						continue // no database of its own
					}
					s := declared(each.Field(j), prefix+string(m)+".")
					s.help = strings.ReplaceAll(s.help, "{module}", string(m))
					s.module, s.field = m, each.Field(j).Name
					*out = append(*out, s)
				}
			}
			continue
		}
		s := declared(f, prefix)
		s.index = idx
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
			s.section = true
			*out = append(*out, s)
			walk(f.Type, s.key+".", idx, out)
			continue
		}
		*out = append(*out, s)
	}
}

// declared reads a field's declaration from its tags.
func declared(f reflect.StructField, prefix string) setting {
	key := prefix + f.Tag.Get("mapstructure")
	s := setting{key: key, def: f.Tag.Get("default"), help: f.Tag.Get("help"), flag: f.Tag.Get("flag")}
	if alias := f.Tag.Get("env"); alias != "" {
		s.env = append(s.env, alias)
	}
	s.env = append(s.env, EnvName(key))
	if c := f.Tag.Get("check"); c != "" {
		s.checks = strings.Split(c, ",")
	}
	return s
}

// Keys returns every configuration key, sorted.
func Keys() []string {
	var keys []string
	for _, s := range settings() {
		if !s.section {
			keys = append(keys, s.key)
		}
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

// value is the setting's value in c.
func (s setting) value(c Config) reflect.Value {
	if s.module != "" {
		return reflect.ValueOf(c.Modules.Each[s.module]).FieldByName(s.field)
	}
	return reflect.ValueOf(c).FieldByIndex(s.index)
}

// problem is what is wrong with the setting's value in c, by its declared
// checks; "" when nothing is.
func (s setting) problem(c Config) string {
	v := s.value(c)
	if slices.Contains(s.checks, "optional") && v.IsZero() {
		return ""
	}
	for _, check := range s.checks {
		name, arg, _ := strings.Cut(check, "=")
		if p := checks[name](v, arg); p != "" {
			return p
		}
	}
	return ""
}

// checks are the words a check tag may use. Each returns what is wrong
// with a value, or "".
var checks = map[string]func(v reflect.Value, arg string) string{
	"optional": func(reflect.Value, string) string { return "" }, // handled in problem
	"nonempty": func(v reflect.Value, _ string) string {
		if v.IsZero() {
			return "must not be empty"
		}
		return ""
	},
	"positive": func(v reflect.Value, _ string) string {
		switch {
		case v.Type() == reflect.TypeFor[time.Duration]():
			if v.Int() <= 0 {
				return fmt.Sprintf("must be a positive duration such as 30s or 15m, got %s", time.Duration(v.Int()))
			}
		case v.Kind() == reflect.Slice:
			if v.Len() == 0 {
				return "must list at least one duration, such as 5s,5m,30m"
			}
			for i := range v.Len() {
				if d := time.Duration(v.Index(i).Int()); d <= 0 {
					return fmt.Sprintf("every duration must be positive, got %s", d)
				}
			}
		case v.Int() < 1:
			return fmt.Sprintf("must be at least 1, got %d", v.Int())
		}
		return ""
	},
	"nonnegative": func(v reflect.Value, _ string) string {
		if v.Kind() == reflect.Float64 && v.Float() < 0 || v.CanInt() && v.Int() < 0 {
			return fmt.Sprintf("must not be negative, got %s", show(v))
		}
		return ""
	},
	"share": func(v reflect.Value, _ string) string {
		if f := v.Float(); !(f >= 0 && f <= 1) {
			return fmt.Sprintf("must be a share between 0 and 1, got %s", show(v))
		}
		return ""
	},
	"range": func(v reflect.Value, arg string) string {
		lo, hi, _ := strings.Cut(arg, "..")
		min, _ := strconv.ParseInt(lo, 10, 64)
		max, _ := strconv.ParseInt(hi, 10, 64)
		if v.Int() < min || v.Int() > max {
			return fmt.Sprintf("must be between %d and %d, got %d", min, max, v.Int())
		}
		return ""
	},
	"oneof": func(v reflect.Value, arg string) string {
		words := strings.Split(arg, "|")
		if !slices.Contains(words, v.String()) {
			return fmt.Sprintf("must be %s, got %q", orList(words), v.String())
		}
		return ""
	},
	"proxies": func(v reflect.Value, _ string) string {
		for i := range v.Len() {
			p := v.Index(i).String()
			if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
				return fmt.Sprintf("%q is neither an IP address nor a CIDR range", p)
			}
		}
		return ""
	},
	"addr": func(v reflect.Value, _ string) string {
		if _, _, err := net.SplitHostPort(v.String()); err != nil {
			return fmt.Sprintf("must be host:port or :port, got %q", v.String())
		}
		return ""
	},
}

// show writes a value as a person would set it.
func show(v reflect.Value) string {
	if v.Type() == reflect.TypeFor[time.Duration]() {
		return time.Duration(v.Int()).String()
	}
	return fmt.Sprint(v.Interface())
}

// orList writes "a, b or c".
func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
