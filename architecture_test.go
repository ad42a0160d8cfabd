package main

// Architecture test: keeps the module boundaries of the modular monolith
// honest. It asks `go list` for the package graph (production and test
// imports) and checks it against the rules in boundaryRules. A violation
// fails `go test ./...` with a message naming the importing package, the
// imported package and the rule it breaks.
//
// The checker (checkBoundaries) is a pure function over the package list, so
// TestArchitectureRulesCatchViolations can prove every rule fires on a
// fabricated graph, while TestArchitectureBoundaries runs it on the real tree.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/modules"
)

const archModulePath = "github.com/bazaar-shop/bazaar"

// listedPackage is the subset of `go list -json` output the rules need.
type listedPackage struct {
	ImportPath   string
	ForTest      string
	Standard     bool
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
	Error        *struct{ Err string }
}

// pkgRef describes an import path relative to the module being checked.
type pkgRef struct {
	full   string // full import path
	rel    string // path inside the module ("." for the root), or full if external
	local  bool   // inside archModulePath
	module string // <name> for modules/<name>/...
	sub    string // the part after modules/<name>/ ("" for the contract)
}

func newPkgRef(mod, path string) pkgRef {
	r := pkgRef{full: path, rel: path}
	switch {
	case path == mod:
		r.local, r.rel = true, "."
	case strings.HasPrefix(path, mod+"/"):
		r.local, r.rel = true, strings.TrimPrefix(path, mod+"/")
	default:
		return r
	}
	if rest, ok := strings.CutPrefix(r.rel, "modules/"); ok {
		r.module, r.sub, _ = strings.Cut(rest, "/")
	}
	return r
}

func (r pkgRef) inModule() bool   { return r.module != "" }
func (r pkgRef) isContract() bool { return r.module != "" && r.sub == "" }
func (r pkgRef) isImpl() bool     { return r.module != "" && r.sub != "" }
func (r pkgRef) is(rel string) bool {
	return r.local && r.rel == rel
}
func (r pkgRef) under(rel string) bool {
	return r.local && (r.rel == rel || strings.HasPrefix(r.rel, rel+"/"))
}

// blackBox: the suites that drive a running shop from outside, and so may
// know the modules' contracts but nothing behind them.
func (r pkgRef) blackBox() bool {
	return r.under("internal/apitest") || r.under("internal/shoptest") || r.under("internal/pagetest")
}
func (r pkgRef) isModuleInternal() bool {
	return r.isImpl() && (r.sub == "internal" || strings.HasPrefix(r.sub, "internal/"))
}

func externalUnder(r pkgRef, prefix string) bool {
	return !r.local && (r.full == prefix || strings.HasPrefix(r.full, prefix+"/"))
}

func isViper(r pkgRef) bool { return externalUnder(r, "github.com/spf13/viper") }

func isFramework(r pkgRef) bool {
	return isViper(r) || externalUnder(r, "github.com/gin-gonic/gin") ||
		(!r.local && strings.HasPrefix(r.full, "gorm.io/"))
}

type ruleScope int

const (
	directImports ruleScope = iota // Imports, TestImports, XTestImports
	allDeps                        // Deps, plus the Deps of test imports
)

// boundaryRule forbids packages matched by from to use packages matched by
// forbids, either directly or anywhere in their dependency graph.
type boundaryRule struct {
	id    string
	scope ruleScope
	// productionOnly rules ignore test imports.
	productionOnly bool
	from           func(from pkgRef) bool
	forbids        func(from, to pkgRef) bool
	reason         func(from, to pkgRef) string
}

