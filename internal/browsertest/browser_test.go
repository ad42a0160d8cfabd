// Package browsertest shops in the storefront and reads the console with
// a real browser — headless Chromium driven by chromedp — against the
// monolith and the split started as processes of the built binary. It runs
// where Chromium is installed (Debian's chromium package), and must run
// when BAZAAR_TEST_BROWSER=1, as in CI:
//
//	BAZAAR_TEST_BROWSER=1 go test -v ./internal/browsertest
//
// With -screenshots DIR it saves what it saw there, as docs/screenshots
// holds: go test ./internal/browsertest -screenshots ../../docs/screenshots
package browsertest

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/launch"
	"github.com/bazaar-shop/bazaar/internal/pagetest"
	"github.com/bazaar-shop/bazaar/internal/shoptest"
)

var screenshots = flag.String("screenshots", "", "save screenshots of the pages in this directory")

// chromium finds the browser, or skips the test where there is none and
// none was asked for.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("BAZAAR_TEST_BROWSER") == "1" {
		t.Fatal("BAZAAR_TEST_BROWSER=1 but no Chromium is installed: apt-get install chromium")
	}
	t.Skip("no Chromium here (apt-get install chromium); BAZAAR_TEST_BROWSER=1 makes this a failure")
	return ""
}

var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "bazaar-browser-")
	if err != nil {
		return "", err
	}
	return launch.Build(dir)
})

// start starts a layout of the shop and returns it.
func start(t *testing.T, name string) shoptest.Shop {
	t.Helper()
	bin, err := binary()
	require.NoError(t, err)
	layout, err := launch.Named(name)
	require.NoError(t, err)
	c, err := launch.Start(context.Background(), layout, launch.Options{Binary: bin, Dir: t.TempDir(),
		Env: []string{"BAZAAR_LOG_FORMAT=text", "BAZAAR_RATE_LIMIT_RPS=0",
			"BAZAAR_WEBHOOKS_ALLOW_PRIVATE=true", "BAZAAR_WEBHOOKS_POLL_INTERVAL=100ms"}})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range c.Procs {
				t.Logf("%s:\n%s", p.Name, launch.Indent(p.Output()))
			}
		}
		c.Close()
	})
	return shoptest.Shop{Base: c.URL(), Admin: c.AdminKey}
}

// browser starts a headless Chromium for the test; each shopper it makes
// has a profile of their own.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "en-US"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx), "start Chromium") // the first run starts the browser
	return ctx
}

// shopper opens a tab in a browser profile of its own: its own cookies.
func shopper(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// shot saves a screenshot of the page when -screenshots is given.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(*screenshots, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644))
}

// The helpers below find elements with the page's own DOM, through
// Runtime.evaluate, each look with a deadline of its own: the page a tab
// shows is whatever document is current, so a look is never asked of a
// document being replaced by a redirect and left unanswered.

// find runs a function of the first element matching sel, once there is
// one that is visible, and returns what it returns.
func find[T any](t *testing.T, ctx context.Context, sel, body string) T {
	t.Helper()
	quoted, err := json.Marshal(sel)
	require.NoError(t, err)
	expr := `(() => { const e = document.querySelector(` + string(quoted) + `);
		if (!e || e.getClientRects().length === 0) return null;
		return [(e => { ` + body + ` })(e)]; })()`
	var out T
	shoptest.Eventually(t, 30*time.Second, func() bool {
		ask, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		got, err := chromedp.Run(ask, chromedp.Evaluate[[]T](expr))
		if err != nil || len(got) == 0 {
			return false
		}
		out = got[0]
		return true
	}, "no %s on the page", sel)
	return out
}

// text is the visible text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return find[string](t, ctx, sel, `return e.innerText;`)
}

// typeInto types into a field as a person does, key by key.
func typeInto(t *testing.T, ctx context.Context, sel, keys string) {
	t.Helper()
	find[bool](t, ctx, sel, `e.focus(); return document.activeElement === e;`)
	require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(keys)))
}

// setValue sets a field's value, as a person picking from a spinner does.
func setValue(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	quoted, err := json.Marshal(value)
	require.NoError(t, err)
	find[bool](t, ctx, sel, `e.value = `+string(quoted)+`; return true;`)
}

// follow clicks what leads to another page — a link, a form's button —
// and waits until that page has loaded, redirects and all.
func follow(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	mark(t, ctx)
	find[bool](t, ctx, sel, `setTimeout(() => e.click(), 0); return true;`)
	arrived(t, ctx)
}

// open loads a page.
func open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	mark(t, ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url)))
	arrived(t, ctx)
}

