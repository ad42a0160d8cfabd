package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDeclarations: every setting declares a help, and its checks use only
// words the checks know, each fit for the field's type.
func TestDeclarations(t *testing.T) {
	flags := map[string]string{}
	for _, s := range settings() {
		require.NotEmpty(t, s.help, "%s declares no help", s.key)
		require.False(t, strings.Contains(s.help, "\n"), "%s: help is one line", s.key)
		if s.flag != "" {
			require.Empty(t, flags[s.flag], "--%s sets both %s and %s", s.flag, flags[s.flag], s.key)
			flags[s.flag] = s.key
		}
		if s.section {
			continue
		}
		for _, c := range s.checks {
			name, _, _ := strings.Cut(c, "=")
			require.Contains(t, checks, name, "%s: no check %q", s.key, name)
		}
		// Checking the zero value runs each check on the field's type: a
		// check that does not fit it panics here, not at a user's start.
		require.NotPanics(t, func() { _ = s.problem(Config{}) }, s.key)
	}
}
