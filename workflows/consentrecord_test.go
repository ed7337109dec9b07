package workflows_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// The consent record (docs/events.md#the-consent-record): every word heard,
// with its source, whether it took effect, and no address.

// entry is a record entry without its time, for comparison.
func entry(channel, class, status, source, reason, outcome string) workflows.ConsentEntry {
	return workflows.ConsentEntry{Channel: channel, Class: class, Status: status, Source: source, Reason: reason, Outcome: outcome}
}

func withoutTimes(h []workflows.ConsentEntry) []workflows.ConsentEntry {
	out := make([]workflows.ConsentEntry, len(h))
	for i, e := range h {
		e.OccurredAt = time.Time{}
		out[i] = e
	}
	return out
}

func withReason(d signals.ConsentChangedData, reason string) signals.ConsentChangedData {
	d.Reason = reason
	return d
}

// Every source's word lands in the record, in arrival order, marked
// applied or ignored, and without an address or number.
func TestTheConsentRecordKeepsEverySourcesWord(t *testing.T) {
	h := newHarness(t, quiet())
	s, no, yes := signup(oldPhone), false, true
	s.EmailMarketingConsent = &no
	h.event(0, "e-signup", signals.SignedUp, s)
	h.event(day, "e-profile", signals.ProfileUpdated, signals.ProfileUpdatedData{EmailMarketingConsent: &yes})
	h.event(2*day, "e-stop", signals.ConsentChanged, withReason(consent(signals.ConsentSMS, signals.ConsentOptedOut, signals.SourceTwilioInbound, ""), "STOP"))
	h.event(3*day, "e-start", signals.ConsentChanged, withReason(consent(signals.ConsentSMS, signals.ConsentOptedIn, signals.SourceTwilioInbound, ""), "START"))
	h.event(4*day, "e-oneclick", signals.ConsentChanged, classWord(signals.ConsentOptedOut, signals.SourceOneClick, ""))
	h.event(5*day, "e-pref", signals.ConsentChanged, classWord(signals.ConsentOptedIn, signals.SourcePreferences, signals.ConsentClassLifecycle))
	h.eventAt(6*day, 3*day, "e-pref-old", signals.ConsentChanged, classWord(signals.ConsentOptedIn, signals.SourcePreferences, signals.ConsentClassMarketing))
	h.event(7*day, "e-bounce-old", signals.ConsentChanged, consent(signals.ConsentEmail, signals.ConsentUnusable, signals.SourceSendGrid, "old@example.com"))
	h.event(8*day, "e-bounce", signals.ConsentChanged, withReason(consent(signals.ConsentEmail, signals.ConsentUnusable, signals.SourceSendGrid, ""), "bounce"))
	st := h.run(9 * day)

	m, l, sms, email := signals.ConsentClassMarketing, signals.ConsentClassLifecycle, signals.ConsentSMS, signals.ConsentEmail
	in, out, ok := signals.ConsentOptedIn, signals.ConsentOptedOut, workflows.ConsentApplied
	assert.Equal(t, []workflows.ConsentEntry{
		entry(sms, "", in, workflows.ConsentSourceSignup, "", ok),
		entry(email, m, out, workflows.ConsentSourceSignup, "", ok),
		entry(email, m, in, signals.SourceBackend, "", ok),
		entry(sms, "", out, signals.SourceTwilioInbound, "STOP", ok),
		entry(sms, "", in, signals.SourceTwilioInbound, "START", ok),
		entry(email, m, out, signals.SourceOneClick, "", ok),
		entry(email, l, in, signals.SourcePreferences, "", ok),
		entry(email, m, in, signals.SourcePreferences, "", workflows.ConsentIgnoredOlder),
		entry(email, "", signals.ConsentUnusable, signals.SourceSendGrid, "", workflows.ConsentIgnoredPreviousAddress),
		entry(email, "", signals.ConsentUnusable, signals.SourceSendGrid, "bounce", ok),
	}, withoutTimes(st.Consent.History))
	assert.Equal(t, start.Add(3*day), st.Consent.History[7].OccurredAt, "when it was said, not when it arrived")
	raw, err := json.Marshal(st.Consent.History)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "example.com")
	assert.NotContains(t, string(raw), oldPhone)
}