// mark marks the page being left; the one that replaces it is not marked.
func mark(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.bazaarLeft = true`))
	require.NoError(t, err)
}

// arrived waits until the page that replaced the marked one has loaded.
func arrived(t *testing.T, ctx context.Context) {
	t.Helper()
	shoptest.Eventually(t, 30*time.Second, func() bool {
		ask, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		loaded, err := chromedp.Run(ask, chromedp.Evaluate[bool](`window.bazaarLeft !== true && document.readyState === "complete"`))
		return err == nil && loaded
	}, "the next page did not load")
}

// TestShopping: a shopper searches, adds two products to the cart, pays
// with the success card and sees the confirmation, and stock drops by what
// was bought; a declined card shows the decline and takes no stock; a cart
// with more than is in stock is refused before any charge. In the monolith
// and in the split.
func TestShopping(t *testing.T) {
	b := browser(t)
	for _, layout := range []string{launch.Monolith, launch.Split} {
		t.Run(layout, func(t *testing.T) {
			shop := start(t, layout)
			word := "Lantern" + strings.ToUpper(layout[:1]) + time.Now().Format("150405")
			ids := pagetest.Products(t, shop, word, 3, 5)

			ctx := shopper(t, b)
			open(t, ctx, shop.Base+"/")
			typeInto(t, ctx, `#q`, word)
			follow(t, ctx, `form.search button`)
			require.Contains(t, text(t, ctx, "h1"), word)
			require.Contains(t, text(t, ctx, ".grid"), "5 in stock")
			shot(t, ctx, "storefront-"+layout)

			for i, qty := range []string{"2", "1"} {
				open(t, ctx, shop.Base+"/?q="+word)
				follow(t, ctx, `a[href="/products/`+ids[i]+`"]`)
				setValue(t, ctx, `#quantity`, qty)
				follow(t, ctx, `form.add button`)
			}
			require.Contains(t, text(t, ctx, ".total"), "31.00 EUR", "2 × 10.00 + 1 × 11.00")
			shot(t, ctx, "cart-"+layout)

			follow(t, ctx, `a[href="/checkout"]`)
			require.Contains(t, text(t, ctx, ".test-cards"), "4242 4242 4242 4242", "the test cards are listed")
			labelled(t, ctx)
			fill(t, ctx, pagetest.CardSucceeds)
			shot(t, ctx, "checkout-"+layout)
			follow(t, ctx, `form.checkout button[type="submit"]`)
			require.Contains(t, text(t, ctx, "h1"), "Thank you for your order")
			require.Regexp(t, regexp.MustCompile(`^pay_[0-9a-z]{26}$`), text(t, ctx, ".payment-id"))
			require.Equal(t, "succeeded", text(t, ctx, ".status"))
			shot(t, ctx, "confirmation-"+layout)
			require.Equal(t, int64(3), pagetest.OnHand(t, shop, ids[0]))
			require.Equal(t, int64(4), pagetest.OnHand(t, shop, ids[1]))

			// A declined card: the decline is shown, and no stock is taken.
			open(t, ctx, shop.Base+"/products/"+ids[2])
			follow(t, ctx, `form.add button`)
			open(t, ctx, shop.Base+"/checkout")
			fill(t, ctx, pagetest.CardDeclined)
			follow(t, ctx, `form.checkout button[type="submit"]`)
			require.Contains(t, text(t, ctx, `.notice.error`), "Your card was declined")
			require.Equal(t, int64(5), pagetest.OnHand(t, shop, ids[2]))

			// More than is in stock: refused before any charge.
			before := pagetest.PaymentCount(t, shop)
			open(t, ctx, shop.Base+"/cart")
			setValue(t, ctx, `#qty-`+ids[2], "9")
			follow(t, ctx, `#qty-`+ids[2]+` ~ button`)
			require.Contains(t, text(t, ctx, `table.lines`), "only 5 in stock")
			labelled(t, ctx)
			open(t, ctx, shop.Base+"/checkout")
			fill(t, ctx, pagetest.CardSucceeds)
			follow(t, ctx, `form.checkout button[type="submit"]`)
			require.Contains(t, text(t, ctx, `.notice.error`), "Not enough stock")
			require.Equal(t, before, pagetest.PaymentCount(t, shop), "nothing was charged")
			require.Equal(t, int64(5), pagetest.OnHand(t, shop, ids[2]))
		})
	}
}

