package workflows

import "go.temporal.io/sdk/worker"

// WorkerOptions are the options every journeys worker runs with.
//
// Workflow task pollers autoscale. With the SDK's fixed two pollers, a
// worker whose sticky queue has a backlog sends every poll there, and the
// first task of a new journey (a signup) waits on the normal queue: the
// throughput benchmark (bench/) saw signups wait up to 31 s under load,
// against 0.1-0.3 s for later tasks. Autoscaling keeps pollers on both.
func WorkerOptions() worker.Options {
	return worker.Options{
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
	}
}
