// Package modules names Bazaar's modules and what each one calls. It is
// the one list the configuration, the wiring and the layouts read: adding a
// module starts with an entry here (docs/architecture.md has the rest of
// the checklist).
package modules

import (
	"fmt"
	"slices"
	"strings"
)

// Module is the name of one of Bazaar's modules, as it is written in
// settings (modules.serve, modules.<name>.url) and routes.
type Module string

// The modules, each the name of its package under modules/.
const (
	Catalogue  Module = "catalogue"
	Inventory  Module = "inventory"
	Payment    Module = "payment"
	Webhooks   Module = "webhooks"
	Storefront Module = "storefront"
)

// table lists the modules in the order they are wired, each with the
// modules it calls — a process that hosts a module must host those too or
// know where they run; every module with events hands them to webhooks —
// and whether it keeps data in a database of its own.
var table = []struct {
	module Module
	needs  []Module
	stores bool
}{
	{Catalogue, []Module{Webhooks}, true},
	{Inventory, []Module{Catalogue, Webhooks}, true},
	{Payment, []Module{Catalogue, Inventory, Webhooks}, true},
	{Webhooks, nil, true},
	// The storefront keeps a shopper's cart in their session cookie.
	{Storefront, []Module{Catalogue, Inventory, Payment}, false},
}

// All returns every module, in the order they are wired.
func All() []Module {
	all := make([]Module, len(table))
	for i, e := range table {
		all[i] = e.module
	}
	return all
}

// Needs returns the modules m calls.
func (m Module) Needs() []Module {
	for _, e := range table {
		if e.module == m {
			return slices.Clone(e.needs)
		}
	}
	return nil
}

// Stores reports whether m keeps data in a database of its own.
func (m Module) Stores() bool {
	for _, e := range table {
		if e.module == m {
			return e.stores
		}
	}
	return false
}

// Parse returns the module named s, or an error that lists the modules.
func Parse(s string) (Module, error) {
	m := Module(strings.TrimSpace(s))
	if !slices.Contains(All(), m) {
		return "", fmt.Errorf("unknown module %q; the modules are %s", s, strings.ReplaceAll(List(All()), ",", ", "))
	}
	return m, nil
}

// List writes modules as a comma-separated list, as settings take them.
func List(ms []Module) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = string(m)
	}
	return strings.Join(names, ",")
}
