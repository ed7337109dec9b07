package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// quiet is the default playbook without alert escalations or NPS surveys,
// so a test sees only the branch it is about.
func quiet() playbook.Playbook {
	pb := playbook.Default()
	pb.Alerts.SLADays = 0
	pb.NPS.FirstDay = 0
	return pb
}

// only lists the sends whose text contains one of parts.
func (h *harness) only(parts ...string) []string {
	var out []string
	for _, s := range h.sends() {
		for _, p := range parts {
			if strings.Contains(s, p) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// at formats an offset as the sends list does.
func at(d time.Duration) string { return d.String() + " " }

// activeCustomer signs up, activates on day 1 and logs in daily until to.
func activeCustomer(h *harness, phone string, to time.Duration) {
	h.event(0, "e-signup", signals.SignedUp, signup(phone))
	h.activate(day)
	h.logins(day, to)
}

func TestInactivityEmailThenAlertAndALoginResetsTheClock(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "", 6*day) // last login on day 5
	h.event(27*day, "e-login-27", signals.Login, signals.LoginData{})
	h.event(40*day, "e-login-40", signals.Login, signals.LoginData{}) // a day before the next email
	st := h.run(50 * day)

	assert.Equal(t, []string{
		at(19*day) + "SendEmail adoption.quiet.1.email re_engagement→ana@example.com",
		at(26*day) + "AlertCSM adoption.quiet.1.alert inactive_customer→U0CSM01",
		at(26*day) + "UpdateCRM adoption.quiet.1.alert.crm →",
	}, h.only("adoption.quiet"), "14 days after the last login an email, 21 days an alert; logins on days 27 and 40 restart the clock")
	email := outboxRecord(t, h, "adoption.quiet.1.email", messages.ChannelEmail)
	assert.Contains(t, email.Body, playbook.Default().Adoption.Tips[0])
	assert.Contains(t, email.Body, "14 days")
	assert.Equal(t, workflows.StageAdoption, st.Stage)
}

func TestUsageDropIsReportedOnceUntilUsageRecovers(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "", 40*day)
	for i, ka := range []int{100, 65, 40, 45, 20} { // -35%, -38%, +12%, -55%
		h.event(time.Duration(5+7*i)*day, fmt.Sprintf("e-usage-%d", i), signals.UsageSnapshot, snapshot(ka, 2))
	}
	st := h.run(40 * day)

	assert.Equal(t, []string{
		at(12*day) + "AlertCSM adoption.usage_drop.1.alert usage_drop→U0CSM01",
		at(12*day) + "SendEmail adoption.usage_drop.1.email usage_drop→ana@example.com",
		at(12*day) + "UpdateCRM adoption.usage_drop.1.alert.crm →",
		at(33*day) + "AlertCSM adoption.usage_drop.2.alert usage_drop→U0CSM01",
		at(33*day) + "SendEmail adoption.usage_drop.2.email usage_drop→ana@example.com",
		at(33*day) + "UpdateCRM adoption.usage_drop.2.alert.crm →",
	}, h.only("usage_drop"))
	assert.True(t, timelineHas(st, workflows.KindSkip, "usage fell 38% again; already reported"))
	alert := outboxRecord(t, h, "adoption.usage_drop.1.alert", messages.ChannelAlert)
	assert.Contains(t, alert.Body, "35%")
}

func TestHealthScoreTiersAndTheCriticalAlertFiresOncePerDrop(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "", 4*day)
	var healthy workflows.State
	h.at(3*day, func() { healthy = h.query() })
	// Things go wrong: a detractor, two urgent tickets, a failed payment and
	// no logins after day 3.
	h.event(5*day, "e-nps", signals.NPSResponse, nps(2, "It keeps crashing"))
	h.event(5*day, "e-t1", signals.SupportTicket, signals.SupportTicketData{TicketID: "T-1", Status: "opened", Priority: "urgent"})
	h.event(5*day, "e-t2", signals.SupportTicket, signals.SupportTicketData{TicketID: "T-2", Status: "opened", Priority: "urgent"})
	h.event(6*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	var critical workflows.State
	h.at(30*day, func() { critical = h.query() })
	// Recovery, then a second drop.
	h.event(31*day, "e-paid", signals.PaymentSucceeded, paid("in_1"))
	h.event(31*day, "e-t1r", signals.SupportTicket, signals.SupportTicketData{TicketID: "T-1", Status: "resolved"})
	h.event(31*day, "e-t2r", signals.SupportTicket, signals.SupportTicketData{TicketID: "T-2", Status: "resolved"})
	h.event(31*day, "e-nps2", signals.NPSResponse, nps(9, ""))
	h.logins(31*day, 36*day)
	var recovered workflows.State
	h.at(36*day, func() { recovered = h.query() })
	h.event(37*day, "e-t3", signals.SupportTicket, signals.SupportTicketData{TicketID: "T-3", Status: "opened", Priority: "urgent"})
	h.event(37*day, "e-t4", signals.SupportTicket, signals.SupportTicketData{TicketID: "T-4", Status: "opened", Priority: "urgent"})
	h.event(37*day, "e-nps3", signals.NPSResponse, nps(1, "Still broken"))
	h.event(37*day, "e-pf2", signals.PaymentFailed, paymentFailed("in_2"))
	st := h.run(70 * day)

	assert.Equal(t, playbook.TierHealthy, healthy.HealthTier)
	assert.GreaterOrEqual(t, healthy.HealthScore, 70)
	assert.Equal(t, playbook.TierCritical, critical.HealthTier)
	assert.Less(t, critical.HealthScore, 40)
	assert.Equal(t, 0, critical.Health.Payment, "suspended after the grace period")
	assert.Equal(t, 0, critical.Health.SupportTickets)
	assert.NotEqual(t, playbook.TierCritical, recovered.HealthTier)
	assert.False(t, recovered.Health.CriticalAlerted)
	assert.Equal(t, playbook.TierCritical, st.HealthTier)
	alerts := h.only("AlertCSM health.critical")
	require.Len(t, alerts, 2, "one alert per drop into critical, none while it stays there")
	assert.Less(t, alerts[0], at(31*day)+"~")
	assert.True(t, strings.HasPrefix(alerts[1], "1") || strings.HasPrefix(alerts[1], "9"), alerts[1])
}

func TestNPSSurveysDetractorsAndPromoters(t *testing.T) {
	pb := quiet()
	pb.NPS = playbook.Default().NPS
	h := newHarness(t, pb)
	activeCustomer(h, "", 125*day)
	h.event(32*day, "e-nps-1", signals.NPSResponse, nps(4, "Reports are too slow"))
	h.event(122*day, "e-nps-2", signals.NPSResponse, nps(10, ""))
	h.run(125 * day)

	assert.Equal(t, []string{
		at(30*day) + "SendEmail nps.survey.1 nps_survey→ana@example.com",
		at(32*day) + "AlertCSM nps.answer.1.detractor nps_detractor→U0CSM01",
		at(32*day) + "UpdateCRM nps.answer.1.detractor.crm →",
		at(120*day) + "SendEmail nps.survey.2 nps_survey→ana@example.com",
		at(122*day) + "SendEmail nps.answer.2.promoter referral_ask→ana@example.com",
	}, h.only("nps."))
	alert := outboxRecord(t, h, "nps.answer.1.detractor", messages.ChannelAlert)
	assert.Contains(t, alert.Body, "Reports are too slow")
}

func TestExpansionUpsellOncePerSeatCountAndOwnerAlertForHighValue(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "", 30*day)
	h.event(5*day, "e-u1", signals.UsageSnapshot, snapshot(100, 5)) // 5 of 5 seats
	h.event(12*day, "e-u2", signals.UsageSnapshot, snapshot(100, 5))
	h.event(13*day, "e-plan", signals.PlanChanged, signals.PlanChangedData{Plan: "pro", Seats: 10, MRR: 99800})
	h.event(19*day, "e-u3", signals.UsageSnapshot, snapshot(100, 9)) // 9 of 10
	h.run(30 * day)
	assert.Equal(t, []string{
		at(5*day) + "SendEmail expansion.1.email upsell→ana@example.com",
		at(19*day) + "SendEmail expansion.2.email upsell→ana@example.com",
	}, h.only("expansion."))

	big := newHarness(t, quiet())
	big.event(0, "e-signup", signals.SignedUp, signals.SignedUpData{Name: "Ana Lima", Email: "ana@example.com", Plan: "enterprise", Seats: 50, CSM: "U0CSM01", MRR: 500000})
	big.activate(day)
	big.logins(day, 10*day)
	big.event(5*day, "e-u1", signals.UsageSnapshot, snapshot(100, 46))
	big.run(10 * day)
	assert.Equal(t, []string{
		at(5*day) + "AlertCSM expansion.1.owner expansion_opportunity→U0CSM01",
		at(5*day) + "UpdateCRM expansion.1.owner.crm →",
	}, big.only("expansion."), "a high-value account's owner hears of it instead of an email")
}

