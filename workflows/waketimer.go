package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// wakeTimer is the journey's one timer. It fires when the journey next has
// something due without an event (journey.nextWake), and is re-armed at
// every turn of the loop: an earlier deadline replaces it, a later one
// keeps it. A login moves the inactivity deadlines later every day; keeping
// the earlier timer costs one early wake-up that re-arms, instead of a
// cancel and a new timer in the history at every login.
type wakeTimer struct {
	fired  workflow.Future // nil: no timer running
	at     time.Time
	cancel workflow.CancelFunc
}

// set makes the timer fire no later than at, labelled why in the UI; the
// zero at asks for no wake-up, which keeps a timer already running.
func (t *wakeTimer) set(ctx workflow.Context, at time.Time, why string) {
	if t.fired != nil && (at.IsZero() || !t.at.After(at)) {
		return
	}
	if t.fired != nil {
		t.cancel()
		t.fired = nil
	}
	if at.IsZero() {
		return
	}
	d := max(at.Sub(workflow.Now(ctx)), time.Millisecond) // due now: the next turn acts
	timerCtx, cancel := workflow.WithCancel(ctx)
	t.fired = workflow.NewTimerWithOptions(timerCtx, d, workflow.TimerOptions{Summary: why})
	t.at, t.cancel = at, cancel
}

// addTo makes sel return when the timer fires; then no timer runs until
// the next set.
func (t *wakeTimer) addTo(ctx workflow.Context, sel workflow.Selector) {
	if t.fired == nil {
		return
	}
	sel.AddFuture(t.fired, func(f workflow.Future) {
		t.fired = nil
		_ = f.Get(ctx, nil)
	})
}
