// Command apicompat is the breaking-change gate of the public API: it
// compares the document Bazaar serves with the one last released and
// exits 1 on a change that would break a client, unless the document's
// version is a new major version. CI runs it; so can anyone:
//
//	go run ./openapi/cmd/apicompat
//
// When a release is made, openapi/released/openapi.yaml becomes a copy of
// openapi/openapi.yaml.
package main

import (
	"fmt"
	"os"

	"github.com/bazaar-shop/bazaar/openapi"
	"github.com/bazaar-shop/bazaar/openapi/compat"
)

func main() {
	released, err := os.ReadFile("openapi/released/openapi.yaml")
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicompat: run it at the repository's root:", err)
		os.Exit(2)
	}
	current, err := openapi.JSON()
	if err == nil {
		var r compat.Report
		if r, err = compat.Compare(released, current); err == nil {
			fmt.Print(r)
			if !r.Allowed() {
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintln(os.Stderr, "apicompat:", err)
	os.Exit(2)
}
