package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/journeyshq/journeys/internal/stopper"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/sim"
	"github.com/journeyshq/journeys/workflows"
)

// historyConfig is the customer-year benchmark's shape (go run ./bench
// -history -h): a simulated cohort played in real time on a cluster whose
// journey day lasts DayLength.
type historyConfig struct {
	Customers int           `json:"customers"`
	Years     float64       `json:"years"`
	Seed      uint64        `json:"seed"`
	DayLength time.Duration `json:"day_length_ns"`
	Workers   int           `json:"worker_processes"`
	cluster   clusterConfig
	JSON      bool `json:"-"`
}

func parseHistoryFlags(args []string) (historyConfig, error) {
	cfg := historyConfig{}
	fs := flag.NewFlagSet("bench -history", flag.ContinueOnError)
	fs.IntVar(&cfg.Customers, "customers", 20, "customers of the simulated cohort played")
	fs.Float64Var(&cfg.Years, "years", 1, "years each customer is followed, in journey days of 365 a year")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "the cohort's seed")
	fs.DurationVar(&cfg.DayLength, "day", time.Second, "how long a journey day lasts on the cluster (at least 1s)")
	fs.IntVar(&cfg.Workers, "workers", 2, "journeys worker processes")
	fs.StringVar(&cfg.cluster.Script, "script", "scripts/cluster.sh", "the cluster script")
	fs.StringVar(&cfg.cluster.Dir, "dir", "", "the cluster's directory (default: a temporary one, removed)")
	fs.StringVar(&cfg.cluster.Prefix, "prefix", "journeys_bench", "the cluster's database names' prefix")
	fs.StringVar(&cfg.cluster.Frontend, "frontend", "127.0.0.1:21233", "the Temporal frontend's address (port at most 32600)")
	fs.StringVar(&cfg.cluster.API, "api", "127.0.0.1:22080", "the events API's address")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return historyConfig{}, err
	}
	switch {
	case fs.NArg() > 0:
		return historyConfig{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case cfg.Customers < 1 || !(cfg.Years > 0) || cfg.Workers < 1:
		return historyConfig{}, errors.New("-customers, -years and -workers must be positive")
	}
	cfg.cluster.Workers, cfg.cluster.Inflight, cfg.cluster.Timeout = []int{cfg.Workers}, 8, 2*time.Minute
	return cfg, nil
}

// historyReport compares what the cluster's histories hold with the
// simulator's bound for the same customers, per customer-year.
type historyReport struct {
	Machine       string        `json:"machine"`
	Date          string        `json:"date"`
	Params        historyConfig `json:"params"`
	CustomerYears float64       `json:"customer_years"`
	Real          historyCount  `json:"cluster"`
	Bound         historyCount  `json:"simulator_bound"`
	// LargestRun is the most events one run's history held on the cluster.
	LargestRun int `json:"largest_run_history_events"`
}

// historyCount is per customer-year.
type historyCount struct {
	Signals       float64 `json:"signals"`
	Runs          float64 `json:"runs"`
	HistoryEvents float64 `json:"history_events"`
	WorkflowTasks float64 `json:"workflow_tasks"`
}

// runHistory plays a simulated cohort on a cluster and counts its histories.
func runHistory(ctx context.Context, args []string, stdout io.Writer) (err error) {
	cfg, err := parseHistoryFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	var remove func()
	if cfg.cluster.Dir, remove, err = workDir(cfg.cluster.Dir, "journeys-bench-history-"); err != nil {
		return err
	}
	defer remove()
	pb := playbook.Default()
	pb.DayLength = playbook.Duration(cfg.DayLength)
	if cfg.cluster.Playbook, err = writePlaybook(cfg.cluster.Dir, pb); err != nil {
		return err
	}
	var st stopper.Stack
	defer func() { err = errors.Join(err, st.StopAll()) }()
	cl := &cluster{cfg: cfg.cluster, env: &env{}}
	if err := cl.up(ctx, &st); err != nil {
		return err
	}
	// The cohort starts a little later, so that every signup is sent on time.
	o := sim.CohortOptions{Customers: cfg.Customers, Years: cfg.Years, Seed: cfg.Seed, Playbook: pb,
		Start: time.Now().Add(5 * time.Second).Truncate(time.Second), Behaviour: sim.DefaultBehaviour()}
	fmt.Fprintf(os.Stderr, "bench: playing %d customers for %.2g years of %s days (about %s)\n", cfg.Customers, cfg.Years, cfg.DayLength,
		(time.Duration(cfg.Years*365) * cfg.DayLength).Round(time.Second))
	ids, err := cl.play(ctx, o)
	if err != nil {
		return err
	}
	rep := historyReport{Machine: machine(), Date: time.Now().UTC().Format(time.DateOnly), Params: cfg}
	if err := cl.countHistories(ctx, ids, &rep); err != nil {
		return err
	}
	results, err := sim.RunCohortBatch(ctx, o, 0, cfg.Customers)
	if err != nil {
		return fmt.Errorf("simulate the same cohort: %w", err)
	}
	rep.bound(results)
	if cfg.JSON {
		return writeJSON(stdout, rep)
	}
	return rep.writeText(stdout)
}

