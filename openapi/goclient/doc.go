// Package goclient is Bazaar's public API as oapi-codegen (default options)
// generates it from the served document, for Go programs that call the
// shop. client.gen.go is generated, never edited; .ci/run generates it
// again from `bazaar openapi` and fails when it differs:
//
//	go run . openapi > openapi.json
//	go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 \
//	    -generate types,client -package goclient openapi.json > openapi/goclient/client.gen.go
//
// walk_test.go proves it by buying something with it from a real server.
package goclient
