package workflows

import (
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/signals"
)

// Consent: each source's latest word per channel, applied in the order the
// words were said (occurred_at), and only to the address or number they are
// about (docs/events.md#consent_changed).

// ConsentState is the customer's opt-outs and unusable channels. Consent
// to texts itself is Profile.SMSConsent.
type ConsentState struct {
	// SMSOptedOut: some source's latest word on SMS is an opt-out (a STOP
	// from the current number, the backend's): no SMS of any class.
	// Derived from SMS.
	SMSOptedOut bool `json:"sms_opted_out,omitempty"`
	// EmailMarketingOptedOut: some source's latest word on email is an
	// opt-out (an unsubscribe, a spam report, the app's
	// email_marketing_consent false): no marketing email; transactional and
	// lifecycle email still go. Derived from Email.
	EmailMarketingOptedOut bool `json:"email_marketing_opted_out,omitempty"`
	// EmailLifecycleOptedOut: the recipient opted out of lifecycle email
	// (product updates and tips): only transactional email goes.
	EmailLifecycleOptedOut bool `json:"email_lifecycle_opted_out,omitempty"`
	// EmailUnusable says why no email can reach the customer (a permanent
	// bounce), until a profile update changes the address.
	EmailUnusable string `json:"email_unusable,omitempty"`
	// UnreachableAlerted is set when the CSM was told that a message had
	// no channel left, and cleared when a channel opens again.
	UnreachableAlerted bool `json:"unreachable_alerted,omitempty"`
	// SMS and Email are each source's latest word on the channel, at most
	// one per source, in signals.ConsentSources order.
	SMS   []ConsentWord `json:"sms,omitempty"`
	Email []ConsentWord `json:"email,omitempty"`
}

// ConsentWord is one source's latest opt-in or opt-out on a channel.
type ConsentWord struct {
	Source string `json:"source"`
	// Status is signals.ConsentOptedIn or signals.ConsentOptedOut.
	Status string `json:"status"`
	// At is when the source said it (the event's occurred_at); an older
	// word from the same source changes nothing.
	At time.Time `json:"at"`
	// Number is the phone number a per-number source's word is about; it
	// counts only while the profile has that number.
	Number string `json:"number,omitempty"`
}

// perNumber says whether source's word is about one phone number rather
// than the account: Twilio keeps STOP per number.
func perNumber(source string) bool { return source == signals.SourceTwilioInbound }

// grantsSMSConsent says whether source's opt-in is consent to texts: a
// START only lifts a STOP.
func grantsSMSConsent(source string) bool { return source != signals.SourceTwilioInbound }

// onConsentChanged applies an opt-out, an opt-in or an unusable channel,
// unless it is about another address than the current one, or older than
// its source's latest word.
func (r *journey) onConsentChanged(ev signals.Event, d signals.ConsentChangedData) {
	d.Source = orDefault(d.Source, signals.SourceBackend)
	if !slices.Contains([]string{signals.ConsentSMS, signals.ConsentEmail}, d.Channel) ||
		!slices.Contains([]string{signals.ConsentOptedOut, signals.ConsentOptedIn, signals.ConsentUnusable}, d.Status) {
		r.note(KindSkip, "consent change %s/%s not understood", d.Channel, d.Status)
		return
	}
	if !slices.Contains(signals.ConsentSources, d.Source) { // keeps the words bounded
		r.note(KindSkip, "consent change from unknown source %s ignored", d.Source)
		return
	}
	current, what := r.st.Profile.Email, "address"
	if d.Channel == signals.ConsentSMS {
		current, what = r.st.Profile.Phone, "number"
	}
	if d.Address != "" && !sameAddress(d.Channel, d.Address, current) {
		r.note(KindSkip, "%s consent change%s about a previous %s: ignored", d.Channel, consentFrom(d), what)
		return
	}
	switch {
	case d.Status == signals.ConsentUnusable:
		r.onUnusable(d)
	case d.Channel == signals.ConsentSMS && r.hear(d.Channel, d.Source, d.Status, ev.OccurredAt):
		r.onSMSConsent(d)
	case d.Channel == signals.ConsentEmail && r.hear(d.Channel, d.Source, d.Status, ev.OccurredAt):
		r.onEmailConsent(d)
	}
}

// consentFrom names d's source and reason for the timeline (never its
// address).
func consentFrom(d signals.ConsentChangedData) string {
	from := ""
	if d.Source != "" && d.Source != signals.SourceBackend {
		from = " (" + strings.ReplaceAll(d.Source, "_", " ") + ")"
	}
	if d.Reason != "" {
		from += ": " + d.Reason
	}
	return from
}

func (r *journey) onSMSConsent(d signals.ConsentChangedData) {
	from := consentFrom(d)
	if d.Status == signals.ConsentOptedOut {
		what := "texts"
		if perNumber(d.Source) {
			what = "texts to this number"
		}
		r.recallTexts()
		r.note(KindEvent, "opted out of SMS%s: no more %s", from, what)
		return
	}
	if d.Source == signals.SourceTwilioInbound && r.st.SMSUnusable == SkipUnsubscribed {
		r.st.SMSUnusable = "" // Twilio's 21610 is lifted by a START only
	}
	if by := r.optedOutBy(r.st.Consent.SMS); by != "" {
		r.note(KindEvent, "opted in to SMS%s: still opted out by %s", from, by)
		return
	}
	r.st.Consent.UnreachableAlerted = false
	r.note(KindEvent, "opted in to SMS%s: texts may go again", from)
}

