package bench

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Layouts the bench can start from the bazaar binary.
const (
	// Monolith is one `bazaar serve` process hosting every module.
	Monolith = "monolith"
	// Split is catalogue, inventory, payment and webhooks in a process
	// each, each with its own SQLite database, behind a gateway; the
	// storefront, which the load does not use, is left out.
	Split = "split"
	// Baseline is not Bazaar: a bare gin handler answering GET
	// /v1/products/{id} with a fixed product, the ceiling to compare the
	// catalogue read against.
	Baseline = "baseline"
	// BareHop is not Bazaar either: a bare gin handler passing GET
	// /v1/products/{id} on to the baseline in a process of its own, the
	// least a hop costs, to compare the split's hops against.
	BareHop = "bare-hop"
	// Target names a layout the bench did not start (--target).
	Target = "target"
)

// StartableLayouts are the values --layouts accepts.
var StartableLayouts = []string{Monolith, Split}

// Options is what one bench run does. Start from Defaults.
type Options struct {
	// Layouts are started from the bazaar binary, one after the other.
	Layouts []string
	// Target is the base URL of a layout that is already running; it is
	// measured instead of Layouts, and AdminKey is its admin key.
	Target   string
	AdminKey string
	// Baseline also starts the bare gin handler and measures GET
	// /v1/products/{id} alone against every layout; with the split among
	// them, a bare hop in front of the bare handler too.
	Baseline bool
	// Env is KEY=VALUE added to the environment of every started process.
	Env []string
	// RTTs each add a run of the split with that round-trip time on every
	// call between its processes (network.go), named SplitAt(rtt).
	RTTs []time.Duration
	// Soak watches each started process's memory, data on disk and logs
	// every SoakInterval of the mix (soak.go), with the processes logging
	// as they would by default; it fails when memory grows by
	// SoakMaxSlope MiB/s or more after the first quarter of the window.
	Soak         bool
	SoakInterval time.Duration
	SoakMaxSlope float64

	Products int   // products seeded per layout
	Stock    int64 // units on hand of each seeded product
	Mix      Mix
	Declined float64 // share of checkouts paying with a declining card

	Clients  int           // concurrent clients: closed loop, or the in-flight bound of the open loop
	Rate     float64       // requests per second of the open loop; 0 is closed loop
	Duration time.Duration // measured time, when Requests is 0
	Requests int64         // measured requests; 0 measures Duration instead
	Warmup   time.Duration // sent before measuring, not counted
	Timeout  time.Duration // of one request
	// Settle is how long to wait, after the load, for every reservation
	// to be released (the started layouts hold stock for at most 10s).
	Settle time.Duration
	// Rounds measures every layout this many times, in turn, each time
	// afresh: the ratios of each round, side by side, show how far a noisy
	// machine moves them, and the median round is the one reported.
	Rounds int
}

// Defaults are the options of `bazaar bench` with no flags.
func Defaults() Options {
	mix, err := ParseMix(DefaultMix)
	if err != nil {
		panic(err) // a constant
	}
	return Options{
		Layouts:  []string{Monolith, Split},
		Products: 1000,
		Stock:    1_000_000,
		Mix:      mix,
		Declined: 0.1,
		Clients:  32,
		Duration: 20 * time.Second,
		Warmup:   3 * time.Second,
		Timeout:  10 * time.Second,
		Settle:   20 * time.Second,
		Rounds:   1,

		SoakInterval: 5 * time.Second,
		SoakMaxSlope: 0.05,
	}
}

