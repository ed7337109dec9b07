package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// clusterReport is every phase measured, and per worker count the edge's
// events/s over the bare path's, summed over the rounds.
type clusterReport struct {
	Machine string          `json:"machine"`
	Date    string          `json:"date"`
	Params  clusterConfig   `json:"params"`
	Runs    []clusterResult `json:"runs"`
	Ratios  []workerRatio   `json:"ratios"`
	Target  float64         `json:"target_ratio"`
}

type workerRatio struct {
	Workers int     `json:"worker_processes"`
	Bare    float64 `json:"bare_events_per_second"`
	Edge    float64 `json:"edge_events_per_second"`
	Ratio   float64 `json:"ratio_edge_to_bare"`
}

func newClusterReport(cfg clusterConfig) *clusterReport {
	return &clusterReport{
		Machine: machine(),
		Date:    time.Now().UTC().Format(time.DateOnly), Params: cfg, Target: targetRatio,
	}
}

func (r *clusterReport) add(res clusterResult) { r.Runs = append(r.Runs, res) }

// finish computes the ratios: each path's events over its wall time, all
// rounds together.
func (r *clusterReport) finish() {
	for _, k := range r.Params.Workers {
		wr := workerRatio{Workers: k}
		var events [2]int
		var wall [2]float64
		for _, res := range r.Runs {
			if res.Workers != k {
				continue
			}
			i := 0
			if res.Phase == "edge" {
				i = 1
			}
			events[i] += res.Events
			wall[i] += res.WallSeconds
		}
		if wall[0] > 0 && wall[1] > 0 {
			wr.Bare, wr.Edge = float64(events[0])/wall[0], float64(events[1])/wall[1]
			wr.Ratio = wr.Edge / wr.Bare
		}
		r.Ratios = append(r.Ratios, wr)
	}
}

func (r *clusterReport) writeText(w io.Writer) error {
	p := r.Params
	fmt.Fprintf(w, "machine: %s, %s\n", r.Machine, r.Date)
	fmt.Fprintf(w, "params:  %d customers x %d feature_used per phase, %d calls in flight, %d rounds; journeys on %s\n\n",
		p.Customers, p.Events, p.Inflight, p.Rounds, p.Playbook)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workers\tphase\tround\tevents/s\tretries\tcall p50 ms\tcall p99 ms\tapplied p50 ms\tapplied p99 ms\thistory events\tworkflow tasks\thistory bytes\t")
	for _, res := range r.Runs {
		c := res.Cost
		fmt.Fprintf(tw, "%d\t%s\t%d\t%.1f\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.2f\t%.0f\t\n", res.Workers, res.Phase, res.Round,
			res.EventsPerSec, res.Retries, res.CallP50, res.CallP99, res.AppliedP50, res.AppliedP99, c.HistoryEvents, c.WorkflowTasks, c.HistoryBytes)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "workers\tbare events/s\tedge events/s\tedge/bare\t")
	for _, wr := range r.Ratios {
		fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.2f\t\n", wr.Workers, wr.Bare, wr.Edge, wr.Ratio)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintf(w, "\n(target: edge/bare >= %.1f)\n\nper applied event, by run (history events by type; CPU ms by process):\n", r.Target)
	for _, res := range r.Runs {
		fmt.Fprintf(w, "  %d workers %s r%d: %s\n      cpu: %s\n      workflow task: %.1f ms queued, %.1f ms running\n",
			res.Workers, res.Phase, res.Round, perEvent(res.Cost.ByType, 2), perEvent(res.Cost.CPUms, 2), res.Cost.TaskWaitMs, res.Cost.TaskRunMs)
	}
	return nil
}

// perEvent lists m's entries, largest first.
func perEvent(m map[string]float64, digits int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] > m[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.*f", k, digits, m[k])
	}
	return strings.Join(parts, ", ")
}
