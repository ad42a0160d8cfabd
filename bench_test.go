package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/bench"
)

// These tests run `bazaar bench` from the built binary, as a user does:
// it starts real layouts from that same binary.

// runBench runs the built binary's bench and returns its exit code, the
// report printed on stdout and what it said on stderr.
func runBench(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	bin, err := binary()
	require.NoError(t, err)
	cmd := exec.Command(bin, append([]string{"bench"}, args...)...)
	cmd.Dir = t.TempDir()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), out.String(), errOut.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errOut.String()
}

func readReport(t *testing.T, path string) bench.Report {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var r bench.Report
	require.NoError(t, json.Unmarshal(raw, &r))
	return r
}

// requireMixMeasured checks that every op of the default mix, and "all",
// was measured on a layout, and that every invariant held.
func requireMixMeasured(t *testing.T, l *bench.LayoutResult) {
	t.Helper()
	for _, op := range []string{"list", "get", "stock", "checkout", bench.OpAll} {
		o := l.Op(op)
		require.NotNil(t, o, "%s %s", l.Name, op)
		require.Positive(t, o.ThroughputRPS, "%s %s", l.Name, op)
		require.Positive(t, o.Latency.P50, "%s %s", l.Name, op)
		require.LessOrEqual(t, o.Latency.P50, o.Latency.P99, "%s %s", l.Name, op)
		require.Zero(t, o.Errors, "%s %s: %v", l.Name, op, o.ErrorsByCode)
	}
	checkout := l.Op("checkout")
	require.Positive(t, checkout.Outcomes["ok"], "%s: checkouts succeeded", l.Name)
	require.Len(t, l.Invariants, len(bench.InvariantNames), l.Name)
	for _, inv := range l.Invariants {
		require.True(t, inv.Passed, "%s %s: %s", l.Name, inv.Name, inv.Detail)
	}
}

// TestBench runs a short bench of both layouts and checks its report,
// its JSON, its plot and its invariants.
func TestBench(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jsonPath, plotPath := filepath.Join(dir, "bench.json"), filepath.Join(dir, "bench.svg")
	code, out, errOut := runBench(t, "--layouts", "monolith,split", "--duration", "2s", "--warmup", "500ms",
		"--products", "50", "--clients", "4", "--json", jsonPath, "--plot", plotPath)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)

	r := readReport(t, jsonPath)
	require.Equal(t, bench.ReportVersion, r.Version)
	require.True(t, r.Passed)
	require.Equal(t, []string{"monolith", "split"}, r.Settings.Layouts)
	require.Equal(t, "list=10,get=5,stock=3,checkout=1", r.Settings.Mix)
	require.Len(t, r.Layouts, 2)
	procs := map[string][]string{"monolith": {"monolith"}, "split": {"webhooks", "catalogue", "inventory", "payment", "gateway"}}
	for _, l := range r.Layouts {
		require.True(t, l.Started, l.Name)
		require.InDelta(t, 2, l.WindowSeconds, 0.01, l.Name)
		requireMixMeasured(t, &l)
		var names []string
		for _, p := range l.Processes {
			names = append(names, p.Name)
			if p.Name != "webhooks" { // with no endpoint registered it may stay under a clock tick
				require.Positive(t, p.CPUSeconds, "%s/%s", l.Name, p.Name)
			}
			require.Positive(t, p.PeakRSSBytes, "%s/%s", l.Name, p.Name)
		}
		require.Equal(t, procs[l.Name], names)
		require.Positive(t, l.CPUSeconds, l.Name)
	}
	require.Len(t, r.Ratios, 1)
	ratio := r.Ratios[0]
	require.Equal(t, "split/monolith", ratio.Name)
	mono, split := r.Layout("monolith"), r.Layout("split")
	require.InDelta(t, split.Op("all").ThroughputRPS/mono.Op("all").ThroughputRPS, ratio.Ops["all"].Throughput, 1e-9)
	require.InDelta(t, split.Op("checkout").Latency.P99/mono.Op("checkout").Latency.P99, ratio.Ops["checkout"].P99, 1e-9)
	require.Positive(t, ratio.CPUSeconds)
	require.Positive(t, ratio.PeakRSS)

	require.Regexp(t, `\n\s+monolith\s+split\s+split/monolith\n`, out, "a column per layout, and the ratio")
	require.Regexp(t, `checkout\s+req/s\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\d×\n`, out)
	require.Regexp(t, `stock_conserved\s+ok\s+ok\n`, out)
	require.Regexp(t, `split\s+gateway\s+\d+\.\d\d s`, out, "each process's cost")
	require.Contains(t, errOut, "split: 5 processes (webhooks, catalogue, inventory, payment, gateway) ready")
	require.NotContains(t, errOut, "\r", "no progress line when stderr is not a terminal")

	svg, err := os.ReadFile(plotPath)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(svg, []byte("<?xml")), "%.40s", svg)
	require.Contains(t, string(svg[:300]), "<svg")
}

