package main

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/internal/database"
)

// There is no container engine where the tests run, so the deployment files
// (Dockerfile, deploy/compose.yaml, deploy/k8s/) are checked against the code
// instead: every variable they set is a real setting, every module URL names
// a service they define on the port it listens on, every process's
// environment is a configuration config.Load accepts, and the processes
// share what a split layout must share. TestDeployChecksCatchMistakes proves
// each check fails on a deliberately broken copy.

const (
	deployDockerfilePath = "Dockerfile"
	deployComposePath    = "deploy/compose.yaml"
	deployInitSQLPath    = "deploy/postgres-init.sql"
	deployK8sDir         = "deploy/k8s"
	deployEdgeName       = "gateway"
)

// TestDeployFiles checks the deployment files as they are.
func TestDeployFiles(t *testing.T) {
	files := deployReadFiles(t)
	compose, k8s, problems := deployCheckAll(files)
	for _, p := range problems {
		t.Error(p)
	}

	// Guard against passing vacuously: the files define the split layout.
	require.NotNil(t, compose)
	require.NotNil(t, k8s)
	require.ElementsMatch(t, []string{"gateway", "catalogue-1", "catalogue-2", "inventory", "payment", "webhooks"}, deployProcNames(compose))
	require.ElementsMatch(t, []string{"gateway", "catalogue", "inventory", "payment", "webhooks"}, deployProcNames(k8s))
	for _, s := range []*deploySet{compose, k8s} {
		for _, p := range s.procs {
			cfg, err := deployConfig(p)
			require.NoError(t, err, "%s: %s", p.file, p.name)
			want := strings.TrimSuffix(strings.TrimSuffix(p.name, "-1"), "-2")
			if want == "gateway" {
				require.Empty(t, cfg.Modules.Serve, "%s: the gateway hosts no module", p.file)
			} else {
				require.Equal(t, []string{want}, cfg.Modules.Serve, "%s: %s", p.file, p.name)
			}
		}
	}
	require.Equal(t, 2, k8s.replicas["catalogue"], "two catalogue replicas behind one Service")
}

