// Package errs is the error vocabulary every module contract speaks.
//
// A contract error is an *Error with a machine-readable Code ("not_found",
// "out_of_stock", …). Modules declare their own sentinels with New, callers
// compare them with errors.Is, and internal/web maps the codes to HTTP in
// one table. Because the code travels on the wire, an HTTP client can turn it
// back into the very same sentinel.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Codes shared by every module. Modules add their own (inventory's
// "out_of_stock", payment's "card_declined") next to their sentinels.
const (
	CodeInvalid       = "validation_failed"
	CodeMalformed     = "malformed_request"
	CodeNotFound      = "not_found"
	CodeConflict      = "conflict"
	CodeUnauthorized  = "unauthorized"
	CodeForbidden     = "forbidden"
	CodeUnavailable   = "dependency_unavailable"
	CodeInternal      = "internal"
	CodeNotAllowed    = "method_not_allowed"
	CodeRouteNotFound = "route_not_found"
)

// Error is a contract error: a stable code plus a human-readable message.
type Error struct {
	Code    string
	Message string
}

// New declares a contract error.
func New(code, message string) *Error { return &Error{Code: code, Message: message} }

func (e *Error) Error() string { return e.Message }

// Generic sentinels for failures that belong to no single module.
var (
	ErrInvalid      = New(CodeInvalid, "the request is not valid")
	ErrMalformed    = New(CodeMalformed, "the request body is not valid JSON for this endpoint")
	ErrUnauthorized = New(CodeUnauthorized, "a valid API key is required")
	ErrForbidden    = New(CodeForbidden, "this API key may not do that")

	// Answers to an Idempotency-Key, whichever route (and module) keeps it.
	ErrIdempotencyKeyReused = New("idempotency_key_reused", "this Idempotency-Key was used for a different request")
	ErrIdempotencyKeyInUse  = New("idempotency_key_in_use", "a request with this Idempotency-Key is still being processed; retry shortly")
)

// Code returns the contract code of err, or CodeInternal when err carries none.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// FieldError says what is wrong with one input field. Field uses the JSON
// path of the request body ("items[0].quantity").
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ValidationError lists every bad field of one input. It matches ErrInvalid.
type ValidationError struct {
	Fields []FieldError
}

func (v *ValidationError) Error() string {
	parts := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (v *ValidationError) Unwrap() error { return ErrInvalid }

// Extensions adds the bad fields to the problem document.
func (v *ValidationError) Extensions() map[string]any {
	return map[string]any{"errors": v.Fields}
}

// Validator collects field errors while an input is checked.
type Validator struct{ fields []FieldError }

// Check records reason for field when ok is false.
func (v *Validator) Check(ok bool, field, reason string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Reason: reason})
	}
}

// Checkf is Check with a formatted field name.
func (v *Validator) Checkf(ok bool, reason, fieldFormat string, args ...any) {
	if !ok {
		v.Check(false, fmt.Sprintf(fieldFormat, args...), reason)
	}
}

// Err returns a *ValidationError when any check failed, else nil.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.fields}
}

// Invalid is a one-field validation error.
func Invalid(field, reason string) error {
	return &ValidationError{Fields: []FieldError{{Field: field, Reason: reason}}}
}