var boundaryRules = []boundaryRule{
	{
		id:             "cross-module-contract-only",
		scope:          directImports,
		productionOnly: true,
		from:           pkgRef.inModule,
		forbids: func(from, to pkgRef) bool {
			return to.isImpl() && to.module != from.module
		},
		reason: func(_, to pkgRef) string {
			return "a module may use another module only through its contract (modules/" + to.module + ")"
		},
	},
	{
		// A module's tests may wire a real collaborator from another
		// module's public constructor (its service package), as
		// internal/app does; they may not reach into its internals.
		id:    "cross-module-tests-no-internals",
		scope: directImports,
		from:  pkgRef.inModule,
		forbids: func(from, to pkgRef) bool {
			return to.module != from.module && (to.isModuleInternal() || strings.HasPrefix(to.sub, "httpapi"))
		},
		reason: func(_, to pkgRef) string {
			return "a module's tests may use another module's contract or its service constructor, never its internals or handlers (modules/" + to.module + ")"
		},
	},
	{
		id:    "contract-no-frameworks",
		scope: allDeps,
		from:  pkgRef.isContract,
		forbids: func(_, to pkgRef) bool {
			return isFramework(to)
		},
		reason: func(pkgRef, pkgRef) string {
			return "a contract package must not depend, even transitively, on gin, gorm or viper"
		},
	},
	{
		id:    "contract-no-implementation",
		scope: allDeps,
		from:  pkgRef.isContract,
		forbids: func(_, to pkgRef) bool {
			return to.isImpl()
		},
		reason: func(pkgRef, pkgRef) string {
			return "a contract package must not depend, even transitively, on any module implementation package (modules/<name>/...)"
		},
	},
	{
		id:    "plumbing-no-modules",
		scope: directImports,
		from: func(from pkgRef) bool {
			return from.under("internal") && !from.under("internal/app") && !from.blackBox()
		},
		forbids: func(_, to pkgRef) bool {
			return to.inModule()
		},
		reason: func(pkgRef, pkgRef) string {
			return "shared plumbing under internal/ must not import modules; only internal/app wires them"
		},
	},
	{
		id:    "apitest-contracts-only",
		scope: directImports,
		from:  pkgRef.blackBox,
		forbids: func(_, to pkgRef) bool {
			return to.isImpl()
		},
		reason: func(from, to pkgRef) string {
			return from.rel + " is a black-box suite and may import only module contracts (modules/" + to.module + ")"
		},
	},
	{
		id:    "viper-direct-only-config",
		scope: directImports,
		from: func(from pkgRef) bool {
			return !from.under("config")
		},
		forbids: func(_, to pkgRef) bool {
			return isViper(to)
		},
		reason: func(pkgRef, pkgRef) string {
			return "only config/ may import viper directly"
		},
	},
	{
		id:    "viper-only-wiring",
		scope: allDeps,
		from: func(from pkgRef) bool {
			// deploy's tests load the deployment files' settings as the
			// binary does.
			return !from.is(".") && !from.under("config") && !from.under("internal/app") && !from.is("deploy")
		},
		forbids: func(_, to pkgRef) bool {
			return isViper(to)
		},
		reason: func(pkgRef, pkgRef) string {
			return "only the root main package, internal/app, config/ and deploy's checks may depend on viper"
		},
	},
	{
		id:    "module-internal-private",
		scope: directImports,
		from: func(from pkgRef) bool {
			return !from.inModule()
		},
		forbids: func(_, to pkgRef) bool {
			return to.isModuleInternal()
		},
		reason: func(_, to pkgRef) string {
			return "modules/" + to.module + "/internal/... is private to modules/" + to.module
		},
	},
}

type boundaryViolation struct {
	rule     string
	from, to string // rel paths (full paths for external packages)
	msg      string
}

