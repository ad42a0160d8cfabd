package bench

import (
	"fmt"
	"math"
	"os"

	"github.com/prometheus/procfs"
)

// ProcessStats is what one started process cost during a layout's run.
type ProcessStats struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// CPUSeconds is user plus system CPU time.
	CPUSeconds float64 `json:"cpu_seconds"`
	// PeakRSSBytes is the most resident memory the process ever had.
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`
	// Source says how the figures were taken: "proc" read /proc during
	// the measured window (CPU is that window's); "rusage" is the
	// operating system's account once the process exited (CPU is its
	// whole life, start-up and seeding included), where /proc is missing.
	Source string `json:"source"`
}

// cpuSample is one process's CPU time at the start of a measured window.
type cpuSample struct {
	cpu float64
	ok  bool
}

// sampleCPU reads a process's CPU seconds so far from /proc.
func sampleCPU(pid int) cpuSample {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return cpuSample{}
	}
	st, err := p.Stat()
	if err != nil {
		return cpuSample{}
	}
	return cpuSample{cpu: st.CPUTime(), ok: true}
}

// windowStats reads what a process used since start, and its peak RSS
// (VmHWM), from /proc. ok is false where /proc cannot tell.
func windowStats(name string, pid int, start cpuSample) (ProcessStats, bool) {
	end := sampleCPU(pid)
	if !start.ok || !end.ok {
		return ProcessStats{}, false
	}
	p, err := procfs.NewProc(pid)
	if err != nil {
		return ProcessStats{}, false
	}
	status, err := p.NewStatus()
	if err != nil {
		return ProcessStats{}, false
	}
	return ProcessStats{Name: name, PID: pid, CPUSeconds: roundMs(end.cpu - start.cpu), PeakRSSBytes: status.VmHWM, Source: "proc"}, true
}

// roundMs drops the float noise of tick arithmetic (0.44000000000000006).
func roundMs(s float64) float64 { return math.Round(s*1000) / 1000 }

// exitStats is the fallback once a process exited: the rusage the
// operating system kept for it, over its whole life.
func exitStats(name string, state *os.ProcessState) (ProcessStats, error) {
	if state == nil {
		return ProcessStats{}, fmt.Errorf("%s: no exit status", name)
	}
	cpu := state.UserTime() + state.SystemTime()
	return ProcessStats{
		Name: name, PID: state.Pid(),
		CPUSeconds:   roundMs(cpu.Seconds()),
		PeakRSSBytes: maxRSS(state),
		Source:       "rusage",
	}, nil
}
