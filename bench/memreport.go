package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// memStep is one worker measured with Journeys in its cache; the per-journey
// figures are over the same worker's baseline with none.
type memStep struct {
	Worker   string `json:"worker"`
	Round    int    `json:"round"`
	Journeys int    `json:"journeys"`
	Usage    usage  `json:"usage"`
	// KiB per cached journey over the baseline.
	RSSKiB   float64 `json:"rss_kib_per_journey"`
	HeapKiB  float64 `json:"heap_kib_per_journey"`
	StackKiB float64 `json:"stack_kib_per_journey"`
	// Goroutines per cached journey over the baseline.
	Goroutines float64 `json:"goroutines_per_journey"`
	// StateBytes is the mean state query result, JSON bytes.
	StateBytes float64 `json:"state_bytes"`
	// WakePerSecond is how fast this step's journeys came into the cache.
	WakePerSecond float64 `json:"wake_per_second"`
}

func newMemStep(worker string, round, n int, base, u usage, state float64, took time.Duration, woken int) memStep {
	per := func(now, then uint64) float64 { return (float64(now) - float64(then)) / float64(n) }
	return memStep{
		Worker: worker, Round: round, Journeys: n, Usage: u,
		RSSKiB:        per(uint64(u.RSSKiB), uint64(base.RSSKiB)),
		HeapKiB:       per(u.HeapBytes, base.HeapBytes) / 1024,
		StackKiB:      per(u.StackBytes, base.StackBytes) / 1024,
		Goroutines:    per(u.Goroutines, base.Goroutines),
		StateBytes:    state,
		WakePerSecond: float64(woken) / took.Seconds(),
	}
}

// resumeResult is a fresh worker waking every journey.
type resumeResult struct {
	Worker    string  `json:"worker"`
	Round     int     `json:"round"`
	Journeys  int     `json:"journeys"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"journeys_per_second"`
}

type memReport struct {
	Machine     string         `json:"machine"`
	Params      memConfig      `json:"params"`
	FillSeconds float64        `json:"fill_seconds"`
	Steps       []memStep      `json:"steps"`
	Resumes     []resumeResult `json:"resumes"`
}

func newMemReport(cfg memConfig, steps []memStep, resumes []resumeResult, fill time.Duration) memReport {
	return memReport{
		Machine: machine(),
		Params:  cfg, FillSeconds: fill.Seconds(), Steps: steps, Resumes: resumes,
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (r memReport) writeText(w io.Writer) error {
	p := r.Params
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	fmt.Fprintf(w, "params:  journeys %v, %d events each, signed up in %.0f s; woken %d at a time; %d rounds\n\n",
		p.Journeys, p.Events, r.FillSeconds, p.Inflight, p.Rounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "worker\tround\tjourneys\tRSS MiB\theap MiB\tgoroutines\tRSS KiB/j\theap KiB/j\tstack KiB/j\tgoroutines/j\tstate B/j\twoken/s\t")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t%.0f\t%.0f\t\n", s.Worker, s.Round, s.Journeys,
			float64(s.Usage.RSSKiB)/1024, float64(s.Usage.HeapBytes)/(1<<20), s.Usage.Goroutines,
			s.RSSKiB, s.HeapKiB, s.StackKiB, s.Goroutines, s.StateBytes, s.WakePerSecond)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintln(w, "\ncold resume (a fresh worker wakes every journey):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "worker\tround\tjourneys\twall s\tjourneys/s\t")
	for _, rr := range r.Resumes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t\n", rr.Worker, rr.Round, rr.Journeys, rr.Seconds, rr.PerSecond)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
