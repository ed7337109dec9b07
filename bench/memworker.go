package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/journeyshq/journeys/internal/stopper"
	"github.com/journeyshq/journeys/workflows"
)

// workerFlag makes the bench binary run as the measured worker: a process of
// its own, so that its RSS holds the worker alone and not the server.
const workerFlag = "-memory-worker"

// usage is what a worker process measured of itself, after a full GC.
type usage struct {
	RSSKiB     int64  `json:"rss_kib"`
	HeapBytes  uint64 `json:"heap_bytes"`
	StackBytes uint64 `json:"stack_bytes"`
	Goroutines uint64 `json:"goroutines"`
}

// runMemWorker is the worker process: it starts the journeys' workers
// against -addr, says "ready", then answers each "measure [heap-profile]"
// line on stdin with a usage line, and stops at "stop" or end of input.
func runMemWorker(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("memory-worker", flag.ContinueOnError)
	addr := fs.String("addr", "", "Temporal frontend")
	dir := fs.String("dir", "", "directory for the outbox and ledger")
	cache := fs.Int("cache", 0, "sticky workflow cache size")
	rate := fs.Int("memprofilerate", 0, "runtime.MemProfileRate (0: the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" || *dir == "" || *cache < 1 {
		return errors.New("memory worker: -addr, -dir and -cache are required")
	}
	if *rate > 0 {
		runtime.MemProfileRate = *rate // finer samples: a journey is a few KiB
	}
	// Global in the SDK: it must be set before the worker is made. The
	// default (10,000) would evict journeys at the largest step.
	worker.SetStickyWorkflowCacheSize(*cache)
	var st stopper.Stack
	defer func() { err = errors.Join(err, st.StopAll()) }()
	c, err := dial(ctx, *addr, client.Options{}, &st)
	if err != nil {
		return err
	}
	if err := startJourneyWorker(ctx, c, workflows.WorkerOptions(), *dir, &st); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ready")
	in := bufio.NewScanner(stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(in.Text()), " ")
		switch cmd {
		case "stop":
			return nil
		case "measure":
			u, err := measureSelf(arg)
			if err != nil {
				return err
			}
			if err := json.NewEncoder(stdout).Encode(u); err != nil {
				return fmt.Errorf("memory worker: write usage: %w", err)
			}
		default:
			return fmt.Errorf("memory worker: unknown command %q", cmd)
		}
	}
	return in.Err()
}

// measureSelf collects all garbage, returns what it can to the OS, and reads
// the resident set; with a path it also writes a heap profile there.
func measureSelf(profile string) (usage, error) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	// Each GC at most halves a goroutine's oversized stack: collect until
	// the stacks stop shrinking, as a long-idle worker's would have.
	stacks := uint64(math.MaxUint64)
	for range 10 {
		runtime.GC()
		metrics.Read(samples)
		if samples[1].Value.Uint64() >= stacks {
			break
		}
		stacks = samples[1].Value.Uint64()
	}
	debug.FreeOSMemory()
	rss, err := vmRSS()
	if err != nil {
		return usage{}, err
	}
	metrics.Read(samples)
	u := usage{RSSKiB: rss, HeapBytes: samples[0].Value.Uint64(), StackBytes: samples[1].Value.Uint64(), Goroutines: samples[2].Value.Uint64()}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return usage{}, fmt.Errorf("heap profile: %w", err)
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			return usage{}, fmt.Errorf("heap profile: %w", err)
		}
		// The goroutines beside it: each journey's coroutines hold a stack.
		g, err := os.Create(profile + ".goroutines.txt")
		if err != nil {
			return usage{}, fmt.Errorf("goroutine profile: %w", err)
		}
		defer g.Close()
		if err := pprof.Lookup("goroutine").WriteTo(g, 1); err != nil {
			return usage{}, fmt.Errorf("goroutine profile: %w", err)
		}
	}
	return u, nil
}

// vmRSS reads this process's resident set size from /proc/self/status.
func vmRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read RSS: %w", err)
	}
	return parseVmRSS(string(b))
}

// parseVmRSS finds the VmRSS line ("VmRSS:   123456 kB") of a status file.
func parseVmRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		num, _ := strings.CutSuffix(strings.TrimSpace(rest), " kB")
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse VmRSS %q: %w", strings.TrimSpace(rest), err)
		}
		return n, nil
	}
	return 0, errors.New("no VmRSS line in /proc/self/status")
}

// memWorker is the parent's handle on one worker process.
type memWorker struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	mu  sync.Mutex
}

// startMemWorker runs bin as a worker process and waits until it is ready.
func startMemWorker(bin, addr, dir string, cache, profileRate int) (*memWorker, error) {
	cmd := exec.Command(bin, workerFlag, "-addr", addr, "-dir", dir, "-cache", strconv.Itoa(cache), "-memprofilerate", strconv.Itoa(profileRate))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("worker %s: %w", bin, err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("worker %s: %w", bin, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", bin, err)
	}
	w := &memWorker{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	if line, err := w.line(); err != nil || line != "ready" {
		_ = w.stop()
		return nil, fmt.Errorf("worker %s did not start: %q %v", bin, line, err)
	}
	return w, nil
}

func (w *memWorker) line() (string, error) {
	if !w.out.Scan() {
		if err := w.out.Err(); err != nil {
			return "", err
		}
		return "", io.ErrUnexpectedEOF
	}
	return w.out.Text(), nil
}

// measure asks the worker for its usage; profile, if set, is where it
// writes a heap profile.
func (w *memWorker) measure(profile string) (usage, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := fmt.Fprintln(w.in, "measure", profile); err != nil {
		return usage{}, fmt.Errorf("ask worker: %w", err)
	}
	line, err := w.line()
	if err != nil {
		return usage{}, fmt.Errorf("read worker usage: %w", err)
	}
	var u usage
	if err := json.Unmarshal([]byte(line), &u); err != nil {
		return usage{}, fmt.Errorf("decode worker usage %q: %w", line, err)
	}
	return u, nil
}

// stop stops the worker cleanly (its workers tell the server they are gone,
// so the next worker gets the journeys at once) and waits for it to exit.
func (w *memWorker) stop() error {
	_, _ = fmt.Fprintln(w.in, "stop")
	_ = w.in.Close()
	if err := w.cmd.Wait(); err != nil {
		return fmt.Errorf("worker exit: %w", err)
	}
	return nil
}
