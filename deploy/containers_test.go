package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/apitest"
	"github.com/bazaar-shop/bazaar/internal/pagetest"
	"github.com/bazaar-shop/bazaar/internal/shoptest"
	"github.com/bazaar-shop/bazaar/modules/payment"
)

// TestContainers builds the image from the Dockerfile as a person would
// (deploy/local-images.sh, then docker build), starts the split layout of
// deploy/compose.yaml — gateway, two catalogue replicas, inventory, payment,
// webhooks, the storefront and PostgreSQL, each in a container of its own —
// and breaks it
// the ways containers break: a replica killed, a module cut off the
// network, a module restarted, every container stopped. It needs a Docker
// engine (started here if none runs and the test runs as root) and
// docker-compose, and takes minutes, so it runs only when asked:
//
//	BAZAAR_TEST_DOCKER=1 go test -run TestContainers -v ./deploy
func TestContainers(t *testing.T) {
	if os.Getenv("BAZAAR_TEST_DOCKER") != "1" {
		t.Skip("set BAZAAR_TEST_DOCKER=1 to build the image and run the split as containers")
	}
	startEngine(t)
	buildImages(t)
	t.Run("bad configuration stops a container with one line", badConfiguration)

	s := composeUp(t)
	t.Run("every container is healthy and not root", s.healthyAndNotRoot)
	t.Run("each database role opens its own database only", s.rolesIsolated)
	t.Run("the API through the gateway", func(t *testing.T) { apitest.Run(t, s.Base, s.Admin) })
	t.Run("the shop's pages through the gateway", func(t *testing.T) { pagetest.Run(t, s.Shop) })
	t.Run("a catalogue replica killed", s.replicaKilled)
	t.Run("inventory cut off the network", s.inventoryPartitioned)
	t.Run("payment restarted", s.paymentRestarted)
	t.Run("a stopped gateway finishes what it started", s.gatewayStopped)
	t.Run("every container stops cleanly", s.stopAll)
}

const (
	adminKey     = "bzr_container_admin"
	serviceToken = "container-service-token"
	// deadline bounds any one answer while a module is killed, cut off or
	// restarted: well past the remote timeout (2s) the layout is given, so
	// a slow machine does not fail it, and far short of a hang.
	deadline = 15 * time.Second
)

// docker runs a command and returns its output, failing the test if it fails.
func docker(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), tail(string(out), 40))
	return strings.TrimSpace(string(out))
}

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startEngine makes sure a Docker engine answers, starting dockerd (vfs
// storage, which works inside any sandbox) when none does and this is root.
// An engine it started is stopped when the test ends.
func startEngine(t *testing.T) {
	if exec.Command("docker", "info").Run() == nil {
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("no Docker engine answers, and only root can start one")
	}
	logPath := filepath.Join(os.TempDir(), "bazaar-test-dockerd.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	dockerd := exec.Command("dockerd", "--storage-driver=vfs")
	dockerd.Stdout, dockerd.Stderr = logFile, logFile
	require.NoError(t, dockerd.Start(), "start dockerd")
	t.Cleanup(func() {
		_ = dockerd.Process.Signal(syscall.SIGTERM)
		_ = dockerd.Wait()
		logFile.Close()
	})
	shoptest.Eventually(t, time.Minute, func() bool { return exec.Command("docker", "info").Run() == nil },
		"dockerd did not answer; its log is %s", logPath)
}

// buildImages builds bazaar:dev exactly as the README says, and the
// PostgreSQL image the compose file names.
func buildImages(t *testing.T) {
	for _, step := range [][]string{
		{"bash", "deploy/local-images.sh"},
		{"docker", "build", "-q", "-t", "bazaar:dev", "."},
		{"docker", "build", "-q", "-t", "bazaar-postgres:dev", "deploy/postgres"},
	} {
		began := time.Now()
		cmd := exec.Command(step[0], step[1:]...)
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s:\n%s", strings.Join(step, " "), tail(string(out), 40))
		t.Logf("%s: %s", strings.Join(step, " "), time.Since(began).Round(time.Second))
	}
	size, err := strconv.ParseInt(docker(t, "docker", "image", "inspect", "-f", "{{.Size}}", "bazaar:dev"), 10, 64)
	require.NoError(t, err)
	t.Logf("bazaar:dev is %d MB", size/1e6)
}

// badConfiguration starts the image with one setting wrong at a time: it
// must exit non-zero, say in one line which setting is wrong, and never be
// reported healthy.
func badConfiguration(t *testing.T) {
	cases := []struct {
		name, setting string
		env           []string
	}{
		{"a module URL that does not resolve", "BAZAAR_MODULES_CATALOGUE_URL", []string{
			"BAZAAR_SERVE=inventory", "BAZAAR_SERVICE_TOKEN=t",
			"BAZAAR_MODULES_CATALOGUE_URL=http://no-such-catalogue:8080", "BAZAAR_MODULES_WEBHOOKS_URL=http://127.0.0.1:9"}},
		{"no service token", "BAZAAR_SERVICE_TOKEN", []string{
			"BAZAAR_SERVE=catalogue", "BAZAAR_MODULES_WEBHOOKS_URL=http://127.0.0.1:9"}},
		{"a database that refuses", "BAZAAR_MODULES_CATALOGUE_DSN", []string{
			"BAZAAR_SERVE=catalogue", "BAZAAR_SERVICE_TOKEN=t", "BAZAAR_MODULES_WEBHOOKS_URL=http://127.0.0.1:9",
			"BAZAAR_MODULES_CATALOGUE_DSN=postgres://catalogue:secret@127.0.0.1:1/catalogue?sslmode=disable"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"run", "-d", "--health-interval=1s", "--health-start-period=0s"}
			for _, e := range c.env {
				args = append(args, "-e", e)
			}
			id := docker(t, "docker", append(args, "bazaar:dev")...)
			t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, "docker", "wait", id).Output()
			require.NoError(t, err, "the container did not exit")
			require.NotEqual(t, "0", strings.TrimSpace(string(out)), "exit code")
			logs := docker(t, "docker", "logs", id)
			require.Len(t, strings.Split(logs, "\n"), 1, "one line:\n%s", logs)
			require.Contains(t, logs, c.setting)
			require.NotContains(t, logs, "secret", "a DSN's password stays out of the log")
			require.NotEqual(t, "healthy", docker(t, "docker", "inspect", "-f", "{{.State.Health.Status}}", id))
		})
	}
}

