package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/sim"
)

// The cohort's child processes re-run this executable as "<exe>
// cohort-batch": the test binary then runs as the starter (and notes the
// batch in the file envBatchLog names, when set), never as the tests, so a
// child can never start the tests again.
const envBatchLog = "JOURNEYS_TEST_BATCH_LOG"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "cohort-batch" {
		if name := os.Getenv(envBatchLog); name != "" {
			f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				os.Exit(3)
			}
			f.WriteString("batch\n")
			f.Close()
		}
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// A cohort run in child processes reports what one process reports.
func TestCohortBatchesRunInChildProcesses(t *testing.T) {
	batchLog := filepath.Join(t.TempDir(), "batches")
	t.Setenv(envBatchLog, batchLog)
	args := []string{"simulate", "--cohort", "5", "--years", "0.2", "--seed", "3", "--json"}
	report := func(batch string) sim.CohortReport {
		code, stdout, stderr := simulateApp(append(args, "--batch", batch)...)
		if code != 0 {
			t.Fatalf("--batch %s: exit code %d, stderr %q", batch, code, stderr)
		}
		var rep sim.CohortReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		rep.Elapsed = 0
		return rep
	}
	one, batched := report("0"), report("2")
	if !jsonEqual(t, one, batched) {
		t.Errorf("batches of 2 differ from one process:\n%+v\n%+v", batched, one)
	}
	logged, err := os.ReadFile(batchLog)
	if err != nil || string(logged) != "batch\nbatch\nbatch\n" {
		t.Errorf("5 customers in batches of 2 ran %q child processes (%v), want 3", logged, err)
	}
}

// The child's side: a request on stdin, the results on stdout.
func TestCohortBatchCommand(t *testing.T) {
	o := sim.CohortOptions{Customers: 4, Years: 0.1, Seed: 3, Playbook: playbook.Default(),
		Start: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), Behaviour: sim.DefaultBehaviour(), SignupDays: sim.DefaultSignupDays}
	req, err := json.Marshal(batchRequest{Options: o, First: 1, N: 2})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	a := &app{stdin: bytes.NewReader(req), stdout: &out, stderr: &errOut, getenv: noEnv, now: time.Now}
	if code := a.run([]string{"cohort-batch"}); code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut.String())
	}
	var res []sim.CustomerResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res) != 2 || res[0].Days == 0 {
		t.Fatalf("results %+v, %v", res, err)
	}

	a = &app{stdin: strings.NewReader(`{"options":{},"first":0,"n":1}`), stdout: &out, stderr: &errOut, getenv: noEnv, now: time.Now}
	if code := a.run([]string{"cohort-batch"}); code == 0 || !strings.Contains(errOut.String(), "cohort: want at least one customer") {
		t.Errorf("a bad request: exit code %d, stderr %q", code, errOut.String())
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}
