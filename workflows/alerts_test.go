package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

const alertKey = "customer:c-1/default-test-run-id/onboarding.escalate/alert"

// answer sends the alert_response update at offset d and records the outcome.
func (h *harness) answer(d time.Duration, in workflows.AlertResponse, outcome *error) {
	h.at(d, func() {
		h.cur.Updates++
		h.env.UpdateWorkflow(workflows.UpdateAlertResponse, "", &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { *outcome = err },
			OnComplete: func(_ any, err error) { *outcome = err },
		}, in)
	})
}

func escalations(sends []string) []string {
	var out []string
	for _, s := range sends {
		if strings.Contains(s, ".escalation") {
			out = append(out, s)
		}
	}
	return out
}

func TestAcknowledgedAlertDoesNotEscalate(t *testing.T) {
	h := newHarness(t, playbook.Default())
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	var outcome error
	h.answer(8*day, workflows.AlertResponse{AlertKey: alertKey, Action: workflows.AlertActionAcknowledge, By: "U0CSM01"}, &outcome)
	st := h.run(20 * day)

	require.NoError(t, outcome)
	assert.Empty(t, escalations(h.sends()))
	require.Len(t, st.Alerts, 1)
	a := st.Alerts[0]
	assert.Equal(t, workflows.AlertAcknowledged, a.Status)
	assert.Equal(t, "U0CSM01", a.AnsweredBy)
	assert.Equal(t, start.Add(8*day), *a.AnsweredAt)
	assert.Nil(t, a.EscalateAt)
	assert.Equal(t, 1, st.Counters.AlertsAnswered)
	assert.True(t, timelineHas(st, workflows.KindEvent, "U0CSM01 acknowledged the not_activated alert"))
}

func TestUnansweredAlertEscalatesOnceAfterBusinessDays(t *testing.T) {
	h := newHarness(t, playbook.Default())
	h.setStart(time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC)) // a Friday: day 7 is a Friday too
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	st := h.run(40 * day)

	// Friday + 2 business days = Tuesday, 4 days later: journey day 11.
	friday := time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC)
	assert.Equal(t, []string{fmt.Sprintf("%s AlertCSM onboarding.escalate.escalation escalation→", friday.Sub(start)+11*day)}, escalations(h.sends()))
	require.Len(t, st.Alerts, 1)
	assert.Equal(t, workflows.AlertEscalated, st.Alerts[0].Status)
	assert.Equal(t, 1, st.Counters.Escalations)
	esc := outboxRecord(t, h, "onboarding.escalate.escalation", "alert")
	assert.Equal(t, "#csm-team", esc.To)
	assert.Contains(t, esc.Body, "nobody has acknowledged the alert about Ana Lima (c-1, pro, 5 seats)")
}

func TestSnoozeDefersEscalation(t *testing.T) {
	pb := playbook.Default()
	pb.Alerts.BusinessDays = false
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	var outcome error
	h.answer(8*day, workflows.AlertResponse{AlertKey: alertKey, Action: workflows.AlertActionSnooze, By: "U0CSM01"}, &outcome)
	st := h.run(20 * day)

	require.NoError(t, outcome)
	// Snoozed on day 8 for 3 days, then the 2-day SLA again: day 13.
	assert.Equal(t, []string{"312h0m0s AlertCSM onboarding.escalate.escalation escalation→"}, escalations(h.sends()))
	assert.Equal(t, workflows.AlertEscalated, st.Alerts[0].Status)
	assert.True(t, timelineHas(st, workflows.KindDecision, "snooze of the not_activated alert ended"))
}

func TestAlertResponseValidation(t *testing.T) {
	h := newHarness(t, playbook.Default())
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	var unknownKey, unknownAction error
	h.answer(8*day, workflows.AlertResponse{AlertKey: "customer:c-1/nope", Action: workflows.AlertActionAcknowledge}, &unknownKey)
	h.answer(8*day, workflows.AlertResponse{AlertKey: alertKey, Action: "dismiss"}, &unknownAction)
	st := h.run(8*day + time.Hour)

	assert.ErrorContains(t, unknownKey, `no alert "customer:c-1/nope"`)
	assert.ErrorContains(t, unknownAction, `unknown action "dismiss"`)
	assert.Equal(t, workflows.AlertOpen, st.Alerts[0].Status, "rejected answers change nothing")
	assert.Equal(t, 0, st.Counters.AlertsAnswered)
}
