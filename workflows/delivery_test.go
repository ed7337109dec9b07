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

// sentAt lists when (as the sends list shows offsets from start) each send
// of activity for step went.
func (h *harness) sentAt(activity, step string) []string {
	var out []string
	for _, s := range h.sends() {
		if f := strings.Fields(s); len(f) >= 3 && f[1] == activity && f[2] == step {
			out = append(out, f[0])
		}
	}
	return out
}

// offset is t as the sends list shows it.
func offset(t time.Time) string { return t.Sub(start).String() }

var newYork = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// A frequency cap defers a marketing message to the next day the cap
// allows, at cap_resume_at local time, and the timeline says so.
func TestFrequencyCapDefersANudgeToTheNextDay(t *testing.T) {
	pb := quiet()
	pb.Onboarding.Steps = []playbook.Step{
		{Name: "tips", Day: 3, Email: "getting_started", Class: playbook.ClassMarketing},
		{Name: "nudge", Day: 3, Email: "onboarding_nudge", Class: playbook.ClassMarketing},
	}
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	st := h.run(6 * day)

	// Day 3 is 09:00 in New York; the nudge waits for day 4 at 09:00 New York.
	assert.Equal(t, []string{(3 * day).String()}, h.sentAt("SendEmail", "onboarding.tips"))
	assert.Equal(t, []string{(4 * day).String()}, h.sentAt("SendEmail", "onboarding.nudge"))
	assert.True(t, timelineHas(st, workflows.KindDecision, "onboarding.nudge: onboarding_nudge email deferred, the marketing cap of 1 a day is reached: next slot Fri Mar 6 09:00 EST"))
	assert.Equal(t, 1, st.Counters.DeferredCap)
	assert.Empty(t, st.Delivery.Pending)
}

// The weekly cap counts 7 local days; a template set to drop is dropped
// instead of deferred; transactional messages are never capped.
func TestWeeklyCapDropAndTransactionalExempt(t *testing.T) {
	pb := quiet()
	pb.Delivery.Caps = map[string]playbook.Cap{playbook.ClassMarketing: {PerWeek: 2}}
	pb.Delivery.CappedTemplates = map[string]string{"welcome": playbook.CappedDrop}
	pb.Onboarding.Steps = []playbook.Step{
		{Name: "one", Day: 1, Email: "getting_started", Class: playbook.ClassMarketing},
		{Name: "two", Day: 2, Email: "onboarding_nudge", Class: playbook.ClassMarketing},
		{Name: "three", Day: 3, Email: "onboarding_nudge", Class: playbook.ClassMarketing},
		{Name: "four", Day: 4, Email: "welcome", Class: playbook.ClassMarketing},
		{Name: "bill", Day: 4, Email: "payment_failed", Class: playbook.ClassTransactional},
	}
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	st := h.run(10 * day)

	// Day 8 is March 10, after the clocks went forward: 09:00 is 13:00 UTC.
	assert.Equal(t, []string{offset(time.Date(2026, 3, 10, 9, 0, 0, 0, newYork))}, h.sentAt("SendEmail", "onboarding.three"), "day 1's send leaves the 7 days on day 8")
	assert.Empty(t, h.sentAt("SendEmail", "onboarding.four"), "welcome is set to drop")
	assert.True(t, timelineHas(st, workflows.KindSkip, "onboarding.four: welcome email dropped, the marketing cap of 2 in 7 days is reached"))
	assert.Equal(t, []string{(4 * day).String()}, h.sentAt("SendEmail", "onboarding.bill"), "transactional goes through a full cap")
	assert.Equal(t, 1, st.Counters.DroppedCap)
}

// c1Spread is how far into the 09:00-20:00 SMS window a message deferred
// to its opening wakes for customer c-1 (windows.go).
var c1Spread = workflows.SpreadOffset("c-1", 11*time.Hour/workflows.SpreadShare)

