package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// Consent under disorder (docs/events.md#consent_changed): changes apply
// in the order they happened, per channel and source, and only to the
// address or number they are about.

const (
	oldPhone = "+15551234567"
	newPhone = "+15557654321"
)

func consent(channel, status, source, address string) signals.ConsentChangedData {
	return signals.ConsentChangedData{Channel: channel, Status: status, Source: source, Address: address}
}

// A retried SendGrid batch or a backend replay brings an older change
// after a newer one: both arrival orders end the same, with the newer word.
func TestAnOlderConsentChangeNeverOverridesANewerOne(t *testing.T) {
	unsub := consent(signals.ConsentEmail, signals.ConsentOptedOut, signals.SourceSendGrid, "")
	resub := consent(signals.ConsentEmail, signals.ConsentOptedIn, signals.SourceSendGrid, "")
	stop := consent(signals.ConsentSMS, signals.ConsentOptedOut, signals.SourceTwilioInbound, "")
	start := consent(signals.ConsentSMS, signals.ConsentOptedIn, signals.SourceTwilioInbound, "")
	backendOut := consent(signals.ConsentEmail, signals.ConsentOptedOut, signals.SourceBackend, "")
	backendIn := consent(signals.ConsentEmail, signals.ConsentOptedIn, signals.SourceBackend, "")
	ends := map[string]workflows.ConsentState{}
	for _, order := range []string{"in order", "older last"} {
		h := newHarness(t, quiet())
		activeCustomer(h, oldPhone, 10*day)
		late := 0 * time.Hour
		if order == "older last" {
			late = 2 * day // each older change arrives after its newer one
		}
		h.eventAt(2*day+late, 2*day, "e-unsub", signals.ConsentChanged, unsub)
		h.eventAt(3*day, 3*day, "e-resub", signals.ConsentChanged, resub)
		h.eventAt(2*day+late, 2*day, "e-stop", signals.ConsentChanged, stop)
		h.eventAt(3*day, 3*day, "e-start", signals.ConsentChanged, start)
		h.eventAt(3*day, 3*day, "e-b-out", signals.ConsentChanged, backendOut) // newer: out stands
		h.eventAt(2*day+late, 2*day, "e-b-in", signals.ConsentChanged, backendIn)
		st := h.run(6 * day)
		ignored := 0
		for _, e := range st.Consent.History {
			ignored += b2i(e.Outcome == workflows.ConsentIgnoredOlder)
		}
		assert.Equal(t, map[string]int{"in order": 0, "older last": 3}[order], ignored, "%s: the record says which words were ignored", order)
		end := st.Consent
		end.History = nil // the record keeps the arrival order
		ends[order] = end
		assert.True(t, st.Consent.EmailMarketingOptedOut, "%s: the backend's newer opt-out stands", order)
		assert.False(t, st.Consent.SMSOptedOut, "%s: the newer START stands", order)
		if order == "older last" {
			assert.True(t, timelineHas(st, workflows.KindSkip, "older than its latest"), "the stale change is noted")
		}
	}
	assert.Equal(t, ends["in order"], ends["older last"], "both orders, one end")
}

// Each source withdraws only what it gave: a SendGrid resubscribe does not
// lift the app's own email_marketing_consent:false, nor the app's consent
// a SendGrid unsubscribe.
func TestAResubscribeDoesNotLiftTheAppsOptOut(t *testing.T) {
	pb := quiet()
	pb.NPS = playbook.Default().NPS // a survey (marketing) on day 30
	h := newHarness(t, pb)
	activeCustomer(h, "", 40*day)
	no, yes := false, true
	h.event(2*day, "e-pref", signals.ProfileUpdated, signals.ProfileUpdatedData{EmailMarketingConsent: &no})
	h.event(3*day, "e-resub", signals.ConsentChanged, consent(signals.ConsentEmail, signals.ConsentOptedIn, signals.SourceSendGrid, ""))
	var mid workflows.State
	h.at(4*day, func() { mid = h.query() })
	h.event(5*day, "e-unsub", signals.ConsentChanged, consent(signals.ConsentEmail, signals.ConsentOptedOut, signals.SourceSendGrid, ""))
	h.event(6*day, "e-pref2", signals.ProfileUpdated, signals.ProfileUpdatedData{EmailMarketingConsent: &yes})
	st := h.run(36 * day)

	assert.True(t, mid.Consent.EmailMarketingOptedOut, "the resubscribe leaves the app's opt-out")
	assert.True(t, timelineHas(mid, workflows.KindEvent, "opted in to marketing email (sendgrid): still opted out by backend"))
	assert.True(t, st.Consent.EmailMarketingOptedOut, "the app's yes leaves SendGrid's unsubscribe")
	assert.Empty(t, h.sentAt("SendEmail", "nps.survey.1"), "no marketing email")
}

