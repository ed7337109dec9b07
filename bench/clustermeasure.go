package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// clusterResult is one phase at one worker count; latencies are in
// milliseconds and the costs are per applied event.
type clusterResult struct {
	Round   int `json:"round"`
	Workers int `json:"worker_processes"`
	phaseReport
	// Retries are calls sent again after a "not now" (503, 429).
	Retries int  `json:"retries"`
	Cost    cost `json:"per_event"`
}

// cost is what the applied events cost, per event: history events by type,
// workflow tasks, history bytes, and CPU milliseconds by process.
type cost struct {
	HistoryEvents float64 `json:"history_events"`
	WorkflowTasks float64 `json:"workflow_tasks"`
	HistoryBytes  float64 `json:"history_bytes"`
	// TaskWaitMs and TaskRunMs are a workflow task's mean time from
	// scheduled to started (queued for a worker) and from started to
	// completed (the worker's turn and the server's answer).
	TaskWaitMs float64            `json:"task_wait_ms"`
	TaskRunMs  float64            `json:"task_run_ms"`
	ByType     map[string]float64 `json:"history_events_by_type"`
	CPUms      map[string]float64 `json:"cpu_ms"`
}

// measure signs tag's customers up (not measured), then sends each of them
// -events feature_used events, -inflight calls at a time, and reads from
// their histories when each event was applied and what it cost.
func (cl *cluster) measure(ctx context.Context, p phase, tag string) (clusterResult, error) {
	customers := make([]string, cl.cfg.Customers)
	for i := range customers {
		customers[i] = fmt.Sprintf("%s-c%03d", tag, i)
	}
	if err := cl.signUp(ctx, p, customers); err != nil {
		return clusterResult{}, fmt.Errorf("sign up: %w", err)
	}
	n := len(customers) * cl.cfg.Events
	sent := make([]time.Time, n)
	calls := make([]time.Duration, n)
	ids := make(map[string]int, n)
	for j := range n {
		ids[eventID(customers[j%len(customers)], 1+j/len(customers))] = j
	}
	var retries atomic.Int64
	cpu0, err := cl.cpu(p.name)
	if err != nil {
		return clusterResult{}, err
	}
	// Event k of every customer before event k+1 of any: the calls in
	// flight are for different customers, as a busy backend's are.
	err = openLoop(ctx, 0, n, cl.cfg.Inflight, func(ctx context.Context, j int) error {
		customer := customers[j%len(customers)]
		body, err := eventBody(customer, 1+j/len(customers))
		if err != nil {
			return err
		}
		sent[j] = time.Now()
		if err := sendRetrying(ctx, p, customer, body, &retries); err != nil {
			return err
		}
		calls[j] = time.Since(sent[j])
		return nil
	})
	if err != nil {
		return clusterResult{}, err
	}
	if err := cl.waitAll(ctx, p, customers, 1+cl.cfg.Events); err != nil {
		return clusterResult{}, err
	}
	cpu1, err := cl.cpu(p.name)
	if err != nil {
		return clusterResult{}, err
	}
	hc := newHistoryCost(ids)
	for _, customer := range customers {
		if err := cl.readHistory(ctx, p.name, customer, hc); err != nil {
			return clusterResult{}, err
		}
	}
	res, err := newClusterResult(p.name, sent, calls, hc, cpu1.since(cpu0))
	res.Retries = int(retries.Load())
	return res, err
}

