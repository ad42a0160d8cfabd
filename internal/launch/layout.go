// Package launch starts Bazaar layouts as processes of the built binary:
// the monolith, the split behind a gateway, and mixes of the two, each
// process on a loopback port with a data directory of its own. The process
// tests and `bazaar bench` start their layouts here, so what the tests
// prove is what the bench measures.
package launch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bazaar-shop/bazaar/modules"
)

// Spec is one process of a layout.
type Spec struct {
	// Name is unique in its layout: "gateway", "catalogue", "catalogue2".
	Name string
	// Serve lists the modules it hosts; none is a gateway.
	Serve []modules.Module
	// Edge says it checks API keys: the monolith, a gateway, or a process
	// that hosts some modules and is where clients call.
	Edge bool
	// Args is the command; "serve" when empty. "{addr}" in it is replaced
	// by the process's listen address, "{addr:NAME}" by the address the
	// others reach process NAME at.
	Args []string
	// Env is settings of its own, after those the layout implies.
	Env []string
}

// Layout is the processes of a shop, in the order they start: a module
// after those it calls where the layout allows.
type Layout struct {
	Name  string
	Procs []Spec
	// Front is the process clients call: the gateway, the monolith, or a
	// front that hosts some modules itself.
	Front string
}

// Layouts that Named knows.
const (
	Monolith      = "monolith"
	Split         = "split"          // every module its own process, behind a gateway
	SplitReplicas = "split-replicas" // the split with two catalogue replicas
	Mixed         = "mixed"          // catalogue, inventory and the storefront at the front; payment and webhooks apart
)

// Named returns one of the layouts above.
func Named(name string) (Layout, error) {
	switch name {
	case Monolith:
		return Layout{Name: name, Front: "monolith",
			Procs: []Spec{{Name: "monolith", Serve: modules.All(), Edge: true}}}, nil
	case Split, SplitReplicas:
		l := Layout{Name: name, Front: "gateway"}
		for _, m := range startOrder(modules.All()) {
			l.Procs = append(l.Procs, Spec{Name: string(m), Serve: []modules.Module{m}})
			if m == modules.Catalogue && name == SplitReplicas {
				l.Procs = append(l.Procs, Spec{Name: "catalogue2", Serve: []modules.Module{m}})
			}
		}
		l.Procs = append(l.Procs, Spec{Name: "gateway", Edge: true})
		return l, nil
	case Mixed:
		// Each process calls the other: the order cannot put callees
		// first, and needs not, as a module need not be up for its
		// callers to start.
		return Layout{Name: name, Front: "shop", Procs: []Spec{
			{Name: "shop", Serve: []modules.Module{modules.Catalogue, modules.Inventory, modules.Storefront}, Edge: true},
			{Name: "payment", Serve: []modules.Module{modules.Payment, modules.Webhooks}},
		}}, nil
	}
	return Layout{}, fmt.Errorf("no layout %q (layouts: %s, %s, %s, %s)", name, Monolith, Split, SplitReplicas, Mixed)
}

// startOrder puts each module after the modules it calls.
func startOrder(ms []modules.Module) []modules.Module {
	var order []modules.Module
	var visit func(m modules.Module)
	visit = func(m modules.Module) {
		if slices.Contains(order, m) {
			return
		}
		for _, n := range m.Needs() {
			visit(n)
		}
		order = append(order, m)
	}
	for _, m := range ms {
		visit(m)
	}
	return order
}

// env is the settings a layout implies for one of its processes: what it
// hosts, whether it checks keys, the databases it owns (dsn nil: SQLite
// files in its data directory) and where the modules it calls but does
// not host run. addrs maps each process to its listen address.
func (l Layout) env(s Spec, addrs map[string]string, dsn func(owner string) string) ([]string, error) {
	serve := "none"
	if len(s.Serve) > 0 {
		serve = modules.List(s.Serve)
	}
	env := []string{"BAZAAR_SERVE=" + serve}
	if s.Edge {
		env = append(env, "BAZAAR_AUTH_EDGE=true")
	}
	if dsn != nil {
		if s.Edge {
			env = append(env, "BAZAAR_AUTH_DSN="+dsn("auth"))
		}
		for _, m := range s.Serve {
			if m.Stores() {
				env = append(env, moduleVar(m, "DSN")+"="+dsn(string(m)))
			}
		}
	}
	for _, m := range l.calls(s) {
		var urls []string
		for _, p := range l.Procs {
			if slices.Contains(p.Serve, m) {
				urls = append(urls, "http://"+addrs[p.Name])
			}
		}
		if len(urls) == 0 && s.Edge && !slices.Contains(l.needed(s), m) {
			continue // a route to it would answer 503: the layout leaves it out
		}
		if len(urls) == 0 {
			return nil, fmt.Errorf("layout %s: %s calls %s, which no process hosts", l.Name, s.Name, m)
		}
		env = append(env, moduleVar(m, "URL")+"="+strings.Join(urls, ","))
	}
	return env, nil
}

// calls lists the modules a process reaches over the network: at the edge
// every module it does not host (its public routes lead to each), elsewhere
// those its own modules call.
func (l Layout) calls(s Spec) []modules.Module {
	var out []modules.Module
	for _, m := range modules.All() {
		if !slices.Contains(s.Serve, m) && (s.Edge || slices.Contains(l.needed(s), m)) {
			out = append(out, m)
		}
	}
	return out
}

// needed lists the modules a process's own modules call.
func (l Layout) needed(s Spec) []modules.Module {
	var out []modules.Module
	for _, h := range s.Serve {
		out = append(out, h.Needs()...)
	}
	return out
}

// moduleVar is the environment variable of a module's setting, as config
// names it: modules.<name>.<field>.
func moduleVar(m modules.Module, field string) string {
	return "BAZAAR_MODULES_" + strings.ToUpper(string(m)) + "_" + field
}
