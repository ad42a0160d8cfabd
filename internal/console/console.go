// Package console is the operator's view of a running shop, at /console
// on the edge (the monolith or the gateway): the layout drawn live — every
// module, where it runs, its replicas and breaker, and every call between
// modules, local or over the network, with its rate and latency from the
// processes' own metrics — the recent checkouts as traces, the webhook
// endpoints and their deliveries, and the stock; and it sets the faults
// made on purpose in calls to each module. In a split it gathers all
// of this from the other processes with the service token. It signs in
// with an admin key and keeps a signed session cookie; its pages run no
// script and refresh themselves.
package console

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/time/rate"

	"github.com/bazaar-shop/bazaar/internal/faults"
	"github.com/bazaar-shop/bazaar/internal/identity"
	"github.com/bazaar-shop/bazaar/internal/topology"
	"github.com/bazaar-shop/bazaar/internal/web"
	"github.com/bazaar-shop/bazaar/modules"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// Keys checks the admin key a person signs in with, and whether it is
// still live.
type Keys interface {
	Authenticate(ctx context.Context, secret string) (identity.Caller, error)
	Live(ctx context.Context, id string) (bool, error)
}

// Source is one process of the layout as the console reaches it: itself,
// or another over the network.
type Source struct {
	Name     string // "this process", or its URL
	Topology func(context.Context) (topology.Topology, error)
	Metrics  func(context.Context) ([]*dto.MetricFamily, error)
	Traces   func(context.Context) ([]Span, error)
}

// Stock is a product's stock, as the console lists it.
type Stock struct {
	ID, Name                    string
	OnHand, Reserved, Available int64
	Known                       bool // inventory answered for it
	Low                         bool // at or below inventory.low_stock_threshold
}

// Hook is a webhook endpoint and its latest deliveries.
type Hook struct {
	URL        string
	Events     []string
	Deliveries []Delivery
}

// Delivery is one event sent, or on its way, to an endpoint.
type Delivery struct {
	EventType, Status string
	Attempts          int
	CreatedAt         time.Time
}

// Deps is what the console reads. The modules' data comes through
// functions the wiring writes over their contracts, so the console knows
// no module.
type Deps struct {
	Keys    Keys
	Sources func(context.Context) []Source // this process first
	// Stock lists the stock of some products, the lowest first.
	Stock func(context.Context) ([]Stock, error)
	// Hooks lists the webhook endpoints with their latest deliveries.
	Hooks func(context.Context) ([]Hook, error)
	// SetFaults makes calls to a module misbehave on purpose, in every
	// process of the layout (PUT /v1/faults/{module}); refused lists the
	// processes that did not take the change, and why.
	SetFaults func(ctx context.Context, module modules.Module, s faults.Spec) (refused []string, err error)
	// Key signs sessions.
	Key []byte
	Now func() time.Time
	Log *slog.Logger
}

// Console serves /console.
type Console struct {
	deps     Deps
	sessions sessions
	views    map[string]*template.Template
	history  history
	// signIns limits failed sign-ins per client address.
	mu      sync.Mutex
	signIns map[string]*rate.Limiter
}

// New returns the console.
func New(d Deps) *Console {
	funcs := template.FuncMap{"ms": ms, "rate": perSecond, "millis": millis}
	views := map[string]*template.Template{}
	for _, name := range []string{"overview", "signin", "message"} {
		views[name] = template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles,
			"templates/layout.html", "templates/"+name+".html"))
	}
	return &Console{deps: d, sessions: sessions{seal: web.NewSealer(d.Key), now: d.Now}, views: views, signIns: map[string]*rate.Limiter{}}
}

// Routes is the console's route table; the console checks its own
// sessions, so every route is public to the guard.
func (c *Console) Routes() []web.Route {
	assets, _ := fs.Sub(assetFiles, "assets") // the directory is embedded
	route := func(method, path string, h gin.HandlerFunc) web.Route {
		return web.Route{Method: method, Path: path, Access: web.Public, Handler: h}
	}
	return []web.Route{
		route(http.MethodGet, "/console", c.overview),
		route(http.MethodGet, "/console/sign-in", c.signInForm),
		route(http.MethodPost, "/console/sign-in", c.signIn),
		route(http.MethodPost, "/console/sign-out", c.signOut),
		route(http.MethodPost, "/console/faults", c.setFaults),
		route(http.MethodGet, "/console/assets/*file", web.Assets(assets, "/console/assets")),
	}
}

