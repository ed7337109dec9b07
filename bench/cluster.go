package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/internal/stopper"
)

// clusterConfig is the cluster benchmark's shape (go run ./bench -cluster -h).
type clusterConfig struct {
	Workers   []int `json:"worker_processes"`
	Customers int   `json:"customers"`
	Events    int   `json:"feature_used_per_customer"`
	Inflight  int   `json:"inflight"`
	Rounds    int   `json:"rounds"`
	// Script brings the cluster up (scripts/cluster.sh); Dir, Prefix,
	// Frontend and API are what it is told.
	Script   string        `json:"-"`
	Dir      string        `json:"-"`
	Prefix   string        `json:"-"`
	Frontend string        `json:"-"`
	API      string        `json:"-"`
	Playbook string        `json:"playbook"`
	Timeout  time.Duration `json:"-"`
	JSON     bool          `json:"-"`
}

func parseClusterFlags(args []string) (clusterConfig, error) {
	cfg := clusterConfig{}
	fs := flag.NewFlagSet("bench -cluster", flag.ContinueOnError)
	workers := fs.String("workers", "1,2,4", "worker processes of each path at each measurement, ascending")
	fs.IntVar(&cfg.Customers, "customers", 100, "customers in each phase, signed up before it")
	fs.IntVar(&cfg.Events, "events", 10, "feature_used events per customer in each phase")
	fs.IntVar(&cfg.Inflight, "inflight", 32, "calls in flight (open loop)")
	fs.IntVar(&cfg.Rounds, "rounds", 1, "rounds; each measures both paths at every worker count, in alternating order")
	fs.StringVar(&cfg.Script, "script", "scripts/cluster.sh", "the cluster script")
	fs.StringVar(&cfg.Dir, "dir", "", "the cluster's directory (default: a temporary one, removed)")
	fs.StringVar(&cfg.Prefix, "prefix", "journeys_bench", "the cluster's database names' prefix")
	fs.StringVar(&cfg.Frontend, "frontend", "127.0.0.1:21233", "the Temporal frontend's address (port at most 32600)")
	fs.StringVar(&cfg.API, "api", "127.0.0.1:22080", "the events API's address; workers listen on the ports after it")
	fs.StringVar(&cfg.Playbook, "playbook", "playbooks/default.yaml", "the journeys' playbook: real days, so no timer fires while measured")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "longest wait for a phase's events to be applied")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return clusterConfig{}, err
	}
	var err error
	if cfg.Workers, err = parseSteps(*workers); err != nil {
		return clusterConfig{}, err
	}
	switch {
	case fs.NArg() > 0:
		return clusterConfig{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case cfg.Customers < 1 || cfg.Events < 1 || cfg.Inflight < 1 || cfg.Rounds < 1:
		return clusterConfig{}, errors.New("-customers, -events, -inflight and -rounds must be at least 1")
	}
	return cfg, nil
}

// runCluster brings a cluster up with scripts/cluster.sh and measures both
// paths on it at each worker count.
func runCluster(ctx context.Context, args []string, stdout io.Writer) (err error) {
	cfg, err := parseClusterFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	var remove func()
	if cfg.Dir, remove, err = workDir(cfg.Dir, "journeys-bench-cluster-"); err != nil {
		return err
	}
	defer remove()
	if cfg.Playbook, err = filepath.Abs(cfg.Playbook); err != nil {
		return err
	}
	var st stopper.Stack
	defer func() { err = errors.Join(err, st.StopAll()) }()
	cl := &cluster{cfg: cfg, env: &env{}}
	if err := cl.up(ctx, &st); err != nil {
		return err
	}
	rep := newClusterReport(cfg)
	for round := 1; round <= cfg.Rounds; round++ {
		for _, k := range cfg.Workers {
			if err := cl.scale(ctx, k); err != nil {
				return err
			}
			order := []phase{cl.edge(), cl.bare()} // alternating by round
			if round%2 == 0 {
				slices.Reverse(order)
			}
			for _, p := range order {
				tag := fmt.Sprintf("r%dw%d%s", round, k, p.name)
				res, err := cl.measure(ctx, p, tag)
				if err != nil {
					return fmt.Errorf("round %d, %d workers, %s: %w", round, k, p.name, err)
				}
				res.Round, res.Workers = round, k
				rep.add(res)
			}
		}
	}
	rep.finish()
	if cfg.JSON {
		return writeJSON(stdout, rep)
	}
	return rep.writeText(stdout)
}

