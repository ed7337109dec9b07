package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// targetRatio is the share of bare Temporal's events/s the edge should keep.
const targetRatio = 0.8

type report struct {
	// Machine is CPUs, OS/arch, CPU model and Go version.
	Machine string        `json:"machine"`
	Params  config        `json:"params"`
	Phases  []phaseReport `json:"phases"`
	// Ratio is the edge's events/s over the bare path's.
	Ratio       float64 `json:"ratio_edge_to_bare"`
	Target      float64 `json:"target_ratio"`
	MeetsTarget bool    `json:"meets_target"`
}

// phaseReport is one phase over all rounds; latencies are in milliseconds.
type phaseReport struct {
	Phase        string  `json:"phase"`
	Events       int     `json:"events"`
	WallSeconds  float64 `json:"wall_seconds"`
	EventsPerSec float64 `json:"events_per_second"`
	CallP50      float64 `json:"call_p50_ms"`
	CallP99      float64 `json:"call_p99_ms"`
	AppliedP50   float64 `json:"applied_p50_ms"`
	AppliedP99   float64 `json:"applied_p99_ms"`
}

// newReport sums each phase up; phases[i] was measured into totals[i], and
// the first phase is the baseline of the ratio.
func newReport(cfg config, phases []phase, totals []sample) report {
	r := report{
		Machine: machine(),
		Params:  cfg,
		Target:  targetRatio,
	}
	for i, p := range phases {
		r.Phases = append(r.Phases, summarize(p.name, totals[i]))
	}
	if base := r.Phases[0].EventsPerSec; base > 0 && len(r.Phases) > 1 {
		r.Ratio = r.Phases[1].EventsPerSec / base
	}
	r.MeetsTarget = r.Ratio >= targetRatio
	return r
}

func summarize(name string, s sample) phaseReport {
	call, applied := sorted(s.call), sorted(s.applied)
	pr := phaseReport{
		Phase: name, Events: s.events, WallSeconds: s.wall.Seconds(),
		CallP50: ms(percentile(call, 50)), CallP99: ms(percentile(call, 99)),
		AppliedP50: ms(percentile(applied, 50)), AppliedP99: ms(percentile(applied, 99)),
	}
	if s.wall > 0 {
		pr.EventsPerSec = float64(s.events) / s.wall.Seconds()
	}
	return pr
}

func sorted(d []time.Duration) []time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d
}

// percentile is the nearest-rank percentile of sorted values: the smallest
// value with at least p% of the values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := max(int(math.Ceil(p/100*float64(len(sorted)))), 1)
	return sorted[rank-1]
}

// ms is d in milliseconds rounded to one decimal, as the report shows it.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*10) / 10
}

// machine is CPUs, OS/arch, CPU model and Go version, as reports name it.
func machine() string {
	return fmt.Sprintf("%d CPUs, %s/%s, %s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, cpuModel(), runtime.Version())
}

// cpuModel is the first "model name" of /proc/cpuinfo, where there is one.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func (r report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (r report) writeText(w io.Writer) error {
	p := r.Params
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	fmt.Fprintf(w, "params:  %d customers x %d events per phase and round, %d rounds (bare/edge order alternating), %d warmup customers per phase\n\n",
		p.Customers, p.Events, p.Rounds, p.Warmup)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tevents\twall s\tevents/s\tcall p50 ms\tcall p99 ms\tapplied p50 ms\tapplied p99 ms\t")
	for _, ph := range r.Phases {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", ph.Phase, ph.Events, ph.WallSeconds,
			ph.EventsPerSec, ph.CallP50, ph.CallP99, ph.AppliedP50, ph.AppliedP99)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	verdict := "met"
	if !r.MeetsTarget {
		verdict = "missed"
	}
	_, err := fmt.Fprintf(w, "\nedge/bare events/s: %.2f (target >= %.1f: %s)\n", r.Ratio, r.Target, verdict)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