func (r *journey) onEmailConsent(d signals.ConsentChangedData) {
	from := consentFrom(d)
	switch by := r.optedOutBy(r.st.Consent.Email); {
	case d.Status == signals.ConsentOptedOut:
		r.note(KindEvent, "opted out of marketing email%s: transactional and lifecycle email still go", from)
	case by != "":
		r.note(KindEvent, "opted in to marketing email%s: still opted out by %s", from, by)
	default:
		r.st.Consent.UnreachableAlerted = false
		r.note(KindEvent, "opted in to marketing email%s", from)
	}
}

// onUnusable marks the current number or address as one that cannot
// receive anything, until the profile changes it.
func (r *journey) onUnusable(d signals.ConsentChangedData) {
	from := consentFrom(d)
	if d.Channel == signals.ConsentSMS {
		r.st.SMSUnusable = SkipInvalidNumber
		r.recallTexts()
		r.note(KindEvent, "phone number unusable%s: no more texts until it changes", from)
		return
	}
	r.st.Consent.EmailUnusable = orDefault(d.Reason, "permanent bounce")
	r.note(KindEvent, "email address unusable%s: no more email until it changes", from)
}

// hear records source's word status on channel, said at at, and derives
// the opt-outs again; a word older than the source's latest is noted and
// changes nothing (false).
func (r *journey) hear(channel, source, status string, at time.Time) bool {
	if at.IsZero() { // the edge stamps every event; a bare signal is as of now
		at = workflow.Now(r.ctx)
	}
	words := &r.st.Consent.Email
	w := ConsentWord{Source: source, Status: status, At: at}
	if channel == signals.ConsentSMS {
		words = &r.st.Consent.SMS
		if perNumber(source) {
			w.Number = r.st.Profile.Phone
		}
	}
	i := slices.IndexFunc(*words, func(x ConsentWord) bool { return x.Source == source })
	switch {
	case i >= 0 && at.Before((*words)[i].At):
		r.note(KindSkip, "%s %s from %s older than its latest: ignored", channel, status, strings.ReplaceAll(source, "_", " "))
		return false
	case i >= 0:
		(*words)[i] = w
	default:
		*words = append(*words, w)
		slices.SortStableFunc(*words, func(a, b ConsentWord) int {
			return slices.Index(signals.ConsentSources, a.Source) - slices.Index(signals.ConsentSources, b.Source)
		})
	}
	r.deriveConsent()
	return true
}

// deriveConsent sets the opt-outs and the consent to texts from each
// source's latest word: out while any source's word is an opt-out.
func (r *journey) deriveConsent() {
	c, p := &r.st.Consent, &r.st.Profile
	c.SMSOptedOut, c.EmailMarketingOptedOut = r.optedOutBy(c.SMS) != "", r.optedOutBy(c.Email) != ""
	p.SMSConsent = slices.ContainsFunc(c.SMS, func(w ConsentWord) bool {
		return w.Status == signals.ConsentOptedIn && grantsSMSConsent(w.Source) && r.counts(w)
	})
}

// optedOutBy names the sources whose word in words is an opt-out that
// counts, or "".
func (r *journey) optedOutBy(words []ConsentWord) string {
	var by []string
	for _, w := range words {
		if w.Status == signals.ConsentOptedOut && r.counts(w) {
			by = append(by, strings.ReplaceAll(w.Source, "_", " "))
		}
	}
	return strings.Join(by, " and ")
}

// counts says whether w is about the customer as they are now: a
// per-number word only while the profile has its number.
func (r *journey) counts(w ConsentWord) bool {
	return !perNumber(w.Source) || w.Number == r.st.Profile.Phone
}

// sameAddress compares an address of channel with the profile's:
// emails in any case, numbers in E.164.
func sameAddress(channel, a, b string) bool {
	if channel == signals.ConsentEmail {
		return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
	}
	return strings.TrimSpace(a) == strings.TrimSpace(b)
}

// adoptLegacyConsent gives a state carried from before the per-source
// words the words its opt-outs and consent came from, so deriving keeps
// them: the backend's for consent to texts and marketing email opt-outs
// (only the app lifts those), Twilio's for a STOP of the current number.
func (c *ConsentState) adoptLegacyConsent(p *Profile) {
	if len(c.SMS) == 0 && p.SMSConsent {
		c.SMS = append(c.SMS, ConsentWord{Source: signals.SourceBackend, Status: signals.ConsentOptedIn})
	}
	if !slices.ContainsFunc(c.SMS, func(w ConsentWord) bool { return w.Status == signals.ConsentOptedOut }) && c.SMSOptedOut {
		c.SMS = append(c.SMS, ConsentWord{Source: signals.SourceTwilioInbound, Status: signals.ConsentOptedOut, Number: p.Phone})
	}
	if len(c.Email) == 0 && c.EmailMarketingOptedOut {
		c.Email = []ConsentWord{{Source: signals.SourceBackend, Status: signals.ConsentOptedOut}}
	}
}
