package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNetwork: a call through the proxy in front of a process gets the
// process's answer, and waits at least the round-trip time for it.
func TestNetwork(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "answer to "+r.URL.Path)
	}))
	defer srv.Close()
	for _, rtt := range []time.Duration{0, 30 * time.Millisecond} {
		net := newNetwork(rtt)
		addr, err := net.via("module", strings.TrimPrefix(srv.URL, "http://"))
		require.NoError(t, err)
		client := &http.Client{Transport: &http.Transport{}}
		for range 3 { // a new connection, then kept ones
			start := time.Now()
			resp, err := client.Get("http://" + addr + "/v1/x")
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, "answer to /v1/x", string(body))
			require.GreaterOrEqual(t, time.Since(start), rtt)
		}
		net.close()
		_, err = client.Get("http://" + addr + "/v1/x")
		require.Error(t, err, "the proxy is gone once the network is closed")
	}
}