// checkBoundaries applies boundaryRules (plus the structural "module has a
// contract" check) to pkgs and returns the violations, sorted. pkgs may
// contain external and standard-library packages; only packages inside mod
// are checked, the others provide Imports/Deps for transitive checks.
func checkBoundaries(mod string, pkgs []listedPackage) []boundaryViolation {
	index := make(map[string]*listedPackage, len(pkgs))
	for i := range pkgs {
		index[pkgs[i].ImportPath] = &pkgs[i]
	}

	var out []boundaryViolation
	seen := map[string]bool{}
	add := func(v boundaryViolation) {
		key := v.rule + "\x00" + v.from + "\x00" + v.to
		if !seen[key] {
			seen[key] = true
			out = append(out, v)
		}
	}

	for i := range pkgs {
		p := &pkgs[i]
		from := newPkgRef(mod, p.ImportPath)
		if !from.local {
			continue
		}

		// Every package of a module needs the module's contract beside it.
		if from.isImpl() {
			contract := mod + "/modules/" + from.module
			if _, ok := index[contract]; !ok {
				add(boundaryViolation{
					rule: "module-has-contract", from: from.rel, to: "modules/" + from.module,
					msg: from.rel + " belongs to module " + from.module +
						", which has no contract package modules/" + from.module + " [rule module-has-contract]",
				})
			}
		}

		direct := directEdges(p)
		deps := allDepsOf(p, index)
		full := importGraph(p, nil, index)

		for _, rule := range boundaryRules {
			if !rule.from(from) {
				continue
			}
			if rule.scope == directImports {
				for _, e := range direct {
					if e.test && rule.productionOnly {
						continue
					}
					to := newPkgRef(mod, e.path)
					if rule.forbids(from, to) {
						add(boundaryViolation{
							rule: rule.id, from: from.rel, to: to.rel,
							msg: from.rel + " " + e.how + " " + to.rel + ": " + rule.reason(from, to) + " [rule " + rule.id + "]",
						})
					}
				}
				continue
			}
			// Report only the first forbidden package on each import path
			// (gin, not also gin/render, gin/binding, ...).
			forbidden := func(path string) bool { return rule.forbids(from, newPkgRef(mod, path)) }
			shallow := importGraph(p, forbidden, index)
			for _, d := range deps {
				to := newPkgRef(mod, d)
				if !forbidden(d) {
					continue
				}
				how := "transitively"
				if _, ok := shallow[d]; ok {
					how = "via " + importChain(mod, p, d, shallow)
				} else if _, ok := full[d]; ok {
					continue // reached only through another forbidden package
				}
				add(boundaryViolation{
					rule: rule.id, from: from.rel, to: to.rel,
					msg: from.rel + " depends on " + to.rel + " (" + how + "): " +
						rule.reason(from, to) + " [rule " + rule.id + "]",
				})
			}
		}
	}

	sort.Slice(out, func(i, j int) bool { return out[i].msg < out[j].msg })
	return out
}

type importEdge struct {
	path, how string
	test      bool
}

func directEdges(p *listedPackage) []importEdge {
	var edges []importEdge
	for _, imp := range p.Imports {
		edges = append(edges, importEdge{imp, "imports", false})
	}
	for _, imp := range p.TestImports {
		edges = append(edges, importEdge{imp, "imports (in its tests)", true})
	}
	for _, imp := range p.XTestImports {
		if imp != p.ImportPath {
			edges = append(edges, importEdge{imp, "imports (in its external tests)", true})
		}
	}
	return edges
}

// allDepsOf is p.Deps plus everything its tests pull in.
func allDepsOf(p *listedPackage, index map[string]*listedPackage) []string {
	set := map[string]bool{}
	for _, d := range p.Deps {
		set[d] = true
	}
	for _, t := range slices.Concat(p.TestImports, p.XTestImports) {
		set[t] = true
		if tp, ok := index[t]; ok {
			for _, d := range tp.Deps {
				set[d] = true
			}
		}
	}
	delete(set, p.ImportPath)
	deps := make([]string, 0, len(set))
	for d := range set {
		deps = append(deps, d)
	}
	sort.Strings(deps)
	return deps
}

// importGraph walks the import graph breadth-first from p (its tests
// included) and returns, for every package reached, the package it was
// reached from. Packages for which stop returns true are reached but not
// walked through.
func importGraph(p *listedPackage, stop func(string) bool, index map[string]*listedPackage) map[string]string {
	prev := map[string]string{}
	var queue []string
	visit := func(path, from string) {
		if _, ok := prev[path]; !ok && path != p.ImportPath {
			prev[path] = from
			queue = append(queue, path)
		}
	}
	for _, e := range directEdges(p) {
		visit(e.path, p.ImportPath)
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if stop != nil && stop(cur) {
			continue
		}
		if q, ok := index[cur]; ok {
			for _, imp := range q.Imports {
				visit(imp, cur)
			}
		}
	}
	return prev
}