// page is what every console page shows, and what one page adds.
type page struct {
	Title    string
	CSRF     string
	SignedIn bool
	// Refresh makes the page load itself again every 5 s; ?refresh=0
	// stops it, to read a trace in peace.
	Refresh bool
	Message string
	Status  int
	Layout  layoutView
	Traces  []traceView
	Hooks   []Hook
	Stock   []Stock
	Errors  []string // what could not be gathered
}

func (c *Console) render(ctx *gin.Context, status int, name string, p page) {
	web.PageHeaders(ctx.Writer.Header())
	ctx.Status(status)
	if err := c.views[name].ExecuteTemplate(ctx.Writer, "layout", p); err != nil {
		c.deps.Log.Error("console: render", "page", name, "err", err)
	}
}

// session returns the request's session if it has one whose key is live.
func (c *Console) session(ctx *gin.Context) (session, bool) {
	sess, ok := c.sessions.read(ctx.Request)
	if !ok {
		return session{}, false
	}
	live, err := c.deps.Keys.Live(ctx.Request.Context(), sess.Key)
	if err != nil {
		c.deps.Log.Error("console: check the session's key", "err", err)
	}
	return sess, live
}

// signInToken binds the sign-in form to the browser that asked for it: a
// random value in a cookie, and its signature in the form.
const signInCookie = "bazaar_console_signin"

func (c *Console) signInForm(ctx *gin.Context) {
	if _, ok := c.session(ctx); ok {
		ctx.Redirect(http.StatusSeeOther, "/console")
		return
	}
	c.showSignIn(ctx, http.StatusOK, "")
}

func (c *Console) showSignIn(ctx *gin.Context, status int, message string) {
	nonce := randomToken()
	http.SetCookie(ctx.Writer, &http.Cookie{Name: signInCookie, Value: nonce, Path: "/console", MaxAge: 600,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: web.OverTLS(ctx.Request)})
	c.render(ctx, status, "signin", page{Title: "Sign in", CSRF: c.sessions.seal.Sign("console sign-in", nonce), Message: message})
}

// allowSignIn reports whether a client may try another key: five failures
// a minute from one address.
func (c *Console) allowSignIn(client string) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.signIns) > 10_000 { // forget them all rather than grow without end
		clear(c.signIns)
	}
	l := c.signIns[client]
	if l == nil {
		l = rate.NewLimiter(rate.Every(12*time.Second), 5)
		c.signIns[client] = l
	}
	return l
}

func (c *Console) signIn(ctx *gin.Context) {
	ctx.Request.Body = http.MaxBytesReader(ctx.Writer, ctx.Request.Body, 4<<10)
	if err := ctx.Request.ParseForm(); err != nil {
		c.message(ctx, http.StatusBadRequest, "The form could not be read.")
		return
	}
	nonce, err := ctx.Request.Cookie(signInCookie)
	if err != nil || !c.sessions.seal.Valid("console sign-in", nonce.Value, ctx.Request.PostForm.Get("csrf")) {
		c.message(ctx, http.StatusForbidden, "This sign-in form has expired or was not sent from this console. Open the sign-in page again.")
		return
	}
	client, _, _ := net.SplitHostPort(ctx.Request.RemoteAddr)
	limiter := c.allowSignIn(client)
	if limiter.Tokens() < 1 {
		ctx.Header("Retry-After", "60")
		c.showSignIn(ctx, http.StatusTooManyRequests, "Too many keys were tried from here. Wait a minute and try again.")
		return
	}
	caller, err := c.deps.Keys.Authenticate(ctx.Request.Context(), strings.TrimSpace(ctx.Request.PostForm.Get("key")))
	if err != nil || caller.Role != "admin" {
		limiter.Allow() // a failure takes a token
		c.showSignIn(ctx, http.StatusUnauthorized, "That is not an admin API key of this shop.")
		return
	}
	c.sessions.open(ctx.Writer, ctx.Request, caller.Key)
	http.SetCookie(ctx.Writer, &http.Cookie{Name: signInCookie, Value: "", Path: "/console", MaxAge: -1})
	ctx.Redirect(http.StatusSeeOther, "/console")
}

func (c *Console) signOut(ctx *gin.Context) {
	sess, ok := c.sessions.read(ctx.Request)
	ctx.Request.Body = http.MaxBytesReader(ctx.Writer, ctx.Request.Body, 4<<10)
	if !ok || ctx.Request.ParseForm() != nil || !c.sessions.seal.Valid("console csrf", sess.Nonce, ctx.Request.PostForm.Get("csrf")) {
		c.message(ctx, http.StatusForbidden, "Sign out from the console's own page.")
		return
	}
	c.sessions.close(ctx.Writer, ctx.Request)
	ctx.Redirect(http.StatusSeeOther, "/console/sign-in")
}

