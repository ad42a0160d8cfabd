package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bazaar-shop/bazaar/internal/bench"
)

const benchLong = `Measure layouts of Bazaar side by side under the same load.

By default the bench starts the monolith (one process) and then the split
(catalogue, inventory, payment and webhooks in a process each, each with
its own SQLite database, behind a gateway; no storefront, which the load
does not use) from this very binary, on free loopback
ports with a fresh data directory each; it seeds --products products with
--stock units each, sends the --mix of requests, checks the invariants and
stops the layout, then goes on to the next.

The mix weighs four operations:
  list      GET /v1/products?limit=20, half of them searching q=<a word>
  get       GET /v1/products/{id}
  stock     GET /v1/inventory/{id}
  checkout  POST /v1/payments of 1-3 products, 1-2 each, with an
            Idempotency-Key; --declined of them pay with a card the
            sandbox declines (402 card_declined is an expected answer)

The load is a closed loop of --clients clients, each sending its next
request when the last is answered, or with --rate an open loop sending on a
fixed schedule (latency counts from when a request was due, so a slow
server cannot hide its queue). It runs --warmup unmeasured, then --duration
(or --requests) measured.

The report shows, per layout and per operation, throughput, p50/p90/p99
latency and errors by code; CPU seconds and peak RSS of every process the
bench started; and the split/monolith ratio of each figure. --baseline
also starts a bare gin handler answering GET /v1/products/{id} with a fixed
product and measures that request alone against every layout, to tell how
close the catalogue read comes to the ceiling; with the split among the
layouts, also a bare hop (bare-hop): that handler behind a second bare one
that passes each request on with fasthttp's client, as the gateway does,
the least a hop between processes costs, to compare the split's hops
with (a product read makes none while the gateway's cache holds the
product; catalogue.edge_cache).
--json writes every figure
(the Report type of internal/bench, whose "version" changes only when a
field changes meaning); --plot draws the latency percentiles.

--rtt adds runs of the split with a network between its processes: each
process sits behind a Toxiproxy proxy that holds every answer for the
round-trip time given, so every call from one process to another (the
gateway forwarding, a module calling a module) pays it once; the bench's
own requests to the gateway do not. Each such run is named split@<rtt>. 0s
measures the proxies alone, and is compared with the split on loopback;
the others are compared with it (or, without a 0s run, with the split),
with the milliseconds their median gained per millisecond of round trip.

--rounds N measures every layout N times, in turn, each time afresh, and
reports the median round (by the first ratio's throughput on the mix), with
every round's ratios after the table: on a shared machine one round's ratio
can move by a tenth or more, and the spread shows how far.

--soak runs the mix for as long as --duration says (10m, say) and looks at
every started process each --soak-interval: its resident memory, its Go heap
(from /metrics), its data directory and what it has logged, the processes
logging as they would by default. It reports each process's memory over
time and its growth in MiB/s after the first quarter of the window, the
growth on disk per 1,000 checkouts and the log bytes per request, and fails
(the memory_flat invariant) when a process's memory grows by
--soak-max-slope or more.

After the load the bench checks, for every seeded product, that on hand +
units sold = units seeded, that the layout's succeeded payments hold
exactly the units it saw sold, that nothing is still reserved, and that
every checkout got an answer; and, where the processes serve /metrics,
that every module's outbox is empty again (bazaar_outbox_backlog): the
webhooks kept up. A broken invariant makes the bench exit 1.

Started processes get BAZAAR_LOG_LEVEL=warn, BAZAAR_RATE_LIMIT_RPS=0 and
BAZAAR_RATE_LIMIT_ANONYMOUS_RPS=0 (all requests use one key, or come from
one address: turn both limits off on a --target too),
BAZAAR_INVENTORY_RESERVATION_TTL=10s,
BAZAAR_INVENTORY_EXPIRY_INTERVAL=1s, and GOMAXPROCS set to their share of
the machine's cores (all of them for the monolith, one each for the split
on two cores), as containers with CPU limits would; the shell's BAZAAR_*
variables are not passed on, --env is (and wins).`

const benchExample = `  bazaar bench
  bazaar bench --layouts monolith --baseline --duration 10s
  bazaar bench --layouts split --mix checkout=1 --env BAZAAR_REMOTE_RETRIES=0
  bazaar bench --rate 2000 --duration 30s --json bench.json --plot bench.svg
  bazaar bench --rtt 0s,0.5ms,2ms --duration 15s
  bazaar bench --layouts monolith --soak --duration 10m --json soak.json
  bazaar bench --target http://localhost:8080 --admin-key $ADMIN`