// A bounce that arrives after the customer changed their address is about
// the old one: the new address stays usable. A bounce of the new address,
// in another case, still counts.
func TestALateBounceOfTheOldAddressLeavesTheNewOneUsable(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "", 40*day)
	email := "ana.new@example.com"
	h.event(2*day, "e-email", signals.ProfileUpdated, signals.ProfileUpdatedData{Email: &email})
	h.eventAt(3*day, day, "e-bounce-old", signals.ConsentChanged, consent(signals.ConsentEmail, signals.ConsentUnusable, signals.SourceSendGrid, "Ana@Example.com"))
	h.event(4*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	var mid workflows.State
	h.at(5*day, func() { mid = h.query() })
	h.event(6*day, "e-bounce-new", signals.ConsentChanged, consent(signals.ConsentEmail, signals.ConsentUnusable, signals.SourceSendGrid, "Ana.New@example.com"))
	st := h.run(7 * day)

	assert.Empty(t, mid.Consent.EmailUnusable, "the old address's bounce changes nothing")
	assert.True(t, timelineHas(mid, workflows.KindSkip, "about a previous address: ignored"))
	assert.Len(t, h.sentAt("SendEmail", "dunning.1.failed"), 1, "the new address gets the email")
	assert.NotEmpty(t, st.Consent.EmailUnusable, "a bounce of the new address, whatever its case, counts")
	for _, e := range st.Timeline {
		assert.NotContains(t, e.Text, "example.com", "no address on the timeline")
	}
}