func TestRenewalSequenceAndTheNextRenewal(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "", 300*day)
	h.event(10*day, "e-r1", signals.RenewalScheduled, renewal(start.Add(200*day)))
	var during workflows.State
	h.at(150*day, func() { during = h.query() })
	pay := paid("in_renewal_1")
	pay.Renewal = true
	h.event(200*day, "e-pay-r1", signals.PaymentSucceeded, pay)
	h.event(201*day, "e-r2", signals.RenewalScheduled, renewal(start.Add(565*day)))
	st := h.run(300 * day)

	assert.Equal(t, []string{
		at(110*day) + "SendEmail renewal.1.value_recap renewal_value_recap→ana@example.com",
		at(110*day) + "UpdateCRM stage.3.renewal →renewal",
		at(140*day) + "SendEmail renewal.1.whats_new renewal_whats_new→ana@example.com",
		at(170*day) + "SendEmail renewal.1.reminder renewal_reminder→ana@example.com",
		at(193*day) + "SendEmail renewal.1.final_reminder renewal_final_reminder→ana@example.com",
		at(200*day) + "UpdateCRM stage.4.adoption →adoption",
	}, h.only("renewal.", "stage.3", "stage.4"), "no CSM alert at 30 days: the customer is healthy and not high-value")
	assert.Equal(t, workflows.StageRenewal, during.Stage)
	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.Equal(t, 1, st.Counters.Renewals)
	require.NotNil(t, st.Renewal, "the next renewal is open")
	assert.Equal(t, start.Add(565*day), st.Renewal.RenewsAt)
	assert.Empty(t, h.only("AlertCSM renewal."))
	recap := outboxRecord(t, h, "renewal.1.value_recap", messages.ChannelEmail)
	assert.Contains(t, recap.Body, "September 18, 2026", "the renewal date in the customer's time zone")
}

