package bench

import (
	"fmt"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
)

// network plays the network between the processes of a started layout,
// where loopback has none: a Toxiproxy proxy in front of each process,
// which its peers call instead of the process itself, delays every answer
// by a round-trip time. Every call from one process to another — the
// gateway forwarding, a module calling a module — then pays it once; the
// bench's own requests to the front do not.
//
// The proxies run in the bench's process, so their CPU is not counted in
// the layout's; a run at 0s RTT shows what the proxies alone cost.
type network struct {
	rtt     time.Duration
	server  *toxiproxy.ApiServer
	mu      sync.Mutex
	proxies []*toxiproxy.Proxy
}

func newNetwork(rtt time.Duration) *network {
	registerLatency.Do(func() { toxics.Register(latencyToxicType, new(latencyToxic)) })
	return &network{rtt: rtt, server: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())}
}

// via starts the proxy of a process listening at addr and returns where
// its peers are to call it (launch.Options.Via).
func (n *network) via(name, addr string) (string, error) {
	p := toxiproxy.NewProxy(n.server, name, "127.0.0.1:0", addr)
	if err := p.Start(); err != nil {
		return "", fmt.Errorf("start the proxy in front of %s: %w", name, err)
	}
	n.mu.Lock()
	n.proxies = append(n.proxies, p)
	n.mu.Unlock()
	if n.rtt > 0 {
		toxic := fmt.Sprintf(`{"type":%q,"stream":"downstream","attributes":{"latency_us":%d}}`, latencyToxicType, n.rtt.Microseconds())
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
			return "", fmt.Errorf("add latency to the proxy in front of %s: %w", name, err)
		}
	}
	return p.Listen, nil
}

// close stops every proxy.
func (n *network) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.proxies {
		p.Stop()
	}
}

// latencyToxicType names latencyToxic among Toxiproxy's toxics.
const latencyToxicType = "bazaar_latency_us"

var registerLatency sync.Once

// latencyToxic is Toxiproxy's latency toxic counted in microseconds: its
// own counts whole milliseconds, and a round trip within a data centre is
// a fraction of one. Each chunk is held until latency after it arrived,
// so chunks in flight overlap, as on a wire.
type latencyToxic struct {
	LatencyUS int64 `json:"latency_us"`
}

func (t *latencyToxic) GetBufferSize() int { return 1024 }

func (t *latencyToxic) Pipe(stub *toxics.ToxicStub) {
	latency := time.Duration(t.LatencyUS) * time.Microsecond
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			wait := time.NewTimer(latency - time.Since(c.Timestamp))
			select {
			case <-wait.C:
				stub.Output <- c
			case <-stub.Interrupt:
				wait.Stop()
				stub.Output <- c // nothing is dropped on the way out
				return
			}
		}
	}
}
