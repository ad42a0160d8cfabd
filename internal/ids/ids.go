// Package ids makes the opaque, prefixed identifiers of the public API.
package ids

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/oklog/ulid/v2"
)

// New returns prefix + "_" + a ULID in lower case, e.g. "prod_01j9…". ULIDs
// sort by creation time, which gives list endpoints a stable order for free.
func New(prefix string) string {
	return prefix + "_" + strings.ToLower(ulid.Make().String())
}

// Cursor makes the opaque page cursor that points after id. List endpoints
// order by id, so "the rows after this id" is a stable page boundary.
func Cursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// FromCursor returns the id inside a cursor made by Cursor for an id with
// prefix; an empty cursor is the first page and gives "".
func FromCursor(cursor, prefix string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !strings.HasPrefix(string(b), prefix+"_") {
		return "", errors.New("not a cursor this API returned")
	}
	return string(b), nil
}