// An SMS due at night waits for 09:00 local time (and the customer's
// spread), also on the nights the clocks change in New York, and the CSM
// alert of the same step does not wait.
func TestQuietHoursDeferAnSMSToNineLocalAcrossDST(t *testing.T) {
	for _, tc := range []struct {
		name   string
		origin time.Time // day 7, when the step runs, is 7×24h later
		due    string    // the step's local time
		sentAt time.Time
	}{
		{"standard time", time.Date(2026, 1, 13, 7, 0, 0, 0, time.UTC), "Tue Jan 20 02:00 EST", time.Date(2026, 1, 20, 9, 0, 0, 0, newYork)},
		{"clocks go back", time.Date(2026, 10, 25, 7, 0, 0, 0, time.UTC), "Sun Nov 1 02:00 EST", time.Date(2026, 11, 1, 9, 0, 0, 0, newYork)},
		{"clocks go forward", time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC), "Sun Mar 8 03:00 EDT", time.Date(2026, 3, 8, 9, 0, 0, 0, newYork)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, quiet())
			h.setStart(tc.origin)
			h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
			st := h.run(9 * day)
			tc.sentAt = tc.sentAt.Add(c1Spread)

			stepAt := tc.origin.Add(7 * day)
			assert.Equal(t, tc.due, stepAt.In(newYork).Format("Mon Jan 2 15:04 MST"))
			assert.Equal(t, []string{offset(stepAt)}, h.sentAt("AlertCSM", "onboarding.escalate"), "alerts are not held")
			assert.Equal(t, []string{offset(tc.sentAt)}, h.sentAt("SendSMS", "onboarding.escalate"), "sent at 09:00 New York and the spread")
			assert.True(t, timelineHas(st, workflows.KindDecision, "onboarding.escalate: onboarding_nudge sms deferred, quiet hours: sms may go from "+tc.sentAt.Format("Mon Jan 2 15:04 MST")))
			assert.Equal(t, 1, st.Counters.DeferredQuietHours)
		})
	}
}

// A deferred message is checked again when it is due: a customer who
// activated in the night gets no onboarding nudge in the morning.
func TestDeferredMessageIsCheckedAgainWhenDue(t *testing.T) {
	h := newHarness(t, quiet())
	origin := time.Date(2026, 1, 13, 7, 0, 0, 0, time.UTC) // day 7 at 02:00 New York
	h.setStart(origin)
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	h.activate(7*day + 3*time.Hour)
	st := h.run(9 * day)

	assert.Empty(t, h.sentAt("SendSMS", "onboarding.escalate"))
	assert.True(t, timelineHas(st, workflows.KindSkip, "onboarding.escalate: deferred onboarding_nudge sms dropped, onboarding is over"))
}

// STOP stops every text, transactional too; START brings them back.
func TestSMSOptOutAndBackIn(t *testing.T) {
	pb := quiet()
	pb.Delivery.Fallback = false
	h := newHarness(t, pb)
	activeCustomer(h, "+15551234567", 30*day)
	h.event(2*day, "e-stop", signals.ConsentChanged, signals.ConsentChangedData{Channel: signals.ConsentSMS, Status: signals.ConsentOptedOut, Source: signals.SourceTwilioInbound, Reason: "STOP"})
	h.event(3*day, "e-pf1", signals.PaymentFailed, paymentFailed("in_1"))
	h.event(15*day, "e-start", signals.ConsentChanged, signals.ConsentChangedData{Channel: signals.ConsentSMS, Status: signals.ConsentOptedIn, Source: signals.SourceTwilioInbound, Reason: "START"})
	h.event(16*day, "e-paid", signals.PaymentSucceeded, paid("in_1"))
	h.event(17*day, "e-pf2", signals.PaymentFailed, paymentFailed("in_2"))
	st := h.run(25 * day)

	assert.Equal(t, []string{(20 * day).String()}, h.sentAt("SendSMS", "dunning.2.reminder"), "only the second dunning's texts, after START")
	assert.Empty(t, h.sentAt("SendSMS", "dunning.1.reminder"))
	assert.Len(t, h.sentAt("SendEmail", "dunning.1.reminder"), 1, "the email of the same step still goes")
	assert.True(t, timelineHas(st, workflows.KindEvent, "opted out of SMS (twilio inbound): STOP: no more texts"))
	assert.True(t, timelineHas(st, workflows.KindSkip, "dunning.1.reminder: payment_reminder sms not sent, the customer opted out of texts"))
	assert.True(t, timelineHas(st, workflows.KindEvent, "opted in to SMS (twilio inbound): START"))
	assert.False(t, st.Consent.SMSOptedOut)
}

