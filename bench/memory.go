package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/internal/devserver"
	"github.com/journeyshq/journeys/internal/stopper"
	"github.com/journeyshq/journeys/workflows"
)

// memConfig is the memory benchmark's shape (go run ./bench -memory -h).
type memConfig struct {
	Journeys []int `json:"journeys"`
	Events   int   `json:"events_per_journey"`
	Inflight int   `json:"inflight"`
	Populate int   `json:"populate_inflight"`
	Rounds   int   `json:"rounds"`
	Sample   int   `json:"state_sample"`
	// Workers are the worker binaries compared, by name.
	Workers []namedBin    `json:"workers"`
	Addr    string        `json:"-"`
	Fill    bool          `json:"-"`
	Profile string        `json:"-"`
	Timeout time.Duration `json:"-"`
	JSON    bool          `json:"-"`
}

type namedBin struct {
	Name string `json:"name"`
	Path string `json:"-"`
}

func parseMemFlags(args []string) (memConfig, error) {
	cfg := memConfig{}
	fs := flag.NewFlagSet("bench -memory", flag.ContinueOnError)
	journeys := fs.String("journeys", "1000,5000,10000", "cached journeys at each measurement, ascending")
	workers := fs.String("workers", "", "worker binaries to compare, name=path,... (built from bench; default: this binary as \"this\")")
	fs.IntVar(&cfg.Events, "events", 3, "events per journey, the signed_up included")
	fs.IntVar(&cfg.Inflight, "inflight", 32, "journeys woken at a time (open loop)")
	fs.IntVar(&cfg.Populate, "populate-inflight", 64, "journeys signed up at a time")
	fs.IntVar(&cfg.Rounds, "rounds", 1, "rounds; each measures every worker, in alternating order")
	fs.IntVar(&cfg.Sample, "sample", 100, "journeys whose state size is queried at each step")
	fs.StringVar(&cfg.Addr, "addr", "", "an existing Temporal frontend (default: start the embedded server)")
	fs.BoolVar(&cfg.Fill, "fill", true, "sign the journeys up first; -fill=false reuses those an earlier run left at -addr")
	fs.StringVar(&cfg.Profile, "heap-profiles", "", "write each worker's heap profile at the largest step into this directory")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "longest wait for one journey")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return memConfig{}, err
	}
	var err error
	if cfg.Journeys, err = parseSteps(*journeys); err != nil {
		return memConfig{}, err
	}
	if cfg.Workers, err = parseWorkers(*workers); err != nil {
		return memConfig{}, err
	}
	switch {
	case fs.NArg() > 0:
		return memConfig{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case cfg.Events < 1 || cfg.Inflight < 1 || cfg.Populate < 1 || cfg.Rounds < 1 || cfg.Sample < 1:
		return memConfig{}, errors.New("-events, -inflight, -populate-inflight, -rounds and -sample must be at least 1")
	}
	return cfg, nil
}

// parseSteps reads an ascending list of positive counts: "1000,5000".
func parseSteps(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-journeys: %q is not a positive count", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("-journeys: %d after %d: counts must ascend", n, out[len(out)-1])
		}
		out = append(out, n)
	}
	return out, nil
}

// parseWorkers reads name=path pairs; empty means this binary.
func parseWorkers(s string) ([]namedBin, error) {
	if s == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this binary: %w", err)
		}
		return []namedBin{{Name: "this", Path: self}}, nil
	}
	var out []namedBin
	for f := range strings.SplitSeq(s, ",") {
		name, path, ok := strings.Cut(f, "=")
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("-workers: %q is not name=path", f)
		}
		out = append(out, namedBin{Name: name, Path: path})
	}
	return out, nil
}

// runMemory measures worker memory per cached journey and cold resume.
func runMemory(ctx context.Context, args []string, stdout io.Writer) (err error) {
	cfg, err := parseMemFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	dir, remove, err := workDir("", "journeys-bench-memory-")
	if err != nil {
		return err
	}
	defer remove()
	var st stopper.Stack
	defer func() { err = errors.Join(err, st.StopAll()) }()
	addr := cfg.Addr
	if addr == "" {
		if addr, err = startServer(ctx, dir, &st); err != nil {
			return err
		}
	}
	c, err := dial(ctx, addr, client.Options{}, &st)
	if err != nil {
		return err
	}
	m := &memRun{cfg: cfg, c: c, addr: addr, dir: dir, total: cfg.Journeys[len(cfg.Journeys)-1]}
	if cfg.Fill {
		if err := m.fill(ctx); err != nil {
			return err
		}
	}
	for round := 1; round <= cfg.Rounds; round++ {
		order := slices.Clone(cfg.Workers)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, w := range order {
			if err := m.measureWorker(ctx, w, round); err != nil {
				return fmt.Errorf("round %d, worker %s: %w", round, w.Name, err)
			}
			if err := m.resume(ctx, w, round); err != nil {
				return fmt.Errorf("round %d, worker %s: %w", round, w.Name, err)
			}
		}
	}
	rep := newMemReport(cfg, m.steps, m.resumes, m.fillTook)
	if cfg.JSON {
		return writeJSON(stdout, rep)
	}
	return rep.writeText(stdout)
}

