package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/bazaar-shop/bazaar/config"
	"github.com/bazaar-shop/bazaar/modules"
)

// The deployment files are checked by the tools made for them: .ci/run
// runs `docker-compose config` on compose.yaml and kubectl-validate on
// k8s/, and TestContainers runs compose.yaml for real. What no tool knows
// is Bazaar's own configuration, checked here for both: every BAZAAR_
// variable is a real setting; every module URL names a service of the same
// files; every process's environment is a configuration Bazaar accepts and
// hosts what the process is named for; and each process holds the
// credentials of its own databases only.

// deployProcess is one Bazaar process of a deployment: its name (the
// service or Deployment) and its environment, secrets resolved.
type deployProcess struct {
	name string
	env  map[string]string
}

// deployment is what the checks need of a set of files: the processes and
// the names other processes reach them by.
type deployment struct {
	procs    []deployProcess
	services map[string]bool
}

func TestDeployFiles(t *testing.T) {
	files := readDeployFiles(t)
	for _, load := range []func(map[string]string) (deployment, error){composeDeployment, k8sDeployment} {
		d, err := load(files)
		require.NoError(t, err)
		var names []string
		for _, p := range d.procs {
			names = append(names, p.name)
		}
		require.Subset(t, names, []string{"gateway", "inventory", "payment", "webhooks"}, "the split layout")
		for _, problem := range checkDeployment(d) {
			t.Error(problem)
		}
	}
}

// TestDeployChecksCatchMistakes breaks a copy of the files in one way each
// and asserts that the checks say so.
func TestDeployChecksCatchMistakes(t *testing.T) {
	cases := []struct{ file, old, new, want string }{
		{"compose.yaml", "      BAZAAR_SERVE: payment\n", "      BAZAAR_SERVE: payment\n      BAZAAR_HTTP_ADRR: \":8080\"\n",
			"payment sets BAZAAR_HTTP_ADRR, which is not a setting"},
		{"compose.yaml", "http://inventory:8080", "http://inventroy:8080", `"inventroy", which is not a service here`},
		{"k8s/22-payment.yaml", "value: http://inventory:8080", "value: http://stock:8080", `"stock", which is not a service here`},
		{"compose.yaml", "BAZAAR_MODULES_INVENTORY_URL: http://inventory:8080", "BAZAAR_MODULES_INVENTORY_URL: http://catalogue-1:8080",
			"catalogue-1 does not host inventory"},
		{"k8s/21-inventory.yaml", "name: bazaar-inventory-db", "name: bazaar-payment-db", "inventory holds the payment database"},
		{"k8s/10-config.yaml", "  token: CHANGE-ME-service-token\n", "", "service_token (BAZAAR_SERVICE_TOKEN)"},
		{"compose.yaml", "      BAZAAR_SERVE: webhooks\n", "      BAZAAR_SERVE: webhooks\n      BAZAAR_AUTH_DSN: postgres://auth:x@postgres:5432/auth\n",
			"webhooks holds the auth database"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			files := readDeployFiles(t)
			require.Contains(t, files[c.file], c.old, "the case no longer matches the file")
			files[c.file] = strings.Replace(files[c.file], c.old, c.new, 1)
			var problems []string
			for _, load := range []func(map[string]string) (deployment, error){composeDeployment, k8sDeployment} {
				d, err := load(files)
				require.NoError(t, err)
				problems = append(problems, checkDeployment(d)...)
			}
			require.Contains(t, strings.Join(problems, "\n"), c.want)
		})
	}
}

func readDeployFiles(t *testing.T) map[string]string {
	files := map[string]string{}
	paths, err := filepath.Glob("k8s/*.yaml")
	require.NoError(t, err)
	for _, p := range append(paths, "compose.yaml") {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		files[p] = string(b)
	}
	return files
}

