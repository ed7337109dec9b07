package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// countSends counts the sends of step prefix by activity.
func countSends(sends []string, substr string) int {
	n := 0
	for _, s := range sends {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

// At a stage boundary the journey continues as new once nothing is in
// flight. Events sent at the very moment of the boundary and just after it
// are applied once, in the run they reach; redeliveries across it are
// recognised; the sends decided at the boundary happen exactly once.
func TestStageBoundaryLosesAndRepeatsNothing(t *testing.T) {
	h := newHarness(t, playbook.Default())
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	h.event(time.Hour, "e-m1", signals.MilestoneReached, milestone("first_project"))
	h.event(2*time.Hour, "e-m2", signals.MilestoneReached, milestone("invited_teammate"))
	// Activation at 2 days: onboarding → adoption, a boundary. The login and
	// the failed payment arrive at the same instant; the redelivered
	// milestone and a second login a moment later.
	h.event(2*day, "e-m3", signals.MilestoneReached, milestone("connected_integration"))
	h.event(2*day, "e-login-1", signals.Login, signals.LoginData{})
	h.event(2*day, "e-pay-1", signals.PaymentFailed, paymentFailed("in_1"))
	h.event(2*day+time.Second, "e-m3", signals.MilestoneReached, milestone("connected_integration"))
	h.event(2*day+time.Second, "e-login-2", signals.Login, signals.LoginData{})
	h.event(2*day+time.Minute, "e-login-1", signals.Login, signals.LoginData{})
	st := h.run(3 * day)

	require.GreaterOrEqual(t, len(h.runs), 2, "the boundary started a fresh run")
	assert.True(t, h.runs[0].ContinuedAsNew)
	sends := h.sends()
	assert.Equal(t, 1, countSends(sends, "SendEmail onboarding.activated"), sends)
	assert.Equal(t, 1, countSends(sends, "UpdateCRM stage.2.adoption"), sends)
	assert.Equal(t, 1, countSends(sends, "SendEmail dunning.1.failed"), sends)
	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.Equal(t, 2, st.Counters.Logins)
	assert.Equal(t, 2, st.Counters.EventsDuplicate, "the redelivered milestone and login")
	assert.Equal(t, 7, st.Counters.EventsApplied)
	require.NotNil(t, st.Dunning)
	// Every send decided before a hand-over finished before it: the state
	// counts them all, none was cut off.
	emails := countSends(sends, "SendEmail")
	assert.Equal(t, emails, st.Counters.EmailsSent)
	assert.Equal(t, countSends(sends, "UpdateCRM"), st.Counters.CRMUpdates)
}

// With continue_as_new_after_events at 1, every event hands over to a new
// run: onboarding still runs on the original clock, and nothing is sent
// twice.
func TestContinueAsNewAfterEveryEvent(t *testing.T) {
	pb := playbook.Default()
	pb.ContinueAsNewAfterEvents = 1
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	h.event(0, "e-login-1", signals.Login, signals.LoginData{})
	h.event(time.Minute, "e-signup", signals.SignedUp, signup(""))        // redelivered
	h.event(time.Minute, "e-login-1", signals.Login, signals.LoginData{}) // redelivered
	h.event(30*time.Hour, "e-login-2", signals.Login, signals.LoginData{})
	st := h.run(4 * day)

	assert.GreaterOrEqual(t, len(h.runs), 4)
	assert.Equal(t, []string{
		"0s SendEmail onboarding.welcome welcome→ana@example.com",
		"0s UpdateCRM stage.1.onboarding →onboarding",
		"24h0m0s SendEmail onboarding.getting_started getting_started→ana@example.com",
		"72h0m0s SendEmail onboarding.nudge onboarding_nudge→ana@example.com",
	}, h.sends(), "no second welcome; day 1 and day 3 are counted from the original signup")
	assert.Equal(t, 2, st.Counters.EventsDuplicate)
	assert.Equal(t, 2, st.Counters.Logins)
	assert.Equal(t, start, st.StartedAt)
	assert.Equal(t, 3, st.Counters.EmailsSent)
}
