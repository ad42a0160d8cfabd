package config

import (
	"strings"
)

// exampleHeader opens bazaar.example.yaml: what no single setting says.
const exampleHeader = `# Bazaar example configuration.
#
# Every setting is listed below with its default value, so this file changes
# nothing as it stands: copy it to ./bazaar.yaml (read when present), or point
# to it with --config PATH or BAZAAR_CONFIG=PATH, and edit what you need.
# Unknown (e.g. misspelt) keys are refused.
#
# Precedence, lowest first:
#   1. built-in defaults (the values shown here)
#   2. this YAML file
#   3. BAZAAR_* environment variables: the key in upper case with "." → "_",
#      e.g. http.addr → BAZAAR_HTTP_ADDR; an empty variable counts as unset
#   4. command-line flags, where a setting has one
#
# Durations are Go durations: 500ms, 30s, 15m, 1h30m. Lists are
# comma-separated.
#
# Database DSNs may be:
#   postgres://user:pass@host:5432/db?sslmode=disable   (or postgresql://)
#   sqlite://path/to/file.db
#   file:path/to/file.db
#   path/to/file.db                                       (a plain path: SQLite)
#
# This file is written from the settings' declarations in config/config.go:
# go test ./config -run TestExampleFile -update
`

// Example is bazaar.example.yaml: every setting with its help, how to set
// it, and its default.
func Example() string {
	var b strings.Builder
	b.WriteString(exampleHeader)
	for _, s := range settings() {
		depth := strings.Count(s.key, ".")
		indent := strings.Repeat("  ", depth)
		name := s.key[strings.LastIndex(s.key, ".")+1:]
		if depth == 0 {
			b.WriteString("\n")
		}
		comment(&b, indent, s.help)
		if s.section {
			b.WriteString(indent + name + ":\n")
			continue
		}
		how := "Env: " + strings.Join(s.env, " or ") + "."
		if s.flag != "" {
			how += " Flag: --" + s.flag + "."
		}
		comment(&b, indent, how)
		b.WriteString(indent + name + ": " + yamlScalar(s.def) + "\n")
	}
	return b.String()
}

// comment writes text as YAML comment lines of at most 80 columns.
func comment(b *strings.Builder, indent, text string) {
	if text == "" {
		return
	}
	line := indent + "#"
	for _, word := range strings.Fields(text) {
		if len(line)+1+len(word) > 80 && line != indent+"#" {
			b.WriteString(line + "\n")
			line = indent + "#"
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
}

// yamlScalar writes a default as YAML reads it back: quoted when empty or
// when YAML would read it otherwise.
func yamlScalar(s string) string {
	if s == "" || strings.ContainsAny(s, ":#{}[]&*!|>'\"%@`") {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}
