package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/workflows"
)

// CustomersGauge is the number of running journeys by stage (tag stage), as
// Temporal's visibility counts them.
const CustomersGauge = "journeys_customers"

// DefaultStageCountInterval is how often the stage gauge is refreshed.
const DefaultStageCountInterval = time.Minute

// stageCountTimeout bounds one round of counts.
const stageCountTimeout = 10 * time.Second

// Stages are the stages the gauge reports: every one on every round, so
// that a stage that emptied reads 0.
var Stages = []workflows.Stage{
	workflows.StageNew, workflows.StageOnboarding, workflows.StageAdoption,
	workflows.StageRenewal, workflows.StageCancelling, workflows.StageChurned,
}

// WorkflowCounter counts workflows in visibility; client.Client is one.
type WorkflowCounter interface {
	CountWorkflow(ctx context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error)
}

// StageQuery is the visibility query counting the current runs of the
// journeys in stage (a journey's earlier runs are "continued as new").
//
// One query per stage: Temporal 1.32 allows GROUP BY only on
// ExecutionStatus (and TemporalLowCardinalityKeyword* attributes), not on
// a custom keyword like JourneyStage, on SQL and Elasticsearch visibility
// alike.
func StageQuery(stage workflows.Stage) string {
	return fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s'",
		workflows.WorkflowType, workflows.SearchStage.GetName(), stage)
}

// CountStages sets CustomersGauge for every stage once. A count that fails
// leaves its stage's gauge at its last value; the errors are returned
// joined.
func CountStages(ctx context.Context, c WorkflowCounter, h client.MetricsHandler) error {
	var errs []error
	for _, stage := range Stages {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: StageQuery(stage)})
		if err != nil {
			errs = append(errs, fmt.Errorf("count journeys in stage %s: %w", stage, err))
			continue
		}
		h.WithTags(map[string]string{"stage": string(stage)}).Gauge(CustomersGauge).Update(float64(resp.GetCount()))
	}
	return errors.Join(errs...)
}

// StartStageCount runs CountStages at once and then every interval, in the
// background, until the returned stop is called; stop waits for a round in
// progress. onError, when set, gets each round's error.
func StartStageCount(c WorkflowCounter, h client.MetricsHandler, every time.Duration, onError func(error)) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		for {
			rctx, rcancel := context.WithTimeout(ctx, stageCountTimeout)
			err := CountStages(rctx, c, h)
			rcancel()
			if err != nil && ctx.Err() == nil && onError != nil {
				onError(err)
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	})
	return func() error {
		cancel()
		wg.Wait()
		return nil
	}
}