// TestDeployChecksCatchMistakes breaks a copy of the files in one way each
// and asserts that the checks report it.
func TestDeployChecksCatchMistakes(t *testing.T) {
	type edit struct{ file, old, new string }
	cases := []struct {
		name  string
		edits []edit
		want  string // a problem must contain this
	}{
		{"compose: misspelt variable",
			[]edit{{deployComposePath, "      BAZAAR_SERVE: payment\n", "      BAZAAR_SERVE: payment\n      BAZAAR_HTTP_ADRR: \":8080\"\n"}},
			"payment sets BAZAAR_HTTP_ADRR, which is not a Bazaar setting"},
		{"compose: a non-Bazaar variable on a Bazaar process",
			[]edit{{deployComposePath, "      BAZAAR_SERVE: inventory\n", "      BAZAAR_SERVE: inventory\n      POSTGRES_PASSWORD: x\n"}},
			"inventory sets POSTGRES_PASSWORD, which is not a Bazaar setting"},
		{"k8s: misspelt variable in the ConfigMap",
			[]edit{{deployK8sDir + "/10-config.yaml", "  BAZAAR_LOG_LEVEL: info\n", "  BAZAAR_LOG_LEVL: info\n"}},
			"ConfigMap bazaar-config sets BAZAAR_LOG_LEVL"},
		{"k8s: misspelt variable in a Deployment",
			[]edit{{deployK8sDir + "/21-inventory.yaml", "- name: BAZAAR_MODULES_CATALOGUE_URL", "- name: BAZAAR_MODULE_CATALOGUE_URL"}},
			"Deployment inventory sets BAZAAR_MODULE_CATALOGUE_URL"},
		{"compose: URL to an undefined service",
			[]edit{{deployComposePath, "http://inventory:8080", "http://inventroy:8080"}},
			`no service "inventroy"`},
		{"k8s: URL to an undefined Service",
			[]edit{{deployK8sDir + "/22-payment.yaml", "value: http://inventory:8080", "value: http://stock:8080"}},
			`no service "stock"`},
		{"compose: URL on the wrong port",
			[]edit{{deployComposePath, "http://payment:8080", "http://payment:9090"}},
			"payment listens on 8080, not 9090"},
		{"k8s: URL on a port the Service does not have",
			[]edit{{deployK8sDir + "/30-gateway.yaml", "value: http://payment:8080", "value: http://payment:80"}},
			`service "payment" has no port 80`},
		{"compose: URL at a service that does not host the module",
			[]edit{{deployComposePath, "BAZAAR_MODULES_INVENTORY_URL: http://inventory:8080", "BAZAAR_MODULES_INVENTORY_URL: http://catalogue-1:8080"}},
			"catalogue-1 does not host inventory"},
		{"compose: unknown module",
			[]edit{{deployComposePath, "BAZAAR_SERVE: inventory\n", "BAZAAR_SERVE: stock\n"}},
			`BAZAAR_SERVE names "stock"`},
		{"k8s: unknown module",
			[]edit{{deployK8sDir + "/22-payment.yaml", "- name: BAZAAR_SERVE\n              value: payment\n", "- name: BAZAAR_SERVE\n              value: payment,shipping\n"}},
			`BAZAAR_SERVE names "shipping"`},
		{"compose: a module's dependency has no URL",
			[]edit{{deployComposePath, "      BAZAAR_MODULES_INVENTORY_URL: http://inventory:8080\n    depends_on:\n      postgres:\n        condition: service_healthy\n      inventory:",
				"    depends_on:\n      postgres:\n        condition: service_healthy\n      inventory:"}},
			"payment: its configuration does not load: invalid configuration:\n  modules.inventory.url"},
		{"k8s: no service token",
			[]edit{{deployK8sDir + "/10-config.yaml", "  BAZAAR_SERVICE_TOKEN: CHANGE-ME-service-token\n", ""}},
			"service_token (BAZAAR_SERVICE_TOKEN)"},
		{"k8s: a process with its own service token",
			[]edit{{deployK8sDir + "/21-inventory.yaml", "          env:\n", "          env:\n            - name: BAZAAR_SERVICE_TOKEN\n              value: another\n"}},
			"the processes do not share one service token"},
		{"k8s: gateway replicas with the API keys in each pod's own SQLite file",
			[]edit{{deployK8sDir + "/10-config.yaml", "  BAZAAR_AUTH_DSN: postgres://bazaar:CHANGE-ME@postgres.example.internal:5432/auth?sslmode=require\n", ""}},
			"auth database is SQLite"},
		{"compose: catalogue replicas on different databases",
			[]edit{{deployComposePath, "      BAZAAR_SERVE: catalogue\n      BAZAAR_MODULES_CATALOGUE_DSN: postgres://bazaar:${POSTGRES_PASSWORD:-bazaar}@postgres:5432/catalogue?sslmode=disable\n    depends_on:\n      postgres:\n        condition: service_healthy\n\n  inventory:",
				"      BAZAAR_SERVE: catalogue\n      BAZAAR_MODULES_CATALOGUE_DSN: postgres://bazaar:${POSTGRES_PASSWORD:-bazaar}@postgres:5432/inventory?sslmode=disable\n    depends_on:\n      postgres:\n        condition: service_healthy\n\n  inventory:"}},
			"the processes hosting catalogue do not share one database"},
		{"compose: a database the init script does not create",
			[]edit{{deployInitSQLPath, "CREATE DATABASE payment;\n", ""}},
			`database "payment", which deploy/postgres-init.sql does not create`},
		{"k8s: a probe on the wrong path",
			[]edit{{deployK8sDir + "/22-payment.yaml", "path: /healthz", "path: /health"}},
			"livenessProbe is GET /health, want /healthz"},
		{"k8s: a container port that is not the listen port",
			[]edit{{deployK8sDir + "/21-inventory.yaml", "containerPort: 8080", "containerPort: 8081"}},
			"inventory listens on 8080, not 8081"},
		{"k8s: an object outside the namespace",
			[]edit{{deployK8sDir + "/22-payment.yaml", "kind: Service\nmetadata:\n  name: payment\n  namespace: bazaar\n", "kind: Service\nmetadata:\n  name: payment\n"}},
			`Service payment: is in namespace "default"`},
		{"k8s: may run as root",
			[]edit{{deployK8sDir + "/20-catalogue.yaml", "runAsNonRoot: true", "runAsNonRoot: false"}},
			"catalogue: may run as root"},
		{"Dockerfile: runs as root",
			[]edit{{deployDockerfilePath, "USER 65532:65532", "USER root"}},
			"runs as root"},
		{"Dockerfile: one stage",
			[]edit{{deployDockerfilePath, "FROM golang:1.26-trixie AS build", "RUN true"}},
			"1 FROM stage(s)"},
		{"Dockerfile: wrong port",
			[]edit{{deployDockerfilePath, "EXPOSE 8080", "EXPOSE 9090"}},
			"EXPOSE 9090"},
		{"Dockerfile: no health check",
			[]edit{{deployDockerfilePath, "HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\\n" +
				`    CMD ["busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/readyz?scope=local"]` + "\n", ""}},
			"no HEALTHCHECK"},
		{"Dockerfile: does not run bazaar",
			[]edit{{deployDockerfilePath, `ENTRYPOINT ["bazaar"]`, `ENTRYPOINT ["/bin/sh", "-c"]`}},
			"does not run bazaar"},
		{"Dockerfile: misspelt variable",
			[]edit{{deployDockerfilePath, "BAZAAR_DATA_DIR=/data", "BAZAAR_DATADIR=/data"}},
			"Dockerfile: ENV sets BAZAAR_DATADIR"},
	}
	orig := deployReadFiles(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := maps.Clone(orig)
			for _, e := range c.edits {
				require.Contains(t, files[e.file], e.old, "the case no longer applies to %s", e.file)
				files[e.file] = strings.ReplaceAll(files[e.file], e.old, e.new)
			}
			_, _, problems := deployCheckAll(files)
			t.Logf("reported:\n  %s", strings.Join(problems, "\n  "))
			found := slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, c.want) })
			require.True(t, found, "no problem says %q; the problems were:\n  %s", c.want, strings.Join(problems, "\n  "))
		})
	}
}

