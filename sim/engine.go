package sim

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// Engine runs one customer's real CustomerJourney in the SDK's
// time-skipping test environment, with real activities, across
// continue-as-new: a run that hands over goes on in a fresh environment from
// the moment it handed over, with the carried input. It is what the
// simulator runs on and what the workflow tests' harness drives.
//
// Things to do at an offset from the journey's start (events, queries,
// updates) are actions, scheduled with At and Signal before Run.
type Engine struct {
	cfg EngineConfig
	env *testsuite.TestWorkflowEnvironment
	// origin is when the journey's first run starts; offsets count from it.
	origin  time.Time
	actions []*action
	// sent are the signal actions delivered, in order, for redelivery.
	sent []*action
	runs []*RunInfo
	cur  *RunInfo
}

// EngineConfig is what an Engine runs.
type EngineConfig struct {
	// Journeys is the workflow's owner; its Playbook may be changed between
	// actions, as a deploy would.
	Journeys *workflows.Journeys
	// Activities are registered by their methods' names: an
	// *activities.Activities, or a stand-in with the same method names.
	Activities any
	CustomerID string
	// Origin is when the first run starts (SetOrigin moves it).
	Origin time.Time
	// Logger, when set, replaces the test environment's logger, which
	// prints every timer at debug level.
	Logger log.Logger
	// OnRun is called with every run's fresh environment before the run
	// starts, to add listeners.
	OnRun func(env *testsuite.TestWorkflowEnvironment, run *RunInfo)
	// OnHandOver is called with the state a run hands to the next one.
	OnHandOver func(workflows.State)
	// Metrics, when set, records what the workflow and activities record
	// (workflow.GetMetricsHandler, activity.GetMetricsHandler).
	Metrics client.MetricsHandler
}

// RunInfo describes one run of the journey.
type RunInfo struct {
	// From and To are the run's start and end, as offsets from the origin.
	From, To time.Duration
	// Signals counts the signals delivered to this run (redelivered ones
	// count in the run that took them).
	Signals        int
	ContinuedAsNew bool
}

// Outcome is how a journey run by Run ended.
type Outcome struct {
	// State is the journey's state at the end.
	State workflows.State
	// Result is set when the journey completed on its own before the end.
	Result *workflows.Result
}

// action is something to do at an offset: an event, a query...
type action struct {
	at     time.Duration
	fn     func()
	done   bool
	signal bool
}

// NewEngine makes an engine whose first run's environment is ready (Env).
func NewEngine(cfg EngineConfig) *Engine {
	e := &Engine{cfg: cfg, origin: cfg.Origin}
	e.newEnv(0)
	return e
}

// Env is the current run's environment, for actions that signal, query or
// update the journey themselves.
func (e *Engine) Env() *testsuite.TestWorkflowEnvironment { return e.env }

// Origin is when the journey's first run starts.
func (e *Engine) Origin() time.Time { return e.origin }

// Now is the current run's simulated time.
func (e *Engine) Now() time.Time { return e.env.Now() }

// Runs are the runs so far, oldest first.
func (e *Engine) Runs() []*RunInfo { return e.runs }

// SetOrigin moves the journey's first run to origin; call it before Run.
func (e *Engine) SetOrigin(origin time.Time) {
	e.origin = origin
	e.env.SetStartTime(origin)
}

// newEnv makes the test environment of a run starting at offset from.
func (e *Engine) newEnv(from time.Duration) {
	var suite testsuite.WorkflowTestSuite
	if e.cfg.Logger != nil {
		suite.SetLogger(e.cfg.Logger)
	}
	if e.cfg.Metrics != nil {
		suite.SetMetricsHandler(e.cfg.Metrics)
	}
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(e.origin.Add(from))
	env.RegisterWorkflowWithOptions(e.cfg.Journeys.CustomerJourney, workflows.RegisterOptions)
	env.RegisterActivity(e.cfg.Activities)
	e.cur = &RunInfo{From: from}
	e.runs = append(e.runs, e.cur)
	e.env = env
	if e.cfg.OnRun != nil {
		e.cfg.OnRun(env, e.cur)
	}
}

// At schedules fn at offset d from the journey's start. fn runs in the
// environment of whichever run is current then.
func (e *Engine) At(d time.Duration, fn func()) {
	e.actions = append(e.actions, &action{at: d, fn: fn})
}

// Signal sends ev to the journey at offset d.
func (e *Engine) Signal(d time.Duration, ev signals.Event) {
	a := &action{at: d, signal: true}
	a.fn = func() {
		e.cur.Signals++
		e.sent = append(e.sent, a)
		e.env.SignalWorkflow(signals.SignalName, ev)
	}
	e.actions = append(e.actions, a)
}

