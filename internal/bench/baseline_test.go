package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bazaar-shop/bazaar/internal/launch"
)

func TestBaselineHandler(t *testing.T) {
	h := BaselineHandler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/products/prod_123", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var p map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	for _, k := range []string{"id", "sku", "name", "description", "price", "currency", "created_at", "updated_at"} {
		require.Contains(t, p, k, "shaped like a product")
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	require.Equal(t, http.StatusOK, rec.Code)
}

// TestBareHop: the bare hop answers what the bare handler behind it does.
func TestBareHop(t *testing.T) {
	behind := httptest.NewServer(BaselineHandler())
	defer behind.Close()
	hop := httptest.NewServer(BareHopHandler(strings.TrimPrefix(behind.URL, "http://")))
	defer hop.Close()
	for _, path := range []string{"/v1/products/prod_123", "/v1/products/prod_456?x=1"} {
		direct, err := http.Get(behind.URL + path)
		require.NoError(t, err)
		want, err := io.ReadAll(direct.Body)
		direct.Body.Close()
		require.NoError(t, err)

		resp, err := http.Get(hop.URL + path)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, direct.Header.Get("Content-Type"), resp.Header.Get("Content-Type"))
		require.Equal(t, string(want), string(got))
	}
	behind.Close()
	resp, err := http.Get(hop.URL + "/v1/products/prod_123")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, "nothing behind it")
}

func TestServeBaselineStops(t *testing.T) {
	addr, err := launch.FreeAddr()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeBaseline(ctx, addr, "") }()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the baseline did not stop")
	}
}

func TestPlot(t *testing.T) {
	mono := layoutWith(Monolith, 1000, 2, 4, 100<<20)
	split := layoutWith(Split, 500, 5, 6, 300<<20)
	base := LayoutResult{Name: Baseline, GetAlone: &OpResult{Op: "get", Latency: Latency{P50: 0.3, P90: 0.5, P99: 1}}}
	split.GetAlone = &OpResult{Op: "get", Latency: Latency{P50: 1, P90: 2, P99: 3}}
	r := &Report{Layouts: []LayoutResult{base, mono, split}}
	for _, ext := range PlotFormats {
		format, err := PlotFormat("latency" + strings.ToUpper(ext))
		require.NoError(t, err)
		var out bytes.Buffer
		require.NoError(t, r.WritePlot(&out, format))
		require.True(t, bytes.HasPrefix(out.Bytes(), []byte("<?xml")), out.String()[:50])
		var doc struct {
			XMLName xml.Name
			Texts   []string `xml:"text"`
			Rects   []struct {
				Title string `xml:"title"`
			} `xml:"rect"`
		}
		require.NoError(t, xml.Unmarshal(out.Bytes(), &doc), "well-formed SVG")
		require.Equal(t, "svg", doc.XMLName.Local)
		var bars []string
		for _, r := range doc.Rects {
			if r.Title != "" {
				bars = append(bars, r.Title)
			}
		}
		// A bar per layout and percentile in each panel: the mix's ops for
		// the monolith and the split, and get alone for all three.
		require.Contains(t, bars, "split p99: 3.00 ms", "get alone, split")
		require.Contains(t, bars, "baseline p50: 0.30 ms")
		require.Contains(t, doc.Texts, "get alone")
	}
	_, err := PlotFormat("latency.png")
	require.ErrorContains(t, err, "drawn as .svg")
	require.ErrorContains(t, (&Report{}).WritePlot(&bytes.Buffer{}, ".svg"), "nothing was measured")
}