// setFaults takes the faults form of one module, from the console's own
// page (its CSRF token), and sets them in every process.
func (c *Console) setFaults(ctx *gin.Context) {
	sess, ok := c.session(ctx)
	ctx.Request.Body = http.MaxBytesReader(ctx.Writer, ctx.Request.Body, 4<<10)
	if !ok || ctx.Request.ParseForm() != nil || !c.sessions.seal.Valid("console csrf", sess.Nonce, ctx.Request.PostForm.Get("csrf")) {
		c.message(ctx, http.StatusForbidden, "Set faults from the console's own page, signed in.")
		return
	}
	form := ctx.Request.PostForm
	m, err := modules.Parse(form.Get("module"))
	if err != nil {
		c.message(ctx, http.StatusUnprocessableEntity, err.Error())
		return
	}
	var spec faults.Spec
	if form.Get("clear") == "" {
		number := func(name string) float64 {
			v, perr := strconv.ParseFloat(strings.TrimSpace(cmp.Or(form.Get(name), "0")), 64)
			if perr != nil {
				err = errors.Join(err, fmt.Errorf("%s: %q is not a number", name, form.Get(name)))
			}
			return v
		}
		spec = faults.Spec{
			Latency: time.Duration(number("latency_ms") * float64(time.Millisecond)), Jitter: time.Duration(number("jitter_ms") * float64(time.Millisecond)),
			ErrorRate: number("error_rate"), TimeoutRate: number("timeout_rate"), ResetRate: number("reset_rate"),
		}
		if err == nil {
			err = spec.Validate()
		}
	}
	var refused []string
	if err == nil {
		refused, err = c.deps.SetFaults(ctx.Request.Context(), m, spec)
	}
	switch {
	case err != nil:
		c.message(ctx, http.StatusUnprocessableEntity, "The faults of "+string(m)+" were not set: "+err.Error())
	case len(refused) > 0:
		c.message(ctx, http.StatusBadGateway, "The faults of "+string(m)+" were set here, but not in: "+strings.Join(refused, "; "))
	default:
		ctx.Redirect(http.StatusSeeOther, "/console#faults")
	}
}

func (c *Console) message(ctx *gin.Context, status int, text string) {
	c.render(ctx, status, "message", page{Title: "Console", Message: text, Status: status})
}

func (c *Console) overview(ctx *gin.Context) {
	sess, ok := c.session(ctx)
	if !ok {
		ctx.Redirect(http.StatusSeeOther, "/console/sign-in")
		return
	}
	rctx, cancel := context.WithTimeout(ctx.Request.Context(), 5*time.Second)
	defer cancel()
	p := page{Title: "Console", CSRF: c.sessions.csrf(sess), SignedIn: true, Refresh: ctx.Query("refresh") != "0"}
	gathered := c.gather(rctx)
	p.Errors = gathered.errors
	p.Layout = c.layout(gathered)
	p.Traces = traces(gathered.spans, 10)
	var err error
	if p.Hooks, err = c.deps.Hooks(rctx); err != nil {
		p.Errors = append(p.Errors, "webhooks: "+err.Error())
	}
	if p.Stock, err = c.deps.Stock(rctx); err != nil {
		p.Errors = append(p.Errors, "stock: "+err.Error())
	}
	c.render(ctx, http.StatusOK, "overview", p)
}

// gathered is what the console read from every process at one moment.
type gathered struct {
	at         time.Time
	processes  []processView
	topologies []topology.Topology // of the processes that answered, this one first
	families   [][]*dto.MetricFamily
	spans      []Span
	errors     []string
}

