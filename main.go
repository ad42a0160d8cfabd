// Command bazaar is an online store backend: a modular monolith whose
// catalogue, inventory and payment modules each sit behind a Go interface.
//
//	bazaar                      serve the whole shop (same as bazaar serve)
//	bazaar serve --modules inventory
//	                            host only some modules; reach the others at their URLs
//	bazaar gateway              host no module: the API gateway of a split layout
//	bazaar migrate up|down|status
//	bazaar keys create --role admin|storefront
//	bazaar version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gin-gonic/gin"
)

func main() {
	// Our access log replaces gin's debug output. The mode is the
	// process's, so the process sets it, once.
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program with its inputs made explicit, so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := newRootCommand(ctx, getenv, stdout, stderr)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		// One line, so that a log collector keeps it whole: some drivers'
		// errors (pgx's, say) span several.
		fmt.Fprintln(stderr, "bazaar:", oneLine(err.Error()))
		return 1
	}
	return 0
}

// oneLine joins the lines of a message: with a space after a line that
// ends in a colon, with "; " after any other.
func oneLine(msg string) string {
	var b strings.Builder
	for _, line := range strings.Split(msg, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if s := b.String(); s != "" && !strings.HasSuffix(s, ":") {
			b.WriteString(";")
		}
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(line)
	}
	return b.String()
}
