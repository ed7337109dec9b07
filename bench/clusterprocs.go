package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/internal/stopper"
	"github.com/journeyshq/journeys/workflows"
)

// noopFlag makes the bench binary run as one of the bare path's worker
// processes on the cluster, until interrupted.
const noopFlag = "-noop-worker"

func runNoopWorker(ctx context.Context, args []string) (err error) {
	fs := flag.NewFlagSet("noop-worker", flag.ContinueOnError)
	addr := fs.String("addr", "", "Temporal frontend")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" {
		return errors.New("noop worker: -addr is required")
	}
	var st stopper.Stack
	defer func() { err = errors.Join(err, st.StopAll()) }()
	c, err := dial(ctx, *addr, client.Options{}, &st)
	if err != nil {
		return err
	}
	if err := startNoopWorker(c, workflows.WorkerOptions(), &st); err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	return nil
}

// startNoopProcess starts a bare-path worker process and waits until its
// worker runs.
func startNoopProcess(addr string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary: %w", err)
	}
	cmd := exec.Command(self, noopFlag, "-addr", addr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start no-op worker: %w", err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		return nil, errors.Join(fmt.Errorf("no-op worker did not start: %q %v", line, err), stopProcess(cmd))
	}
	return cmd, nil
}

// stopProcess interrupts cmd, so its worker says goodbye to the server, and
// waits for it.
func stopProcess(cmd *exec.Cmd) error {
	_ = cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("no-op worker exit: %w", err)
	}
	return nil
}

// cpuTimes is CPU time used so far, by process role.
type cpuTimes map[string]time.Duration

func (c cpuTimes) since(before cpuTimes) map[string]time.Duration {
	out := map[string]time.Duration{}
	for k, v := range c {
		out[k] = v - before[k]
	}
	return out
}

// cpu reads the CPU time of every process that serves phase: the Temporal
// server, PostgreSQL, the phase's workers, the events API (edge only) and
// this process, which makes the calls.
func (cl *cluster) cpu(phase string) (cpuTimes, error) {
	pids := map[string][]int{"bench": {os.Getpid()}}
	read := func(role, name string) error {
		b, err := os.ReadFile(filepath.Join(cl.cfg.Dir, name+".pid"))
		if err != nil {
			return fmt.Errorf("pid of %s: %w", name, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return fmt.Errorf("pid of %s: %w", name, err)
		}
		pids[role] = append(pids[role], pid)
		return nil
	}
	if err := read("temporal", "temporal"); err != nil {
		return nil, err
	}
	if phase == "bare" {
		for _, cmd := range cl.noop {
			pids["workers"] = append(pids["workers"], cmd.Process.Pid)
		}
	} else {
		if err := read("api", "api"); err != nil {
			return nil, err
		}
		for i := 1; i <= cl.journeys; i++ {
			if err := read("workers", fmt.Sprintf("worker-%d", i)); err != nil {
				return nil, err
			}
		}
	}
	pg, err := processesNamed("postgres")
	if err != nil {
		return nil, err
	}
	pids["postgres"] = pg
	out := cpuTimes{}
	for role, list := range pids {
		for _, pid := range list {
			d, err := processCPU(pid)
			if err != nil && role != "postgres" { // its backends come and go
				return nil, err
			}
			out[role] += d
		}
	}
	return out, nil
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on Linux.
const clockTick = 100

// processCPU is the user and system time pid has used.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("CPU of process %d: %w", pid, err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime, fields 14 and 15 of a stat line; the
// command name (field 2, in parentheses) may hold spaces.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat line %q has no command name", stat)
	}
	f := strings.Fields(stat[i+1:]) // from field 3 on
	if len(f) < 13 {
		return 0, fmt.Errorf("stat line %q is short", stat)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat line %q: %w", stat, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// processesNamed lists the pids whose command is name.
func processesNamed(name string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil && strings.TrimSpace(string(comm)) == name {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
