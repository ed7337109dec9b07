package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/internal/metrics"
	"github.com/journeyshq/journeys/internal/metrics/metricstest"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/sim"
	"github.com/journeyshq/journeys/workflows"
)

// metered runs h's journey with the workflow's and activities' metrics
// recorded into a registry of its own, which it returns. Call it before
// scheduling anything.
func metered(h *harness) *metrics.Registry {
	reg := metricstest.New(h.t)
	h.runs, h.cur = nil, nil
	h.eng = sim.NewEngine(sim.EngineConfig{
		Journeys: h.journey, Activities: h.acts, CustomerID: "c-1", Origin: start, OnRun: h.onRun, Metrics: reg.Handler(),
	})
	return reg
}

// A marketing email due during dunning is suppressed, and an SMS to a
// customer without consent too: each counts with its channel, class and
// reason. The sends that went count in the activities, by class.
func TestSuppressedSendsAreCounted(t *testing.T) {
	pb := quiet()
	pb.NPS = playbook.Default().NPS // the first survey on day 30
	h := newHarness(t, pb)
	reg := metered(h)
	s := signup("+15551234567")
	s.SMSConsent = false
	h.event(0, "e-signup", signals.SignedUp, s)
	h.activate(day)
	h.logins(day, 34*day)
	h.event(25*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	st := h.run(34 * day)
	require.NoError(t, reg.Close())

	m := metricstest.Scrape(t, reg.HTTPHandler())
	suppressed := func(ch, class, reason string) float64 {
		return m.Value("journeys_messages_suppressed_total", map[string]string{"channel": ch, "class": class, "reason": reason})
	}
	assert.Equal(t, 1.0, suppressed("email", "marketing", workflows.SkipDunning), "the day-30 NPS survey")
	assert.Equal(t, float64(st.Counters.SendsSuppressed), m.Value("journeys_messages_suppressed_total", map[string]string{"reason": workflows.SkipDunning}))
	assert.Equal(t, 2.0, suppressed("sms", "transactional", workflows.SkipNoSMSConsent), "the day-3 and day-7 dunning texts")
	assert.True(t, timelineHas(st, workflows.KindSkip, "nps.survey.1: nps_survey not sent, marketing is paused"))
	assert.Equal(t, 1.0, m.Value("journeys_alerts_raised_total", map[string]string{"template": "payment_failing"}))

	sent := func(ch, class string) float64 {
		return m.Value("journeys_messages_sent_total", map[string]string{"channel": ch, "class": class})
	}
	assert.Equal(t, 3.0, sent("email", "transactional"), "the dunning emails")
	assert.Equal(t, float64(st.Counters.EmailsSent), m.Value("journeys_messages_sent_total", map[string]string{"channel": "email"}))
	assert.Equal(t, float64(st.Counters.CSMAlerts), sent("alert", "internal"))
	assert.Equal(t, float64(st.Counters.CRMUpdates), sent("crm", "none"))
	assert.Zero(t, m.Value("journeys_messages_sent_total", map[string]string{"channel": "sms"}))
}

// An alert's life counts: raised, snoozed, escalated once the snooze and
// the SLA ran out, then acknowledged.
func TestAlertLifeIsCounted(t *testing.T) {
	pb := playbook.Default()
	pb.Alerts.BusinessDays = false
	pb.Delivery.Fallback = false
	h := newHarness(t, pb)
	reg := metered(h)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	var snoozed, acked error
	h.answer(8*day, workflows.AlertResponse{AlertKey: alertKey, Action: workflows.AlertActionSnooze, By: "U0CSM01"}, &snoozed)
	h.answer(14*day, workflows.AlertResponse{AlertKey: alertKey, Action: workflows.AlertActionAcknowledge, By: "U0CSM01"}, &acked)
	st := h.run(15 * day)
	require.NoError(t, snoozed)
	require.NoError(t, acked)
	require.NoError(t, reg.Close())

	m := metricstest.Scrape(t, reg.HTTPHandler())
	tmpl := map[string]string{"template": "not_activated"}
	assert.Equal(t, 1.0, m.Value("journeys_alerts_raised_total", tmpl))
	assert.Equal(t, 1.0, m.Value("journeys_alerts_snoozed_total", tmpl))
	assert.Equal(t, 1.0, m.Value("journeys_alerts_escalated_total", tmpl))
	assert.Equal(t, 1.0, m.Value("journeys_alerts_acknowledged_total", tmpl))
	assert.Equal(t, 1, st.Counters.Escalations)
	assert.Equal(t, 2.0, m.Value("journeys_messages_sent_total", map[string]string{"channel": "alert", "class": "internal"}), "the alert and its escalation")
	assert.Equal(t, 1.0, m.Value("journeys_messages_suppressed_total", nil))
	assert.Equal(t, 1.0, m.Value("journeys_messages_suppressed_total", map[string]string{"channel": "sms", "class": "lifecycle", "reason": workflows.SkipNoPhone}),
		"the day-7 onboarding text: the customer gave no phone number")
}