// TestBenchTarget drives a monolith the bench did not start.
func TestBenchTarget(t *testing.T) {
	t.Parallel()
	p := start(t, t.TempDir(), "BAZAAR_ADMIN_KEY=bzr_bench_target", "BAZAAR_RATE_LIMIT_RPS=0", "BAZAAR_RATE_LIMIT_ANONYMOUS_RPS=0")
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	code, out, errOut := runBench(t, "--target", p.URL(), "--admin-key", "bzr_bench_target",
		"--duration", "1s", "--warmup", "300ms", "--products", "20", "--clients", "4", "--json", jsonPath)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)

	r := readReport(t, jsonPath)
	require.Equal(t, []string{"target"}, r.Settings.Layouts)
	require.Len(t, r.Layouts, 1)
	l := r.Layouts[0]
	require.Equal(t, p.URL(), l.URL)
	require.False(t, l.Started)
	require.Empty(t, l.Processes, "no CPU or RSS of a process the bench did not start")
	requireMixMeasured(t, &l)
	require.Empty(t, r.Ratios)
	require.NotContains(t, out, "resources", "no resource rows without started processes")

	// The target's products are its own: a second bench seeds new ones
	// and checks only those.
	code, out, errOut = runBench(t, "--target", p.URL(), "--admin-key", "bzr_bench_target",
		"--requests", "200", "--warmup", "0s", "--products", "10", "--clients", "2")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "200 requests measured")
	p.stop(t)
}

// TestBenchBaseline: --baseline measures GET /v1/products/{id} alone on
// the bare handler and on the monolith, and says how they compare; with
// --rounds, twice, showing both rounds' ratios and the table of the median.
func TestBenchBaseline(t *testing.T) {
	t.Parallel()
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	code, out, errOut := runBench(t, "--layouts", "monolith", "--baseline", "--mix", "get=1", "--rounds", "2",
		"--duration", "1s", "--warmup", "200ms", "--products", "20", "--clients", "4", "--json", jsonPath)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)

	r := readReport(t, jsonPath)
	require.Equal(t, []string{"baseline", "monolith"}, r.Settings.Layouts)
	base, mono := r.Layout("baseline"), r.Layout("monolith")
	require.Empty(t, base.Ops, "the baseline runs no mix")
	require.Empty(t, base.Invariants, "nor sells anything")
	for _, l := range []*bench.LayoutResult{base, mono} {
		require.NotNil(t, l.GetAlone, l.Name)
		require.Positive(t, l.GetAlone.ThroughputRPS, l.Name)
		require.Zero(t, l.GetAlone.Errors, l.Name)
	}
	require.Equal(t, "baseline", base.Processes[0].Name)
	require.Len(t, r.Ratios, 1)
	require.Equal(t, "monolith/baseline", r.Ratios[0].Name)
	require.InDelta(t, mono.GetAlone.ThroughputRPS/base.GetAlone.ThroughputRPS, r.Ratios[0].GetAlone.Throughput, 1e-9)
	require.Regexp(t, `\n\s+baseline\s+monolith\s+monolith/baseline\n`, out)
	require.Regexp(t, `get\s+req/s\s+-\s+\d+\.\d\n`, out, "the baseline's mix cells are -")
	require.Regexp(t, `get alone\s+req/s\s+\d+\.\d\s+\d+\.\d\s+\d\.\d\d×\n`, out)
	require.Contains(t, out, "monolith reaches")

	require.Equal(t, 2, r.Settings.Rounds)
	require.Len(t, r.Rounds, 2)
	first, second := r.Rounds[0].Ratios[0].GetAlone.Throughput, r.Rounds[1].Ratios[0].GetAlone.Throughput
	require.Equal(t, min(first, second), r.Ratios[0].GetAlone.Throughput, "of two rounds, the lower is the median")
	require.Equal(t, r.Ratios[0].GetAlone.Throughput, r.Rounds[r.PickedRound-1].Ratios[0].GetAlone.Throughput)
	require.Contains(t, out, fmt.Sprintf("2 rounds; the table is round %d, the median", r.PickedRound))
	require.Regexp(t, `monolith/baseline: get alone \d\.\d\d× \d\.\d\d×\n`, out)
	require.Contains(t, errOut, "round 2 of 2")
}

