// Package topology is where each module runs, as one process sees it: what
// GET /v1/topology answers, and what the console gathers from every
// process of a layout to draw it.
package topology

import (
	"github.com/bazaar-shop/bazaar/internal/faults"
	"github.com/bazaar-shop/bazaar/internal/remote"
)

// Topology is where each module runs, as seen from one process.
type Topology struct {
	Hosts []string `json:"hosts"`
	// APIKeys is "local" where the process checks API keys itself (an
	// edge), "edge" where it trusts the callers its gateway asserts.
	APIKeys string              `json:"api_keys"`
	Modules map[string]Location `json:"modules"`
}

// Location is where one module runs and whether it answers.
type Location struct {
	Mode string `json:"mode"` // local, remote, or unreachable (no URL known)
	// Wire is a module hosted here but called through its HTTP client
	// over an in-memory connection, as if split.
	Wire bool `json:"wire,omitempty"`
	// CachedReads: this process answers the module's public reads itself,
	// from a cache of the module's answers, and forwards only its writes
	// (catalogue.edge_cache).
	CachedReads bool             `json:"cached_reads,omitempty"`
	Ready       bool             `json:"ready"`
	Replicas    []remote.Replica `json:"replicas,omitempty"`
	Breaker     string           `json:"breaker,omitempty"`
	// Faults are those this process makes on purpose in its calls to the
	// module, if any.
	Faults *faults.Spec `json:"faults,omitempty"`
}

// Modes of a location.
const (
	Local       = "local"
	Remote      = "remote"
	Unreachable = "unreachable"
)
