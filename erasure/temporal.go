package erasure

// This file deletes a journey's runs from Temporal, ending the running
// one; erasure.go runs the parts in order.

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// Temporal is what an erasure asks of Temporal; client.Client has it.
type Temporal interface {
	ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	WorkflowService() workflowservice.WorkflowServiceClient
}

// pollInterval is how often deleteRuns looks whether Temporal has finished.
const pollInterval = 200 * time.Millisecond

// run is one run of a journey that Temporal still has.
type run struct {
	id      string
	running bool
}

// deleteRuns deletes every run of id and waits, up to DeleteWait, until
// Temporal has none left: neither in visibility (where it deletes a run's
// record after its history, asynchronously) nor by Describe. Deleting the
// running run terminates it first, in the same call, and deletes it as it
// closes; a closed run is deleted once Temporal's transfer queue has
// acknowledged its close, which takes up to
// history.transferProcessorUpdateAckInterval (30 s by default) for a run
// that closed a moment ago. It returns how many runs it deleted and
// whether one was running.
func (e *Eraser) deleteRuns(ctx context.Context, id string) (deleted int, terminated bool, err error) {
	wait := e.DeleteWait
	if wait <= 0 {
		wait = DefaultDeleteWait
	}
	deadline := time.Now().Add(wait)
	asked := map[string]bool{}
	for {
		runs, err := e.runs(ctx, id)
		if err != nil || len(runs) == 0 {
			return deleted, terminated, err
		}
		for _, r := range runs {
			if asked[r.id] {
				continue
			}
			ok, err := e.deleteRun(ctx, id, r.id)
			if err != nil {
				return deleted, terminated, err
			}
			asked[r.id] = true
			if ok {
				deleted++
				terminated = terminated || r.running
			}
		}
		if time.Now().After(deadline) {
			return deleted, terminated, fmt.Errorf("%w: %d runs of %s still in Temporal after %s; call again to finish", ErrIncomplete, len(runs), id, wait)
		}
		select {
		case <-ctx.Done():
			return deleted, terminated, wrapf(ctx.Err(), "wait for the deletion of %s", id)
		case <-time.After(pollInterval):
		}
	}
}

// runs lists the runs Temporal still has of id: every run visibility
// lists, open or closed, and the latest run, which visibility may not
// list yet.
func (e *Eraser) runs(ctx context.Context, id string) ([]run, error) {
	seen := map[string]int{}
	var runs []run
	add := func(r run) {
		if i, ok := seen[r.id]; ok {
			runs[i].running = runs[i].running || r.running
		} else if r.id != "" {
			seen[r.id] = len(runs)
			runs = append(runs, r)
		}
	}
	// The customer ID was validated: it holds no quote.
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: e.Namespace, Query: fmt.Sprintf("WorkflowId = '%s'", id)}
	for {
		resp, err := e.Temporal.ListWorkflow(ctx, req)
		if err != nil {
			return nil, wrapf(err, "list the runs of %s", id)
		}
		for _, ex := range resp.GetExecutions() {
			add(run{id: ex.GetExecution().GetRunId()})
		}
		if req.NextPageToken = resp.GetNextPageToken(); len(req.NextPageToken) == 0 {
			break
		}
	}
	d, err := e.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
	case err != nil:
		return nil, wrapf(err, "describe %s", id)
	default:
		info := d.GetWorkflowExecutionInfo()
		add(run{id: info.GetExecution().GetRunId(), running: info.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING})
	}
	return runs, nil
}

// deleteRun asks Temporal to delete one run; false when it had already
// gone (only its visibility record was left).
func (e *Eraser) deleteRun(ctx context.Context, id, run string) (bool, error) {
	_, err := e.Temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace:         e.Namespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: run},
	})
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return false, nil
	case err != nil:
		return false, wrapf(err, "delete run %s of %s", run, id)
	}
	return true, nil
}
