package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// memCustomer is the i-th journey of the memory benchmark.
func memCustomer(i int) string { return fmt.Sprintf("mem-%05d", i) }

// openLoop runs do(i) for every i in [from, to), inflight at a time, and
// returns the first error.
func openLoop(ctx context.Context, from, to, inflight int, do func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range inflight {
		wg.Go(func() {
			for i := range next {
				if err := do(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := from; i < to; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// populate signs journey i up and sends it events-1 more events, then waits
// until it applied them all: afterwards it sleeps on its onboarding timers.
func populate(ctx context.Context, c client.Client, i, events int, timeout time.Duration) error {
	customer := memCustomer(i)
	s := sender.New(c)
	for k := range events {
		body, err := eventBody(customer, k)
		if err != nil {
			return err
		}
		var ev signals.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			return fmt.Errorf("decode event %d of %s: %w", k, customer, err)
		}
		if err := s.Send(ctx, ev); err != nil {
			return fmt.Errorf("send event %d of %s: %w", k, customer, err)
		}
	}
	p := phase{name: "populate", applied: func(ctx context.Context, customer string) (int, error) {
		var st workflows.State
		err := query(ctx, c, workflows.WorkflowID(customer), workflows.QueryState, &st)
		return st.Counters.EventsApplied, err
	}}
	_, err := waitApplied(ctx, p, customer, events, time.Now(), timeout)
	return err
}

// wakeKey is an alert no journey has: the journey's validator rejects the
// answer, so the update leaves no trace in the history, yet the worker must
// load the journey (replaying its history) to run the validator, and keeps
// it in its sticky cache afterwards. A query would not: the SDK does not
// cache a workflow it replayed for a query alone.
const wakeKey = "bench-memory-no-such-alert"

// wake brings journey i into the worker's cache and returns once it answered.
func wake(ctx context.Context, c client.Client, i int, timeout time.Duration) error {
	id := workflows.WorkflowID(memCustomer(i))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := wakeOnce(ctx, c, id)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wake %s: %w", id, err)
		case <-time.After(50 * time.Millisecond): // a timed-out update is retried
		}
	}
}

func wakeOnce(ctx context.Context, c client.Client, id string) error {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateAlertResponse, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.AlertResponse{AlertKey: wakeKey, Action: workflows.AlertActionAcknowledge, By: "bench"}},
	})
	if err != nil {
		return err
	}
	var appErr *temporal.ApplicationError
	if err := h.Get(ctx, nil); errors.As(err, &appErr) {
		return nil // rejected by the validator, as meant
	} else if err != nil {
		return err
	}
	return fmt.Errorf("journey %s accepted an answer to alert %s", id, wakeKey)
}

// stateBytes is the size of journey i's state as the state query returns
// it (JSON, no codec): what the journey carries, and about what its
// continue-as-new input holds besides the seen event IDs.
func stateBytes(ctx context.Context, c client.Client, i int) (int, error) {
	var raw json.RawMessage
	if err := query(ctx, c, workflows.WorkflowID(memCustomer(i)), workflows.QueryState, &raw); err != nil {
		return 0, err
	}
	return len(raw), nil
}