// Validate lists every problem with the options, each naming its flag.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Target == "" {
		if len(o.Layouts) == 0 {
			bad("--layouts: name at least one of %s (or measure a running layout with --target)", strings.Join(StartableLayouts, ", "))
		}
		seen := map[string]bool{}
		for _, l := range o.Layouts {
			switch {
			case !slices.Contains(StartableLayouts, l):
				bad("--layouts: unknown layout %q; the bench starts %s", l, strings.Join(StartableLayouts, " and "))
			case seen[l]:
				bad("--layouts: %s is given twice", l)
			}
			seen[l] = true
		}
		if o.AdminKey != "" {
			bad("--admin-key is the key of a --target; the layouts the bench starts get a key of their own")
		}
	} else {
		if len(o.Layouts) > 0 {
			bad("--target and --layouts exclude each other: measure a running layout or start some")
		}
		if u, err := url.Parse(o.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("--target: want a base URL such as http://localhost:8080, got %q", o.Target)
		}
		if o.AdminKey == "" {
			bad("--target needs --admin-key: seeding products and stock is admin work")
		}
		if len(o.Env) > 0 {
			bad("--env sets the environment of the processes the bench starts; with --target it starts none")
		}
	}
	if o.Rounds < 1 {
		bad("--rounds: measure at least one round, got %d", o.Rounds)
	}
	if o.Soak && o.Rounds > 1 {
		bad("--soak watches one long run; --rounds makes several short ones")
	}
	if o.Soak && o.Target != "" {
		bad("--soak watches the processes the bench starts; with --target it starts none")
	}
	if o.Soak && (o.SoakInterval <= 0 || o.SoakMaxSlope <= 0) {
		bad("--soak needs a positive --soak-interval and --soak-max-slope")
	}
	if len(o.RTTs) > 0 && o.Target != "" {
		bad("--rtt starts the split with a network between its processes; with --target it starts none")
	}
	for i, rtt := range o.RTTs {
		switch {
		case rtt < 0 || rtt > time.Second:
			bad("--rtt: want round-trip times from 0s to 1s, got %v", rtt)
		case rtt%time.Microsecond != 0:
			bad("--rtt: %v is finer than a microsecond", rtt)
		case slices.Contains(o.RTTs[:i], rtt):
			bad("--rtt: %v is given twice", rtt)
		}
	}
	for _, kv := range o.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || strings.ContainsAny(k, " \t") {
			bad("--env: want KEY=VALUE, got %q", kv)
		}
	}
	if o.Products < 1 {
		bad("--products must be at least 1, got %d", o.Products)
	}
	if o.Stock < 1 {
		bad("--stock must be at least 1, got %d", o.Stock)
	}
	if len(o.Mix) == 0 {
		bad("--mix: no operation has a weight; e.g. %s", DefaultMix)
	}
	if o.Declined < 0 || o.Declined > 1 {
		bad("--declined is a share of checkouts between 0 and 1, got %v", o.Declined)
	}
	if o.Clients < 1 {
		bad("--clients must be at least 1, got %d", o.Clients)
	}
	if o.Rate < 0 {
		bad("--rate must not be negative (0 is the closed loop), got %v", o.Rate)
	}
	if o.Requests < 0 {
		bad("--requests must not be negative, got %d", o.Requests)
	}
	if o.Requests == 0 && o.Duration <= 0 {
		bad("--duration must be positive, got %v", o.Duration)
	}
	if o.Warmup < 0 {
		bad("--warmup must not be negative, got %v", o.Warmup)
	}
	if o.Timeout <= 0 {
		bad("--timeout must be positive, got %v", o.Timeout)
	}
	if o.Settle < 0 {
		bad("--settle must not be negative, got %v", o.Settle)
	}
	return errors.Join(errs...)
}

// measured names the layouts in the order they run: the baseline first,
// so the ceiling is measured on a machine that nothing else has warmed.
func (o Options) measured() []string {
	var names []string
	if o.Baseline {
		names = append(names, Baseline)
	}
	if o.Target != "" {
		return append(names, Target)
	}
	if o.Baseline && (slices.Contains(o.Layouts, Split) || len(o.RTTs) > 0) {
		names = append(names, BareHop)
	}
	names = append(names, o.Layouts...)
	for _, rtt := range o.RTTs {
		names = append(names, SplitAt(rtt))
	}
	return names
}

// SplitAt names the split measured with a round-trip time between its
// processes: split@0.5ms.
func SplitAt(rtt time.Duration) string {
	return Split + "@" + strconv.FormatFloat(float64(rtt)/float64(time.Millisecond), 'f', -1, 64) + "ms"
}

// rttOf reads the round-trip time of a layout SplitAt named; ok is false
// for every other name.
func rttOf(name string) (rtt time.Duration, ok bool) {
	ms, found := strings.CutPrefix(name, Split+"@")
	ms, unit := strings.CutSuffix(ms, "ms")
	if !found || !unit {
		return 0, false
	}
	v, err := strconv.ParseFloat(ms, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(v * float64(time.Millisecond)).Round(time.Microsecond), true
}
