package workflows_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// Across continue-as-new nothing is lost or repeated: an event waiting at
// the boundary is applied before the hand-over, sends in flight finish
// first, and the next run still recognises redelivered event IDs and keeps
// the onboarding clock.
func TestContinueAsNewCarriesEverything(t *testing.T) {
	pb := playbook.Default()
	pb.ContinueAsNewAfterEvents = 1

	// The signup reaches the limit while the login is still in the channel:
	// the hand-over applies the login and waits for the welcome email and
	// CRM update in flight before it continues as new.
	first := newHarness(t, pb)
	signupEv, err := signals.NewEvent("e-signup", "c-1", signals.SignedUp, start, signup(""))
	require.NoError(t, err)
	login, err := signals.NewEvent("e-login-1", "c-1", signals.Login, start, signals.LoginData{})
	require.NoError(t, err)
	first.at(0, func() {
		first.env.SignalWorkflow(signals.SignalName, signupEv)
		first.env.SignalWorkflow(signals.SignalName, login)
	})
	first.env.ExecuteWorkflow(workflows.WorkflowType, workflows.Input{CustomerID: "c-1"})

	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(first.env.GetWorkflowError(), &can), "want continue-as-new, got %v", first.env.GetWorkflowError())
	var in workflows.Input
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
	require.NotNil(t, in.Carry)
	carried := in.Carry.State
	assert.Equal(t, "c-1", in.CustomerID)
	assert.Equal(t, workflows.StageOnboarding, carried.Stage)
	assert.Equal(t, 1, carried.Counters.Logins)
	assert.Equal(t, []string{"e-signup", "e-login-1"}, in.Carry.SeenEventIDs, "the login waiting at the hand-over was applied, not dropped")
	assert.Equal(t, 1, carried.Counters.EmailsSent, "the welcome email finished before the hand-over")
	assert.Equal(t, 1, carried.Counters.CRMUpdates)
	assert.Equal(t, start, carried.StartedAt)

	pb.ContinueAsNewAfterEvents = 100
	second := newHarness(t, pb)
	second.env.SetStartTime(start.Add(time.Minute))
	second.event(time.Minute, "e-signup", signals.SignedUp, signup(""))        // redelivered
	second.event(time.Minute, "e-login-1", signals.Login, signals.LoginData{}) // redelivered
	second.at(2*day, func() {
		v, err := second.env.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&second.state))
		second.env.CancelWorkflow()
	})
	second.env.ExecuteWorkflow(workflows.WorkflowType, in)

	st := second.state
	assert.Equal(t, 2, st.Counters.EventsDuplicate, "redeliveries across the boundary are recognised")
	assert.Equal(t, 1, st.Counters.Logins)
	assert.Equal(t, []string{
		"24h0m0s SendEmail onboarding.getting_started getting_started→ana@example.com",
	}, second.sends(), "no second welcome; day 1 is still counted from the original signup")
	assert.Equal(t, 2, st.Counters.EmailsSent)
}
