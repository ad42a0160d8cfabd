package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/bazaar-shop/bazaar/internal/errs"
)

// MaxBodyBytes bounds every request body; no Bazaar request is near this size.
const MaxBodyBytes = 1 << 20

// Decode reads the JSON body into v strictly: unknown fields, trailing data,
// wrong types and oversized bodies are all a 400 malformed_request that says
// what was wrong, so a typo in a field name never passes silently.
func Decode(c *gin.Context, v any) error {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
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
		err = fmt.Errorf("the request body is larger than %d bytes", MaxBodyBytes)
	}
	return &errs.Error{Code: errs.CodeMalformed, Message: err.Error()}
}

// QueryInt reads an optional integer query parameter.
func QueryInt(c *gin.Context, name string, def int) (int, error) {
	raw, ok := c.GetQuery(name)
	if !ok || raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, errs.Invalid(name, "must be an integer")
	}
	return n, nil
}