// labelled checks that every field of the page has a label a screen reader
// announces.
func labelled(t *testing.T, ctx context.Context) {
	t.Helper()
	unlabelled, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('input:not([type=hidden])')]
		.filter(i => !i.labels || i.labels.length === 0).map(i => i.id || i.name)`))
	require.NoError(t, err)
	require.Empty(t, unlabelled, "fields without a label")
}

// fill types the checkout form's fields, as a shopper would.
func fill(t *testing.T, ctx context.Context, card string) {
	t.Helper()
	for _, f := range [][2]string{{"#email", "ada@example.com"}, {"#name", "Ada Lovelace"}, {"#number", card},
		{"#exp_month", "12"}, {"#exp_year", time.Now().AddDate(3, 0, 0).Format("2006")}, {"#cvc", "123"}} {
		typeInto(t, ctx, f[0], f[1])
	}
}

// TestPhone: the storefront fits a phone's screen: nothing wider than it.
func TestPhone(t *testing.T) {
	b := browser(t)
	shop := start(t, launch.Monolith)
	word := "Kettle" + time.Now().Format("150405")
	ids := pagetest.Products(t, shop, word, 4, 3)
	ctx := shopper(t, b)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)))
	open(t, ctx, shop.Base+"/products/"+ids[0])
	follow(t, ctx, `form.add button`)
	open(t, ctx, shop.Base+"/?q="+word)
	scroll, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	client, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.clientWidth`))
	require.NoError(t, err)
	require.LessOrEqual(t, scroll, client, "the page is no wider than the phone")
	shot(t, ctx, "storefront-phone")
}

// TestConsole: an admin signs in to the console, which draws every edge
// between modules local in the monolith and remote in the split (where it
// says the gateway answers the catalogue's reads from a cache), with
// live call rates once a purchase has gone through, and the purchase as
// a trace. A browser without a session is sent to sign in.
func TestConsole(t *testing.T) {
	b := browser(t)
	for _, layout := range []string{launch.Monolith, launch.Split} {
		t.Run(layout, func(t *testing.T) {
			shop := start(t, layout)
			receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			t.Cleanup(receiver.Close)
			status, out := shoptest.Call(t, "POST", shop.Base+"/v1/webhooks", shop.Admin,
				`{"url":"`+receiver.URL+`/hooks","events":["payment.succeeded"]}`)
			require.Equal(t, http.StatusCreated, status, "%s", out)
			ids := pagetest.Products(t, shop, "Teapot"+strings.ToUpper(layout[:1]), 2, 2) // 2 on hand: low stock

			stranger := shopper(t, b)
			open(t, stranger, shop.Base+"/console")
			require.Contains(t, text(t, stranger, "h1"), "Sign in", "no session: sign in first")

			ctx := shopper(t, b)
			open(t, ctx, shop.Base+"/console/sign-in")
			typeInto(t, ctx, `#key`, shop.Admin)
			follow(t, ctx, `form.signin button`)
			// Not refreshing itself, so that no reload cuts a query short.
			open(t, ctx, shop.Base+"/console?refresh=0")
			require.Contains(t, text(t, ctx, "h1"), "The layout")
			want := "local"
			if layout == launch.Split {
				want = "remote"
			}
			for _, edge := range []string{"payment-inventory", "payment-catalogue", "inventory-catalogue", "storefront-payment"} {
				require.Equal(t, want, text(t, ctx, `tr[data-edge="`+edge+`"] .mode`), edge)
			}
			where := text(t, ctx, `tr[data-module="catalogue"] .mode`)
			if layout == launch.Split {
				require.Contains(t, where, "its reads answered here, from a cache", "the gateway keeps the catalogue's answers")
			} else {
				require.NotContains(t, where, "cache")
			}

			// A purchase through the pages, then the console again.
			s := pagetest.NewShopper(t, shop.Base)
			product := s.Get("/products/" + ids[0])
			s.Follow("/cart", product.Form("product_id", ids[0], "quantity", "1"))
			checkout := s.Get("/checkout")
			require.Equal(t, 303, s.Post("/checkout", pagetest.CheckoutForm(checkout, pagetest.CardSucceeds)).Status)

			shoptest.Eventually(t, 20*time.Second, func() bool {
				open(t, ctx, shop.Base+"/console?refresh=0")
				r := text(t, ctx, `tr[data-edge="payment-inventory"] .rate`)
				return r != "—" && r != "0.0/s"
			}, "the console shows no calls from payment to inventory after a purchase")
			require.Equal(t, want, text(t, ctx, `tr[data-edge="payment-inventory"] .mode`))
			require.Contains(t, text(t, ctx, ".trace"), "payment → inventory.Reserve", "the purchase as a trace")
			require.Contains(t, text(t, ctx, "table.stock"), "low", "stock at the threshold is highlighted")
			shoptest.Eventually(t, 20*time.Second, func() bool {
				open(t, ctx, shop.Base+"/console?refresh=0")
				return strings.Contains(text(t, ctx, ".hook"), "delivered")
			}, "the console shows no delivery of the purchase's event")
			require.Contains(t, text(t, ctx, ".hook"), receiver.URL+"/hooks")
			shot(t, ctx, "console-"+layout)

			follow(t, ctx, `form.signout button`)
			require.Contains(t, text(t, ctx, "h1"), "Sign in")
			open(t, ctx, shop.Base+"/console?refresh=0")
			require.Contains(t, text(t, ctx, "h1"), "Sign in", "signed out")
		})
	}
}
