package sim

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/signals"
)

// The floor is what the SDK's time-skipping test environment costs for a
// cohort's traffic with no journey in it: a bare workflow that takes the
// same events at the same times, wakes on as many timers and runs as many
// activities (no-ops, in workflow goroutines, as the journey dispatches
// them) as each customer's journey did. The cohort can be no faster than
// its floor; BenchmarkCohort reports both and their ratio.

// floorInput is one customer's traffic for the bare workflow.
type floorInput struct {
	// Timers fire one after the other, Every apart.
	Timers int
	Every  time.Duration
	// Activities are spread evenly over the wakes (events and timers).
	Activities int
	Wakes      int
}

// floorActivity does nothing: the test environment's own cost of an
// activity is what the floor measures.
func floorActivity(context.Context) error { return nil }

// floorWorkflow takes events, timers and activities as a journey does, and
// nothing else.
func floorWorkflow(ctx workflow.Context, in floorInput) error {
	events := workflow.GetSignalChannel(ctx, signals.SignalName)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var timer workflow.Future
	timers, wakes, ran := 0, 0, 0
	for {
		if timer == nil && timers < in.Timers {
			timer = workflow.NewTimer(ctx, in.Every)
			timers++
		}
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(events, func(c workflow.ReceiveChannel, _ bool) {
			var raw json.RawMessage
			c.Receive(ctx, &raw)
		})
		if timer != nil {
			sel.AddFuture(timer, func(workflow.Future) { timer = nil })
		}
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wakes++
		if in.Wakes > 0 && ran < in.Activities && wakes*in.Activities/in.Wakes > ran {
			ran++
			workflow.Go(ctx, func(ctx workflow.Context) {
				_ = workflow.ExecuteActivity(actx, floorActivity).Get(ctx, nil)
			})
		}
	}
}

// runFloor runs the floor of the cohort o, whose customers' results are
// results, on o's workers, and returns the customer-years per second.
func runFloor(t testing.TB, o CohortOptions, results []CustomerResult) float64 {
	t.Helper()
	defer debug.SetGCPercent(debug.SetGCPercent(200)) // as RunCohortBatch
	began := time.Now()
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	for range o.workers() {
		wg.Go(func() {
			for i := range next {
				if _, err := runFloorCustomer(o, i, results[i]); err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range results {
		next <- i
	}
	close(next)
	wg.Wait()
	if failed != nil {
		t.Fatal(failed)
	}
	years := 0.0
	for _, r := range results {
		years += r.Days / 365
	}
	return years / time.Since(began).Seconds()
}

// floorCount is what a floor run took.
type floorCount struct{ events, timersFired, activities int }

func runFloorCustomer(o CohortOptions, i int, res CustomerResult) (floorCount, error) {
	p, err := o.plan(i)
	if err != nil {
		return floorCount{}, err
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(discardLogger)
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(p.start)
	env.RegisterWorkflow(floorWorkflow)
	env.RegisterActivity(floorActivity)
	var n floorCount
	env.SetOnTimerFiredListener(func(string) { n.timersFired++ })
	env.SetOnActivityStartedListener(func(*activity.Info, context.Context, converter.EncodedValues) { n.activities++ })
	span := p.end.Sub(p.start)
	in := floorInput{Timers: res.TimersFired, Activities: res.Activities, Wakes: res.Events + res.TimersFired}
	if in.Timers > 0 {
		in.Every = span / time.Duration(in.Timers+1)
	}
	// The events the journey took: one that completed early left the rest.
	planned := p.planned[:min(len(p.planned), res.Events)]
	// One event's callback at a time, as the engine registers them: the
	// environment looks through every pending timer at each turn.
	var next func(j int)
	next = func(j int) {
		if j == len(planned) {
			return
		}
		at := max(time.Millisecond, planned[j].Event.OccurredAt.Sub(p.start))
		env.RegisterDelayedCallback(func() {
			n.events++
			env.SignalWorkflow(signals.SignalName, planned[j].Event)
			next(j + 1)
		}, max(0, at-env.Now().Sub(p.start)))
	}
	next(0)
	env.RegisterDelayedCallback(env.CancelWorkflow, span)
	env.ExecuteWorkflow(floorWorkflow, in)
	if err := env.GetWorkflowError(); err != nil && !isCanceled(err) {
		return floorCount{}, err
	}
	return n, nil
}

// The floor's workflow takes the cohort's traffic: each customer's events,
// and as many timers and activities as their journey.
func TestFloorTakesTheCohortsTraffic(t *testing.T) {
	o := cohortOptions(3, 1, 7)
	results, err := RunCohortBatch(context.Background(), o, 0, o.Customers)
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range results {
		if res.TimersFired == 0 || res.Activities == 0 {
			t.Fatalf("customer %d: %d timers fired, %d activities", i, res.TimersFired, res.Activities)
		}
		got, err := runFloorCustomer(o, i, res)
		if err != nil {
			t.Fatal(err)
		}
		if want := (floorCount{res.Events, res.TimersFired, res.Activities}); got != want {
			t.Errorf("customer %d: the floor took %+v, the journey %+v", i, got, want)
		}
	}
}