// importChain renders the path from p to target recorded by importGraph,
// e.g. "modules/payment -> internal/errs -> gorm.io/gorm".
func importChain(mod string, p *listedPackage, target string, prev map[string]string) string {
	var chain []string
	for cur := target; cur != p.ImportPath; cur = prev[cur] {
		chain = append(chain, newPkgRef(mod, cur).rel)
	}
	chain = append(chain, newPkgRef(mod, p.ImportPath).rel)
	slices.Reverse(chain)
	return strings.Join(chain, " -> ")
}

// goListPackages runs `go list -e -deps -test -json ./...` in the module root
// and returns the regular (non-test-variant) packages of the whole graph:
// the module's own packages plus every dependency, including test-only ones.
// With -e a package that does not build (for instance because it imports
// another module's internal package) is still listed, so the rules can
// explain the problem; its error is reported too.
func goListPackages(t *testing.T) []listedPackage {
	t.Helper()
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the architecture test needs the go command on PATH")

	cmd := exec.Command(goBin, "list", "-e", "-deps", "-test", "-json", "./...")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "go list failed:\n%s", stderr.String())

	var pkgs []listedPackage
	dec := json.NewDecoder(&stdout)
	for {
		var p listedPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "decoding go list output")
		if p.ForTest != "" || strings.Contains(p.ImportPath, " [") || strings.HasSuffix(p.ImportPath, ".test") {
			continue // test variants and generated test mains
		}
		if p.Error != nil {
			t.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestArchitectureBoundaries checks the real package graph.
func TestArchitectureBoundaries(t *testing.T) {
	pkgs := goListPackages(t)

	// Sanity: make sure we are looking at the real tree, so the test cannot
	// pass by seeing nothing.
	local := map[string]bool{}
	for _, p := range pkgs {
		if r := newPkgRef(archModulePath, p.ImportPath); r.local {
			local[r.rel] = true
		}
	}
	// Each module of the modules table has a contract and a service.
	for _, m := range modules.All() {
		for _, rel := range []string{"modules/" + string(m), "modules/" + string(m) + "/service"} {
			assert.True(t, local[rel], "go list did not report %s; the architecture test would be checking nothing", rel)
		}
	}
	for _, rel := range []string{".", "config", "internal/app", "internal/apitest"} {
		assert.True(t, local[rel], "go list did not report %s", rel)
	}
	// Every directory under modules/ must be a module with a contract.
	entries, err := os.ReadDir("modules")
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			assert.True(t, local["modules/"+e.Name()], "modules/%s has no contract package (modules/%s root)", e.Name(), e.Name())
		}
	}

	for _, v := range checkBoundaries(archModulePath, pkgs) {
		t.Error(v.msg)
	}
}