// TestBenchFlags: bad flags are refused before anything starts, each
// problem named.
func TestBenchFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--layouts", "monolith,mesh", "--clients", "0"}, []string{`--layouts: unknown layout "mesh"`, "--clients must be at least 1"}},
		{[]string{"--target", "http://localhost:1"}, []string{"--target needs --admin-key"}},
		{[]string{"--target", "http://localhost:1", "--admin-key", "k", "--layouts", "split"}, []string{"--target and --layouts exclude each other"}},
		{[]string{"--mix", "list=10,browse=1"}, []string{`--mix: unknown op "browse"`}},
		{[]string{"--duration", "5s", "--requests", "100"}, []string{"--duration and --requests exclude each other"}},
		{[]string{"--plot", "latency.pdf"}, []string{"--plot:", "drawn as .svg"}},
		{[]string{"--env", "NOEQUALS"}, []string{`--env: want KEY=VALUE, got "NOEQUALS"`}},
		{[]string{"--declined", "2"}, []string{"--declined is a share of checkouts between 0 and 1"}},
		{[]string{"--rounds", "0"}, []string{"--rounds: measure at least one round"}},
		{[]string{"--soak", "--rounds", "3"}, []string{"--soak watches one long run"}},
		{[]string{"sideways"}, []string{`unknown command "sideways"`}},
	} {
		code, _, errOut := runCmd(t, nil, append([]string{"bench"}, tc.args...)...)
		require.Equal(t, 1, code, "%v", tc.args)
		for _, w := range tc.want {
			require.Contains(t, errOut, w, "%v", tc.args)
		}
	}
	code, out, _ := runCmd(t, nil, "bench", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "--baseline")
	require.NotContains(t, out, "Available Commands", "the baseline subcommand is for the bench's own use")
}

// TestBenchLayoutThatDoesNotStart: --env reaches the started processes
// (and wins over the bench's own settings); a process that fails to start
// fails the bench with its own words.
func TestBenchLayoutThatDoesNotStart(t *testing.T) {
	t.Parallel()
	code, _, errOut := runBench(t, "--layouts", "split", "--env", "BAZAAR_INVENTORY_RESERVATION_TTL=-5s")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "bazaar: split: webhooks exited before it could listen")
	require.Contains(t, errOut, "inventory.reservation_ttl (BAZAAR_INVENTORY_RESERVATION_TTL)")
}

// TestBrokenInvariantFailsTheRun: a report with a broken invariant makes
// the command fail, naming it.
func TestBrokenInvariantFailsTheRun(t *testing.T) {
	r := &bench.Report{Layouts: []bench.LayoutResult{
		{Name: "monolith", Invariants: []bench.Invariant{{Name: bench.InvStockConserved, Passed: true}}},
		{Name: "split", Invariants: []bench.Invariant{{Name: bench.InvNothingReserved, Detail: "prod_1: 2 reserved"}}},
	}}
	err := brokenInvariants(r)
	require.EqualError(t, err, "invariants broken: split nothing_reserved")
	r.Layouts = r.Layouts[:1]
	require.NoError(t, brokenInvariants(r))
}