// sendRetrying sends as a backend does: after a refusal that means "not
// now" it waits and sends the same event again, counting the retries.
// The edge says how long in Retry-After; the bare client's "not now" (the
// SDK retried already) waits a second.
func sendRetrying(ctx context.Context, p phase, customer string, body []byte, retries *atomic.Int64) error {
	for attempt := 1; ; attempt++ {
		err := p.send(ctx, customer, body)
		if err == nil {
			return nil
		}
		wait, ok := notNow(err)
		if !ok && errors.Is(sender.Classify("send", err), sender.ErrUnavailable) {
			wait, ok = time.Second, true
		}
		if !ok || attempt == 10 {
			return err
		}
		retries.Add(1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func eventID(customer string, i int) string { return fmt.Sprintf("fu-%s-%d", customer, i) }

// signUp starts every customer's workflow with its signed_up event and
// waits until the journeys have nothing in flight, so that their welcome
// sends do not run inside the measurement.
func (cl *cluster) signUp(ctx context.Context, p phase, customers []string) error {
	return openLoop(ctx, 0, len(customers), cl.cfg.Inflight, func(ctx context.Context, i int) error {
		body, err := eventBody(customers[i], 0)
		if err != nil {
			return err
		}
		if err := p.send(ctx, customers[i], body); err != nil {
			return err
		}
		if _, err := waitApplied(ctx, p, customers[i], 1, time.Now(), cl.cfg.Timeout); err != nil {
			return fmt.Errorf("customer %s: %w", customers[i], err)
		}
		return cl.waitSettled(ctx, cl.workflowID(p.name, customers[i]))
	})
}

func (cl *cluster) workflowID(phase, customer string) string {
	if phase == "bare" {
		return "noop:" + customer
	}
	return workflows.WorkflowID(customer)
}

func (cl *cluster) client(phase string) client.Client {
	if phase == "bare" {
		return cl.plain
	}
	return cl.coded
}

// waitSettled waits until the workflow has no activity pending.
func (cl *cluster) waitSettled(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, cl.cfg.Timeout)
	defer cancel()
	for {
		d, err := cl.plain.DescribeWorkflowExecution(ctx, id, "")
		if err == nil && len(d.GetPendingActivities()) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s still has activities pending: %v", id, errors.Join(err, ctx.Err()))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitAll waits until every customer applied want events. Its queries come
// after the last call, a few per customer: the applied times are read from
// the histories, not from when these return.
func (cl *cluster) waitAll(ctx context.Context, p phase, customers []string, want int) error {
	return openLoop(ctx, 0, len(customers), 4, func(ctx context.Context, i int) error {
		ctx, cancel := context.WithTimeout(ctx, cl.cfg.Timeout)
		defer cancel()
		for {
			n, err := p.applied(ctx, customers[i])
			if err == nil && n >= want {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("customer %s applied %d of %d: %v", customers[i], n, want, errors.Join(err, ctx.Err()))
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
}

// readHistory adds customer's history to hc.
func (cl *cluster) readHistory(ctx context.Context, phase, customer string, hc *historyCost) error {
	c := cl.client(phase)
	dc := converter.GetDefaultDataConverter()
	if phase != "bare" {
		dc = cl.dc
	}
	it := c.GetWorkflowHistory(ctx, cl.workflowID(phase, customer), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return fmt.Errorf("history of %s: %w", customer, err)
		}
		events = append(events, ev)
	}
	hc.add(events, func(ev *historypb.HistoryEvent) string {
		var e signals.Event
		if err := dc.FromPayloads(ev.GetWorkflowExecutionSignaledEventAttributes().GetInput(), &e); err != nil {
			return "" // not an event: not measured
		}
		return e.EventID
	})
	return nil
}

// historyCost reads the measured events' applied times and costs from
// histories: from a workflow's first measured signal on, every history
// event counts, and an event is applied by the first workflow task that
// started after its signal, when that task completes.
type historyCost struct {
	index     map[string]int // event ID → its place in the send order
	appliedAt []time.Time
	applied   int
	byType    map[string]int
	tasks     int
	bytes     int
	// wait and run sum the measured tasks' queued and running times.
	wait, run time.Duration
	mu        sync.Mutex
}

func newHistoryCost(index map[string]int) *historyCost {
	return &historyCost{index: index, appliedAt: make([]time.Time, len(index)), byType: map[string]int{}}
}

// add reads one workflow's history; id names a signal's event, or "".
func (hc *historyCost) add(events []*historypb.HistoryEvent, id func(*historypb.HistoryEvent) string) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	counting := false
	// pending signals wait for a task to start; a started task applies
	// those it found, when it completes.
	var pending, inTask []int
	var scheduled, started time.Time
	for _, ev := range events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			if j, ok := hc.index[id(ev)]; ok {
				counting = true
				pending = append(pending, j)
			}
		}
		if !counting {
			continue
		}
		hc.byType[ev.GetEventType().String()]++
		hc.bytes += ev.Size()
		t := ev.GetEventTime().AsTime()
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			scheduled = t
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			inTask, pending = append(inTask, pending...), pending[:0]
			started = t
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			hc.tasks++
			hc.wait += started.Sub(scheduled)
			hc.run += t.Sub(started)
			for _, j := range inTask {
				hc.appliedAt[j] = t
				hc.applied++
			}
			inTask = inTask[:0]
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			pending, inTask = append(inTask, pending...), nil // a later task applies them
		}
	}
}

// newClusterResult sums a phase up: its wall time runs from the first call
// to the last event applied.
func newClusterResult(name string, sent []time.Time, calls []time.Duration, hc *historyCost, cpu map[string]time.Duration) (clusterResult, error) {
	if hc.applied != len(sent) {
		return clusterResult{}, fmt.Errorf("%d of %d events show as applied in the histories", hc.applied, len(sent))
	}
	s := sample{events: len(sent), call: calls, applied: make([]time.Duration, len(sent))}
	first, last := sent[0], hc.appliedAt[0]
	for j := range sent {
		first = minTime(first, sent[j])
		last = maxTime(last, hc.appliedAt[j])
		s.applied[j] = hc.appliedAt[j].Sub(sent[j])
	}
	s.wall = last.Sub(first)
	n := float64(len(sent))
	r := clusterResult{
		phaseReport: summarize(name, s),
		Cost: cost{WorkflowTasks: float64(hc.tasks) / n, HistoryBytes: float64(hc.bytes) / n,
			ByType: map[string]float64{}, CPUms: map[string]float64{}},
	}
	if hc.tasks > 0 {
		r.Cost.TaskWaitMs = ms(hc.wait / time.Duration(hc.tasks))
		r.Cost.TaskRunMs = ms(hc.run / time.Duration(hc.tasks))
	}
	for t, k := range hc.byType {
		r.Cost.ByType[t] = float64(k) / n
		r.Cost.HistoryEvents += float64(k) / n
	}
	for proc, d := range cpu {
		r.Cost.CPUms[proc] = float64(d) / float64(time.Millisecond) / n
	}
	return r, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