// gather asks every process at once for its topology, metrics and spans.
func (c *Console) gather(ctx context.Context) gathered {
	sources := c.deps.Sources(ctx)
	type answer struct {
		topo     topology.Topology
		families []*dto.MetricFamily
		spans    []Span
		err      error
	}
	answers := make([]answer, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() {
			a := &answers[i]
			var errs []error
			var err error
			if a.topo, err = s.Topology(ctx); err != nil {
				errs = append(errs, err)
			}
			if a.families, err = s.Metrics(ctx); err != nil {
				errs = append(errs, err)
			}
			if s.Traces != nil {
				if a.spans, err = s.Traces(ctx); err != nil {
					errs = append(errs, err)
				}
			}
			a.err = errors.Join(errs...)
		})
	}
	wg.Wait()
	g := gathered{at: c.deps.Now()}
	for i, a := range answers {
		pv := processView{Name: sources[i].Name, Hosts: strings.Join(a.topo.Hosts, ", ")}
		if pv.Hosts == "" {
			pv.Hosts = "no module (a gateway)"
		}
		if a.err != nil {
			pv.Error = a.err.Error()
			g.errors = append(g.errors, sources[i].Name+": "+a.err.Error())
		} else {
			g.topologies = append(g.topologies, a.topo)
			g.families = append(g.families, a.families)
		}
		g.spans = append(g.spans, a.spans...)
		g.processes = append(g.processes, pv)
	}
	return g
}

// processView is one process of the layout.
type processView struct{ Name, Hosts, Error string }

// moduleView is where one module runs, as this process sees it.
type moduleView struct {
	Name     string
	Mode     string // local (in this process), remote, or unreachable
	Where    string
	Ready    bool
	Breaker  string
	Replicas []replicaView
	Faults   faults.Spec // made on purpose in calls to it from this process
}

type replicaView struct {
	URL     string
	Healthy bool
}

// layoutView is the layout: its modules, processes and edges, drawn.
type layoutView struct {
	Modules   []moduleView
	Processes []processView
	Edges     []EdgeView
	Window    string
	Diagram   diagram
}

// layout puts together where each module runs and how the modules called
// each other over the window.
func (c *Console) layout(g gathered) layoutView {
	var v layoutView
	v.Processes = g.processes
	var here topology.Topology
	if len(g.topologies) > 0 {
		here = g.topologies[0]
	}
	for _, m := range modules.All() {
		loc := here.Modules[string(m)]
		mv := moduleView{Name: string(m), Mode: loc.Mode, Ready: loc.Ready, Breaker: loc.Breaker}
		if loc.Faults != nil {
			mv.Faults = *loc.Faults
		}
		switch {
		case loc.Mode == topology.Local && loc.Wire:
			mv.Where = "this process, called over an in-memory wire"
		case loc.Mode == topology.Local:
			mv.Where = "this process"
		case loc.Mode == topology.Remote:
			mv.Where = fmt.Sprintf("%d replica(s)", len(loc.Replicas))
		default:
			mv.Where = "nowhere this process knows"
		}
		if loc.CachedReads {
			mv.Where += "; its reads answered here, from a cache"
		}
		for _, r := range loc.Replicas {
			mv.Replicas = append(mv.Replicas, replicaView{URL: r.URL, Healthy: r.Healthy})
		}
		v.Modules = append(v.Modules, mv)
	}
	edges, over := c.history.add(tallies(g.families, g.at))
	v.Edges = withQuietEdges(edges, g.topologies)
	v.Window = "since each process started (open the console again for live rates)"
	if over > 0 {
		v.Window = fmt.Sprintf("over the last %.0f s", over.Seconds())
	}
	v.Diagram = draw(v.Modules, v.Edges)
	return v
}

// withQuietEdges adds the edges of the module table that made no call
// yet, with the mode the topology of the caller's process gives them.
func withQuietEdges(edges []EdgeView, topologies []topology.Topology) []EdgeView {
	for _, caller := range modules.All() {
		for _, callee := range caller.Needs() {
			if slices.ContainsFunc(edges, func(e EdgeView) bool { return e.Caller == string(caller) && e.Callee == string(callee) }) {
				continue
			}
			mode := ""
			for _, t := range topologies {
				if slices.Contains(t.Hosts, string(caller)) {
					mode = t.Modules[string(callee)].Mode
					break
				}
			}
			if mode == "" {
				continue // no process that answered hosts the caller
			}
			edges = append(edges, EdgeView{Caller: string(caller), Callee: string(callee), Mode: mode, Rate: -1, P50: -1, P99: -1})
		}
	}
	sort.SliceStable(edges, func(i, j int) bool {
		if edges[i].Caller != edges[j].Caller {
			return edges[i].Caller < edges[j].Caller
		}
		return edges[i].Callee < edges[j].Callee
	})
	return edges
}

// ms writes milliseconds, or a dash when unknown.
func ms(v float64) string {
	switch {
	case v < 0:
		return "—"
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// millis is a duration in milliseconds, for a form field.
func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64)
}

// perSecond writes a rate, or a dash when unknown.
func perSecond(v float64) string {
	if v < 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f/s", v)
}
