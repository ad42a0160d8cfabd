// Package ids makes the opaque, prefixed identifiers of the public API.
package ids

import (
	"strings"

	"github.com/oklog/ulid/v2"
)

// New returns prefix + "_" + a ULID in lower case, e.g. "prod_01j9…". ULIDs
// sort by creation time, which gives list endpoints a stable order for free.
func New(prefix string) string {
	return prefix + "_" + strings.ToLower(ulid.Make().String())
}
