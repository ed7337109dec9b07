package workflows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// Deliveries that come late, twice or out of order (docs/events.md).

// eventAt sends an event that happened at occurred (an offset) and arrives
// at arrives: a webhook retried late.
func (h *harness) eventAt(arrives, occurred time.Duration, id string, typ signals.Type, p signals.Payload) {
	ev, err := signals.NewEvent(id, "c-1", typ, h.eng.Origin().Add(occurred), p)
	require.NoError(h.t, err)
	h.signal(arrives, ev)
}

// Stripe delivers invoice.paid, then its retry of the older
// payment_failed of the same invoice: no dunning starts, and no paying
// customer is suspended on day 10.
func TestALateFailureOfAPaidInvoiceStartsNoDunning(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "+15551234567", 20*day)
	h.eventAt(3*day, 3*day, "evt-paid", signals.PaymentSucceeded, paid("in_1"))
	h.eventAt(3*day+time.Hour, 2*day, "evt-failed", signals.PaymentFailed, paymentFailed("in_1"))
	st := h.run(20 * day)

	assert.Empty(t, h.only("dunning."), "no dunning for an invoice paid after the failure")
	assert.Nil(t, st.Dunning)
	assert.False(t, st.Suspended)
	assert.Zero(t, st.Counters.Dunnings)
	assert.True(t, timelineHas(st, workflows.KindSkip, "payment of invoice in_1 failed before it was paid"), "the late failure is noted")
}

// A failure of an invoice paid earlier but failing again later (a new
// attempt after a refund, say) is a new failure: dunning starts.
func TestAFailureAfterThePaymentStillStartsDunning(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "+15551234567", 10*day)
	h.eventAt(3*day, 3*day, "evt-paid", signals.PaymentSucceeded, paid("in_1"))
	h.eventAt(5*day, 5*day, "evt-failed", signals.PaymentFailed, paymentFailed("in_1"))
	st := h.run(10 * day)
	require.NotNil(t, st.Dunning)
	assert.Equal(t, 1, countSends(h.sends(), "dunning.1.failed"))
}

// A payment_failed redelivered after more than SeenEventsSize other events,
// but within Stripe's retry period, is still recognised as a duplicate.
func TestARedeliveryAfterManyEventsIsStillADuplicate(t *testing.T) {
	h := newHarness(t, quiet())
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	h.activate(time.Hour)
	h.event(2*day, "evt-failed", signals.PaymentFailed, paymentFailed("in_1"))
	for i := range workflows.SeenEventsSize + 10 {
		h.event(2*day+time.Minute+time.Duration(i)*time.Second, fmt.Sprintf("e-f-%d", i), signals.FeatureUsed, signals.FeatureUsedData{Feature: "reports"})
	}
	h.eventAt(3*day, 2*day, "evt-failed", signals.PaymentFailed, paymentFailed("in_1"))
	st := h.run(4 * day)
	require.NotNil(t, st.Dunning)
	assert.Equal(t, 1, st.Dunning.Attempt, "the redelivery is not a second attempt")
	assert.Equal(t, 1, st.Counters.EventsDuplicate)
}

// Lists that grow with the customer's events stay bounded.
func TestStateListsAreBounded(t *testing.T) {
	h := newHarness(t, quiet())
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	for i := range workflows.MilestonesKept + 20 {
		h.event(time.Hour+time.Duration(i)*time.Minute, fmt.Sprintf("e-m-%d", i), signals.MilestoneReached, milestone(fmt.Sprintf("custom_%d", i)))
	}
	for i := range workflows.UnpaidKept + 20 {
		h.event(2*day+time.Duration(i)*time.Minute, fmt.Sprintf("e-pf-%d", i), signals.PaymentFailed, paymentFailed(fmt.Sprintf("in_%d", i)))
	}
	for i := range workflows.PaidInvoicesKept + 20 {
		h.event(3*day+time.Duration(i)*time.Minute, fmt.Sprintf("e-p-%d", i), signals.PaymentSucceeded, paid(fmt.Sprintf("in_x%d", i)))
	}
	st := h.run(4 * day)
	assert.LessOrEqual(t, len(st.Milestones), workflows.MilestonesKept)
	require.NotNil(t, st.Dunning)
	assert.LessOrEqual(t, len(st.Dunning.Unpaid), workflows.UnpaidKept)
	assert.LessOrEqual(t, len(st.PaidInvoices), workflows.PaidInvoicesKept)
}

// A renewal moved earlier, so that several of its steps have passed, sends
// as a renewal scheduled that late would: the passed steps are not all
// sent in the same instant.
func TestARenewalMovedEarlierDoesNotSendEveryPassedStep(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "", 200*day)
	h.event(day, "e-r1", signals.RenewalScheduled, renewal(start.Add(150*day)))
	// Day 70: the -90 step (day 60) went. Moved to day 80: -60 (day 20) and
	// -30 (day 50) have passed; -7 (day 73) has not.
	h.event(70*day, "e-r2", signals.RenewalScheduled, renewal(start.Add(80*day)))
	h.run(79 * day)

	renewalSends := h.only("renewal.1.")
	assert.Equal(t, 1, countSends(renewalSends, "renewal.1.value_recap"))
	assert.Zero(t, countSends(renewalSends, "renewal.1.whats_new"), "passed when the renewal moved: too late")
	assert.Zero(t, countSends(renewalSends, "renewal.1.reminder "), "passed when the renewal moved: too late")
	assert.Equal(t, 1, countSends(renewalSends, "renewal.1.final_reminder"), "the last notice still goes, on its day")
	for _, s := range renewalSends {
		assert.NotContains(t, s, at(70*day), "nothing goes at the instant of the move")
	}
}