// checkDeployment returns every problem it finds, one line each.
func checkDeployment(d deployment) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	settings := map[string]bool{"BAZAAR_CONFIG": true, "BAZAAR_SERVE": true}
	for _, k := range config.Keys() {
		settings[config.EnvName(k)] = true
	}
	hosts := map[string][]modules.Module{} // process name → the modules it hosts
	configs := map[string]config.Config{}
	for _, p := range d.procs {
		for name := range p.env {
			if !settings[name] {
				bad("%s sets %s, which is not a setting", p.name, name)
			}
		}
		cfg, err := config.Load(nil, func(k string) string { return p.env[k] })
		if err != nil {
			bad("%s: %v", p.name, err)
			continue
		}
		configs[p.name], hosts[p.name] = cfg, cfg.Modules.Serve
		if want := strings.TrimRight(p.name, "-0123456789"); want == "gateway" && len(cfg.Modules.Serve) != 0 ||
			want != "gateway" && !slices.Equal(cfg.Modules.Serve, []modules.Module{modules.Module(want)}) {
			bad("%s hosts %v", p.name, cfg.Modules.Serve)
		}
	}
	for name, cfg := range configs {
		for _, m := range modules.All() {
			for _, u := range cfg.URLs(m) {
				host := hostOf(u)
				switch {
				case !d.services[host]:
					bad("%s calls %s at %q, which is not a service here", name, m, host)
				case hosts[host] != nil && !slices.Contains(hosts[host], m):
					bad("%s calls %s at %s, but %s does not host %s", name, m, u, host, m)
				}
			}
		}
		// Its own databases, and no other's: the DSN settings it carries
		// are those of the modules it hosts, and the key database's at the edge.
		for _, owner := range config.Owners() {
			dsn, holds := d.env(name)[config.EnvName(config.DSNKey(owner))]
			owns := cfg.Hosts(modules.Module(owner)) || owner == "auth" && cfg.Edge()
			switch {
			case holds && !owns:
				bad("%s holds the %s database", name, owner)
			case owns && !holds:
				bad("%s keeps its %s database in a file of the container", name, owner)
			case holds:
				// Each owner has a role and a database of its own name.
				u, err := url.Parse(dsn)
				if err != nil {
					bad("%s: %s: %v", name, config.DSNKey(owner), err)
				} else if u.User.Username() != owner || u.Path != "/"+owner {
					bad("%s holds the %s database", name, strings.TrimPrefix(u.Path, "/"))
				}
			}
		}
	}
	return problems
}

func (d deployment) env(name string) map[string]string {
	for _, p := range d.procs {
		if p.name == name {
			return p.env
		}
	}
	return nil
}

func hostOf(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	return parsed.Hostname()
}

// composeVar is ${NAME:-default}, which the checks read as its default.
var composeVar = regexp.MustCompile(`\$\{[A-Z0-9_]+:-([^}]*)\}`)

func composeDeployment(files map[string]string) (deployment, error) {
	var doc struct {
		Services map[string]struct {
			Image       string
			Environment map[string]string
		}
	}
	if err := yaml.Unmarshal([]byte(files["compose.yaml"]), &doc); err != nil {
		return deployment{}, err
	}
	d := deployment{services: map[string]bool{}}
	for name, svc := range doc.Services {
		d.services[name] = true
		if !strings.HasPrefix(svc.Image, "bazaar:") {
			continue
		}
		env := map[string]string{}
		for k, v := range svc.Environment {
			env[k] = composeVar.ReplaceAllString(v, "$1")
		}
		d.procs = append(d.procs, deployProcess{name, env})
	}
	return d, nil
}

// k8sObject is what the checks read of a manifest.
type k8sObject struct {
	Kind     string
	Metadata struct{ Name string }
	Data     map[string]string
	// Secrets as written in the manifests (stringData).
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Template struct {
			Spec struct {
				Containers []struct {
					EnvFrom []struct {
						ConfigMapRef struct{ Name string } `yaml:"configMapRef"`
					} `yaml:"envFrom"`
					Env []struct {
						Name      string
						Value     string
						ValueFrom struct {
							SecretKeyRef struct{ Name, Key string } `yaml:"secretKeyRef"`
						} `yaml:"valueFrom"`
					}
				}
			}
		}
	}
}

func k8sDeployment(files map[string]string) (deployment, error) {
	var objects []k8sObject
	for path, text := range files {
		if !strings.HasPrefix(path, "k8s/") {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return deployment{}, fmt.Errorf("%s: %w", path, err)
			}
			objects = append(objects, o)
		}
	}
	data := map[string]map[string]string{} // "Kind/name" → its data
	d := deployment{services: map[string]bool{}}
	for _, o := range objects {
		switch o.Kind {
		case "ConfigMap":
			data["ConfigMap/"+o.Metadata.Name] = o.Data
		case "Secret":
			data["Secret/"+o.Metadata.Name] = o.StringData
		case "Service":
			d.services[o.Metadata.Name] = true
		}
	}
	for _, o := range objects {
		if o.Kind != "Deployment" {
			continue
		}
		env := map[string]string{}
		for _, c := range o.Spec.Template.Spec.Containers {
			for _, from := range c.EnvFrom {
				for k, v := range data["ConfigMap/"+from.ConfigMapRef.Name] {
					env[k] = v
				}
			}
			for _, e := range c.Env {
				if ref := e.ValueFrom.SecretKeyRef; ref.Name != "" {
					if v, ok := data["Secret/"+ref.Name][ref.Key]; ok {
						env[e.Name] = v
					}
					continue
				}
				env[e.Name] = e.Value
			}
		}
		d.procs = append(d.procs, deployProcess{o.Metadata.Name, env})
	}
	return d, nil
}