// split is the compose project under test.
type split struct {
	shoptest.Shop
	project string
	files   []string
}

// composeUp starts deploy/compose.yaml as a project of its own, with
// settings that make the breakages below settle in seconds (an override
// file beside it), and waits until the gateway is ready.
func composeUp(t *testing.T) *split {
	port := freePort(t)
	override := filepath.Join(t.TempDir(), "override.yaml")
	tuning := `      BAZAAR_REMOTE_HEALTH_INTERVAL: 200ms
      BAZAAR_REMOTE_TIMEOUT: 2s
      BAZAAR_REMOTE_RETRIES: "1"
      BAZAAR_REMOTE_BREAKER_COOLDOWN: 500ms
      BAZAAR_INVENTORY_RESERVATION_TTL: 3s
      BAZAAR_INVENTORY_EXPIRY_INTERVAL: 200ms
      BAZAAR_PAYMENT_RECOVERY_INTERVAL: 300ms
      BAZAAR_PAYMENT_RECOVER_AFTER: 2s
      BAZAAR_RATE_LIMIT_RPS: "0"
      BAZAAR_RATE_LIMIT_ANONYMOUS_RPS: "0"
`
	var b strings.Builder
	b.WriteString("services:\n")
	for _, svc := range []string{"webhooks", "catalogue-1", "catalogue-2", "inventory", "payment", "storefront", "gateway"} {
		b.WriteString("  " + svc + ":\n    environment:\n" + tuning)
	}
	require.NoError(t, os.WriteFile(override, []byte(b.String()), 0o644))

	s := &split{
		Shop:    shoptest.Shop{Base: "http://127.0.0.1:" + port, Admin: adminKey},
		project: fmt.Sprintf("bazaartest%d", os.Getpid()),
		files:   []string{"compose.yaml", override},
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, svc := range s.services(t) {
				out, _ := s.composeCmd("logs", "--no-color", svc).CombinedOutput()
				t.Logf("what %s logged above INFO, the same message once:\n%s", svc, problems(string(out)))
			}
		}
		_ = s.composeCmd("down", "--volumes", "--remove-orphans", "--timeout", "5").Run()
	})
	began := time.Now()
	s.compose(t, "up", "-d", "--no-build")
	shoptest.Eventually(t, 3*time.Minute, func() bool { return get(s.Base+"/readyz") == http.StatusOK },
		"the gateway at %s did not become ready", s.Base)
	t.Logf("the split was ready %s after docker-compose up", time.Since(began).Round(time.Second))
	return s
}

