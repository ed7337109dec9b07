// Package sim simulates one customer's journey: it runs the real
// CustomerJourney workflow and activities in the Temporal SDK's
// time-skipping test environment, with the outbox driver on every channel,
// sends the events of a script at their simulated times, and returns the
// timeline of what the customer and their CSM would receive and why.
//
// A two-year journey takes a fraction of a second: the test environment
// skips the time between timers and events.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	sdklog "go.temporal.io/sdk/log"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// Options is what Run simulates.
type Options struct {
	Playbook playbook.Playbook
	Profile  Profile
	Script   Script
	// Start is day 0 of the script: when the profile signs up, unless the
	// script has a signed_up line.
	Start time.Time
}

// Result is a simulated journey.
type Result struct {
	Profile  Profile `json:"profile"`
	Playbook string  `json:"playbook"`
	// Start and End bound the simulation; a journey that completed earlier
	// ends at its completion.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Entries are what happened, in order.
	Entries []Entry `json:"entries"`
	Summary Summary `json:"summary"`
	// State is the journey's state at the end.
	State workflows.State `json:"state"`
	// Completed is the journey's own summary when it completed (the
	// win-back ran out) before the end.
	Completed *workflows.Summary `json:"completed,omitempty"`
	Runs      []RunSpan          `json:"runs"`
	// Warnings are things the timeline may not show: events never sent,
	// decisions the state's bounded timeline dropped before they were read.
	Warnings []string `json:"warnings,omitempty"`
}

// RunSpan is one workflow run of the journey.
type RunSpan struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Events counts the events the run took.
	Events         int  `json:"events"`
	ContinuedAsNew bool `json:"continued_as_new"`
}

// Summary sums the timeline up.
type Summary struct {
	// Messages counts the messages the customer received, by channel.
	Messages map[messages.Channel]int `json:"messages"`
	// Alerts counts CSM alerts, escalations to the team included.
	Alerts      int `json:"alerts"`
	Escalations int `json:"escalations"`
	Suppressed  int `json:"suppressed"`
	Deferred    int `json:"deferred"`
	// EventsSent counts the script's events delivered to the journey.
	EventsSent     int `json:"events_sent"`
	EventsRejected int `json:"events_rejected"`
	Errors         int `json:"errors"`
	Runs           int `json:"runs"`
	// Stages are the stages visited, as the journey recorded them.
	Stages      []workflows.StageVisit `json:"stages"`
	FinalStage  workflows.Stage        `json:"final_stage"`
	HealthScore int                    `json:"health_score"`
	HealthTier  string                 `json:"health_tier,omitempty"`
}

// snapshotEvery is how often, besides before every event, Run reads the
// journey's state: its timeline keeps the last workflows.TimelineSize
// entries, so it is read before a quiet stretch could fill it.
const snapshotEvery = 7 // journey days

// Run simulates the customer of o.Profile through o.Script from o.Start.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("simulate: %w", err)
	}
	planned, end, err := o.plan()
	if err != nil {
		return Result{}, fmt.Errorf("simulate: %w", err)
	}
	box, err := openTempOutbox()
	if err != nil {
		return Result{}, fmt.Errorf("simulate: %w", err)
	}
	defer box.close()

	rec := newRecorder()
	eng := NewEngine(EngineConfig{
		Journeys:   workflows.NewJourneys(o.Playbook),
		Activities: &activities.Activities{Email: box, SMS: box, Alerts: box, CRM: box, Billing: box},
		CustomerID: o.Profile.CustomerID,
		Origin:     o.Start,
		Logger:     sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		OnRun:      rec.onRun,
		OnHandOver: rec.merge,
	})
	schedule(ctx, eng, rec, planned, end.Sub(o.Start), o.Playbook.Day(snapshotEvery))
	out, err := eng.Run(end.Sub(o.Start))
	if ctxErr := ctx.Err(); ctxErr != nil {
		return Result{}, fmt.Errorf("simulate: %w", ctxErr)
	}
	if err != nil {
		return Result{}, fmt.Errorf("simulate: %w", err)
	}
	rec.merge(out.State)
	records, err := outbox.ReadFile(box.path)
	if err != nil {
		return Result{}, fmt.Errorf("simulate: read the outbox: %w", err)
	}
	return rec.result(o, signupTime(planned, o.Start), out, eng, records)
}

// plan checks the options and builds the script's events and end.
func (o Options) plan() ([]Planned, time.Time, error) {
	if o.Start.IsZero() {
		return nil, time.Time{}, errors.New("no start time")
	}
	if err := o.Playbook.Validate(); err != nil {
		return nil, time.Time{}, err
	}
	if err := o.Profile.Validate(o.Start); err != nil {
		return nil, time.Time{}, err
	}
	return o.Script.Events(o.Profile, o.Playbook, o.Start)
}

// tempOutbox is an outbox in a directory of its own, removed on close.
type tempOutbox struct {
	*outbox.Outbox
	dir, path string
}

func openTempOutbox() (*tempOutbox, error) {
	dir, err := os.MkdirTemp("", "journeys-sim-*")
	if err != nil {
		return nil, fmt.Errorf("outbox directory: %w", err)
	}
	path := filepath.Join(dir, "outbox.jsonl")
	ob, err := outbox.Open(path, nil) // no console: the timeline reports the sends
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &tempOutbox{Outbox: ob, dir: dir, path: path}, nil
}

// close drops the outbox: its records were read, or the run failed.
func (t *tempOutbox) close() {
	_ = t.Outbox.Close()
	_ = os.RemoveAll(t.dir)
}

// schedule sends the planned events at their times, each after a look at
// the state, and looks at it every interval besides; a look also stops the
// journey when ctx is done.
func schedule(ctx context.Context, eng *Engine, rec *recorder, planned []Planned, until, interval time.Duration) {
	look := func() {
		if ctx.Err() != nil {
			eng.Env().CancelWorkflow()
			return
		}
		rec.snapshot(eng)
	}
	for _, p := range planned {
		d := p.Event.OccurredAt.Sub(eng.Origin())
		if d > 0 {
			eng.At(d, look)
		}
		eng.Signal(d, p.Event)
	}
	for d := interval; interval > 0 && d < until; d += interval {
		eng.At(d, look)
	}
}

// signupTime is when the first signed_up event is sent: journey day 0.
func signupTime(planned []Planned, start time.Time) time.Time {
	for _, p := range planned {
		if p.Event.Type == signals.SignedUp {
			return p.Event.OccurredAt
		}
	}
	return start
}
