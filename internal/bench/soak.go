package bench

import (
	"bufio"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/procfs"

	"github.com/bazaar-shop/bazaar/internal/launch"
)

// A soak (--soak) runs the load for long and watches what a shop that runs
// for months must keep bounded: each process's memory, its data on disk and
// its logs. It fails when memory keeps climbing after the warm-up.

// SoakResult is what a soak saw.
type SoakResult struct {
	IntervalSeconds float64 `json:"interval_seconds"`
	// SettledAfterSeconds: samples taken before this, into the measured
	// window, are left out of the slopes (a process's memory grows while
	// its caches and pools fill).
	SettledAfterSeconds float64       `json:"settled_after_seconds"`
	MaxSlopeMiBPerS     float64       `json:"max_slope_mib_per_s"`
	Processes           []SoakProcess `json:"processes"`
	// DiskBytesPer1000Checkouts is how much the data directories grew
	// over the measured window, per 1,000 checkouts sent in it.
	DiskBytesPer1000Checkouts float64 `json:"disk_bytes_per_1000_checkouts"`
	// LogBytesPerRequest is what the processes wrote, per request sent.
	LogBytesPerRequest float64 `json:"log_bytes_per_request"`
}

// SoakProcess is one process over a soak.
type SoakProcess struct {
	Name            string         `json:"name"`
	Samples         []MemorySample `json:"samples"`
	RSSSlopeMiBPerS float64        `json:"rss_slope_mib_per_s"`
	// HeapSlopeMiBPerS is of the Go heap in use (go_memstats_heap_inuse_bytes).
	HeapSlopeMiBPerS float64 `json:"heap_slope_mib_per_s"`
	DiskBytes        int64   `json:"disk_bytes"` // its data directory at the end
	DiskGrowthBytes  int64   `json:"disk_growth_bytes"`
	LogBytes         int64   `json:"log_bytes"` // written in the measured window
}

// MemorySample is one look at a process.
type MemorySample struct {
	Seconds   float64 `json:"seconds"` // into the measured window
	RSSBytes  uint64  `json:"rss_bytes"`
	HeapBytes uint64  `json:"heap_bytes"`
}

// soaker samples every process of a layout until stopped.
type soaker struct {
	cl       *launch.Cluster
	interval time.Duration
	client   *http.Client

	mu      sync.Mutex
	start   time.Time
	samples map[string][]MemorySample
	disk0   map[string]int64
	log0    map[string]int64
	stop    chan struct{}
	done    chan struct{}
	halted  sync.Once
}

func newSoaker(cl *launch.Cluster, interval time.Duration) *soaker {
	return &soaker{cl: cl, interval: interval, client: &http.Client{Timeout: 5 * time.Second},
		samples: map[string][]MemorySample{}, stop: make(chan struct{}), done: make(chan struct{})}
}

// begin marks the start of the measured window and samples until end.
func (s *soaker) begin() {
	s.mu.Lock()
	s.start = time.Now()
	s.disk0, s.log0 = map[string]int64{}, map[string]int64{}
	for _, p := range s.cl.Procs {
		s.disk0[p.Name] = dirSize(s.cl.DataDir(p.Name))
		s.log0[p.Name] = p.OutputBytes()
	}
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

func (s *soaker) sample() {
	at := time.Since(s.start).Seconds()
	for _, p := range s.cl.Procs {
		m := MemorySample{Seconds: roundMs(at), RSSBytes: rss(p.PID()), HeapBytes: s.heap(p.URL())}
		s.mu.Lock()
		s.samples[p.Name] = append(s.samples[p.Name], m)
		s.mu.Unlock()
	}
}

// end stops sampling and sums up: requests and checkouts are those sent
// in the measured window.
func (s *soaker) end(requests, checkouts int64, maxSlope float64) *SoakResult {
	if !s.halt() {
		return nil // the window never opened
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	window := time.Since(s.start).Seconds()
	settled := window / 4
	r := &SoakResult{IntervalSeconds: s.interval.Seconds(), SettledAfterSeconds: roundMs(settled), MaxSlopeMiBPerS: maxSlope}
	var diskGrowth, logs int64
	for _, p := range s.cl.Procs {
		sp := SoakProcess{Name: p.Name, Samples: s.samples[p.Name], DiskBytes: dirSize(s.cl.DataDir(p.Name))}
		sp.DiskGrowthBytes = sp.DiskBytes - s.disk0[p.Name]
		sp.LogBytes = p.OutputBytes() - s.log0[p.Name]
		sp.RSSSlopeMiBPerS = slope(sp.Samples, settled, func(m MemorySample) uint64 { return m.RSSBytes })
		sp.HeapSlopeMiBPerS = slope(sp.Samples, settled, func(m MemorySample) uint64 { return m.HeapBytes })
		diskGrowth += sp.DiskGrowthBytes
		logs += sp.LogBytes
		r.Processes = append(r.Processes, sp)
	}
	if checkouts > 0 {
		r.DiskBytesPer1000Checkouts = float64(diskGrowth) / float64(checkouts) * 1000
	}
	if requests > 0 {
		r.LogBytesPerRequest = float64(logs) / float64(requests)
	}
	return r
}

// halt stops the sampling, if it started; it reports whether it had.
func (s *soaker) halt() bool {
	s.mu.Lock()
	started := !s.start.IsZero()
	s.mu.Unlock()
	if started {
		s.halted.Do(func() {
			close(s.stop)
			<-s.done
		})
	}
	return started
}

// Check is the soak's invariant: no process's memory kept climbing.
func (r *SoakResult) Check() Invariant {
	inv := Invariant{Name: InvariantMemoryFlat, Passed: true,
		Detail: fmt.Sprintf("every process's resident memory grew by less than %g MiB/s after the first quarter of the window", r.MaxSlopeMiBPerS)}
	for _, p := range r.Processes {
		if p.RSSSlopeMiBPerS >= r.MaxSlopeMiBPerS {
			inv.Passed = false
			inv.Detail = fmt.Sprintf("%s: resident memory kept growing by %.3f MiB/s (the limit: %g)", p.Name, p.RSSSlopeMiBPerS, r.MaxSlopeMiBPerS)
		}
	}
	return inv
}

// slope is the least-squares slope of a value over the samples from
// settled seconds on, in MiB per second; 0 with fewer than two.
func slope(samples []MemorySample, settled float64, value func(MemorySample) uint64) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, m := range samples {
		if m.Seconds < settled {
			continue
		}
		x, y := m.Seconds, float64(value(m))/(1<<20)
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	if d := n*sxx - sx*sx; n >= 2 && d != 0 {
		return (n*sxy - sx*sy) / d
	}
	return 0
}

// rss is a process's resident memory now, 0 where /proc cannot tell.
func rss(pid int) uint64 {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0
	}
	return st.VmRSS
}

// heap is a process's Go heap in use, from its /metrics; 0 when it does
// not serve them on its public port.
func (s *soaker) heap(base string) uint64 {
	resp, err := s.client.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return uint64(f)
		}
	}
	return 0
}

// dirSize is the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
