// Package errs is the error vocabulary every module contract speaks.
//
// A contract error is an *Error with a Kind (what sort of failure it is:
// not found, a conflict, …) and a machine-readable Code ("not_found",
// "out_of_stock", …). A module declares its errors in its contract, with
// New for a code of its own or Of for its kind's generic code, and lists
// them in its Errors. Callers compare them with errors.Is. internal/web
// turns a kind into an HTTP status, and a module's HTTP client turns a code
// back into the very same error with Index(Errors...): adding an error to a
// module touches that module only.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is what sort of failure an error is: all a transport needs to know
// of it to answer (internal/web makes each an HTTP status).
type Kind uint8

const (
	Internal     Kind = iota // a failure of ours; nothing the caller did
	Invalid                  // the input breaks a rule
	Malformed                // the input cannot be read
	TooLarge                 // the input is over a size limit
	NotFound                 // no such thing
	NotAllowed               // not with this method
	Conflict                 // not in the state things are in now
	Unauthorized             // who is asking is not known
	Forbidden                // who is asking may not do it
	Declined                 // a third party said no (a card)
	RateLimited              // too many requests; retry later
	Unavailable              // something it needs is down
	Timeout                  // its deadline ran out
)

// Codes shared by every module: the generic code of each kind, and a few
// of plumbing's own. Modules add their own codes ("out_of_stock",
// "card_declined") where they declare their errors.
const (
	CodeInternal      = "internal"
	CodeInvalid       = "validation_failed"
	CodeMalformed     = "malformed_request"
	CodeTooLarge      = "body_too_large"
	CodeNotFound      = "not_found"
	CodeNotAllowed    = "method_not_allowed"
	CodeConflict      = "conflict"
	CodeUnauthorized  = "unauthorized"
	CodeForbidden     = "forbidden"
	CodeDeclined      = "declined"
	CodeRateLimited   = "rate_limited"
	CodeUnavailable   = "dependency_unavailable"
	CodeTimeout       = "timeout"
	CodeRouteNotFound = "route_not_found"
)

var genericCode = [...]string{
	Internal: CodeInternal, Invalid: CodeInvalid, Malformed: CodeMalformed, TooLarge: CodeTooLarge,
	NotFound: CodeNotFound, NotAllowed: CodeNotAllowed, Conflict: CodeConflict,
	Unauthorized: CodeUnauthorized, Forbidden: CodeForbidden, Declined: CodeDeclined,
	RateLimited: CodeRateLimited, Unavailable: CodeUnavailable, Timeout: CodeTimeout,
}

// Error is a contract error: its kind, a stable code and a message for people.
type Error struct {
	Kind    Kind
	Code    string
	Message string
}

// New declares a contract error with a code of its own.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Of declares a contract error with its kind's generic code.
func Of(kind Kind, message string) *Error {
	return &Error{Kind: kind, Code: genericCode[kind], Message: message}
}

func (e *Error) Error() string { return e.Message }

// Generic sentinels for failures that belong to no single module.
var (
	ErrInvalid      = Of(Invalid, "the request is not valid")
	ErrMalformed    = Of(Malformed, "the request body is not valid JSON for this endpoint")
	ErrUnauthorized = Of(Unauthorized, "a valid API key is required")
	ErrForbidden    = Of(Forbidden, "this API key may not do that")
	ErrUnavailable  = Of(Unavailable, "a module this request needs is unavailable")

	// Answers to an Idempotency-Key, whichever route (and module) keeps it.
	ErrIdempotencyKeyReused = New(Invalid, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
	ErrIdempotencyKeyInUse  = New(Conflict, "idempotency_key_in_use", "a request with this Idempotency-Key is still being processed; retry shortly")
)

// Index maps codes to a contract's errors, for its HTTP client to turn a
// problem's code back into the error. Where errors share a code, the first
// listed is the one a client gets back.
func Index(list ...*Error) map[string]error {
	out := make(map[string]error, len(list))
	for _, e := range list {
		if _, ok := out[e.Code]; !ok {
			out[e.Code] = e
		}
	}
	return out
}

// KindOf returns the kind of err, or Internal when it carries none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

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

// InvalidField is a one-field validation error.
func InvalidField(field, reason string) error {
	return &ValidationError{Fields: []FieldError{{Field: field, Reason: reason}}}
}