// benchCommand is `bazaar bench`, and its hidden `bench baseline`, the
// bare handler the bench starts for --baseline.
func benchCommand(stdout, stderr io.Writer) *cobra.Command {
	def := bench.Defaults()
	cmd := &cobra.Command{
		Use:     "bench",
		Short:   "Measure layouts (monolith, split) side by side under the same load",
		Long:    benchLong,
		Example: benchExample,
		Args:    cobra.NoArgs,
	}
	f := cmd.Flags()
	layouts := f.StringSlice("layouts", def.Layouts, "layouts to start and measure, one after the other: monolith, split")
	target := f.String("target", "", "measure the layout already running at this base URL instead of starting any")
	adminKey := f.String("admin-key", "", "the admin API key of the --target")
	baseline := f.Bool("baseline", false, "also measure GET /v1/products/{id} alone against a bare gin handler (and, with the split, a bare hop) and every layout")
	env := f.StringArray("env", nil, "KEY=VALUE added to the environment of every process started (repeatable)")
	rtts := f.DurationSlice("rtt", nil, "also measure the split with each of these round-trip times on every call between its processes, e.g. 0s,0.5ms,2ms")
	soak := f.Bool("soak", false, "watch each process's memory, data on disk and logs over the --duration, and fail when memory keeps growing")
	soakInterval := f.Duration("soak-interval", def.SoakInterval, "how often --soak looks at each process")
	soakMaxSlope := f.Float64("soak-max-slope", def.SoakMaxSlope, "the growth of resident memory, in MiB/s after the first quarter of the window, at which --soak fails")
	products := f.Int("products", def.Products, "products to seed")
	stock := f.Int64("stock", def.Stock, "units on hand of each product")
	mix := f.String("mix", bench.DefaultMix, "operations and their weights")
	declined := f.Float64("declined", def.Declined, "share of checkouts paying with a card the sandbox declines, 0 to 1")
	clients := f.Int("clients", def.Clients, "concurrent clients (with --rate: the most requests in flight)")
	rate := f.Float64("rate", 0, "send this many requests per second (open loop) instead of a closed loop")
	duration := f.Duration("duration", def.Duration, "how long to measure")
	requests := f.Int64("requests", 0, "measure this many requests instead of a --duration")
	warmup := f.Duration("warmup", def.Warmup, "load sent before measuring, not counted")
	timeout := f.Duration("timeout", def.Timeout, "time allowed for one request")
	settle := f.Duration("settle", def.Settle, "how long to wait after the load for reservations to be released")
	rounds := f.Int("rounds", def.Rounds, "measure every layout this many times, in turn, and report the median round beside every round's ratios")
	jsonPath := f.String("json", "", "write every figure to this file as JSON")
	plotPath := f.String("plot", "", "draw the latency percentiles to this .svg file")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		opts := def
		opts.Layouts, opts.Target, opts.AdminKey, opts.Baseline, opts.Env = *layouts, *target, *adminKey, *baseline, *env
		opts.RTTs = *rtts
		opts.Soak, opts.SoakInterval, opts.SoakMaxSlope = *soak, *soakInterval, *soakMaxSlope
		opts.Products, opts.Stock, opts.Declined = *products, *stock, *declined
		opts.Clients, opts.Rate, opts.Duration, opts.Requests = *clients, *rate, *duration, *requests
		opts.Warmup, opts.Timeout, opts.Settle, opts.Rounds = *warmup, *timeout, *settle, *rounds
		if *target != "" && !cmd.Flags().Changed("layouts") {
			opts.Layouts = nil
		}
		var problems []error
		if cmd.Flags().Changed("duration") && *requests > 0 {
			problems = append(problems, errors.New("--duration and --requests exclude each other: measure a time or a number of requests"))
		}
		m, err := bench.ParseMix(*mix)
		if err != nil {
			problems = append(problems, fmt.Errorf("--mix: %w", err))
		}
		opts.Mix = m
		format := ""
		if *plotPath != "" {
			if format, err = bench.PlotFormat(*plotPath); err != nil {
				problems = append(problems, fmt.Errorf("--plot: %w", err))
			}
		}
		if err := opts.Validate(); err != nil {
			problems = append(problems, err)
		}
		if err := errors.Join(problems...); err != nil {
			return err
		}
		binary, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the bazaar binary to start layouts from: %w", err)
		}
		report, err := bench.New(opts, binary, stderr, progressWriter(stderr)).Run(cmd.Context())
		if err != nil {
			return err
		}
		if err := report.WriteTable(stdout); err != nil {
			return err
		}
		if *jsonPath != "" {
			if err := writeFile(*jsonPath, report.WriteJSON); err != nil {
				return fmt.Errorf("--json: %w", err)
			}
		}
		if *plotPath != "" {
			if err := writeFile(*plotPath, func(w io.Writer) error { return report.WritePlot(w, format) }); err != nil {
				return fmt.Errorf("--plot: %w", err)
			}
		}
		return brokenInvariants(report)
	}
	cmd.AddCommand(benchBaselineCommand())
	return cmd
}

// benchBaselineCommand serves the bare gin handler that --baseline
// measures; the bench starts it as a child process, like a layout.
func benchBaselineCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "baseline --addr HOST:PORT [--forward HOST:PORT]",
		Short:  "Serve the bare gin handler that bench --baseline measures, or a bare hop in front of one",
		Hidden: true,
		Args:   cobra.NoArgs,
	}
	addr := cmd.Flags().String("addr", "127.0.0.1:8090", "listen address")
	forward := cmd.Flags().String("forward", "", "pass GET /v1/products/{id} on to the bare handler at this address")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return bench.ServeBaseline(cmd.Context(), *addr, *forward)
	}
	return cmd
}

// progressWriter is where the live progress line goes: stderr when it is
// a terminal, nowhere otherwise (a log file wants no carriage returns).
func progressWriter(stderr io.Writer) io.Writer {
	if isTerminal(stderr) {
		return stderr
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func brokenInvariants(r *bench.Report) error {
	var broken []string
	for _, l := range r.Layouts {
		for _, inv := range l.Failed() {
			broken = append(broken, l.Name+" "+inv.Name)
		}
	}
	if len(broken) == 0 {
		return nil
	}
	return fmt.Errorf("invariants broken: %s", strings.Join(broken, ", "))
}