// A STOP from the old number after a phone change does not stop texts to
// the new one; a STOP the number sent before the change is about the old
// number too; the backend's opt-out is the account's and stays.
func TestAStopFromTheOldNumberLeavesTheNewNumberUsable(t *testing.T) {
	stopOld := consent(signals.ConsentSMS, signals.ConsentOptedOut, signals.SourceTwilioInbound, oldPhone)
	stopNow := consent(signals.ConsentSMS, signals.ConsentOptedOut, signals.SourceTwilioInbound, "")
	for name, tc := range map[string]struct {
		stop           signals.ConsentChangedData
		at             time.Duration
		optedOut       bool
		kind, timeline string
	}{
		"late STOP of the old number":  {stop: stopOld, at: 3 * day, kind: workflows.KindSkip, timeline: "about a previous number: ignored"},
		"STOP before the phone change": {stop: stopNow, at: day + time.Hour, kind: workflows.KindEvent, timeline: "opted out of SMS (twilio inbound): no more texts to this number"},
		"the backend's opt-out stays":  {stop: consent(signals.ConsentSMS, signals.ConsentOptedOut, signals.SourceBackend, ""), at: day + time.Hour, optedOut: true, kind: workflows.KindEvent, timeline: "opted out of SMS: no more texts"},
	} {
		t.Run(name, func(t *testing.T) {
			pb := quiet()
			pb.Delivery.Fallback = false
			h := newHarness(t, pb)
			activeCustomer(h, oldPhone, 10*day)
			phone := newPhone
			h.event(2*day, "e-phone", signals.ProfileUpdated, signals.ProfileUpdatedData{Phone: &phone})
			h.event(tc.at, "e-stop", signals.ConsentChanged, tc.stop)
			h.event(4*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
			st := h.run(9 * day)

			assert.Equal(t, tc.optedOut, st.Consent.SMSOptedOut)
			assert.True(t, timelineHas(st, tc.kind, tc.timeline), "timeline: %s", tc.timeline)
			if tc.optedOut {
				assert.Empty(t, h.sentAt("SendSMS", "dunning.1.reminder"))
			} else {
				assert.Len(t, h.only("SendSMS dunning.1.reminder payment_reminder→"+newPhone), 1, "the new number gets the text")
			}
		})
	}
}

// refusingSMS refuses texts to one number for good, as Twilio answers
// 21211 for a landline, and at that moment the customer's phone changes:
// the profile update is applied before the refusal is recorded.
type refusingSMS struct {
	next    activities.SMSSender
	refused string
	change  func()
}

func (s *refusingSMS) SendSMS(ctx context.Context, m messages.SMS) (messages.Receipt, error) {
	if m.To == s.refused {
		s.change()
		return messages.Receipt{}, messages.Permanent("invalid_number", errors.New("the 'To' number is not a valid mobile number"))
	}
	return s.next.SendSMS(ctx, m)
}

// A refusal of the old number recorded after the phone changed does not
// mark the new number unusable.
func TestARefusalOfTheOldNumberLeavesTheNewNumberUsable(t *testing.T) {
	pb := playbook.Default()
	pb.Onboarding.Steps = append([]playbook.Step{{Name: "early_sms", Day: 2, SMS: "onboarding_nudge"}}, pb.Onboarding.Steps...)
	pb.Onboarding.Steps[0], pb.Onboarding.Steps[1] = pb.Onboarding.Steps[1], pb.Onboarding.Steps[0] // keep day order
	sms := &refusingSMS{refused: oldPhone}
	h := newHarness(t, pb, func(a *activities.Activities) { sms.next = a.SMS; a.SMS = sms })
	env := h.env // the one run: the journey does not continue as new in 8 days
	sms.change = func() {
		phone := newPhone
		ev, err := signals.NewEvent("e-phone", "c-1", signals.ProfileUpdated, start.Add(2*day), signals.ProfileUpdatedData{Phone: &phone})
		require.NoError(t, err)
		env.SignalWorkflow(signals.SignalName, ev)
	}
	h.event(0, "e-signup", signals.SignedUp, signup(oldPhone))
	st := h.run(8 * day)

	assert.Equal(t, newPhone, st.Profile.Phone)
	assert.Empty(t, st.SMSUnusable, "the refusal was of the old number")
	assert.True(t, timelineHas(st, workflows.KindSkip, "refused a previous number"))
	assert.Len(t, h.only("SendSMS onboarding.escalate onboarding_nudge→"+newPhone), 1, "the new number gets the day-7 text")
}

// classWord is a word on email of class from source.
func classWord(status, source, class string) signals.ConsentChangedData {
	return signals.ConsentChangedData{Channel: signals.ConsentEmail, Status: status, Source: source, Class: class}
}

// An opt-out of lifecycle email (product updates) stops the onboarding
// emails; a payment failure's email, transactional, still goes, and
// marketing email is a choice of its own.
func TestALifecycleOptOutStopsLifecycleEmailNotTransactional(t *testing.T) {
	pb := quiet()
	pb.Onboarding.Steps[2].Email, pb.Onboarding.Steps[2].Class = "onboarding_nudge", playbook.ClassMarketing // day 7
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	h.event(12*time.Hour, "e-pref", signals.ConsentChanged, classWord(signals.ConsentOptedOut, signals.SourcePreferences, signals.ConsentClassLifecycle))
	h.event(8*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1")) // after the marketing email: dunning pauses marketing
	st := h.run(9 * day)

	assert.True(t, st.Consent.EmailLifecycleOptedOut)
	assert.False(t, st.Consent.EmailMarketingOptedOut, "the two are independent")
	assert.Len(t, h.sentAt("SendEmail", "onboarding.welcome"), 1, "before the opt-out")
	assert.Empty(t, h.sentAt("SendEmail", "onboarding.getting_started"), "lifecycle")
	assert.Empty(t, h.sentAt("SendEmail", "onboarding.nudge"), "lifecycle")
	assert.Len(t, h.sentAt("SendEmail", "dunning.1.failed"), 1, "transactional")
	for _, e := range st.Timeline {
		t.Log(e.At, e.Kind, e.Text)
	}
	assert.Len(t, h.sentAt("SendEmail", "onboarding.escalate"), 1, "marketing")
	assert.True(t, timelineHas(st, workflows.KindEvent, "opted out of lifecycle email (preferences): transactional email still goes"))
	assert.True(t, timelineHas(st, workflows.KindSkip, "onboarding.getting_started: getting_started email not sent, the customer opted out of lifecycle email"))
	assert.Empty(t, h.only("customer_unreachable"), "an opt-out is no reason to alert")
}

// The preference page and a one-click unsubscribe are the recipient
// speaking: a one-click unsubscribe is lifted by a later opt-in on the
// preference page, and the other way round.
func TestAOneClickUnsubscribeIsLiftedOnThePreferencePage(t *testing.T) {
	pb := quiet()
	pb.Onboarding.Steps[1].Class = playbook.ClassMarketing                                                   // day 3
	pb.Onboarding.Steps[2].Email, pb.Onboarding.Steps[2].Class = "onboarding_nudge", playbook.ClassMarketing // day 7
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	h.event(2*day, "e-oneclick", signals.ConsentChanged, classWord(signals.ConsentOptedOut, signals.SourceOneClick, ""))
	h.event(5*day, "e-pref", signals.ConsentChanged, classWord(signals.ConsentOptedIn, signals.SourcePreferences, signals.ConsentClassMarketing))
	st := h.run(8 * day)

	assert.Empty(t, h.sentAt("SendEmail", "onboarding.nudge"), "after the one-click unsubscribe")
	assert.Len(t, h.sentAt("SendEmail", "onboarding.escalate"), 1, "after the preference page's opt-in")
	assert.False(t, st.Consent.EmailMarketingOptedOut)
	assert.True(t, timelineHas(st, workflows.KindEvent, "opted in to marketing email (preferences)"))
	require.Len(t, st.Consent.Email, 1, "one word for the recipient's two sources")
	assert.Equal(t, signals.SourcePreferences, st.Consent.Email[0].Source)
}

// The recipient's opt-in on the preference page lifts only their own
// opt-out: the app's email_marketing_consent false stands.
func TestThePreferencePageDoesNotLiftTheBackendsOptOut(t *testing.T) {
	h := newHarness(t, quiet())
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	no := false
	h.event(day, "e-profile", signals.ProfileUpdated, signals.ProfileUpdatedData{EmailMarketingConsent: &no})
	h.event(2*day, "e-oneclick", signals.ConsentChanged, classWord(signals.ConsentOptedOut, signals.SourceOneClick, ""))
	h.event(3*day, "e-pref", signals.ConsentChanged, classWord(signals.ConsentOptedIn, signals.SourcePreferences, ""))
	st := h.run(4 * day)

	assert.True(t, st.Consent.EmailMarketingOptedOut)
	assert.True(t, timelineHas(st, workflows.KindEvent, "opted in to marketing email (preferences): still opted out by backend"))
}

// On the preference page the recipient can give consent to texts, and
// take it back.
func TestThePreferencePageGivesAndWithdrawsSMSConsent(t *testing.T) {
	h := newHarness(t, quiet())
	s := signup(oldPhone)
	s.SMSConsent = false
	h.event(0, "e-signup", signals.SignedUp, s)
	h.event(day, "e-in", signals.ConsentChanged, consent(signals.ConsentSMS, signals.ConsentOptedIn, signals.SourcePreferences, ""))
	var mid workflows.State
	h.at(2*day, func() { mid = h.query() })
	h.event(8*day, "e-out", signals.ConsentChanged, consent(signals.ConsentSMS, signals.ConsentOptedOut, signals.SourcePreferences, ""))
	st := h.run(9 * day)

	assert.True(t, mid.Profile.SMSConsent, "an opt-in on the preference page is consent to texts")
	assert.Len(t, h.only("SendSMS onboarding.escalate"), 1, "the day-7 text goes")
	assert.False(t, st.Profile.SMSConsent)
	assert.True(t, st.Consent.SMSOptedOut)
}
