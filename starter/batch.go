package main

// A large cohort runs in batches, each in a child process of this program
// ("starter cohort-batch", not listed in the help): the SDK's test
// environment keeps about 1 MB of every simulated customer alive in its
// process (sim.RunCohort), so one process slows down as its heap grows,
// and a child's memory goes back when it exits.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/journeyshq/journeys/sim"
)

// DefaultBatch is how many customers of a cohort one child process runs:
// enough for the speed of a large cohort, few enough to keep a child's
// memory bounded (docs/performance.md).
const DefaultBatch = 1000

// batchRequest is what the parent writes to a child's stdin.
type batchRequest struct {
	Options sim.CohortOptions `json:"options"`
	First   int               `json:"first"`
	N       int               `json:"n"`
}

// runBatchInChild runs customers [first, first+n) of o in a child process
// of this executable and reads their results from its stdout.
func (a *app) runBatchInChild(ctx context.Context, o sim.CohortOptions, first, n int) ([]sim.CustomerResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cohort batch: find this program: %w", err)
	}
	req, err := json.Marshal(batchRequest{Options: o, First: first, N: n})
	if err != nil {
		return nil, fmt.Errorf("cohort batch: encode the options: %w", err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "cohort-batch")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(req), &out, a.stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("cohort batch of customers %d to %d: %w", first, first+n-1, err)
	}
	var res []sim.CustomerResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("cohort batch of customers %d to %d: read its results: %w", first, first+n-1, err)
	}
	return res, nil
}

// cohortBatch runs "starter cohort-batch": the child's side, a
// batchRequest on stdin and the results as JSON on stdout.
func (a *app) cohortBatch(stdin io.Reader) error {
	var req batchRequest
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return fmt.Errorf("cohort-batch: read the request: %w", err)
	}
	res, err := sim.RunCohortBatch(context.Background(), req.Options, req.First, req.N)
	if err != nil {
		return err
	}
	return json.NewEncoder(a.stdout).Encode(res)
}
