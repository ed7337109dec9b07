package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// metadataQuery is the SDK's built-in query behind the UI's workflow
// metadata (internal.QueryTypeWorkflowMetadata, not exported).
const metadataQuery = "__temporal_workflow_metadata"

// The UI's current details say where the journey is, what it waits for,
// its health and an unpaid invoice, and follow each change.
func TestCurrentDetailsFollowTheJourney(t *testing.T) {
	h := newHarness(t, playbook.Default())
	var seen []string
	look := func() {
		v, err := h.eng.Env().QueryWorkflow(metadataQuery)
		require.NoError(t, err)
		var md sdkpb.WorkflowMetadata
		require.NoError(t, v.Get(&md))
		seen = append(seen, md.GetCurrentDetails())
	}
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	h.at(time.Hour, look)
	h.event(2*time.Hour, "e-login", signals.Login, signals.LoginData{})
	h.at(3*time.Hour, look)
	h.activate(2 * day)
	h.at(2*day+time.Hour, look)
	h.event(3*day, "e-fail", signals.PaymentFailed, paymentFailed("in_1"))
	h.at(3*day+time.Hour, look)
	h.event(4*day, "e-paid", signals.PaymentSucceeded, paid("in_1"))
	h.at(4*day+time.Hour, look)
	h.run(5 * day)

	require.Len(t, seen, 5)
	since := start.Format(time.RFC3339)
	assert.Contains(t, seen[0], "**Stage:** onboarding since "+since+"  \n**Next:** wait until day 1 for activation, else send getting_started email")
	assert.Contains(t, seen[1], "**Stage:** onboarding since "+since)
	assert.Contains(t, seen[2], "**Stage:** adoption since "+start.Add(2*day).Format(time.RFC3339))
	assert.NotContains(t, seen[2], "**Dunning:**")
	assert.Contains(t, seen[3], "**Dunning:** invoice in_1 unpaid since "+start.Add(3*day).Format(time.RFC3339))
	assert.NotContains(t, seen[4], "**Dunning:**")
	for i, d := range seen {
		assert.Regexp(t, `\*\*Health:\*\* \d+ \(`, d, "look %d", i)
	}
}