// deployReadFiles reads the deployment files, keyed by path.
func deployReadFiles(t *testing.T) map[string]string {
	t.Helper()
	k8s, err := filepath.Glob(deployK8sDir + "/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, k8s, "no manifests in %s", deployK8sDir)
	files := map[string]string{}
	for _, p := range append([]string{deployDockerfilePath, deployComposePath, deployInitSQLPath}, k8s...) {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		files[filepath.ToSlash(p)] = string(b)
	}
	return files
}

// deployCheckAll parses the files and runs every check.
func deployCheckAll(files map[string]string) (compose, k8s *deploySet, problems []string) {
	df := deployParseDockerfile(files[deployDockerfilePath])
	problems = append(problems, deployCheckDockerfile(df)...)
	var err error
	if compose, err = deployParseCompose(files, df); err != nil {
		problems = append(problems, err.Error())
	} else {
		problems = append(problems, deployProblems(compose)...)
	}
	if k8s, err = deployParseK8s(files, df); err != nil {
		problems = append(problems, err.Error())
	} else {
		problems = append(problems, deployProblems(k8s)...)
	}
	return compose, k8s, problems
}

// deployProblems runs every check of a set of files.
func deployProblems(s *deploySet) []string {
	out := slices.Clone(s.problems)
	out = append(out, deployCheckVars(s)...)
	out = append(out, deployCheckURLs(s)...)
	out = append(out, deployCheckConfigs(s)...)
	out = append(out, deployCheckShared(s)...)
	out = append(out, deployCheckProcs(s)...)
	return out
}

// deploySet is what one way of deploying (compose, or the k8s manifests)
// defines.
type deploySet struct {
	name      string // the file or folder, for messages
	vars      []deployVar
	procs     []*deployProc
	endpoints map[string]*deployEndpoint // by the host name others use
	// hostSuffixes may follow an endpoint's name in a URL (k8s: .bazaar.svc…).
	hostSuffixes []string
	// databases are the PostgreSQL databases the set creates; nil when the
	// database server is not part of the set.
	databases map[string]bool
	replicas  map[string]int // k8s Deployment replicas
	problems  []string       // found while reading the files
}

// deployVar is one environment variable set somewhere.
type deployVar struct {
	file, owner, name, value string
	bazaar                   bool // read by Bazaar (not, e.g., by the postgres image)
}

// deployProc is one Bazaar process (a compose service or a k8s Deployment).
type deployProc struct {
	file, name string
	env        map[string]string // all it gets, the image's ENV included
	ports      []deployPort      // ports the file says it listens on
	probes     []deployProbe
	wantProbes bool   // k8s: readiness and liveness probes are required
	root       string // why it may run as root; "" if it does not

	loaded bool
	cfg    config.Config
	err    error
}

type deployPort struct {
	what string
	port int
}

type deployProbe struct {
	kind string // readinessProbe, livenessProbe or healthcheck
	path string
}

// deployEndpoint is a name processes reach each other by.
type deployEndpoint struct {
	// ports maps the ports callers use to the ports of the processes
	// behind; nil means the same port (compose).
	ports map[int]int
	procs []*deployProc
}

func deployProcNames(s *deploySet) []string {
	var out []string
	for _, p := range s.procs {
		out = append(out, p.name)
	}
	return out
}

// deployKnownVars are the variables Bazaar reads.
func deployKnownVars() map[string]bool {
	known := map[string]bool{"BAZAAR_SERVE": true, "BAZAAR_CONFIG": true}
	for _, k := range config.Keys() {
		known[config.EnvName(k)] = true
	}
	return known
}

// deployConfig loads a process's configuration from its environment alone,
// as the process would (with no config file: a developer's ./bazaar.yaml
// must not count).
func deployConfig(p *deployProc) (config.Config, error) {
	if p.loaded {
		return p.cfg, p.err
	}
	p.loaded = true
	noFile := ""
	if p.env["BAZAAR_CONFIG"] == "" {
		f, err := os.CreateTemp("", "bazaar-deploy-*.yaml")
		if err != nil {
			p.err = err
			return p.cfg, p.err
		}
		f.Close()
		defer os.Remove(f.Name())
		noFile = f.Name()
	}
	p.cfg, p.err = config.Load(nil, func(k string) string {
		if k == "BAZAAR_CONFIG" && noFile != "" {
			return noFile
		}
		return p.env[k]
	})
	return p.cfg, p.err
}

// deployListenPort is the port a process listens on, 0 if unknown.
func deployListenPort(p *deployProc) int {
	addr := p.env["BAZAAR_HTTP_ADDR"]
	if cfg, err := deployConfig(p); err == nil {
		addr = cfg.HTTP.Addr
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(port)
	return n
}

// deployCheckVars: every variable is one Bazaar reads (other variables are
// allowed only on processes that are not Bazaar), and BAZAAR_SERVE names
// modules that exist.
func deployCheckVars(s *deploySet) []string {
	known := deployKnownVars()
	var out []string
	for _, v := range s.vars {
		if (v.bazaar || strings.HasPrefix(v.name, "BAZAAR_")) && !known[v.name] {
			out = append(out, fmt.Sprintf("%s: %s sets %s, which is not a Bazaar setting (see config.Keys)", v.file, v.owner, v.name))
		}
		out = append(out, deployCheckServe(v)...)
	}
	return out
}

func deployCheckServe(v deployVar) []string {
	if v.name != "BAZAAR_SERVE" && v.name != config.EnvName("modules.serve") {
		return nil
	}
	var out []string
	for _, m := range strings.Split(v.value, ",") {
		if m = strings.TrimSpace(m); m != "" && m != "all" && m != "none" && !slices.Contains(config.Modules, m) {
			out = append(out, fmt.Sprintf("%s: %s: %s names %q, which is not a module (%s, all or none)",
				v.file, v.owner, v.name, m, strings.Join(config.Modules, ", ")))
		}
	}
	return out
}

var deployURLVar = regexp.MustCompile(`^BAZAAR_MODULES_([A-Z0-9_]+)_URL$`)

// deployCheckURLs: every replica URL of a module names a service of the set,
// on a port it has, whose processes listen there and host that module.
func deployCheckURLs(s *deploySet) []string {
	var out []string
	for _, v := range s.vars {
		m := deployURLVar.FindStringSubmatch(v.name)
		if m == nil || !v.bazaar {
			continue
		}
		module := strings.ToLower(m[1])
		bad := func(format string, args ...any) {
			out = append(out, fmt.Sprintf("%s: %s: %s: ", v.file, v.owner, v.name)+fmt.Sprintf(format, args...))
		}
		for _, raw := range strings.Split(v.value, ",") {
			if raw = strings.TrimSpace(raw); raw == "" {
				continue
			}
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				bad("%q is not an http:// or https:// URL", raw)
				continue
			}
			port := 80
			if u.Scheme == "https" {
				port = 443
			}
			if u.Port() != "" {
				port, _ = strconv.Atoi(u.Port())
			}
			host := u.Hostname()
			for _, suffix := range s.hostSuffixes {
				host = strings.TrimSuffix(host, suffix)
			}
			ep := s.endpoints[host]
			if ep == nil {
				bad("%s: no service %q is defined", raw, host)
				continue
			}
			target := port
			if ep.ports != nil {
				var ok bool
				if target, ok = ep.ports[port]; !ok {
					bad("%s: service %q has no port %d (it has %v)", raw, host, port, slices.Sorted(maps.Keys(ep.ports)))
					continue
				}
			}
			if len(ep.procs) == 0 {
				bad("%s: %q does not run Bazaar", raw, host)
			}
			for _, p := range ep.procs {
				if lp := deployListenPort(p); lp != 0 && lp != target {
					bad("%s: %s listens on %d, not %d", raw, p.name, lp, target)
				}
				if cfg, err := deployConfig(p); err == nil && !cfg.Hosts(module) {
					bad("%s: %s does not host %s", raw, p.name, module)
				}
			}
		}
	}
	return out
}

// deployCheckConfigs: each process's environment is a valid configuration
// (e.g. every module it hosts knows where the modules it calls run, the
// split has a service token, the DSNs parse).
func deployCheckConfigs(s *deploySet) []string {
	var out []string
	for _, p := range s.procs {
		if _, err := deployConfig(p); err != nil {
			out = append(out, fmt.Sprintf("%s: %s: its configuration does not load: %v", p.file, p.name, err))
		}
	}
	return out
}

// deployCheckShared: the edges of a layout (the processes that check API
// keys) share one API-key database, every process one service token, the
// replicas of a module share its database, a shared database is not a
// SQLite file private to one container, and a PostgreSQL database of the
// set exists. A module process opens no key database.
func deployCheckShared(s *deploySet) []string {
	var out []string
	auth := map[string][]string{} // DSN → edges
	edges := 0
	tokens := map[string][]string{}             // token → processes
	hosting := map[string]map[string][]string{} // module → DSN → processes
	hosts := map[string]int{}                   // module → how many processes host it
	for _, p := range s.procs {
		cfg, err := deployConfig(p)
		if err != nil {
			continue // reported by deployCheckConfigs
		}
		if cfg.Edge() {
			edges++
			auth[deployRedact(cfg.DSN("auth"))] = append(auth[deployRedact(cfg.DSN("auth"))], p.name)
			out = append(out, deployCheckDSN(s, p, "auth", cfg.DSN("auth"))...)
		}
		tokens[cfg.ServiceToken] = append(tokens[cfg.ServiceToken], p.name)
		for _, m := range config.Modules {
			if !cfg.Hosts(m) {
				continue
			}
			if hosting[m] == nil {
				hosting[m] = map[string][]string{}
			}
			hosting[m][deployRedact(cfg.DSN(m))] = append(hosting[m][deployRedact(cfg.DSN(m))], p.name)
			hosts[m]++
			out = append(out, deployCheckDSN(s, p, m, cfg.DSN(m))...)
		}
	}
	groups := func(by map[string][]string, show bool) string {
		var g []string
		for k, procs := range by {
			if !show {
				k = "…"
			}
			g = append(g, strings.Join(procs, ", ")+": "+k)
		}
		slices.Sort(g)
		return strings.Join(g, "; ")
	}
	if len(auth) > 1 {
		out = append(out, fmt.Sprintf("%s: the processes do not share one API-key database (auth.dsn): %s", s.name, groups(auth, true)))
	}
	if len(tokens) > 1 {
		out = append(out, fmt.Sprintf("%s: the processes do not share one service token: %s", s.name, groups(tokens, false)))
	}
	shared := map[string]map[string][]string{}
	if edges > 1 || edges == 1 && s.replicas[deployEdgeName] > 1 {
		shared["auth"] = auth
	}
	for _, m := range config.Modules {
		if len(hosting[m]) > 1 {
			out = append(out, fmt.Sprintf("%s: the processes hosting %s do not share one database: %s", s.name, m, groups(hosting[m], true)))
		}
		if hosts[m] > 1 {
			shared[m] = hosting[m]
		}
	}
	for _, db := range slices.Sorted(maps.Keys(shared)) {
		for _, dsn := range slices.Sorted(maps.Keys(shared[db])) {
			if kind, _, err := database.Parse(dsn); err == nil && kind == database.SQLite {
				out = append(out, fmt.Sprintf("%s: %s: the %s database is SQLite (%s), a file inside each container, which the other processes cannot share: use PostgreSQL",
					s.name, strings.Join(shared[db][dsn], ", "), db, dsn))
			}
		}
	}
	return out
}

// deployCheckDSN: a PostgreSQL DSN names a server and a database of the set,
// when the set has its own database server.
func deployCheckDSN(s *deploySet, p *deployProc, db, dsn string) []string {
	if s.databases == nil {
		return nil
	}
	kind, _, err := database.Parse(dsn)
	if err != nil || kind != database.Postgres {
		return nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil
	}
	var out []string
	if s.endpoints[u.Hostname()] == nil {
		out = append(out, fmt.Sprintf("%s: %s: the %s DSN names host %q, which is no service here", p.file, p.name, db, u.Hostname()))
	}
	if name := strings.TrimPrefix(u.Path, "/"); !s.databases[name] {
		out = append(out, fmt.Sprintf("%s: %s: the %s DSN names database %q, which %s does not create", p.file, p.name, db, name, deployInitSQLPath))
	}
	return out
}

func deployRedact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// deployCheckProcs: the ports a file declares for a process are the one it
// listens on, its probes ask the right paths, and it does not run as root.
func deployCheckProcs(s *deploySet) []string {
	var out []string
	for _, p := range s.procs {
		bad := func(format string, args ...any) {
			out = append(out, fmt.Sprintf("%s: %s: ", p.file, p.name)+fmt.Sprintf(format, args...))
		}
		lp := deployListenPort(p)
		for _, d := range p.ports {
			if lp != 0 && d.port != lp {
				bad("its %s is %d, but it listens on %d (BAZAAR_HTTP_ADDR)", d.what, d.port, lp)
			}
		}
		kinds := map[string]bool{}
		for _, pr := range p.probes {
			kinds[pr.kind] = true
			want := "/readyz"
			if pr.kind == "livenessProbe" {
				want = "/healthz"
			}
			if u, err := url.Parse(pr.path); err != nil || u.Path != want {
				bad("its %s is GET %s, want %s", pr.kind, pr.path, want)
			}
		}
		if p.wantProbes {
			for _, k := range []string{"readinessProbe", "livenessProbe"} {
				if !kinds[k] {
					bad("has no %s", k)
				}
			}
		}
		if p.root != "" {
			bad("may run as root: %s", p.root)
		}
	}
	return out
}

// ---- Dockerfile ----

// deployDockerfile is what the checks need from the Dockerfile.
type deployDockerfile struct {
	stages      int
	env         map[string]string // ENV of the final stage
	envOrder    []string
	user        string
	expose      []string
	healthcheck []string // the command; nil: none
	entrypoint  []string
	cmd         []string
}

func deployParseDockerfile(text string) deployDockerfile {
	var d deployDockerfile
	var logical []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue // comments, also inside a continued instruction
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	for _, l := range logical {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			d.stages++
			d.env, d.envOrder, d.user, d.expose, d.healthcheck, d.entrypoint, d.cmd = map[string]string{}, nil, "", nil, nil, nil, nil
		case "ENV":
			d.parseEnv(rest)
		case "USER":
			d.user = rest
		case "EXPOSE":
			d.expose = append(d.expose, strings.Fields(rest)...)
		case "HEALTHCHECK":
			d.healthcheck = nil
			fields := strings.Fields(rest)
			for i, f := range fields {
				if strings.EqualFold(f, "NONE") {
					break
				}
				if strings.EqualFold(f, "CMD") {
					d.healthcheck = deployCommand(strings.Join(fields[i+1:], " "))
					break
				}
			}
		case "ENTRYPOINT":
			d.entrypoint = deployCommand(rest)
			d.cmd = nil // as Docker does
		case "CMD":
			d.cmd = deployCommand(rest)
		}
	}
	return d
}