// Twilio's permanent refusal of a text is in the record as its source's
// word: unusable for an invalid number.
func TestTheConsentRecordKeepsAVendorsRefusal(t *testing.T) {
	pb := playbook.Default()
	pb.Onboarding.Steps = append([]playbook.Step{{Name: "early_sms", Day: 2, SMS: "onboarding_nudge"}}, pb.Onboarding.Steps...)
	pb.Onboarding.Steps[0], pb.Onboarding.Steps[1] = pb.Onboarding.Steps[1], pb.Onboarding.Steps[0] // keep day order
	sms := &refusingSMS{refused: oldPhone, change: func() {}}
	h := newHarness(t, pb, func(a *activities.Activities) { sms.next = a.SMS; a.SMS = sms })
	h.event(0, "e-signup", signals.SignedUp, signup(oldPhone))
	st := h.run(3 * day)

	require.Len(t, st.Consent.History, 2)
	assert.Equal(t, entry(signals.ConsentSMS, "", signals.ConsentUnusable, workflows.ConsentSourceTwilio, workflows.SkipInvalidNumber, workflows.ConsentApplied),
		withoutTimes(st.Consent.History)[1])
	assert.Equal(t, workflows.SkipInvalidNumber, st.SMSUnusable)
}

// Each channel keeps its last ConsentHistoryKept entries: a flood of
// email words drops the oldest email ones, never the SMS ones.
func TestTheConsentRecordIsBoundedPerChannel(t *testing.T) {
	h := newHarness(t, quiet())
	h.event(0, "e-signup", signals.SignedUp, signup(oldPhone))
	n := workflows.ConsentHistoryKept + 5
	for i := range n {
		status := []string{signals.ConsentOptedOut, signals.ConsentOptedIn}[i%2]
		h.event(time.Duration(i+1)*time.Hour, fmt.Sprintf("e-%d", i), signals.ConsentChanged, withReason(classWord(status, signals.SourceSendGrid, ""), fmt.Sprint(i)))
	}
	st := h.run(2 * day)

	var emails []string
	sms := 0
	for _, e := range st.Consent.History {
		if e.Channel == signals.ConsentEmail {
			emails = append(emails, e.Reason)
		} else {
			sms++
		}
	}
	require.Len(t, emails, workflows.ConsentHistoryKept)
	assert.Equal(t, "5", emails[0], "the oldest dropped")
	assert.Equal(t, fmt.Sprint(n-1), emails[len(emails)-1])
	assert.Equal(t, 1, sms, "the signup's consent to texts stays")
}

// The record is state: a journey that continues as new after every event
// keeps every run's entries.
func TestTheConsentRecordIsCarriedThroughContinueAsNew(t *testing.T) {
	pb := quiet()
	pb.ContinueAsNewAfterEvents = 1
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(oldPhone))
	h.event(day, "e-out", signals.ConsentChanged, classWord(signals.ConsentOptedOut, signals.SourceOneClick, ""))
	h.event(2*day, "e-in", signals.ConsentChanged, classWord(signals.ConsentOptedIn, signals.SourcePreferences, ""))
	st := h.run(3 * day)

	assert.GreaterOrEqual(t, len(h.runs), 3)
	var sources []string
	for _, e := range st.Consent.History {
		sources = append(sources, e.Source)
	}
	assert.Equal(t, []string{workflows.ConsentSourceSignup, signals.SourceOneClick, signals.SourcePreferences}, sources)
	assert.False(t, st.Consent.EmailMarketingOptedOut)
}

// A backend that sends its whole profile on every change repeats its
// consent fields: the repeats are not recorded, so they cannot push the
// real changes out of the record.
func TestTheConsentRecordSkipsTheBackendsRepeats(t *testing.T) {
	h := newHarness(t, quiet())
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	no, yes := false, true
	for i := range workflows.ConsentHistoryKept + 5 {
		h.event(time.Duration(i+1)*time.Hour, fmt.Sprintf("e-p%d", i), signals.ProfileUpdated, signals.ProfileUpdatedData{EmailMarketingConsent: &yes})
	}
	h.event(2*day, "e-no", signals.ProfileUpdated, signals.ProfileUpdatedData{EmailMarketingConsent: &no})
	st := h.run(3 * day)

	assert.Equal(t, []workflows.ConsentEntry{
		entry(signals.ConsentEmail, signals.ConsentClassMarketing, signals.ConsentOptedIn, signals.SourceBackend, "", workflows.ConsentApplied),
		entry(signals.ConsentEmail, signals.ConsentClassMarketing, signals.ConsentOptedOut, signals.SourceBackend, "", workflows.ConsentApplied),
	}, withoutTimes(st.Consent.History))
	assert.True(t, st.Consent.EmailMarketingOptedOut)
}
