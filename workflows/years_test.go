package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// maxHistory is the most events one run's history may hold; Temporal's
// hard limit is 51,200 and its continue-as-new suggestion comes near 4,096.
const maxHistory = 10_000

// A customer of three years: daily logins, monthly usage snapshots, two
// renewals, a failed payment recovered, a cancellation, a churn and a
// reactivation. The journey continues as new at every stage boundary, so
// no run's history comes near the limit, and every send happens once.
func TestThreeYearCustomer(t *testing.T) {
	pb := playbook.Default()
	pb.Alerts.SLADays = 0
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	h.activate(2 * day)
	h.logins(2*day, 830*day)
	h.logins(871*day, 3*365*day)
	for d := 15 * day; d < 3*365*day; d += 30 * day {
		if d < 830*day || d > 871*day {
			h.event(d, fmt.Sprintf("e-usage-%d", d/day), signals.UsageSnapshot, snapshot(120, 3))
		}
	}
	h.event(30*day, "e-renewal-1", signals.RenewalScheduled, renewal(start.Add(365*day)))
	first := paid("in_r1")
	first.Renewal = true
	h.event(365*day, "e-paid-r1", signals.PaymentSucceeded, first)
	h.event(366*day, "e-renewal-2", signals.RenewalScheduled, renewal(start.Add(730*day)))
	h.event(400*day, "e-failed", signals.PaymentFailed, paymentFailed("in_400"))
	h.event(404*day, "e-paid-400", signals.PaymentSucceeded, paid("in_400"))
	second := paid("in_r2")
	second.Renewal = true
	h.event(730*day, "e-paid-r2", signals.PaymentSucceeded, second)
	h.event(800*day, "e-cancel", signals.CancellationRequested, signals.CancellationRequestedData{Reason: signals.ReasonPrice})
	h.event(830*day, "e-canceled", signals.SubscriptionCanceled, signals.SubscriptionCanceledData{})
	h.event(870*day, "e-back", signals.Reactivated, signals.ReactivatedData{})

	began := time.Now()
	st := h.run(3 * 365 * day)
	t.Logf("3 simulated years in %s of wall time", time.Since(began).Round(time.Millisecond))

	// History: bounded in every run.
	biggest := 0
	for i, r := range h.runs {
		biggest = max(biggest, r.historyBound())
		assert.LessOrEqual(t, r.historyBound(), maxHistory, "run %d (days %d-%d) may hold %d history events", i+1, r.From/day, r.To/day, r.historyBound())
	}
	t.Logf("%d runs; the largest may hold at most %d history events", len(h.runs), biggest)
	assert.GreaterOrEqual(t, len(h.runs), 9, "a run per stage at least")

	// Every send exactly once.
	seen := map[string]int{}
	for _, s := range h.sends() {
		f := strings.Fields(s)
		seen[f[1]+" "+f[2]]++
	}
	for k, n := range seen {
		assert.Equal(t, 1, n, "%s sent %d times", k, n)
	}
	want := []string{
		"SendEmail onboarding.welcome", "SendEmail onboarding.getting_started", "SendEmail onboarding.activated",
		"SendEmail renewal.1.value_recap", "SendEmail renewal.1.whats_new", "SendEmail renewal.1.reminder", "SendEmail renewal.1.final_reminder",
		"SendEmail renewal.2.value_recap", "SendEmail renewal.2.whats_new", "SendEmail renewal.2.reminder", "SendEmail renewal.2.final_reminder",
		"SendEmail dunning.1.failed", "SendEmail dunning.1.reminder", "SendSMS dunning.1.reminder", "SendEmail dunning.1.recovered",
		"SendEmail cancel.1.exit_survey", "SendEmail cancel.1.save_offer",
		"SendEmail winback.1.whats_new", "SendEmail winback.1.welcome_back",
	}
	for i := 1; i <= 12; i++ {
		want = append(want, fmt.Sprintf("SendEmail nps.survey.%d", i))
	}
	for _, w := range want {
		assert.Equal(t, 1, seen[w], "%s", w)
	}
	for k := range seen {
		if strings.HasPrefix(k, "SendEmail") || strings.HasPrefix(k, "SendSMS") || strings.HasPrefix(k, "AlertCSM") {
			assert.Contains(t, want, k, "unexpected send")
		}
	}

	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.Equal(t, 2, st.Counters.Renewals)
	assert.Equal(t, 1, st.Counters.DunningRecovered)
	assert.Equal(t, 1, st.Counters.Reactivations)
	assert.Equal(t, 828+224, st.Counters.Logins)
	assert.Equal(t, playbook.TierHealthy, st.HealthTier)
	assert.Zero(t, st.Counters.EventsRejected)
	assert.Zero(t, st.Counters.SendsFailed)
}