func (d *deployDockerfile) parseEnv(rest string) {
	if d.env == nil {
		d.env = map[string]string{}
	}
	set := func(k, v string) {
		if _, ok := d.env[k]; !ok {
			d.envOrder = append(d.envOrder, k)
		}
		d.env[k] = v
	}
	if k, v, ok := strings.Cut(rest, " "); ok && !strings.Contains(k, "=") {
		set(k, strings.Trim(strings.TrimSpace(v), `"`)) // ENV KEY value
		return
	}
	for _, f := range strings.Fields(rest) { // ENV K=V K2="V2" (values without spaces)
		k, v, _ := strings.Cut(f, "=")
		set(k, strings.Trim(v, `"`))
	}
}

// deployCommand reads the exec form (a JSON array) or the shell form.
func deployCommand(s string) []string {
	var exec []string
	if err := json.Unmarshal([]byte(s), &exec); err == nil {
		return exec
	}
	return []string{"/bin/sh", "-c", s}
}

// deployCheckDockerfile: a multi-stage build whose image runs bazaar as a
// user who is not root, on port 8080, with a health check.
func deployCheckDockerfile(d deployDockerfile) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, deployDockerfilePath+": "+fmt.Sprintf(format, args...))
	}
	if d.stages < 2 {
		bad("%d FROM stage(s): build in one stage and copy the binary into a small runtime stage", d.stages)
	}
	if user, _, _ := strings.Cut(d.user, ":"); user == "" || user == "root" || user == "0" {
		bad("the image runs as root (USER %q in the final stage)", d.user)
	}
	known := deployKnownVars()
	for _, k := range d.envOrder {
		if !known[k] {
			bad("ENV sets %s, which is not a Bazaar setting (see config.Keys)", k)
		}
	}
	listen := "8080"
	if addr, ok := d.env["BAZAAR_HTTP_ADDR"]; ok {
		if _, port, err := net.SplitHostPort(addr); err == nil {
			listen = port
		} else {
			bad("ENV BAZAAR_HTTP_ADDR=%s is not host:port", addr)
		}
	}
	if listen != "8080" {
		bad("the image listens on %s, want 8080", listen)
	}
	if !slices.Contains(d.expose, "8080") && !slices.Contains(d.expose, "8080/tcp") {
		bad("EXPOSE %s: want EXPOSE 8080, the port bazaar listens on", strings.Join(d.expose, " "))
	}
	if d.healthcheck == nil {
		bad("no HEALTHCHECK (docker cannot tell a started container from a ready one)")
	} else if u := deployFindURL(d.healthcheck); u == nil {
		bad("the HEALTHCHECK asks no http:// URL: %q", d.healthcheck)
	} else if u.Port() != listen || (u.Path != "/readyz" && u.Path != "/healthz") {
		bad("the HEALTHCHECK asks %s: want port %s and /readyz or /healthz", u, listen)
	}
	run := slices.Concat(d.entrypoint, d.cmd)
	if len(run) == 0 || path.Base(run[0]) != "bazaar" {
		bad("the image does not run bazaar: ENTRYPOINT %q CMD %q", d.entrypoint, d.cmd)
	}
	return out
}