// START lifts a STOP; it does not grant consent to texts that the
// customer never gave.
func TestStartDoesNotGrantConsentNeverGiven(t *testing.T) {
	h := newHarness(t, quiet())
	s := signup("+15551234567")
	s.SMSConsent = false
	h.event(0, "e-signup", signals.SignedUp, s)
	h.event(time.Hour, "e-stop", signals.ConsentChanged, signals.ConsentChangedData{Channel: signals.ConsentSMS, Status: signals.ConsentOptedOut, Source: signals.SourceTwilioInbound, Reason: "STOP"})
	h.event(2*time.Hour, "e-start", signals.ConsentChanged, signals.ConsentChangedData{Channel: signals.ConsentSMS, Status: signals.ConsentOptedIn, Source: signals.SourceTwilioInbound, Reason: "START"})
	h.event(2*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	st := h.run(6 * day)
	assert.False(t, st.Profile.SMSConsent, "START is not consent")
	assert.False(t, st.Consent.SMSOptedOut, "START lifts the STOP")
	assert.Empty(t, h.only("SendSMS"))
}

// 30 promoter answers in 30 minutes queue one referral ask, not one a day
// for a month: the same template is not queued twice for a customer.
func TestTheSameTemplateIsNotQueuedTwice(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "+15551234567", 100*day)
	h.event(10*day, "e-snap", signals.UsageSnapshot, snapshot(100, 5)) // full seats: the upsell (marketing) takes today's slot
	for i := range 30 {
		h.event(10*day+time.Hour+time.Duration(i)*time.Minute, fmt.Sprintf("e-nps-%d", i), signals.NPSResponse, nps(10, ""))
	}
	var mid workflows.State
	h.at(10*day+2*time.Hour, func() { mid = h.query() })
	h.run(100 * day)
	assert.Equal(t, 1, countSends(h.sends(), "referral_ask"), "one referral ask")
	assert.True(t, timelineHas(mid, workflows.KindSkip, "already waiting"), "the repeats are noted")
}

// A marketing message that cannot go within its validity expires, with a
// note, instead of going weeks late.
func TestDeferredMarketingExpires(t *testing.T) {
	pb := quiet()
	c := pb.Delivery.Caps["marketing"]
	c.PerWeek = 1
	pb.Delivery.Caps["marketing"] = c
	h := newHarness(t, pb)
	activeCustomer(h, "+15551234567", 40*day)
	h.event(10*day, "e-nps", signals.NPSResponse, nps(10, ""))                     // referral ask: sent
	h.event(10*day+time.Hour, "e-snap1", signals.UsageSnapshot, snapshot(100, 5))  // upsell: deferred a week
	h.event(10*day+2*time.Hour, "e-snap2", signals.UsageSnapshot, snapshot(50, 5)) // usage drop: deferred, then again
	st := h.run(40 * day)
	assert.Equal(t, 1, countSends(h.sends(), "referral_ask"))
	assert.Equal(t, 1, countSends(h.sends(), "upsell"))
	assert.Zero(t, countSends(h.sends(), "SendEmail adoption.usage_drop"), "two weeks late: expired")
	assert.True(t, timelineHas(st, workflows.KindSkip, "expired"), "the expiry is noted")
	assert.Empty(t, st.Delivery.Pending)
}

// The queue of deferred messages is bounded.
func TestPendingMessagesAreBounded(t *testing.T) {
	pb := quiet()
	pb.Delivery.Windows = map[string]playbook.Window{"email": {From: "09:00", To: "09:01"}}
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	h.activate(time.Hour)
	var mid workflows.State
	for i := range workflows.PendingKept + 10 {
		h.event(day+12*time.Hour+time.Duration(i)*time.Minute, fmt.Sprintf("e-pf-%d", i), signals.PaymentFailed, paymentFailed(fmt.Sprintf("in_%d", i)))
		h.event(day+12*time.Hour+time.Duration(i)*time.Minute+time.Second, fmt.Sprintf("e-p-%d", i), signals.PaymentSucceeded, paid(fmt.Sprintf("in_%d", i)))
	}
	h.at(day+23*time.Hour, func() { mid = h.query() })
	h.run(2 * day)
	assert.LessOrEqual(t, len(mid.Delivery.Pending), workflows.PendingKept)
	assert.True(t, timelineHas(mid, workflows.KindSkip, "deferred messages are waiting already"))
}

// A message still waiting when the journey completes is noted as not sent.
func TestMessagesPendingAtTheEndAreNoted(t *testing.T) {
	pb := quiet()
	pb.WinBack.Steps[len(pb.WinBack.Steps)-1].Day = pb.WinBack.EndsAfterDays
	pb.Delivery.Windows = map[string]playbook.Window{"email": {From: "09:00", To: "09:01"}}
	h := newHarness(t, pb)
	activeCustomer(h, "", 10*day)
	h.event(10*day, "e-canceled", signals.SubscriptionCanceled, signals.SubscriptionCanceledData{})
	h.run(200 * day)
	require.NotNil(t, h.result, "the journey completed")
	assert.Empty(t, h.result.State.Delivery.Pending)
	assert.True(t, timelineHas(h.result.State, workflows.KindSkip, "not sent, the journey ended"))
}
