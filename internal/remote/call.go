package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/faults"
	"github.com/bazaar-shop/bazaar/internal/web"
)

// Call sends in (if not nil) as JSON with the service token, and decodes a
// 2xx answer into out (if not nil). Any other answer is a problem document,
// turned back into a contract error: known maps codes to the module's
// sentinels, so inventory.ErrOutOfStock stays itself across the wire.
func (m *Module) Call(ctx context.Context, method, path string, in, out any, repeatable bool, known map[string]error) error {
	_, err := m.call(ctx, Request{Method: method, Path: path, Repeatable: repeatable, AsService: true}, in, out, known)
	return err
}

// CallWithKey is Call for a write made safe to repeat by an Idempotency-Key:
// it is retried like a read. It reports whether the answer, success or
// problem, was the replay of an earlier request's (Idempotent-Replayed).
func (m *Module) CallWithKey(ctx context.Context, method, path, key string, in, out any, known map[string]error) (replayed bool, err error) {
	r := Request{Method: method, Path: path, Repeatable: true, AsService: true, Header: []Header{{"Idempotency-Key", key}}}
	return m.call(ctx, r, in, out, known)
}

// Do is Call for a request the caller shapes itself (its headers, say). It
// reports whether the answer was a replay.
func (m *Module) Do(ctx context.Context, r Request, in, out any, known map[string]error) (replayed bool, err error) {
	return m.call(ctx, r, in, out, known)
}

// TrackCalls returns ctx, and a report of whether a module call was made
// with it, or with a context made from it: a client that may answer from
// memory tells a call that crossed to its module (or tried to) from one
// that did not.
func TrackCalls(ctx context.Context) (context.Context, func() bool) {
	var crossed atomic.Bool
	return context.WithValue(ctx, crossingKey{}, &crossed), crossed.Load
}

type crossingKey struct{}

// call makes the call and reports whether the answer was a replay.
func (m *Module) call(ctx context.Context, r Request, in, out any, known map[string]error) (replayed bool, err error) {
	if crossed, ok := ctx.Value(crossingKey{}).(*atomic.Bool); ok {
		crossed.Store(true)
	}
	r.moduleCall = true
	if in != nil {
		body, err := json.Marshal(in)
		if err != nil {
			return false, err
		}
		r.Body = body
		r.Header = append(r.Header, Header{"Content-Type", "application/json"})
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := m.Send(ctx, r, resp); err != nil {
		return false, err
	}
	replayed = string(resp.Header.Peek("Idempotent-Replayed")) == "true"
	if status := resp.StatusCode(); status < 200 || status > 299 {
		err := decodeProblem(status, resp.Body(), known)
		if kind := resp.Header.Peek(faultHeader); len(kind) > 0 {
			err = &faults.Fault{Kind: string(kind), Module: m.name, Err: err}
		}
		return replayed, err
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body(), out); err != nil {
			return replayed, fmt.Errorf("%s %s: decode the answer: %w", r.Method, r.Path, err)
		}
	}
	return replayed, nil
}

// Problem is a problem document as it arrives from a module.
type Problem struct {
	Status int
	Code   string
	Detail string
	Errors []errs.FieldError
	// Extensions are the members a module adds of its own (a payment_id,
	// say), kept as they came so that they are passed on unchanged.
	Extensions map[string]any
}

// standardMembers are the members every problem has; the rest are Extensions.
var standardMembers = map[string]bool{"type": true, "title": true, "status": true, "detail": true, "code": true, "request_id": true, "errors": true}

// UnmarshalJSON reads the standard members and keeps the rest as Extensions.
func (p *Problem) UnmarshalJSON(b []byte) error {
	var std struct {
		Status int               `json:"status"`
		Code   string            `json:"code"`
		Detail string            `json:"detail"`
		Errors []errs.FieldError `json:"errors"`
	}
	var all map[string]any
	if err := json.Unmarshal(b, &std); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	*p = Problem{Status: std.Status, Code: std.Code, Detail: std.Detail, Errors: std.Errors}
	for k, v := range all {
		if !standardMembers[k] {
			if p.Extensions == nil {
				p.Extensions = map[string]any{}
			}
			p.Extensions[k] = v
		}
	}
	return nil
}

// ProblemError is a contract error that came over the wire. It unwraps to
// the module's sentinel for its code, and keeps the problem's other members.
type ProblemError struct {
	Problem
	Err error
}

func (e *ProblemError) Error() string { return e.Detail }

// Unwrap gives the contract error (and the field errors, if any).
func (e *ProblemError) Unwrap() []error {
	out := []error{e.Err}
	if len(e.Errors) > 0 {
		out = append(out, &errs.ValidationError{Fields: e.Errors})
	}
	return out
}

// Extensions keeps the problem's extension members when it is written again.
func (e *ProblemError) Extensions() map[string]any {
	ext := map[string]any{}
	for k, v := range e.Problem.Extensions {
		ext[k] = v
	}
	if len(e.Errors) > 0 {
		ext["errors"] = e.Errors
	}
	return ext
}

// Extension returns a string member of the problem, or "".
func (e *ProblemError) Extension(name string) string {
	s, _ := e.Problem.Extensions[name].(string)
	return s
}

func decodeProblem(status int, body []byte, known map[string]error) error {
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Code == "" {
		return fmt.Errorf("%w: the module answered %d without a problem document", ErrUnavailable, status)
	}
	sentinel, ok := known[p.Code]
	switch {
	case ok:
	case p.Code == errs.CodeInvalid:
		sentinel = errs.ErrInvalid
	case p.Code == errs.CodeUnavailable:
		sentinel = ErrUnavailable
	default:
		// A code this client does not know still keeps its code, and its
		// kind by the status it came with, when it is passed on.
		sentinel = errs.New(web.KindOfStatus(status), p.Code, p.Detail)
	}
	return &ProblemError{Problem: p, Err: sentinel}
}

// Segment reports whether id can be sent as one path segment. An empty id,
// or one with a slash, would address another route (gin decodes %2F before
// routing), so clients answer "not found" for it themselves, as the local
// service would.
func Segment(id string) bool { return id != "" && !strings.Contains(id, "/") }