// deployFindURL is the first http(s) URL among a command's words.
func deployFindURL(words []string) *url.URL {
	for _, w := range words {
		for _, f := range strings.Fields(w) {
			f = strings.Trim(f, `'"`)
			if strings.HasPrefix(f, "http://") || strings.HasPrefix(f, "https://") {
				if u, err := url.Parse(f); err == nil {
					return u
				}
			}
		}
	}
	return nil
}

// deployImageEnv is what the image sets before the file sets anything.
func deployImageEnv(d deployDockerfile) map[string]string {
	env := map[string]string{}
	maps.Copy(env, d.env)
	return env
}

// ---- compose ----

type deployComposeService struct {
	Image       string `yaml:"image"`
	Build       any    `yaml:"build"`
	User        string `yaml:"user"`
	Environment any    `yaml:"environment"`
	EnvFile     any    `yaml:"env_file"`
	Ports       []any  `yaml:"ports"`
	DependsOn   any    `yaml:"depends_on"`
	Healthcheck *struct {
		Test    any  `yaml:"test"`
		Disable bool `yaml:"disable"`
	} `yaml:"healthcheck"`
}

var deployInterpolation = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// deployInterpolate expands ${VAR:-default} and its kin as compose does,
// with no variable set: the checks see the file's defaults.
func deployInterpolate(text string) (string, error) {
	var errs []error
	out := deployInterpolation.ReplaceAllStringFunc(text, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := deployInterpolation.FindStringSubmatch(m)
		switch {
		case sub[2] == ":-" || sub[2] == "-":
			return sub[3]
		case sub[2] == ":?" || sub[2] == "?":
			errs = append(errs, fmt.Errorf("%s must be set (%s)", sub[1], sub[3]))
		}
		return ""
	})
	return out, errors.Join(errs...)
}

