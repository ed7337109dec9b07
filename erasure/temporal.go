package erasure

// This file ends a journey and deletes its runs from Temporal; erasure.go
// runs the parts in order.

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// Temporal is what an erasure asks of Temporal; client.Client has it.
type Temporal interface {
	TerminateWorkflow(ctx context.Context, workflowID, runID, reason string, details ...any) error
	ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	WorkflowService() workflowservice.WorkflowServiceClient
}

// TerminateReason is the reason a terminated journey's history records,
// until the history itself is deleted.
const TerminateReason = "erasure: the customer is forgotten"

// pollInterval is how often deleteRuns looks whether Temporal has finished.
const pollInterval = 200 * time.Millisecond

// terminate ends id's running run, so it sends nothing more; false when
// none was running.
func (e *Eraser) terminate(ctx context.Context, id string) (bool, error) {
	err := e.Temporal.TerminateWorkflow(ctx, id, "", TerminateReason)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound): // none, or it has closed
		return false, nil
	case err != nil:
		return false, wrapf(err, "terminate %s", id)
	}
	return true, nil
}

// deleteRuns deletes every run of id and waits, up to DeleteWait, until
// Temporal has none left: neither in visibility (where it deletes a run's
// record after its history, asynchronously) nor by Describe. It returns
// how many runs it deleted.
func (e *Eraser) deleteRuns(ctx context.Context, id string) (int, error) {
	wait := e.DeleteWait
	if wait <= 0 {
		wait = DefaultDeleteWait
	}
	deadline := time.Now().Add(wait)
	asked := map[string]bool{}
	deleted := 0
	for {
		runs, err := e.runs(ctx, id)
		if err != nil || len(runs) == 0 {
			return deleted, err
		}
		for _, run := range runs {
			if asked[run] {
				continue
			}
			ok, err := e.deleteRun(ctx, id, run)
			if err != nil {
				return deleted, err
			}
			asked[run] = true
			if ok {
				deleted++
			}
		}
		if time.Now().After(deadline) {
			return deleted, fmt.Errorf("%w: %d runs of %s still in Temporal after %s; call again to finish", ErrIncomplete, len(runs), id, wait)
		}
		select {
		case <-ctx.Done():
			return deleted, wrapf(ctx.Err(), "wait for the deletion of %s", id)
		case <-time.After(pollInterval):
		}
	}
}

// runs lists the run IDs Temporal still has of id: every run visibility
// lists, open or closed, and the latest run, which visibility may not
// list yet.
func (e *Eraser) runs(ctx context.Context, id string) ([]string, error) {
	seen := map[string]bool{}
	var runs []string
	add := func(run string) {
		if run != "" && !seen[run] {
			seen[run] = true
			runs = append(runs, run)
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
			add(ex.GetExecution().GetRunId())
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
		add(d.GetWorkflowExecutionInfo().GetExecution().GetRunId())
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
