package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/bazaar-shop/bazaar/internal/errs"
)

// MaxBodyBytes bounds every request body; no Bazaar request is near this size.
const MaxBodyBytes = 1 << 20

// Decode reads the JSON object in the body into v strictly: anything but one
// object, unknown fields, a member named twice, trailing data and wrong
// types are a 400 malformed_request that says what was wrong, so a typo in
// a field name never passes silently, and no two parsers on the way — a
// proxy, the gateway, a module — can read one body two ways. A body over
// MaxBodyBytes is a 413.
func Decode(c *gin.Context, v any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	if err != nil {
		return malformed(err)
	}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] != '{' {
		return malformed(errors.New("the request body must be a JSON object"))
	}
	// encoding/json lets the last of two members of one name win; the
	// JSON v2 reader refuses them, at any depth.
	if _, err := jsontext.NewDecoder(bytes.NewReader(raw)).ReadValue(); errors.Is(err, jsontext.ErrDuplicateName) {
		var se *jsontext.SyntacticError
		if errors.As(err, &se) {
			return errs.Of(errs.Malformed, fmt.Sprintf("the member %s appears twice", se.JSONPointer))
		}
		return errs.Of(errs.Malformed, "a member appears twice")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return malformed(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed(errors.New("unexpected data after the JSON value"))
	}
	return nil
}

func malformed(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		err = errors.New("the request body is empty")
	case errors.As(err, &typeErr):
		err = fmt.Errorf("field %q must be %s", typeErr.Field, typeErr.Type)
	case errors.As(err, &syntaxErr):
		err = fmt.Errorf("invalid JSON at byte %d", syntaxErr.Offset)
	case isTooLarge(err):
		return errs.Of(errs.TooLarge, fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes))
	}
	return errs.Of(errs.Malformed, err.Error())
}

// QueryLimit reads the optional ?limit= of a list endpoint: def when
// absent, else an integer between 1 and max.
func QueryLimit(c *gin.Context, def, max int) (int, error) {
	raw, ok := c.GetQuery("limit")
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > max {
		return 0, errs.InvalidField("limit", fmt.Sprintf("must be an integer between 1 and %d", max))
	}
	return n, nil
}