// PendingSignals counts the signals not sent yet: after Run, the ones a
// journey that completed early never took.
func (e *Engine) PendingSignals() int {
	n := 0
	for _, a := range e.actions {
		if a.signal && !a.done {
			n++
		}
	}
	return n
}

// schedule registers the actions not done yet with the run's environment.
// It registers one callback at a time, for the earliest time left, which
// runs every action of that time and registers the next: the environment
// holds at most a thousand callbacks, and a journey of years has more.
func (e *Engine) schedule() {
	var pending []*action
	for _, a := range e.actions {
		if !a.done {
			pending = append(pending, a)
		}
	}
	slices.SortStableFunc(pending, func(a, b *action) int { return int(a.at - b.at) })
	var next func(i int)
	next = func(i int) {
		if i >= len(pending) {
			return
		}
		when := pending[i].at
		e.env.RegisterDelayedCallback(func() {
			j := i
			for ; j < len(pending) && pending[j].at == when; j++ {
				// A run that has handed over takes nothing more; on a real
				// server the event would reach the next run, and here the
				// next environment delivers it.
				if e.env.IsWorkflowCompleted() {
					return
				}
				pending[j].done = true
				pending[j].fn()
			}
			next(j)
		}, max(0, when-e.env.Now().Sub(e.origin)))
	}
	next(0)
}

// redeliverDropped sends again, in the next run, the signals the test
// environment delivered to a run after its last workflow task had decided
// to hand over. A real server fails such a task and runs it again with the
// signal; the test environment drops the signal instead.
func (e *Engine) redeliverDropped(c workflows.Counters) {
	processed := c.EventsApplied + c.EventsDuplicate + c.EventsRejected
	for len(e.sent) > processed {
		last := e.sent[len(e.sent)-1]
		last.done = false
		e.sent = e.sent[:len(e.sent)-1]
		e.cur.Signals--
	}
}

// Query reads the journey's state from the current run.
func (e *Engine) Query() (workflows.State, error) {
	var st workflows.State
	err := e.QueryInto(&st)
	return st, err
}

// QueryInto decodes the journey's state into out, which may be a struct
// with only the fields of workflows.State the caller needs.
func (e *Engine) QueryInto(out any) error {
	v, err := e.env.QueryWorkflow(workflows.QueryState)
	if err != nil {
		return fmt.Errorf("query the journey's state: %w", err)
	}
	if err := v.Get(out); err != nil {
		return fmt.Errorf("decode the journey's state: %w", err)
	}
	return nil
}

// Run runs the journey, across continue-as-new, until offset until: there
// it queries the state and cancels the journey. A journey that completes
// earlier ends with its result (Outcome.Result).
func (e *Engine) Run(until time.Duration) (Outcome, error) {
	in := workflows.Input{CustomerID: e.cfg.CustomerID}
	from := time.Duration(0)
	for {
		var out Outcome
		var queryErr error
		e.schedule()
		e.env.RegisterDelayedCallback(func() {
			out.State, queryErr = e.Query()
			e.env.CancelWorkflow()
		}, until-from)
		e.env.ExecuteWorkflow(workflows.WorkflowType, in)
		if !e.env.IsWorkflowCompleted() {
			return Outcome{}, fmt.Errorf("run %d from %s: the workflow did not complete", len(e.runs), from)
		}
		e.cur.To = e.env.Now().Sub(e.origin)
		err := e.env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		switch {
		case errors.As(err, &can):
			e.cur.ContinuedAsNew = true
			in = workflows.Input{}
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
				return Outcome{}, fmt.Errorf("decode the input run %d handed over: %w", len(e.runs), err)
			}
			if in.Carry == nil {
				return Outcome{}, fmt.Errorf("run %d continued as new without carrying its state", len(e.runs))
			}
			if e.cfg.OnHandOver != nil {
				e.cfg.OnHandOver(in.Carry.State)
			}
			e.redeliverDropped(in.Carry.State.Counters)
			from = e.cur.To
			e.newEnv(from)
			continue
		case err == nil:
			var res workflows.Result
			if err := e.env.GetWorkflowResult(&res); err != nil {
				return Outcome{}, fmt.Errorf("decode the journey's result: %w", err)
			}
			return Outcome{State: res.State, Result: &res}, nil
		case queryErr != nil:
			return Outcome{}, queryErr
		case !isCanceled(err):
			return Outcome{}, fmt.Errorf("the journey failed in run %d: %w", len(e.runs), err)
		}
		return out, nil
	}
}

// isCanceled reports whether err is the cancellation Run asked for.
func isCanceled(err error) bool { return temporal.IsCanceledError(err) }