// writePlaybook writes pb where the cluster's workers read it.
func writePlaybook(dir string, pb playbook.Playbook) (string, error) {
	b, err := json.Marshal(pb)
	if err != nil {
		return "", fmt.Errorf("encode the playbook: %w", err)
	}
	path := filepath.Join(dir, "playbook.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("write the playbook: %w", err)
	}
	return path, nil
}

// play sends every customer's events at their time, then
// waits until the last customer's end and for the journeys to settle. It
// returns the customers' IDs.
func (cl *cluster) play(ctx context.Context, o sim.CohortOptions) ([]string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ids := make([]string, o.Customers)
	var end time.Time
	s := sender.New(cl.coded)
	var wg sync.WaitGroup
	for i := range o.Customers {
		profile, planned, until, err := o.Customer(i)
		if err != nil {
			return nil, fmt.Errorf("customer %d: %w", i, err)
		}
		ids[i], end = profile.CustomerID, maxTime(end, until)
		wg.Go(func() {
			for _, p := range planned {
				if err := cl.sendAt(ctx, s, p.Event); err != nil {
					cancel(fmt.Errorf("customer %s: %w", profile.CustomerID, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	select {
	case <-time.After(time.Until(end)):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for _, id := range ids {
		if err := cl.waitSettled(ctx, workflows.WorkflowID(id)); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// sendAt sends ev when it occurs, again after a "not now", through the Go
// client rather than the HTTP edge: the edge forwards a customer's logins
// at most hourly, which on 1-second days would drop nearly all of them,
// while on real days a daily login always goes through.
func (cl *cluster) sendAt(ctx context.Context, s *sender.Sender, ev signals.Event) error {
	select {
	case <-time.After(time.Until(ev.OccurredAt)):
	case <-ctx.Done():
		return ctx.Err()
	}
	for attempt := 1; ; attempt++ {
		err := s.Send(ctx, ev)
		if err == nil || !errors.Is(err, sender.ErrUnavailable) || attempt == 10 {
			return err
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// countHistories reads every run of every customer's journey.
func (cl *cluster) countHistories(ctx context.Context, ids []string, rep *historyReport) error {
	var total historyCount
	for _, id := range ids {
		wid := workflows.WorkflowID(id)
		runs, err := cl.plain.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", wid), PageSize: 1000})
		if err != nil {
			return fmt.Errorf("list the runs of %s: %w", wid, err)
		}
		for _, run := range runs.GetExecutions() {
			n, tasks, signals, err := cl.countRun(ctx, wid, run.GetExecution().GetRunId())
			if err != nil {
				return err
			}
			total.Runs++
			total.HistoryEvents += float64(n)
			total.WorkflowTasks += float64(tasks)
			total.Signals += float64(signals)
			rep.LargestRun = max(rep.LargestRun, n)
		}
	}
	rep.Real = total
	return nil
}

// countRun counts one run's history events, completed workflow tasks and
// signals.
func (cl *cluster) countRun(ctx context.Context, id, runID string) (events, tasks, signals int, err error) {
	it := cl.plain.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, 0, 0, fmt.Errorf("history of %s run %s: %w", id, runID, err)
		}
		events++
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			tasks++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			signals++
		}
	}
	return events, tasks, signals, nil
}

// bound sums the simulator's counts for the same customers and puts both
// counts per customer-year.
func (r *historyReport) bound(results []sim.CustomerResult) {
	var b historyCount
	for _, res := range results {
		r.CustomerYears += res.Days / 365
		b.Signals += float64(res.Events)
		b.Runs += float64(res.Runs)
		b.HistoryEvents += float64(res.History)
		// As the bound counts them: one task per run's start, signal,
		// timer fired and activity.
		b.WorkflowTasks += float64(res.Runs + res.Events + res.TimersFired + res.Activities)
	}
	per := func(c historyCount) historyCount {
		y := r.CustomerYears
		return historyCount{Signals: c.Signals / y, Runs: c.Runs / y, HistoryEvents: c.HistoryEvents / y, WorkflowTasks: c.WorkflowTasks / y}
	}
	r.Real, r.Bound = per(r.Real), per(b)
}

func (r historyReport) writeText(w io.Writer) error {
	p := r.Params
	fmt.Fprintf(w, "machine: %s, %s\n", r.Machine, r.Date)
	fmt.Fprintf(w, "cohort:  %d customers (seed %d), %.2f customer-years, journey day %s, %d worker processes\n\n",
		p.Customers, p.Seed, r.CustomerYears, p.DayLength, p.Workers)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "per customer-year\tsignals\truns\thistory events\tworkflow tasks\t")
	fmt.Fprintf(tw, "cluster\t%.1f\t%.1f\t%.1f\t%.1f\t\n", r.Real.Signals, r.Real.Runs, r.Real.HistoryEvents, r.Real.WorkflowTasks)
	fmt.Fprintf(tw, "simulator bound\t%.1f\t%.1f\t%.1f\t%.1f\t\n", r.Bound.Signals, r.Bound.Runs, r.Bound.HistoryEvents, r.Bound.WorkflowTasks)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	_, err := fmt.Fprintf(w, "\nthe largest run on the cluster held %d history events\n", r.LargestRun)
	return err
}
