package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// pollEvery is the pause between state queries while waiting for an event.
// The queries are the measurement, not the load: polled every few
// milliseconds by 50 customers they would take a good share of the
// worker's CPU, and more from the journeys, whose state is far larger than
// the no-op's counter. 10 ms is about 1% of the applied latency measured.
const pollEvery = 10 * time.Millisecond

// phase is one path events take: send delivers one of customer's events (a
// JSON body) and applied says how many of them the workflow has applied.
type phase struct {
	name    string
	send    func(ctx context.Context, customer string, body []byte) error
	applied func(ctx context.Context, customer string) (int, error)
}

// bare signals the no-op workflow directly, with the same JSON the edge gets.
func (e *env) bare() phase {
	id := func(customer string) string { return "noop:" + customer }
	return phase{
		name: "bare",
		send: func(ctx context.Context, customer string, body []byte) error {
			_, err := e.plain.SignalWithStartWorkflow(ctx, id(customer), signals.SignalName, json.RawMessage(body),
				client.StartWorkflowOptions{ID: id(customer), TaskQueue: noopQueue}, noopType)
			if err != nil {
				return fmt.Errorf("signal-with-start %s: %w", id(customer), err)
			}
			return nil
		},
		applied: func(ctx context.Context, customer string) (int, error) {
			var n int
			err := query(ctx, e.plain, id(customer), noopQuery, &n)
			return n, err
		},
	}
}

// edge posts events to the events API, which starts and signals journeys.
func (e *env) edge() phase {
	return phase{
		name: "edge",
		send: func(ctx context.Context, _ string, body []byte) error { return e.post(ctx, body) },
		applied: func(ctx context.Context, customer string) (int, error) {
			var st workflows.State
			err := query(ctx, e.coded, workflows.WorkflowID(customer), workflows.QueryState, &st)
			return st.Counters.EventsApplied, err
		},
	}
}

// post sends one event and reads the whole answer, as a backend would.
func (e *env) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.edgeURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST /v1/events: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("POST /v1/events: read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return &refusal{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"),
			err: fmt.Errorf("POST /v1/events: %s: %s", resp.Status, bytes.TrimSpace(answer))}
	}
	return nil
}

// refusal is the edge's answer other than 2xx.
type refusal struct {
	code       int
	retryAfter string
	err        error
}

func (r *refusal) Error() string { return r.err.Error() }

// notNow is how long a backend waits before sending again after err, as
// docs/events.md tells it (503 and 429, after Retry-After); false: err is
// not one to retry.
func notNow(err error) (time.Duration, bool) {
	var r *refusal
	if !errors.As(err, &r) || (r.code != http.StatusServiceUnavailable && r.code != http.StatusTooManyRequests) {
		return 0, false
	}
	if s, err := strconv.Atoi(r.retryAfter); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	return 200 * time.Millisecond, true
}

func query(ctx context.Context, c client.Client, workflowID, name string, into any) error {
	v, err := c.QueryWorkflow(ctx, workflowID, "", name)
	if err != nil {
		return fmt.Errorf("query %s of %s: %w", name, workflowID, err)
	}
	if err := v.Get(into); err != nil {
		return fmt.Errorf("decode %s of %s: %w", name, workflowID, err)
	}
	return nil
}

var (
	timezones = []string{"America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Sao_Paulo", "Australia/Sydney"}
	features  = []string{"export_csv", "dashboards", "api_keys", "sso", "reports"}
)

// eventBody is customer's i-th event: a signed_up first, then feature_used
// events, each with its own event ID so none is dropped as a duplicate.
func eventBody(customer string, i int) ([]byte, error) {
	now := time.Now().UTC()
	var ev signals.Event
	var err error
	if i == 0 {
		ev, err = signals.NewEvent("su-"+customer, customer, signals.SignedUp, now, signals.SignedUpData{
			Name: "Bench Customer", Email: customer + "@example.com", Plan: "pro", Seats: 5,
			Timezone: timezones[int(customer[len(customer)-1])%len(timezones)], // by last digit
		})
	} else {
		ev, err = signals.NewEvent(fmt.Sprintf("fu-%s-%d", customer, i), customer, signals.FeatureUsed, now,
			signals.FeatureUsedData{Feature: features[i%len(features)], Count: 1})
	}
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event %d of %s: %w", i, customer, err)
	}
	return body, nil
}

// sample is what one phase measured.
type sample struct {
	events  int
	wall    time.Duration
	call    []time.Duration // send start to the call's return
	applied []time.Duration // send start to the first query showing it applied
}

func (s *sample) add(o sample) {
	s.events += o.events
	s.wall += o.wall
	s.call = append(s.call, o.call...)
	s.applied = append(s.applied, o.applied...)
}

// drive runs the closed loop: customers at once, each sending its events one
// after another, every one waited for until applied. The first error stops
// the phase.
func drive(ctx context.Context, p phase, tag string, customers, events int, timeout time.Duration) (sample, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	per := make([]sample, customers)
	var wg sync.WaitGroup
	begin := time.Now()
	for c := range customers {
		wg.Go(func() {
			customer := fmt.Sprintf("%s-c%03d", tag, c)
			if err := driveCustomer(ctx, p, customer, events, timeout, &per[c]); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return sample{}, fmt.Errorf("phase %s: %w", p.name, err)
	}
	total := sample{}
	for _, s := range per {
		total.add(s)
	}
	total.wall = time.Since(begin)
	return total, nil
}

func driveCustomer(ctx context.Context, p phase, customer string, events int, timeout time.Duration, s *sample) error {
	for i := range events {
		body, err := eventBody(customer, i)
		if err != nil {
			return err
		}
		begin := time.Now()
		if err := p.send(ctx, customer, body); err != nil {
			return fmt.Errorf("customer %s event %d: %w", customer, i+1, err)
		}
		s.call = append(s.call, time.Since(begin))
		took, err := waitApplied(ctx, p, customer, i+1, begin, timeout)
		if err != nil {
			return fmt.Errorf("customer %s event %d: %w", customer, i+1, err)
		}
		s.applied = append(s.applied, took)
		s.events++
	}
	return nil
}

// waitApplied queries until want events show as applied and returns the time
// since begin. A query waits for the workflow task in flight, so it mostly
// returns once the event is applied; one that fails (under load a query can
// time out behind a queued workflow task) is retried. Only the deadline
// turns failures into an error.
func waitApplied(ctx context.Context, p phase, customer string, want int, begin time.Time, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithDeadline(ctx, begin.Add(timeout))
	defer cancel()
	var got int
	var lastErr error
	for {
		n, err := p.applied(ctx, customer)
		if err == nil && n >= want {
			return time.Since(begin), nil
		}
		if err != nil {
			lastErr = err
		} else {
			got = n
		}
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); !errors.Is(cause, context.DeadlineExceeded) {
				return 0, cause // another customer failed, or the run was interrupted
			}
			return 0, fmt.Errorf("not applied within %s (applied %d of %d; last query error: %v)", timeout, got, want, lastErr)
		case <-time.After(pollEvery):
		}
	}
}
