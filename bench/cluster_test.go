package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/journeyshq/journeys/sim"
)

func TestParseStatCPUReadsUserAndSystemTime(t *testing.T) {
	// The command name holds a space and a parenthesis; utime 250, stime 50.
	d, err := parseStatCPU("4242 (temporal (srv)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0")
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, d)
	_, err = parseStatCPU("4242 (x) S 1")
	assert.Error(t, err)
}

func TestParseClusterFlagsWantsAscendingWorkers(t *testing.T) {
	cfg, err := parseClusterFlags([]string{"-workers", "1,2", "-customers", "3"})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, cfg.Workers)
	assert.Equal(t, 3, cfg.Customers)
	_, err = parseClusterFlags([]string{"-workers", "2,1"})
	assert.Error(t, err)
	_, err = parseClusterFlags([]string{"-inflight", "0"})
	assert.Error(t, err)
}

// An event is applied by the first workflow task completed after its
// signal started, and costs count from a workflow's first measured signal on.
func TestHistoryCostReadsAppliedTimesAndCosts(t *testing.T) {
	at := func(s int) *timestamppb.Timestamp { return timestamppb.New(time.Unix(1000+int64(s), 0)) }
	ev := func(typ enumspb.EventType, s int, id string) *historypb.HistoryEvent {
		e := &historypb.HistoryEvent{EventType: typ, EventTime: at(s)}
		if id != "" {
			e.Attributes = &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{
				WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{SignalName: id}}
		}
		return e
	}
	const (
		signaled  = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
		scheduled = enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
		started   = enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED
		completed = enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
		timer     = enumspb.EVENT_TYPE_TIMER_STARTED
	)
	history := []*historypb.HistoryEvent{
		ev(signaled, 0, "signup"), ev(scheduled, 0, ""), ev(started, 0, ""), ev(completed, 1, ""), // not measured
		ev(signaled, 2, "a"), ev(scheduled, 2, ""), ev(started, 3, ""),
		ev(signaled, 3, "b"), // arrived during the task that applies a
		ev(completed, 4, ""), ev(timer, 4, ""),
		ev(scheduled, 4, ""), ev(started, 5, ""), ev(completed, 6, ""),
	}
	hc := newHistoryCost(map[string]int{"a": 0, "b": 1})
	hc.add(history, func(e *historypb.HistoryEvent) string {
		return e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName()
	})
	require.Equal(t, 2, hc.applied)
	assert.Equal(t, time.Unix(1004, 0), hc.appliedAt[0].Local())
	assert.Equal(t, time.Unix(1006, 0), hc.appliedAt[1].Local())
	assert.Equal(t, 2, hc.tasks)
	assert.Equal(t, map[string]int{"WorkflowExecutionSignaled": 2, "WorkflowTaskScheduled": 2,
		"WorkflowTaskStarted": 2, "WorkflowTaskCompleted": 2, "TimerStarted": 1}, hc.byType)

	sent := []time.Time{time.Unix(1002, 0), time.Unix(1003, 0)}
	res, err := newClusterResult("edge", sent, []time.Duration{time.Millisecond, 3 * time.Millisecond}, hc,
		map[string]time.Duration{"workers": 40 * time.Millisecond})
	require.NoError(t, err)
	assert.InDelta(t, 0.5, res.EventsPerSec, 1e-9, "2 events from the first call (1002) to the last applied (1006)")
	assert.InDelta(t, 3000.0, res.AppliedP99, 1e-9)
	assert.InDelta(t, 4.5, res.Cost.HistoryEvents, 1e-9)
	assert.InDelta(t, 1.0, res.Cost.WorkflowTasks, 1e-9)
	assert.InDelta(t, 20.0, res.Cost.CPUms["workers"], 1e-9)
}

// The simulator's bound and the cluster's counts are both per
// customer-year, the workflow tasks counted as the bound counts them.
func TestHistoryReportIsPerCustomerYear(t *testing.T) {
	r := historyReport{Real: historyCount{Signals: 700, Runs: 6, HistoryEvents: 3000, WorkflowTasks: 900}}
	r.bound([]sim.CustomerResult{
		{Days: 365, Events: 400, Runs: 3, History: 2500, TimersFired: 50, Activities: 40},
		{Days: 365, Events: 300, Runs: 2, History: 2000, TimersFired: 30, Activities: 20},
	})
	assert.InDelta(t, 2.0, r.CustomerYears, 1e-9)
	assert.Equal(t, historyCount{Signals: 350, Runs: 3, HistoryEvents: 1500, WorkflowTasks: 450}, r.Real)
	assert.Equal(t, historyCount{Signals: 350, Runs: 2.5, HistoryEvents: 2250, WorkflowTasks: (493 + 352) / 2.0}, r.Bound)
}