// cluster is the running cluster and the bench's handles on it.
type cluster struct {
	cfg  clusterConfig
	*env                         // plain: the bare path; coded: the journeys' state and histories
	dc   converter.DataConverter // the journeys' codec
	// noop are the bare path's worker processes, journeys how many
	// journeys workers the script runs.
	noop     []*exec.Cmd
	journeys int
}

// script runs the cluster script with verb and args.
func (cl *cluster) script(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "bash", append([]string{cl.cfg.Script}, args...)...)
	cmd.Env = append(os.Environ(),
		"JOURNEYS_CLUSTER_DIR="+cl.cfg.Dir,
		"JOURNEYS_CLUSTER_PREFIX="+cl.cfg.Prefix,
		"JOURNEYS_CLUSTER_FRONTEND="+cl.cfg.Frontend,
		"JOURNEYS_CLUSTER_API="+cl.cfg.API,
		"JOURNEYS_CLUSTER_WORKERS="+strconv.Itoa(cl.cfg.Workers[len(cl.cfg.Workers)-1]),
		"JOURNEYS_CLUSTER_PLAYBOOK="+cl.cfg.Playbook,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", cl.cfg.Script, strings.Join(args, " "), err, out)
	}
	return nil
}

// up starts the cluster with every journeys worker, then dials it.
func (cl *cluster) up(ctx context.Context, st *stopper.Stack) error {
	fmt.Fprintln(os.Stderr, "bench: bringing the cluster up (the first build takes minutes)")
	st.Push(func() error { return cl.script(context.Background(), "down") })
	if err := cl.script(ctx, "up"); err != nil {
		return err
	}
	cl.journeys = cl.cfg.Workers[len(cl.cfg.Workers)-1]
	st.Push(cl.stopNoop)
	var err error
	if cl.plain, err = dial(ctx, cl.cfg.Frontend, client.Options{}, st); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(cl.cfg.Dir, "codec.keys"))
	if err != nil {
		return fmt.Errorf("the cluster's codec keys: %w", err)
	}
	keys, err := codec.ParseKeys(strings.TrimSpace(string(raw)))
	if err != nil {
		return fmt.Errorf("the cluster's codec keys: %w", err)
	}
	cl.dc = codec.DataConverter(keys)
	if cl.coded, err = dial(ctx, cl.cfg.Frontend, client.Options{DataConverter: cl.dc, FailureConverter: codec.FailureConverter(cl.dc)}, st); err != nil {
		return err
	}
	cl.edgeURL, cl.token = "http://"+cl.cfg.API+"/v1/events", clusterEventsToken
	cl.http = edgeClient(cl.cfg.Inflight, st)
	return nil
}

// clusterEventsToken is the events token scripts/cluster.sh gives the API.
const clusterEventsToken = "cluster-events-token-0123456789"

// scale runs k worker processes of each path.
func (cl *cluster) scale(ctx context.Context, k int) error {
	for cl.journeys > k {
		if err := cl.script(ctx, "stop", fmt.Sprintf("worker-%d", cl.journeys)); err != nil {
			return err
		}
		cl.journeys--
	}
	for cl.journeys < k {
		cl.journeys++
		if err := cl.script(ctx, "start", fmt.Sprintf("worker-%d", cl.journeys)); err != nil {
			return err
		}
	}
	for len(cl.noop) > k {
		last := cl.noop[len(cl.noop)-1]
		cl.noop = cl.noop[:len(cl.noop)-1]
		if err := stopProcess(last); err != nil {
			return err
		}
	}
	for len(cl.noop) < k {
		cmd, err := startNoopProcess(cl.cfg.Frontend)
		if err != nil {
			return err
		}
		cl.noop = append(cl.noop, cmd)
	}
	return nil
}

func (cl *cluster) stopNoop() error {
	var errs []error
	for _, cmd := range cl.noop {
		errs = append(errs, stopProcess(cmd))
	}
	cl.noop = nil
	return errors.Join(errs...)
}