func deployParseCompose(files map[string]string, df deployDockerfile) (*deploySet, error) {
	const file = deployComposePath
	text, err := deployInterpolate(files[file])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var doc struct {
		Services map[string]deployComposeService `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	s := &deploySet{name: file, endpoints: map[string]*deployEndpoint{}, databases: map[string]bool{}}
	for _, m := range regexp.MustCompile(`(?i)create\s+database\s+"?([A-Za-z0-9_]+)"?`).FindAllStringSubmatch(files[deployInitSQLPath], -1) {
		s.databases[m[1]] = true
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Services)) {
		svc := doc.Services[name]
		bazaar := svc.Build != nil || strings.HasPrefix(path.Base(svc.Image), "bazaar")
		s.endpoints[name] = &deployEndpoint{}
		env, order, err := deployComposeEnv(svc.Environment)
		if err != nil {
			s.problems = append(s.problems, fmt.Sprintf("%s: %s: environment: %v", file, name, err))
		}
		for _, k := range order {
			s.vars = append(s.vars, deployVar{file: file, owner: name, name: k, value: env[k], bazaar: bazaar})
		}
		if !bazaar {
			if name == "postgres" || strings.HasPrefix(path.Base(svc.Image), "postgres") {
				db := env["POSTGRES_DB"]
				if db == "" {
					db = cmp.Or(env["POSTGRES_USER"], "postgres")
				}
				s.databases[db] = true
			}
			continue
		}
		if svc.EnvFile != nil {
			s.problems = append(s.problems, fmt.Sprintf("%s: %s: env_file hides its variables from these checks; set them in environment", file, name))
		}
		p := &deployProc{file: file, name: name, env: deployImageEnv(df)}
		maps.Copy(p.env, env)
		for _, port := range svc.Ports {
			if target := deployComposeTarget(port); target != 0 {
				p.ports = append(p.ports, deployPort{"published container port", target})
			}
		}
		if svc.Healthcheck == nil {
			if u := deployFindURL(df.healthcheck); u != nil { // the image's applies
				port, _ := strconv.Atoi(u.Port())
				p.ports = append(p.ports, deployPort{"image's HEALTHCHECK port", port})
			}
		}
		if hc := svc.Healthcheck; hc != nil && !hc.Disable {
			var words []string
			switch t := hc.Test.(type) {
			case string:
				words = []string{t}
			case []any:
				for _, w := range t {
					words = append(words, fmt.Sprint(w))
				}
			}
			if u := deployFindURL(words); u != nil {
				port, _ := strconv.Atoi(u.Port())
				p.ports = append(p.ports, deployPort{"healthcheck port", port})
				p.probes = append(p.probes, deployProbe{"healthcheck", u.RequestURI()})
			}
		}
		if user, _, _ := strings.Cut(svc.User, ":"); user == "root" || user == "0" {
			p.root = "user: " + svc.User
		}
		s.procs = append(s.procs, p)
		s.endpoints[name].procs = []*deployProc{p}
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Services)) {
		var deps []string
		switch d := doc.Services[name].DependsOn.(type) {
		case []any:
			for _, x := range d {
				deps = append(deps, fmt.Sprint(x))
			}
		case map[string]any:
			deps = slices.Collect(maps.Keys(d))
		}
		for _, dep := range deps {
			if s.endpoints[dep] == nil {
				s.problems = append(s.problems, fmt.Sprintf("%s: %s depends on %q, which is no service", file, name, dep))
			}
		}
	}
	return s, nil
}

// deployComposeEnv reads an environment map or list. A variable without a
// value is taken from the host's environment, here: unset.
func deployComposeEnv(raw any) (map[string]string, []string, error) {
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	switch e := raw.(type) {
	case nil:
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(e)) {
			v := ""
			if e[k] != nil {
				v = fmt.Sprint(e[k])
			}
			set(k, v)
		}
	case []any:
		for _, x := range e {
			k, v, _ := strings.Cut(fmt.Sprint(x), "=")
			set(k, v)
		}
	default:
		return nil, nil, fmt.Errorf("neither a map nor a list: %T", raw)
	}
	return env, order, nil
}

// deployComposeTarget is the container side of a ports entry.
func deployComposeTarget(port any) int {
	switch p := port.(type) {
	case map[string]any:
		n, _ := strconv.Atoi(fmt.Sprint(p["target"]))
		return n
	default:
		s := fmt.Sprint(p)
		s, _, _ = strings.Cut(s, "/")
		s = s[strings.LastIndex(s, ":")+1:]
		n, _ := strconv.Atoi(s)
		return n
	}
}

// ---- Kubernetes ----

type deployK8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas *int           `yaml:"replicas"`
		Selector map[string]any `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				SecurityContext deployK8sSecurity    `yaml:"securityContext"`
				Containers      []deployK8sContainer `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
		Ports []struct {
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
	file string
}

type deployK8sSecurity struct {
	RunAsNonRoot *bool `yaml:"runAsNonRoot"`
	RunAsUser    *int  `yaml:"runAsUser"`
}

type deployK8sContainer struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	EnvFrom []struct {
		Prefix       string `yaml:"prefix"`
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			ConfigMapKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"configMapKeyRef"`
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	ReadinessProbe  *deployK8sProbe    `yaml:"readinessProbe"`
	LivenessProbe   *deployK8sProbe    `yaml:"livenessProbe"`
	SecurityContext *deployK8sSecurity `yaml:"securityContext"`
}

type deployK8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

func deployParseK8s(files map[string]string, df deployDockerfile) (*deploySet, error) {
	var objs []*deployK8sObject
	for _, file := range slices.Sorted(maps.Keys(files)) {
		if !strings.HasPrefix(file, deployK8sDir+"/") {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader([]byte(files[file])))
		for {
			var o deployK8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if o.Kind == "" {
				continue // an empty document
			}
			o.file = file
			objs = append(objs, &o)
		}
	}
	s := &deploySet{name: deployK8sDir, endpoints: map[string]*deployEndpoint{}, replicas: map[string]int{}}
	bad := func(o *deployK8sObject, format string, args ...any) {
		s.problems = append(s.problems, fmt.Sprintf("%s: %s %s: ", o.file, o.Kind, o.Metadata.Name)+fmt.Sprintf(format, args...))
	}

	// The namespace: every object in the one the manifests create, so that
	// Service names resolve.
	ns := "default"
	for _, o := range objs {
		if o.Kind == "Namespace" {
			ns = o.Metadata.Name
		}
	}
	s.hostSuffixes = []string{"." + ns + ".svc.cluster.local", "." + ns + ".svc", "." + ns}
	for _, o := range objs {
		if o.Kind != "Namespace" && cmp.Or(o.Metadata.Namespace, "default") != ns {
			bad(o, "is in namespace %q, not %q", cmp.Or(o.Metadata.Namespace, "default"), ns)
		}
	}

	values := map[string]map[string]string{} // "ConfigMap/name" or "Secret/name" → data
	for _, o := range objs {
		if o.Kind != "ConfigMap" && o.Kind != "Secret" {
			continue
		}
		data := map[string]string{}
		for k, v := range o.Data {
			if o.Kind == "Secret" {
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					bad(o, "data.%s is not base64", k)
				}
				v = string(b)
			}
			data[k] = v
		}
		maps.Copy(data, o.StringData)
		values[o.Kind+"/"+o.Metadata.Name] = data
		for _, k := range slices.Sorted(maps.Keys(data)) {
			s.vars = append(s.vars, deployVar{file: o.file, owner: o.Kind + " " + o.Metadata.Name, name: k, value: data[k], bazaar: true})
		}
	}

	type pod struct {
		labels map[string]string
		procs  []*deployProc
		ports  map[string]int // container port names → numbers
	}
	var pods []pod
	for _, o := range objs {
		if o.Kind != "Deployment" {
			continue
		}
		if o.Spec.Replicas != nil {
			s.replicas[o.Metadata.Name] = *o.Spec.Replicas
		} else {
			s.replicas[o.Metadata.Name] = 1
		}
		spec := o.Spec.Template.Spec
		pd := pod{labels: o.Spec.Template.Metadata.Labels, ports: map[string]int{}}
		if ml, ok := o.Spec.Selector["matchLabels"].(map[string]any); !ok || !deployLabelsMatch(ml, pd.labels) {
			bad(o, "spec.selector.matchLabels does not match the pod template's labels")
		}
		for _, c := range spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name != "" {
					pd.ports[cp.Name] = cp.ContainerPort
				}
				pd.ports[strconv.Itoa(cp.ContainerPort)] = cp.ContainerPort
			}
			bazaar := strings.HasPrefix(path.Base(c.Image), "bazaar")
			owner := "Deployment " + o.Metadata.Name
			p := &deployProc{file: o.file, name: o.Metadata.Name, env: map[string]string{}, wantProbes: true}
			if bazaar {
				p.env = deployImageEnv(df)
			}
			for _, from := range c.EnvFrom {
				ref := ""
				switch {
				case from.ConfigMapRef != nil:
					ref = "ConfigMap/" + from.ConfigMapRef.Name
				case from.SecretRef != nil:
					ref = "Secret/" + from.SecretRef.Name
				}
				data, ok := values[ref]
				if !ok {
					bad(o, "envFrom %s, which is not defined", ref)
				}
				for k, v := range data {
					p.env[from.Prefix+k] = v
				}
			}
			for _, e := range c.Env {
				v := e.Value
				if vf := e.ValueFrom; vf != nil {
					ref, key := "", ""
					switch {
					case vf.ConfigMapKeyRef != nil:
						ref, key = "ConfigMap/"+vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key
					case vf.SecretKeyRef != nil:
						ref, key = "Secret/"+vf.SecretKeyRef.Name, vf.SecretKeyRef.Key
					}
					var ok bool
					if v, ok = values[ref][key]; !ok {
						bad(o, "env %s comes from %s key %s, which is not defined", e.Name, ref, key)
					}
				}
				p.env[e.Name] = v
				s.vars = append(s.vars, deployVar{file: o.file, owner: owner, name: e.Name, value: v, bazaar: bazaar})
			}
			if !bazaar {
				continue
			}
			for _, cp := range c.Ports {
				p.ports = append(p.ports, deployPort{"containerPort", cp.ContainerPort})
			}
			for kind, pr := range map[string]*deployK8sProbe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
				if pr == nil || pr.HTTPGet == nil {
					continue
				}
				p.probes = append(p.probes, deployProbe{kind, pr.HTTPGet.Path})
				if port, ok := pd.ports[pr.HTTPGet.Port]; ok {
					p.ports = append(p.ports, deployPort{kind + " port", port})
				} else {
					bad(o, "%s port %q is no container port", kind, pr.HTTPGet.Port)
				}
			}
			nonRoot, user := spec.SecurityContext.RunAsNonRoot, spec.SecurityContext.RunAsUser
			if sc := c.SecurityContext; sc != nil {
				nonRoot, user = cmp.Or(sc.RunAsNonRoot, nonRoot), cmp.Or(sc.RunAsUser, user)
			}
			switch {
			case nonRoot == nil || !*nonRoot:
				p.root = "securityContext.runAsNonRoot is not true"
			case user != nil && *user == 0:
				p.root = "securityContext.runAsUser is 0"
			}
			s.procs = append(s.procs, p)
			pd.procs = append(pd.procs, p)
		}
		pods = append(pods, pd)
	}

	for _, o := range objs {
		if o.Kind != "Service" {
			continue
		}
		ep := &deployEndpoint{ports: map[int]int{}}
		var selected []pod
		for _, pd := range pods {
			if len(o.Spec.Selector) > 0 && deployLabelsMatch(o.Spec.Selector, pd.labels) {
				selected = append(selected, pd)
				ep.procs = append(ep.procs, pd.procs...)
			}
		}
		if len(selected) == 0 {
			bad(o, "its selector matches no Deployment's pods")
		}
		for _, sp := range o.Spec.Ports {
			target := cmp.Or(sp.TargetPort, strconv.Itoa(sp.Port))
			for _, pd := range selected {
				n, ok := pd.ports[target]
				if !ok {
					bad(o, "port %d: targetPort %s is no container port of the pods it selects", sp.Port, target)
					continue
				}
				ep.ports[sp.Port] = n
			}
		}
		s.endpoints[o.Metadata.Name] = ep
	}
	return s, nil
}

// deployLabelsMatch reports whether every selector label is on the pod.
func deployLabelsMatch(selector map[string]any, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != fmt.Sprint(v) {
			return false
		}
	}
	return true
}