// TestArchitectureRulesCatchViolations feeds the checker a fabricated graph
// with one violation per rule, proving each rule fires, and a clean graph
// shaped like the real one, proving the rules do not fire on legal imports.
func TestArchitectureRulesCatchViolations(t *testing.T) {
	const mod = "example.com/shop"
	m := func(rel string) string {
		if rel == "." {
			return mod
		}
		return mod + "/" + rel
	}
	const (
		gin   = "github.com/gin-gonic/gin"
		gorm  = "gorm.io/gorm"
		viper = "github.com/spf13/viper"
	)

	// clean mirrors the legal shape of the real tree.
	clean := func() []listedPackage {
		return []listedPackage{
			{ImportPath: mod, Imports: []string{m("config"), m("internal/app")},
				Deps: []string{m("config"), m("internal/app"), m("internal/errs"), m("modules/inventory"), m("modules/inventory/service"), m("modules/payment"), m("modules/payment/service"), viper, gin, gorm}},
			{ImportPath: m("config"), Imports: []string{viper}, Deps: []string{viper}},
			{ImportPath: m("internal/errs")},
			{ImportPath: m("internal/web"), Imports: []string{gin, m("internal/errs")}, Deps: []string{gin, m("internal/errs")}},
			{ImportPath: m("internal/app"),
				Imports:      []string{m("config"), m("modules/inventory/service"), m("modules/payment/service"), gin},
				XTestImports: []string{m("internal/app"), m("internal/apitest")},
				Deps:         []string{m("config"), m("internal/errs"), m("modules/inventory"), m("modules/inventory/service"), m("modules/inventory/internal/store"), m("modules/payment"), m("modules/payment/service"), viper, gin, gorm}},
			{ImportPath: m("internal/apitest"), Imports: []string{m("modules/inventory"), m("modules/payment")},
				Deps: []string{m("internal/errs"), m("modules/inventory"), m("modules/payment")}},
			{ImportPath: m("modules/inventory"), Imports: []string{m("internal/errs")}, Deps: []string{m("internal/errs")}},
			{ImportPath: m("modules/inventory/internal/store"), Imports: []string{m("modules/inventory"), gorm},
				Deps: []string{m("internal/errs"), m("modules/inventory"), gorm}},
			{ImportPath: m("modules/inventory/service"), Imports: []string{m("modules/inventory"), m("modules/inventory/internal/store")},
				Deps: []string{m("internal/errs"), m("modules/inventory"), m("modules/inventory/internal/store"), gorm}},
			{ImportPath: m("modules/payment"), Imports: []string{m("internal/errs")}, Deps: []string{m("internal/errs")}},
			{ImportPath: m("modules/payment/service"), Imports: []string{m("modules/payment"), m("modules/inventory")},
				TestImports: []string{m("internal/web")},
				Deps:        []string{m("internal/errs"), m("modules/payment"), m("modules/inventory")}},
			{ImportPath: m("modules/payment/httpapi"), Imports: []string{m("modules/payment"), m("internal/web"), gin},
				Deps: []string{m("internal/errs"), m("internal/web"), m("modules/payment"), gin}},
			{ImportPath: viper}, {ImportPath: gin}, {ImportPath: gorm},
		}
	}
	find := func(pkgs []listedPackage, rel string) *listedPackage {
		for i := range pkgs {
			if pkgs[i].ImportPath == m(rel) || pkgs[i].ImportPath == rel {
				return &pkgs[i]
			}
		}
		panic("fabricated graph has no " + rel)
	}

	require.Empty(t, checkBoundaries(mod, clean()), "the clean fabricated graph must have no violations")

	cases := []struct {
		name    string
		mutate  func([]listedPackage) []listedPackage
		rule    string
		message string // substring expected in the violation
		count   int    // if set, exactly this many violations of rule
	}{
		{
			name: "module imports another module's service",
			mutate: func(p []listedPackage) []listedPackage {
				s := find(p, "modules/payment/service")
				s.Imports = append(s.Imports, m("modules/inventory/service"))
				return p
			},
			rule:    "cross-module-contract-only",
			message: "modules/payment/service imports modules/inventory/service: a module may use another module only through its contract (modules/inventory)",
		},
		{
			name: "module test imports another module's internal store",
			mutate: func(p []listedPackage) []listedPackage {
				s := find(p, "modules/payment/service")
				s.XTestImports = append(s.XTestImports, m("modules/payment/service"), m("modules/inventory/internal/store"))
				return p
			},
			rule:    "cross-module-tests-no-internals",
			message: "modules/payment/service imports (in its external tests) modules/inventory/internal/store",
		},
		{
			name: "contract depends on gorm transitively",
			mutate: func(p []listedPackage) []listedPackage {
				const clause = gorm + "/clause"
				errs := find(p, "internal/errs")
				errs.Imports, errs.Deps = []string{gorm}, []string{gorm, clause}
				find(p, gorm).Imports = []string{clause}
				c := find(p, "modules/payment")
				c.Deps = append(c.Deps, gorm, clause)
				return append(p, listedPackage{ImportPath: clause})
			},
			rule:    "contract-no-frameworks",
			message: "modules/payment depends on gorm.io/gorm (via modules/payment -> internal/errs -> gorm.io/gorm)",
			count:   1, // gorm.io/gorm/clause, behind gorm.io/gorm, is not reported again
		},
		{
			name: "contract test imports gin",
			mutate: func(p []listedPackage) []listedPackage {
				c := find(p, "modules/inventory")
				c.TestImports = append(c.TestImports, gin)
				return p
			},
			rule:    "contract-no-frameworks",
			message: "modules/inventory depends on github.com/gin-gonic/gin",
		},
		{
			name: "contract imports its own service",
			mutate: func(p []listedPackage) []listedPackage {
				c := find(p, "modules/inventory")
				c.Imports = append(c.Imports, m("modules/inventory/service"))
				c.Deps = append(c.Deps, m("modules/inventory/service"), m("modules/inventory/internal/store"), gorm)
				return p
			},
			rule:    "contract-no-implementation",
			message: "modules/inventory depends on modules/inventory/service",
		},
		{
			name: "plumbing imports a module contract",
			mutate: func(p []listedPackage) []listedPackage {
				w := find(p, "internal/web")
				w.Imports = append(w.Imports, m("modules/payment"))
				return p
			},
			rule:    "plumbing-no-modules",
			message: "internal/web imports modules/payment: shared plumbing under internal/ must not import modules",
		},
		{
			name: "black-box suite imports a service",
			mutate: func(p []listedPackage) []listedPackage {
				a := find(p, "internal/apitest")
				a.Imports = append(a.Imports, m("modules/payment/service"))
				return p
			},
			rule:    "apitest-contracts-only",
			message: "internal/apitest imports modules/payment/service: internal/apitest is a black-box suite",
		},
		{
			name: "wiring imports viper directly",
			mutate: func(p []listedPackage) []listedPackage {
				a := find(p, "internal/app")
				a.Imports = append(a.Imports, viper)
				return p
			},
			rule:    "viper-direct-only-config",
			message: "internal/app imports github.com/spf13/viper: only config/ may import viper directly",
		},
		{
			name: "service depends on config (and so viper)",
			mutate: func(p []listedPackage) []listedPackage {
				s := find(p, "modules/inventory/service")
				s.TestImports = append(s.TestImports, m("config"))
				return p
			},
			rule:    "viper-only-wiring",
			message: "modules/inventory/service depends on github.com/spf13/viper (via modules/inventory/service -> config -> github.com/spf13/viper)",
		},
		{
			name: "wiring reaches into a module's internal package",
			mutate: func(p []listedPackage) []listedPackage {
				a := find(p, "internal/app")
				a.Imports = append(a.Imports, m("modules/inventory/internal/store"))
				return p
			},
			rule:    "module-internal-private",
			message: "internal/app imports modules/inventory/internal/store: modules/inventory/internal/... is private to modules/inventory",
		},
		{
			name: "module without a contract",
			mutate: func(p []listedPackage) []listedPackage {
				return append(p, listedPackage{ImportPath: m("modules/shipping/service")})
			},
			rule:    "module-has-contract",
			message: "modules/shipping/service belongs to module shipping, which has no contract package modules/shipping",
		},
	}

	fired := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := checkBoundaries(mod, tc.mutate(clean()))
			var matched bool
			var ofRule int
			for _, v := range got {
				if v.rule == tc.rule {
					ofRule++
					matched = matched || strings.Contains(v.msg, tc.message)
				}
			}
			var msgs []string
			for _, v := range got {
				msgs = append(msgs, v.msg)
			}
			assert.True(t, matched, "expected a %s violation containing %q, got:\n%s", tc.rule, tc.message, strings.Join(msgs, "\n"))
			if tc.count > 0 {
				assert.Equal(t, tc.count, ofRule, "violations of %s:\n%s", tc.rule, strings.Join(msgs, "\n"))
			}
			if matched {
				fired[tc.rule] = true
			}
		})
	}

	for _, rule := range boundaryRules {
		assert.True(t, fired[rule.id], "rule %s has no fabricated violation proving it fires", rule.id)
	}
}