func TestRenewalAlertsTheCSMWhenAtRisk(t *testing.T) {
	h := newHarness(t, quiet())
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	h.activate(day)
	h.event(5*day, "e-r1", signals.RenewalScheduled, renewal(start.Add(60*day)))
	h.run(31 * day)
	// No logins at all: by day 30 the customer is no longer healthy.
	assert.Equal(t, []string{
		at(30*day) + "AlertCSM renewal.1.reminder renewal_at_risk→U0CSM01",
		at(30*day) + "SendEmail renewal.1.reminder renewal_reminder→ana@example.com",
		at(30*day) + "UpdateCRM renewal.1.reminder.crm →",
	}, h.only("renewal.1.reminder"))
	assert.NotContains(t, strings.Join(h.sends(), "\n"), "renewal.1.value_recap", "the 90-day step had passed when the renewal was scheduled: not sent late")
}

func TestDunningRecoveredBeforeSuspensionAndMarketingPaused(t *testing.T) {
	pb := quiet()
	pb.NPS = playbook.Default().NPS // the day-30 survey falls inside dunning
	h := newHarness(t, pb)
	activeCustomer(h, "+15551234567", 60*day)
	h.event(28*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	var mid workflows.State
	h.at(29*day, func() { mid = h.query() })
	h.event(36*day+time.Hour, "e-paid", signals.PaymentSucceeded, paid("in_1"))
	st := h.run(60 * day)

	assert.Equal(t, []string{
		at(28*day) + "SendEmail dunning.1.failed payment_failed→ana@example.com",
		at(31*day) + "SendEmail dunning.1.reminder payment_reminder→ana@example.com",
		at(31*day) + "SendSMS dunning.1.reminder payment_reminder→+15551234567",
		at(35*day) + "AlertCSM dunning.1.final_reminder payment_failing→U0CSM01",
		at(35*day) + "SendEmail dunning.1.final_reminder payment_final_reminder→ana@example.com",
		at(35*day) + "SendSMS dunning.1.final_reminder payment_reminder→+15551234567",
		at(35*day) + "UpdateCRM dunning.1.final_reminder.crm →",
		at(36*day+time.Hour) + "SendEmail dunning.1.recovered payment_recovered→ana@example.com",
	}, h.only("dunning."), "the payment stops the sequence at once: no suspension on day 10")
	assert.True(t, mid.Counters.Dunnings == 1 && mid.Dunning != nil)
	assert.Nil(t, st.Dunning)
	assert.False(t, st.Suspended)
	assert.Equal(t, 1, st.Counters.DunningRecovered)
	assert.Empty(t, h.only("nps.survey.1"), "the day-30 survey is marketing: not sent while dunning")
	assert.GreaterOrEqual(t, st.Counters.SendsSuppressed, 1)
	failed := outboxRecord(t, h, "dunning.1.failed", messages.ChannelEmail)
	assert.Contains(t, failed.Body, "https://billing.example.com/update")
	assert.Contains(t, failed.Body, "$499.00")
}

func TestDunningSuspendsThenAPaymentRestores(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "+15551234567", 20*day)
	h.event(2*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	h.event(4*day, "e-pf2", signals.PaymentFailed, paymentFailed("in_1")) // the processor's retry fails too
	var suspended workflows.State
	h.at(12*day+time.Hour, func() { suspended = h.query() })
	h.event(14*day, "e-paid", signals.PaymentSucceeded, paid("in_1"))
	st := h.run(20 * day)

	assert.Equal(t, []string{
		at(12*day) + "SendEmail dunning.1.suspended account_suspended→ana@example.com",
		at(12*day) + "SuspendAccount dunning.1.suspend →in_1",
		at(12*day) + "UpdateCRM dunning.1.suspend.crm →",
		at(14*day) + "RestoreAccount dunning.1.restore →in_1",
		at(14*day) + "SendEmail dunning.1.recovered payment_recovered→ana@example.com",
		at(14*day) + "UpdateCRM dunning.1.restore.crm →",
	}, h.only("dunning.1.suspend", "dunning.1.restore", "dunning.1.recovered"))
	assert.Equal(t, 1, countSends(h.sends(), "dunning.1.failed"), "a second failure of the same invoice does not restart dunning")
	assert.True(t, suspended.Suspended)
	assert.Equal(t, 2, suspended.Dunning.Attempt)
	assert.False(t, st.Suspended)
	assert.Nil(t, st.Dunning)
	assert.Equal(t, 1, st.Counters.Suspensions)
	rec := outboxRecord(t, h, "dunning.1.suspend", messages.ChannelBilling)
	assert.Equal(t, "customer:c-1/default-test-run-id/dunning.1.suspend/billing", rec.IdempotencyKey)
}

func TestDunningSMSNeedsConsent(t *testing.T) {
	h := newHarness(t, quiet())
	s := signup("+15551234567")
	s.SMSConsent = false
	h.event(0, "e-signup", signals.SignedUp, s)
	h.activate(day)
	h.event(2*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	st := h.run(6 * day)
	assert.Empty(t, h.only("SendSMS"))
	assert.True(t, timelineHas(st, workflows.KindSkip, "dunning.1.reminder: payment_reminder sms not sent, the customer has not consented to texts"))
}

// Dunning in the middle of renewal: the renewal's reminders (lifecycle
// messages) go on, marketing stops, and the renewal payment ends both.
func TestDunningDuringRenewal(t *testing.T) {
	pb := quiet()
	pb.NPS = playbook.Default().NPS
	h := newHarness(t, pb)
	activeCustomer(h, "", 130*day)
	h.event(5*day, "e-r1", signals.RenewalScheduled, renewal(start.Add(125*day)))
	h.event(88*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	pay := paid("in_1")
	pay.Renewal = true
	h.event(96*day, "e-paid", signals.PaymentSucceeded, pay)
	st := h.run(130 * day)

	sends := h.only("renewal.", "dunning.", "nps.survey")
	assert.Contains(t, sends, at(95*day)+"SendEmail renewal.1.reminder renewal_reminder→ana@example.com", "lifecycle messages go on during dunning")
	assert.Contains(t, sends, at(88*day)+"SendEmail dunning.1.failed payment_failed→ana@example.com")
	assert.Contains(t, sends, at(96*day)+"SendEmail dunning.1.recovered payment_recovered→ana@example.com")
	assert.NotContains(t, sends, at(90*day)+"SendEmail nps.survey.2 nps_survey→ana@example.com", "the day-90 survey is suppressed")
	assert.NotContains(t, strings.Join(sends, "\n"), "renewal.1.final_reminder", "the renewal was paid before its last reminder")
	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.Nil(t, st.Renewal)
	assert.Nil(t, st.Dunning)
	assert.Equal(t, 1, st.Counters.Renewals)
}

func TestCancellationSaveOfferByReason(t *testing.T) {
	for reason, offer := range map[string]string{
		signals.ReasonPrice:          "save_offer_discount",
		signals.ReasonMissingFeature: "save_offer_roadmap",
		signals.ReasonNotUsing:       "save_offer_onboarding_help",
		signals.ReasonSwitching:      "",
	} {
		t.Run(reason, func(t *testing.T) {
			h := newHarness(t, quiet())
			activeCustomer(h, "", 10*day)
			h.event(5*day, "e-cancel", signals.CancellationRequested, signals.CancellationRequestedData{Reason: reason, Comment: "We need SSO"})
			st := h.run(10 * day)
			want := []string{at(5*day) + "SendEmail cancel.1.exit_survey exit_survey→ana@example.com"}
			if offer != "" {
				want = append(want, at(5*day)+"SendEmail cancel.1.save_offer "+offer+"→ana@example.com")
			}
			assert.Equal(t, want, h.only("cancel."), "no CSM alert: the account is not high-value")
			assert.Equal(t, workflows.StageCancelling, st.Stage)
		})
	}

	h := newHarness(t, quiet())
	s := signup("")
	s.MRR = 300000
	h.event(0, "e-signup", signals.SignedUp, s)
	h.activate(day)
	h.event(5*day, "e-cancel", signals.CancellationRequested, signals.CancellationRequestedData{Reason: signals.ReasonPrice})
	h.event(7*day, "e-withdraw", signals.CancellationWithdrawn, signals.CancellationWithdrawnData{})
	st := h.run(8 * day)
	assert.Contains(t, h.sends(), at(5*day)+"AlertCSM cancel.1.alert cancellation_high_value→U0CSM01")
	offer := outboxRecord(t, h, "cancel.1.save_offer", messages.ChannelEmail)
	assert.Contains(t, offer.Body, playbook.Default().Cancellation.DiscountOffer)
	assert.Equal(t, workflows.StageAdoption, st.Stage, "withdrawn: back where the customer was")
	assert.Equal(t, 1, st.Counters.Saves)
	assert.Nil(t, st.Cancellation)
}

func TestChurnWinBackAndTheJourneyCompletes(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "", 10*day)
	h.event(8*day, "e-cancel", signals.CancellationRequested, signals.CancellationRequestedData{Reason: signals.ReasonNotUsing})
	h.event(10*day, "e-canceled", signals.SubscriptionCanceled, signals.SubscriptionCanceledData{})
	st := h.run(200 * day)

	assert.Equal(t, []string{
		at(40*day) + "SendEmail winback.1.whats_new winback_whats_new→ana@example.com",
		at(70*day) + "SendEmail winback.1.offer winback_offer→ana@example.com",
		at(100*day) + "SendEmail winback.1.last_note winback_last_note→ana@example.com",
	}, h.only("winback."))
	require.NotNil(t, h.result, "the journey completed on its own")
	sum := h.result.Summary
	require.NotNil(t, sum)
	assert.Equal(t, workflows.StageChurned, st.Stage)
	assert.Equal(t, start.Add(130*day), sum.EndedAt)
	assert.Equal(t, 10, sum.CustomerDays)
	assert.Equal(t, signals.ReasonNotUsing, sum.ChurnReason)
	assert.Equal(t, 1, sum.Counters.Churns)
	var stages []workflows.Stage
	for _, v := range sum.Stages {
		stages = append(stages, v.Stage)
	}
	assert.Equal(t, []workflows.Stage{workflows.StageOnboarding, workflows.StageAdoption, workflows.StageCancelling, workflows.StageChurned}, stages)
	offer := outboxRecord(t, h, "winback.1.offer", messages.ChannelEmail)
	assert.Contains(t, offer.Body, playbook.Default().WinBack.Offer)
}

func TestReactivationActsAtOnceAndEndsTheWinBack(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "", 10*day)
	h.event(10*day, "e-canceled", signals.SubscriptionCanceled, signals.SubscriptionCanceledData{})
	h.event(55*day+3*time.Hour, "e-back", signals.Reactivated, signals.ReactivatedData{Plan: "team", Seats: 3})
	h.logins(56*day, 80*day)
	st := h.run(150 * day)

	assert.Equal(t, []string{
		at(40*day) + "SendEmail winback.1.whats_new winback_whats_new→ana@example.com",
		at(55*day+3*time.Hour) + "SendEmail winback.1.welcome_back welcome_back→ana@example.com",
	}, h.only("winback."), "welcome back at the moment of the reactivation; no more win-back")
	assert.Nil(t, h.result, "a reactivated journey goes on")
	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.Equal(t, "team", st.Profile.Plan)
	assert.Equal(t, 1, st.Counters.Reactivations)
	assert.Contains(t, h.only("adoption.quiet"), at(93*day)+"SendEmail adoption.quiet.1.email re_engagement→ana@example.com",
		"adoption's inactivity watch runs again from the reactivation (last login day 79)")
}

func TestReactivationCanRestartOnboarding(t *testing.T) {
	pb := quiet()
	pb.WinBack.ReactivateTo = "onboarding"
	h := newHarness(t, pb)
	activeCustomer(h, "", 5*day)
	h.event(5*day, "e-canceled", signals.SubscriptionCanceled, signals.SubscriptionCanceledData{})
	h.event(20*day, "e-back", signals.Reactivated, signals.ReactivatedData{})
	st := h.run(24 * day)

	assert.Equal(t, []string{
		at(21*day) + "SendEmail onboarding.r2.getting_started getting_started→ana@example.com",
		at(23*day) + "SendEmail onboarding.r2.nudge onboarding_nudge→ana@example.com",
	}, h.only("onboarding.r2."), "a second onboarding, on its own clock and keys")
	assert.Equal(t, workflows.StageOnboarding, st.Stage)
	assert.Empty(t, st.Milestones)
}

// Events of the lifecycle reach a journey that is not in the stage for
// them: they are recorded and change nothing they should not.
func TestLifecycleEventsOutOfPlace(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "", 3*day)
	h.event(2*day, "e-withdraw", signals.CancellationWithdrawn, signals.CancellationWithdrawnData{})
	h.event(2*day, "e-back", signals.Reactivated, signals.ReactivatedData{})
	h.event(2*day, "e-paid", signals.PaymentSucceeded, paid("in_9"))
	h.event(2*day, "e-ticket", signals.SupportTicket, signals.SupportTicketData{TicketID: "T-9", Status: "resolved"})
	st := h.run(3 * day)
	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.True(t, timelineHas(st, workflows.KindSkip, "cancellation withdrawal ignored: the customer is adoption"))
	assert.True(t, timelineHas(st, workflows.KindSkip, "reactivation ignored: the customer is adoption"))
	assert.True(t, timelineHas(st, workflows.KindSkip, "ticket T-9 resolved, but it was not open here"))
	assert.Zero(t, st.Counters.EventsRejected)
}