// startServer starts the embedded server in this process, on a free port,
// with journeys' search attributes, and says where it listens.
func startServer(ctx context.Context, dir string, st *stopper.Stack) (string, error) {
	addr, err := devserver.FreeAddr("127.0.0.1")
	if err != nil {
		return "", fmt.Errorf("pick a Temporal port: %w", err)
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		DataDir: filepath.Join(dir, "temporal"), FrontendAddr: addr, UIAddr: "off",
		Namespace: "default", SearchAttributes: workflows.SearchAttributes(),
	})
	if err != nil {
		return "", fmt.Errorf("start Temporal: %w", err)
	}
	st.Push(srv.Stop)
	return addr, nil
}

// memRun is one memory benchmark against one server.
type memRun struct {
	cfg      memConfig
	c        client.Client
	addr     string
	dir      string
	total    int
	runs     int
	fillTook time.Duration
	steps    []memStep
	resumes  []resumeResult
}

// worker starts a fresh worker process from bin, with its own outbox and
// ledger, and a cache with room for every journey.
func (m *memRun) worker(bin namedBin) (*memWorker, error) {
	m.runs++
	wdir := filepath.Join(m.dir, fmt.Sprintf("worker-%d", m.runs))
	if err := os.Mkdir(wdir, 0o755); err != nil {
		return nil, fmt.Errorf("worker dir: %w", err)
	}
	rate := 0
	if m.cfg.Profile != "" {
		rate = 4096
	}
	return startMemWorker(bin.Path, m.addr, wdir, m.total+1000, rate)
}

// fill signs every journey up through the first worker.
func (m *memRun) fill(ctx context.Context) error {
	w, err := m.worker(m.cfg.Workers[0])
	if err != nil {
		return err
	}
	begin := time.Now()
	err = openLoop(ctx, 0, m.total, m.cfg.Populate, func(ctx context.Context, i int) error {
		return populate(ctx, m.c, i, m.cfg.Events, m.cfg.Timeout)
	})
	m.fillTook = time.Since(begin)
	if err != nil {
		return errors.Join(fmt.Errorf("sign journeys up: %w", err), w.stop())
	}
	return w.stop()
}

// measureWorker wakes the journeys into a fresh worker's cache step by step
// and measures the worker after each step.
func (m *memRun) measureWorker(ctx context.Context, bin namedBin, round int) error {
	w, err := m.worker(bin)
	if err != nil {
		return err
	}
	base, err := w.measure("")
	if err != nil {
		return errors.Join(err, w.stop())
	}
	m.steps = append(m.steps, memStep{Worker: bin.Name, Round: round, Usage: base})
	from := 0
	for _, n := range m.cfg.Journeys {
		begin := time.Now()
		if err := openLoop(ctx, from, n, m.cfg.Inflight, func(ctx context.Context, i int) error {
			return wake(ctx, m.c, i, m.cfg.Timeout)
		}); err != nil {
			return errors.Join(err, w.stop())
		}
		took := time.Since(begin)
		size, err := m.sampleState(ctx, n)
		if err != nil {
			return errors.Join(err, w.stop())
		}
		profile := ""
		if m.cfg.Profile != "" && n == m.total {
			profile = filepath.Join(m.cfg.Profile, fmt.Sprintf("heap-%s-r%d.pprof", bin.Name, round))
		}
		u, err := w.measure(profile)
		if err != nil {
			return errors.Join(err, w.stop())
		}
		m.steps = append(m.steps, newMemStep(bin.Name, round, n, base, u, size, took, n-from))
		from = n
	}
	return w.stop()
}

// sampleState averages the state size of up to -sample journeys of the n
// cached, chosen at random.
func (m *memRun) sampleState(ctx context.Context, n int) (float64, error) {
	k := min(m.cfg.Sample, n)
	sum := 0
	for _, i := range rand.Perm(n)[:k] {
		b, err := stateBytes(ctx, m.c, i)
		if err != nil {
			return 0, err
		}
		sum += b
	}
	return float64(sum) / float64(k), nil
}

// resume times a fresh worker (a cold cache, as after a restart) waking
// every journey, -inflight at a time.
func (m *memRun) resume(ctx context.Context, bin namedBin, round int) error {
	w, err := m.worker(bin)
	if err != nil {
		return err
	}
	begin := time.Now()
	err = openLoop(ctx, 0, m.total, m.cfg.Inflight, func(ctx context.Context, i int) error {
		return wake(ctx, m.c, i, m.cfg.Timeout)
	})
	took := time.Since(begin)
	if err != nil {
		return errors.Join(fmt.Errorf("resume: %w", err), w.stop())
	}
	m.resumes = append(m.resumes, resumeResult{Worker: bin.Name, Round: round, Journeys: m.total,
		Seconds: took.Seconds(), PerSecond: float64(m.total) / took.Seconds()})
	return w.stop()
}