// An unsubscribe stops marketing email; a dunning email still goes.
func TestUnsubscribeStopsMarketingEmailNotTransactional(t *testing.T) {
	pb := quiet()
	pb.NPS = playbook.Default().NPS // a survey (marketing) on day 30
	h := newHarness(t, pb)
	activeCustomer(h, "", 40*day)
	h.event(5*day, "e-unsub", signals.ConsentChanged, signals.ConsentChangedData{Channel: signals.ConsentEmail, Status: signals.ConsentOptedOut, Source: signals.SourceSendGrid, Reason: "unsubscribe"})
	h.event(33*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	st := h.run(36 * day)

	assert.Empty(t, h.sentAt("SendEmail", "nps.survey.1"))
	assert.True(t, timelineHas(st, workflows.KindSkip, "nps.survey.1: nps_survey email not sent, the customer unsubscribed from marketing email"))
	assert.Len(t, h.sentAt("SendEmail", "dunning.1.failed"), 1)
	assert.Empty(t, h.only("customer_unreachable"), "an opt-out from marketing is no reason to alert")
}

// Without a phone the day-7 text goes by email; with neither a usable
// address nor a phone, the CSM hears once that the customer is unreachable.
func TestFallbackFromSMSToEmailAndUnreachable(t *testing.T) {
	h := newHarness(t, quiet())
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	h.event(8*day, "e-bounce", signals.ConsentChanged, signals.ConsentChangedData{Channel: signals.ConsentEmail, Status: signals.ConsentUnusable, Source: signals.SourceSendGrid, Reason: "bounce 5.1.1"})
	h.event(9*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	st := h.run(21 * day) // suspended on day 19

	assert.Equal(t, []string{(7 * day).String()}, h.sentAt("SendEmail", "onboarding.escalate"), "the text's template, by email")
	assert.True(t, timelineHas(st, workflows.KindDecision, "onboarding.escalate: onboarding_nudge goes by email, the customer has no phone number"))
	assert.Equal(t, 1, st.Counters.FellBack)

	assert.Empty(t, h.sentAt("SendEmail", "dunning.1.failed"))
	assert.True(t, timelineHas(st, workflows.KindSkip, "dunning.1.failed: payment_failed email not sent, the email address is unusable (bounce 5.1.1); sms: there is no payment_failed sms"))
	unreachable := h.only("customer_unreachable")
	assert.True(t, timelineHas(st, workflows.KindSkip, "dunning.1.suspended: account_suspended email not sent"))
	require.Len(t, unreachable, 1, "told once, though the failed payment's and the suspension's emails found no channel")
	rec := outboxRecord(t, h, strings.Fields(unreachable[0])[2], messages.ChannelAlert)
	assert.Contains(t, rec.Body, "cannot be reached: the payment failed message had no channel left (email: the email address is unusable (bounce 5.1.1); sms: there is no payment_failed sms)")
}

// Experiment assignment depends only on the customer ID and the
// experiment's name, follows the weights, and is recorded on the journey,
// the CRM contact and the send.
func TestExperimentVariantIsDeterministicAndRecorded(t *testing.T) {
	e := playbook.Experiment{Name: "nudge_timing", Step: "onboarding.nudge", Variants: []playbook.Variant{
		{Name: "day_3", Weight: 1}, {Name: "day_5", Weight: 3, Day: new(5)},
	}}
	counts := map[string]int{}
	for i := range 10000 {
		id := fmt.Sprintf("c-%d", i)
		counts[workflows.VariantOf(id, e).Name]++
	}
	// The same on every worker and in every version: a hash of the ID and
	// the experiment's name, nothing of the process.
	assert.Equal(t, "day_5", workflows.VariantOf("c-1", e).Name)
	assert.Equal(t, "day_3", workflows.VariantOf("c-20", e).Name)
	assert.InDelta(t, 7500, counts["day_5"], 250, "weights 1:3")
	other := e
	other.Name = "other"
	same := 0
	for i := range 1000 {
		id := fmt.Sprintf("c-%d", i)
		if workflows.VariantOf(id, e).Name == workflows.VariantOf(id, other).Name {
			same++
		}
	}
	assert.InDelta(t, 625, same, 80, "experiments split independently (1/16 + 9/16 agree by chance)")

	pb := quiet()
	pb.Delivery.Experiments = []playbook.Experiment{e}
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	st := h.run(6 * day)

	v := workflows.VariantOf("c-1", e)
	day := 3
	if v.Day != nil {
		day = *v.Day
	}
	assert.Equal(t, []string{(time.Duration(day) * 24 * time.Hour).String()}, h.sentAt("SendEmail", "onboarding.nudge"))
	assert.Equal(t, map[string]string{"nudge_timing": v.Name}, st.Delivery.Variants)
	assert.Equal(t, "nudge_timing="+v.Name, outboxRecord(t, h, "onboarding.nudge", messages.ChannelEmail).Experiment)
	crm := outboxRecord(t, h, "stage.1.onboarding", messages.ChannelCRM)
	assert.Equal(t, "nudge_timing="+v.Name, crm.Properties["experiments"])
}

// A holdout customer gets no marketing message, and the timeline records
// each one; lifecycle messages still go.
func TestHoldoutGetsNoMarketing(t *testing.T) {
	in := 0
	for i := range 10000 {
		if workflows.InHoldout(fmt.Sprintf("c-%d", i), 5) {
			in++
		}
	}
	assert.InDelta(t, 500, in, 70, "5% of customers")

	pct := 50.0
	if !workflows.InHoldout("c-1", pct) {
		pct = 100 // not valid in a playbook file, but c-1 must be held out here
	}
	pb := quiet()
	pb.Delivery.HoldoutPercent = pct
	pb.Onboarding.Steps[1].Class = playbook.ClassMarketing // the day-3 nudge
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	st := h.run(5 * day)

	assert.True(t, st.Delivery.Holdout)
	assert.Empty(t, h.sentAt("SendEmail", "onboarding.nudge"))
	assert.Len(t, h.sentAt("SendEmail", "onboarding.getting_started"), 1, "lifecycle messages still go")
	assert.True(t, timelineHas(st, workflows.KindSkip, "onboarding.nudge: onboarding_nudge email not sent, the customer is in the holdout"))
	assert.Equal(t, 1, st.Counters.HeldOut)
	assert.Equal(t, "true", outboxRecord(t, h, "stage.1.onboarding", messages.ChannelCRM).Properties["holdout"])
}

// Reaching a goal ends the steps that name it at once, even in the middle
// of the wait for the next one; steps without the goal go on.
func TestGoalEndsItsStepsMidWait(t *testing.T) {
	pb := quiet()
	const goal = "milestone_reached:first_project"
	pb.Onboarding.Steps[0].Goal = goal // getting_started, day 1
	pb.Onboarding.Steps[1].Goal = goal // nudge, day 3
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	h.event(2*day, "e-m1", signals.MilestoneReached, milestone("first_project"))
	h.at(2*day+time.Hour, func() {
		st := h.query()
		assert.Contains(t, st.StepsDone, "nudge", "ended as the goal arrived, not on day 3")
	})
	st := h.run(8 * day)

	assert.Len(t, h.sentAt("SendEmail", "onboarding.getting_started"), 1, "day 1, before the goal")
	assert.Empty(t, h.sentAt("SendEmail", "onboarding.nudge"))
	assert.True(t, timelineHas(st, workflows.KindDecision, "goal milestone_reached reached: onboarding nudge skipped"))
	assert.Len(t, h.sentAt("AlertCSM", "onboarding.escalate"), 1, "the day-7 step has no goal")
	assert.Equal(t, 1, st.Counters.GoalExits)
}

// A customer without a time zone whose number's zones share no window
// hour (an area code the library does not know: all of +1, Guam to
// Newfoundland) gets the playbook's.
func TestUnknownTimeZoneUsesThePlaybooks(t *testing.T) {
	pb := quiet()
	pb.Delivery.Timezone = "Asia/Tokyo" // day 7 at 14:00 UTC is 23:00 in Tokyo
	h := newHarness(t, pb)
	s := signup("+15551234567")
	s.Timezone = ""
	h.event(0, "e-signup", signals.SignedUp, s)
	h.run(9 * day)

	assert.Equal(t, []string{(7*day + 10*time.Hour + c1Spread).String()}, h.sentAt("SendSMS", "onboarding.escalate"), "09:00 in Tokyo and the spread")
}

// Where marketing email needs an opt-in, a signup without it gets no
// marketing email until a profile update gives it; lifecycle email goes.
func TestEmailMarketingConsentFromTheProfile(t *testing.T) {
	pb := quiet()
	pb.Onboarding.Steps[1].Class = playbook.ClassMarketing // the day-3 nudge
	pb.Onboarding.Steps[2].Email, pb.Onboarding.Steps[2].Class = "onboarding_nudge", playbook.ClassMarketing
	h := newHarness(t, pb)
	s := signup("")
	no, yes := false, true
	s.EmailMarketingConsent = &no
	h.event(0, "e-signup", signals.SignedUp, s)
	h.event(5*day, "e-p", signals.ProfileUpdated, signals.ProfileUpdatedData{EmailMarketingConsent: &yes})
	st := h.run(8 * day)

	assert.Len(t, h.sentAt("SendEmail", "onboarding.getting_started"), 1, "lifecycle")
	assert.Empty(t, h.sentAt("SendEmail", "onboarding.nudge"), "marketing, before the consent")
	assert.Len(t, h.sentAt("SendEmail", "onboarding.escalate"), 1, "marketing, after it")
	assert.True(t, timelineHas(st, workflows.KindEvent, "profile updated: email_marketing_consent"))
}
