// Command bench measures what the events edge costs on top of bare Temporal.
// In one process it starts the embedded Temporal server and drives the same
// closed-loop load through two paths:
//
//	bare: SignalWithStartWorkflow into a no-op workflow, no payload codec;
//	edge: POST /v1/events through the real HTTP edge into real
//	      CustomerJourney workflows, with the payload codec on.
//
// Phases alternate as bare, edge, edge, bare, bare, edge, ... so that a
// drift of the machine during the run weighs on both alike, and the report
// compares their totals.
//
//	go run ./bench [-customers 50] [-events 20] [-rounds 4] [-warmup 5] [-json]
//
// With -memory first it measures instead one worker's memory per journey in
// its sticky cache, and how fast a fresh worker resumes them (memory.go):
//
//	go run ./bench -memory [-journeys 1000,5000,10000] [-workers a=bin,b=bin] [-h]
//
// With -cluster first it brings a Temporal cluster on PostgreSQL up with
// scripts/cluster.sh and compares the two paths there under an open-loop
// load, at 1, 2 and 4 worker processes of each (cluster.go):
//
//	go run ./bench -cluster [-workers 1,2,4] [-customers 100] [-events 10] [-inflight 32] [-h]
//
// With -history first it plays a simulated cohort in real time on such a
// cluster, on 1-second journey days, and compares the history events and
// workflow tasks per customer-year with the simulator's bound (history.go):
//
//	go run ./bench -history [-customers 20] [-years 1] [-h]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/journeyshq/journeys/internal/stopper"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is the load shape, the same for both phases.
type config struct {
	Customers int `json:"customers"`
	Events    int `json:"events_per_customer"`
	Rounds    int `json:"rounds"`
	Warmup    int `json:"warmup_customers"`
	// Timeout bounds the wait for one event to show as applied.
	Timeout time.Duration `json:"-"`
	JSON    bool          `json:"-"`
	// Dir keeps the server's database and log for a post-mortem; empty
	// means a temporary directory, removed at the end.
	Dir string `json:"-"`
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&cfg.Customers, "customers", 50, "workflows driven concurrently in each phase")
	fs.IntVar(&cfg.Events, "events", 20, "events per customer, the edge's signed_up included")
	fs.IntVar(&cfg.Rounds, "rounds", 4, "rounds; each runs both phases, in alternating order")
	fs.IntVar(&cfg.Warmup, "warmup", 5, "customers sent -events events through each path first, not measured (0: none)")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "longest wait for one event to show as applied")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&cfg.Dir, "dir", "", "keep the Temporal database and log, outbox and ledger in this new directory (default: a temporary one, removed)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	switch {
	case fs.NArg() > 0:
		return config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case cfg.Customers < 1 || cfg.Events < 1 || cfg.Rounds < 1:
		return config{}, errors.New("-customers, -events and -rounds must be at least 1")
	case cfg.Warmup < 0 || cfg.Timeout <= 0:
		return config{}, errors.New("-warmup must be at least 0 and -timeout positive")
	}
	return cfg, nil
}

// workDir is dir, made if need be, or with dir empty a new temporary
// directory named after pattern; remove takes a temporary one away.
func workDir(dir, pattern string) (path string, remove func(), err error) {
	if dir != "" {
		return dir, func() {}, os.MkdirAll(dir, 0o755)
	}
	if dir, err = os.MkdirTemp("", pattern); err != nil {
		return "", nil, fmt.Errorf("temp dir: %w", err)
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// run parses args, runs the benchmark and writes the report to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) (err error) {
	// The memory benchmark and its worker process take their own flags.
	if len(args) > 0 {
		switch args[0] {
		case "-memory", "--memory":
			return runMemory(ctx, args[1:], stdout)
		case workerFlag:
			return runMemWorker(ctx, args[1:], os.Stdin, stdout)
		case "-cluster", "--cluster":
			return runCluster(ctx, args[1:], stdout)
		case "-history", "--history":
			return runHistory(ctx, args[1:], stdout)
		case noopFlag:
			return runNoopWorker(ctx, args[1:])
		}
	}
	cfg, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	dir := cfg.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "journeys-bench-"); err != nil {
			return fmt.Errorf("temp dir: %w", err)
		}
		defer os.RemoveAll(dir) // deferred first, so it runs after everything stopped
	} else if err := os.Mkdir(dir, 0o755); err != nil {
		// A used directory holds workflows with this run's IDs already.
		return fmt.Errorf("-dir must be a new directory: %w", err)
	}

	var st stopper.Stack
	defer func() { err = errors.Join(err, st.StopAll()) }()
	e, err := start(ctx, dir, cfg, &st)
	if err != nil {
		return err
	}
	phases := []phase{e.bare(), e.edge()}

	// Warm both paths: the first workflow tasks, gRPC and HTTP connections
	// and lazily built caches would otherwise land in the first phase. With
	// -warmup 0 this drives no customer.
	for _, p := range phases {
		if _, err := drive(ctx, p, "w", cfg.Warmup, cfg.Events, cfg.Timeout); err != nil {
			return fmt.Errorf("warmup: %w", err)
		}
	}
	totals := make([]sample, len(phases))
	for round := 1; round <= cfg.Rounds; round++ {
		order := []int{0, 1}
		if round%2 == 0 {
			order = []int{1, 0}
		}
		for _, i := range order {
			p := phases[i]
			// Distinct customers per round: every round starts fresh workflows.
			s, err := drive(ctx, p, fmt.Sprintf("r%d", round), cfg.Customers, cfg.Events, cfg.Timeout)
			if err != nil {
				return fmt.Errorf("round %d: %w", round, err)
			}
			totals[i].add(s)
		}
	}
	rep := newReport(cfg, phases, totals)
	if cfg.JSON {
		return rep.writeJSON(stdout)
	}
	return rep.writeText(stdout)
}