// problems keeps the lines of a log above INFO, each message (and error)
// only the first time it appears, and the last 30 of those.
func problems(log string) string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"level":"INFO"`) {
			continue
		}
		var entry struct{ Msg, Err string }
		if i := strings.Index(line, "{"); i >= 0 {
			_ = json.Unmarshal([]byte(line[i:]), &entry)
		}
		if key := entry.Msg + entry.Err; key != "" {
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		out = append(out, line)
	}
	return tail(strings.Join(out, "\n"), 30)
}

// composeCmd is a docker-compose command on the project.
func (s *split) composeCmd(args ...string) *exec.Cmd {
	full := []string{"-p", s.project}
	for _, f := range s.files {
		full = append(full, "-f", f)
	}
	cmd := exec.Command("docker-compose", append(full, args...)...)
	cmd.Env = append(os.Environ(),
		"BAZAAR_PORT="+strings.TrimPrefix(s.Base, "http://127.0.0.1:"),
		"BAZAAR_ADMIN_KEY="+adminKey, "BAZAAR_SERVICE_TOKEN="+serviceToken)
	return cmd
}

// compose runs a docker-compose command on the project and returns its output.
func (s *split) compose(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.composeCmd(args...).CombinedOutput()
	require.NoError(t, err, "docker-compose %s:\n%s", strings.Join(args, " "), tail(string(out), 40))
	return strings.TrimSpace(string(out))
}

// container is the id of a service's container.
func (s *split) container(t testing.TB, service string) string {
	t.Helper()
	id := s.compose(t, "ps", "-q", service)
	require.NotEmpty(t, id, "no container of %s", service)
	return id
}

// address is a service's container's address on the project's network.
func (s *split) address(t testing.TB, service string) string {
	return docker(t, "docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", s.container(t, service))
}

// services lists the project's services, PostgreSQL included.
func (s *split) services(t testing.TB) []string {
	return strings.Fields(s.compose(t, "config", "--services"))
}

// waitHealthy waits until the image's HEALTHCHECK reports a service healthy.
func (s *split) waitHealthy(t testing.TB, service string) {
	t.Helper()
	id := s.container(t, service)
	shoptest.Eventually(t, 2*time.Minute, func() bool {
		out, _ := exec.Command("docker", "inspect", "-f", "{{.State.Health.Status}}", id).Output()
		return strings.TrimSpace(string(out)) == "healthy"
	}, "%s did not become healthy", service)
}

func (s *split) healthyAndNotRoot(t *testing.T) {
	for _, svc := range s.services(t) {
		s.waitHealthy(t, svc)
		id := s.container(t, svc)
		uid := docker(t, "docker", "exec", id, "id", "-u")
		require.NotEqual(t, "0", uid, "%s runs as root", svc)
		if svc != "postgres" {
			require.Equal(t, "65532", uid, svc)
		}
	}
}

// rolesIsolated: the credentials a module holds open its own database
// and no other.
func (s *split) rolesIsolated(t *testing.T) {
	postgres := s.container(t, "postgres")
	psql := func(role, db string) ([]byte, error) {
		// The compose file's default passwords: each role's is its name.
		return exec.Command("docker", "exec", "-e", "PGPASSWORD="+role, postgres,
			"psql", "-h", "127.0.0.1", "-U", role, "-d", db, "-Atc", "select current_user").CombinedOutput()
	}
	out, err := psql("catalogue", "catalogue")
	require.NoError(t, err, "%s", out)
	require.Equal(t, "catalogue", strings.TrimSpace(string(out)))
	for _, db := range []string{"auth", "payment", "inventory", "webhooks"} {
		out, err := psql("catalogue", db)
		require.Error(t, err, "catalogue's role opened the %s database", db)
		require.Contains(t, string(out), "permission denied for database")
	}
}

// replicaKilled: with one catalogue replica killed, reads through the
// gateway keep answering from the other, and the killed one comes back.
func (s *split) replicaKilled(t *testing.T) {
	prod := s.Product(t, 5)
	s.compose(t, "kill", "catalogue-1")
	client := &http.Client{Timeout: deadline}
	for i := 0; i < 40; i++ {
		for _, path := range []string{"/v1/products/" + prod, "/v1/products?limit=5"} {
			req, _ := http.NewRequest("GET", s.Base+path, nil)
			req.Header.Set("Cache-Control", "no-cache") // ask the catalogue, not a cache
			resp, err := client.Do(req)
			require.NoError(t, err, "read %d", i)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "read %d of %s", i, path)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.compose(t, "start", "catalogue-1")
	s.waitHealthy(t, "catalogue-1")
}

// inventoryPartitioned cuts inventory off the network in the middle of a
// stream of checkouts and connects it again. Every checkout ends clearly
// and in time, and once recovery and expiry run the books balance.
func (s *split) inventoryPartitioned(t *testing.T) {
	const stock = 100_000 // more than any stream sells: every checkout after the break can succeed
	prod := s.Product(t, stock)
	network := s.project + "_default"
	inventory := s.container(t, "inventory")

	stream := s.Checkouts(prod)
	time.Sleep(time.Second) // checkouts flow before the cut
	docker(t, "docker", "network", "disconnect", network, inventory)
	time.Sleep(3 * time.Second) // checkouts meet an unreachable inventory
	docker(t, "docker", "network", "connect", "--alias", "inventory", network, inventory)
	back := time.Now()
	succeededSince(t, stream, back)
	results := stream.Stop()
	counts := shoptest.RequireClearEnds(t, results, deadline)
	// A checkout that met the cut failed (503, 504), or waited it out: its
	// call to inventory timed out and a retry got through once the network
	// was back (a forwarded checkout is given remote.forward_timeout).
	waited := 0
	for _, r := range results {
		if r.Took >= 2*time.Second {
			waited++
		}
	}
	require.Positive(t, counts[http.StatusServiceUnavailable]+counts[http.StatusGatewayTimeout]+waited,
		"some checkouts must have met the cut")
	t.Logf("%d checkouts waited out the cut", waited)

	payments, _ := s.Settled(t, prod, stock, func(payment.Payment) bool { return true })
	shoptest.RequireKept(t, results, payments)
}

// paymentRestarted restarts payment (stopped gracefully, then started) in
// the middle of a stream of checkouts: none is left pending once recovery
// runs, none charged twice, and the books balance.
func (s *split) paymentRestarted(t *testing.T) {
	const stock = 100_000 // more than any stream sells: every checkout after the break can succeed
	prod := s.Product(t, stock)
	stream := s.Checkouts(prod)
	time.Sleep(time.Second)
	before := s.address(t, "payment")
	s.compose(t, "restart", "payment")
	s.waitHealthy(t, "payment")
	// The engine may give it another address: callers must not keep
	// dialling the old one.
	t.Logf("payment was at %s, is at %s", before, s.address(t, "payment"))
	succeededSince(t, stream, time.Now())
	results := stream.Stop()
	shoptest.RequireClearEnds(t, results, deadline)

	payments, sold := s.Settled(t, prod, stock, func(payment.Payment) bool { return true })
	shoptest.RequireKept(t, results, payments)
	seen := map[string]bool{}
	for _, p := range payments {
		require.False(t, seen[p.ID], "payment %s listed twice", p.ID)
		seen[p.ID] = true
	}
	t.Logf("%d checkouts, %d payments, %d units sold", len(results), len(payments), sold)
}

// gatewayStopped stops the gateway in the middle of a request: a checkout
// whose head and half its body have arrived when docker stop sends SIGTERM
// gets the rest of its body read and its answer sent, and then the gateway
// exits 0 within its grace.
func (s *split) gatewayStopped(t *testing.T) {
	prod := s.Product(t, 5)
	gateway := s.container(t, "gateway")
	body := shoptest.Order(prod, 1)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.Base, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(time.Minute)))
	_, err = fmt.Fprintf(conn, "POST /v1/payments HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		s.Admin, len(body), body[:len(body)/2])
	require.NoError(t, err)
	time.Sleep(500 * time.Millisecond) // the gateway has read the head: the request is in flight

	stopped := make(chan error, 1)
	go func() { stopped <- s.composeCmd("stop", "gateway").Run() }()
	shoptest.Eventually(t, 30*time.Second, func() bool {
		out, _ := exec.Command("docker", "logs", gateway).CombinedOutput()
		return strings.Contains(string(out), "shutting down")
	}, "the gateway did not begin to shut down")
	_, err = io.WriteString(conn, body[len(body)/2:])
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the request in flight was cut off")
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", answer)

	require.NoError(t, <-stopped)
	require.Equal(t, "0", docker(t, "docker", "inspect", "-f", "{{.State.ExitCode}}", gateway),
		"the gateway exits cleanly on SIGTERM")
	s.compose(t, "start", "gateway")
	s.waitHealthy(t, "gateway")
}

// stopAll stops every container with docker-compose's default grace: each
// must exit on its own (code 0), not be killed when the grace runs out.
func (s *split) stopAll(t *testing.T) {
	s.compose(t, "stop")
	for _, svc := range s.services(t) {
		code := docker(t, "docker", "inspect", "-f", "{{.State.ExitCode}}", s.container(t, svc))
		require.Equal(t, "0", code, "%s did not stop cleanly", svc)
	}
}

// succeededSince waits until a checkout of the stream sent after since
// succeeded: the layout has recovered.
func succeededSince(t *testing.T, stream *shoptest.Checkouts, since time.Time) {
	t.Helper()
	shoptest.Eventually(t, time.Minute, func() bool {
		for _, r := range stream.Results() {
			if r.Status == http.StatusCreated && r.At.After(since) {
				return true
			}
		}
		return false
	}, "no checkout succeeded after the layout recovered")
}

// get returns the status of a GET, or 0 when nothing answered.
func get(url string) int {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// freePort finds a loopback port nobody listens on.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
