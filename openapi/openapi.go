// Package openapi holds the OpenAPI 3 document of Bazaar's public HTTP API:
// the wire form of the module contracts. The black-box tests validate every
// response against it, so it cannot drift from the code.
package openapi

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var document []byte

// internalDocument describes the module-to-module routes, which the public
// document leaves out.
//
//go:embed internal.yaml
var internalDocument []byte

// Load parses and validates the public document.
func Load() (*openapi3.T, error) { return load("openapi.yaml", document) }

// LoadInternal parses and validates the document of the internal routes.
func LoadInternal() (*openapi3.T, error) { return load("internal.yaml", internalDocument) }

func load(name string, data []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not valid: %w", name, err)
	}
	return doc, nil
}

// JSON returns the document as JSON, as GET /openapi.json serves it.
func JSON() ([]byte, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	return doc.MarshalJSON()
}

// InternalJSON returns the document of the internal routes as JSON.
func InternalJSON() ([]byte, error) {
	doc, err := LoadInternal()
	if err != nil {
		return nil, err
	}
	return doc.MarshalJSON()
}
