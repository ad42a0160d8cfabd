// Package apitest is Bazaar's black-box API suite. It knows only a base URL
// and an admin key, talks plain HTTP, and validates every response it gets
// against the OpenAPI document the server itself serves. The same suite runs
// against any layout of the API: one process on SQLite or PostgreSQL today,
// split services tomorrow.
package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Client calls the API and checks every response against its OpenAPI document.
type Client struct {
	base   string
	http   *http.Client
	router routers.Router
}

// NewClient fetches base/openapi.json and returns a validating client.
func NewClient(t testing.TB, base string) *Client {
	t.Helper()
	c := &Client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 60 * time.Second}}
	resp, err := c.http.Get(c.base + "/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /openapi.json")

	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err, "the served OpenAPI document must parse")
	require.NoError(t, doc.Validate(context.Background()), "the served OpenAPI document must be valid")
	doc.Servers = openapi3.Servers{{URL: c.base}}
	c.router, err = gorillamux.NewRouter(doc)
	require.NoError(t, err)
	return c
}

// Response is what the server answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Problem is an RFC 9457 problem document as Bazaar writes it.
type Problem struct {
	Type        string       `json:"type"`
	Title       string       `json:"title"`
	Status      int          `json:"status"`
	Detail      string       `json:"detail"`
	Code        string       `json:"code"`
	Errors      []FieldError `json:"errors"`
	PaymentID   string       `json:"payment_id"`
	DeclineCode string       `json:"decline_code"`
}

// FieldError is one bad field of a validation problem.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Fields lists the names of the bad fields.
func (p Problem) Fields() []string {
	out := make([]string, len(p.Errors))
	for i, e := range p.Errors {
		out[i] = e.Field
	}
	return out
}

// Raw is a request body sent exactly as written, for malformed input.
type Raw string

// Do sends a request with an optional bearer key and body (a Raw, or any
// value, sent as JSON) and validates the response against the document.
func (c *Client) Do(t testing.TB, method, path, key string, body any) Response {
	t.Helper()
	return c.mustDo(t, method, path, key, body, nil, true)
}

// DoHeaders is Do with extra request headers.
func (c *Client) DoHeaders(t testing.TB, method, path, key string, body any, h http.Header) Response {
	t.Helper()
	return c.mustDo(t, method, path, key, body, h, true)
}

// DoUndocumented sends a request to a route the document does not list
// (to test the answer for unknown routes); its response is not validated.
func (c *Client) DoUndocumented(t testing.TB, method, path string) Response {
	t.Helper()
	return c.mustDo(t, method, path, "", nil, nil, false)
}

// DoConcurrently is Do for goroutines other than the test's own: it
// reports failures with t.Errorf instead of stopping the test.
func (c *Client) DoConcurrently(t testing.TB, method, path, key string, body any) (Response, bool) {
	t.Helper()
	return c.do(t, method, path, key, body, nil, true)
}

// DoHeadersConcurrently is DoConcurrently with extra request headers.
func (c *Client) DoHeadersConcurrently(t testing.TB, method, path, key string, body any, h http.Header) (Response, bool) {
	t.Helper()
	return c.do(t, method, path, key, body, h, true)
}

func (c *Client) mustDo(t testing.TB, method, path, key string, body any, h http.Header, validate bool) Response {
	t.Helper()
	r, ok := c.do(t, method, path, key, body, h, validate)
	if !ok {
		t.FailNow()
	}
	return r
}

func (c *Client) do(t testing.TB, method, path, key string, body any, h http.Header, validate bool) (Response, bool) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case Raw:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); !assert.NoError(t, err) {
			return Response{}, false
		}
	}
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(raw))
	if !assert.NoError(t, err) {
		return Response{}, false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if !assert.NoError(t, err, "%s %s", method, path) {
		return Response{}, false
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if !assert.NoError(t, err) {
		return Response{}, false
	}
	out := Response{Status: resp.StatusCode, Header: resp.Header, Body: respBody}

	ok := assert.NotEmpty(t, resp.Header.Get("X-Request-Id"), "%s %s: every response carries X-Request-Id", method, path) &&
		assert.Less(t, resp.StatusCode, 500, "%s %s: no request of this suite may cause a server error: %s", method, path, respBody)
	if ok && validate {
		ok = c.validate(t, req, raw, out)
	}
	return out, ok
}

// validate checks a response against the OpenAPI document: its status must
// be documented for the route and its body must match the schema.
func (c *Client) validate(t testing.TB, req *http.Request, body []byte, resp Response) bool {
	t.Helper()
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := c.router.FindRoute(req)
	if !assert.NoError(t, err, "%s %s is not in the OpenAPI document", req.Method, req.URL.Path) {
		return false
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  resp.Status,
		Header:  resp.Header,
		Body:    io.NopCloser(bytes.NewReader(resp.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	err = openapi3filter.ValidateResponse(context.Background(), in)
	return assert.NoError(t, err, "%s %s answered %d with a response the OpenAPI document does not allow:\n%s",
		req.Method, req.URL.Path, resp.Status, resp.Body)
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// Problem decodes a problem body and checks its status, code and media type.
func (r Response) Problem(t testing.TB, status int, code string) Problem {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	var p Problem
	r.JSON(t, &p)
	require.Equal(t, code, p.Code, "body: %s", r.Body)
	require.Equal(t, status, p.Status)
	require.NotEmpty(t, p.Type)
	require.NotEmpty(t, p.Title)
	return p
}

// Expect checks the status and decodes the body into v (which may be nil).
func (r Response) Expect(t testing.TB, status int, v any) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	if v != nil {
		r.JSON(t, v)
	}
}

// unique returns a name no other test or run uses, for SKUs and searches.
func unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%x", prefix, b)
}
