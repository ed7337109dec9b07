package workflows

import (
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/signals"
)

// Consent: each source's latest word per channel (and, for email, per
// class), applied in the order the words were said (occurred_at), and only
// to the address or number they are about (docs/events.md#consent_changed).
// The recipient's own words, on the preference page and by one click, are
// one source. Each word heard is kept in the consent record
// (consentrecord.go).

// ConsentState is the customer's opt-outs and unusable channels. Consent
// to texts itself is Profile.SMSConsent.
type ConsentState struct {
	// SMSOptedOut: some source's latest word on SMS is an opt-out (a STOP
	// from the current number, the backend's): no SMS of any class.
	// Derived from SMS.
	SMSOptedOut bool `json:"sms_opted_out,omitempty"`
	// EmailMarketingOptedOut: some source's latest word on marketing email
	// is an opt-out (an unsubscribe, a spam report, the app's
	// email_marketing_consent false): no marketing email; transactional and
	// lifecycle email still go. Derived from Email.
	EmailMarketingOptedOut bool `json:"email_marketing_opted_out,omitempty"`
	// EmailLifecycleOptedOut: some source's latest word on lifecycle email
	// (product updates and tips) is an opt-out: no lifecycle email;
	// transactional email goes, marketing email as EmailMarketingOptedOut
	// says (the two are independent). Derived from Email.
	EmailLifecycleOptedOut bool `json:"email_lifecycle_opted_out,omitempty"`
	// EmailUnusable says why no email can reach the customer (a permanent
	// bounce), until a profile update changes the address.
	EmailUnusable string `json:"email_unusable,omitempty"`
	// UnreachableAlerted is set when the CSM was told that a message had
	// no channel left, and cleared when a channel opens again.
	UnreachableAlerted bool `json:"unreachable_alerted,omitempty"`
	// SMS and Email are each source's latest word on the channel, at most
	// one per source (and email class), in signals.ConsentSources order.
	SMS   []ConsentWord `json:"sms,omitempty"`
	Email []ConsentWord `json:"email,omitempty"`
	// History is the consent record: the words heard, in the order they
	// arrived, at most ConsentHistoryKept per channel (consentrecord.go).
	History []ConsentEntry `json:"history,omitempty"`
}

// ConsentWord is one source's latest opt-in or opt-out on a channel.
type ConsentWord struct {
	Source string `json:"source"`
	// Class is the email class the word is about: "" for marketing (so
	// words from before classes stay marketing's), or lifecycle.
	Class string `json:"class,omitempty"`
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

// slotOf is the source whose word source's replaces: the preference page
// and a one-click unsubscribe are the same person speaking, so the latest
// of either counts.
func slotOf(source string) string {
	if source == signals.SourceOneClick {
		return signals.SourcePreferences
	}
	return source
}

// wordClass is the ConsentWord.Class of an email class: "" for marketing.
func wordClass(class string) string {
	if class == signals.ConsentClassLifecycle {
		return class
	}
	return ""
}

// onConsentChanged applies an opt-out, an opt-in or an unusable channel,
// unless it is about another address than the current one, or older than
// its source's latest word, and records it either way.
func (r *journey) onConsentChanged(ev signals.Event, d signals.ConsentChangedData) {
	d.Source = orDefault(d.Source, signals.SourceBackend)
	if !r.understood(d) {
		return
	}
	e := consentEntry(r.when(ev), d)
	current, what := r.st.Profile.Email, "address"
	if d.Channel == signals.ConsentSMS {
		current, what = r.st.Profile.Phone, "number"
	}
	if d.Address != "" && !sameAddress(d.Channel, d.Address, current) {
		r.note(KindSkip, "%s consent change%s about a previous %s: ignored", d.Channel, consentFrom(d), what)
		r.record(e, ConsentIgnoredPreviousAddress)
		return
	}
	switch {
	case d.Status == signals.ConsentUnusable:
		r.onUnusable(d)
	case !r.hear(d.Channel, ConsentWord{Source: d.Source, Class: wordClass(e.Class), Status: d.Status, At: e.OccurredAt}):
		r.record(e, ConsentIgnoredOlder)
		return
	case d.Channel == signals.ConsentSMS:
		r.onSMSConsent(d)
	default:
		r.onEmailConsent(d, e.Class)
	}
	r.record(e, ConsentApplied)
}

// understood says whether d names a channel, status, class and source this
// version knows, noting it when not.
func (r *journey) understood(d signals.ConsentChangedData) bool {
	if !slices.Contains([]string{signals.ConsentSMS, signals.ConsentEmail}, d.Channel) ||
		!slices.Contains([]string{signals.ConsentOptedOut, signals.ConsentOptedIn, signals.ConsentUnusable}, d.Status) ||
		!slices.Contains([]string{"", signals.ConsentClassMarketing, signals.ConsentClassLifecycle}, d.Class) {
		r.note(KindSkip, "consent change %s/%s not understood", d.Channel, d.Status)
		return false
	}
	if !slices.Contains(signals.ConsentSources, d.Source) { // keeps the words bounded
		r.note(KindSkip, "consent change from unknown source %s ignored", d.Source)
		return false
	}
	return true
}

// when is when ev happened: the edge stamps every event; a bare signal is
// as of now.
func (r *journey) when(ev signals.Event) time.Time {
	if ev.OccurredAt.IsZero() {
		return workflow.Now(r.ctx)
	}
	return ev.OccurredAt
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
	if by := r.optedOutBy(signals.ConsentSMS, ""); by != "" {
		r.note(KindEvent, "opted in to SMS%s: still opted out by %s", from, by)
		return
	}
	r.st.Consent.UnreachableAlerted = false
	r.note(KindEvent, "opted in to SMS%s: texts may go again", from)
}

// onEmailConsent notes a word on class's email (marketing or lifecycle):
// the two classes are independent toggles, as the preference page shows
// them.
func (r *journey) onEmailConsent(d signals.ConsentChangedData, class string) {
	from := consentFrom(d)
	still := "transactional and lifecycle email still go"
	if class == signals.ConsentClassLifecycle {
		still = "transactional email still goes"
	}
	switch by := r.optedOutBy(signals.ConsentEmail, class); {
	case d.Status == signals.ConsentOptedOut:
		r.note(KindEvent, "opted out of %s email%s: %s", class, from, still)
	case by != "":
		r.note(KindEvent, "opted in to %s email%s: still opted out by %s", class, from, by)
	default:
		r.st.Consent.UnreachableAlerted = false
		r.note(KindEvent, "opted in to %s email%s", class, from)
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

// hear records w, a source's word on channel, and derives the opt-outs
// again; a word older than its slot's latest (slotOf) is noted and changes
// nothing (false).
func (r *journey) hear(channel string, w ConsentWord) bool {
	if w.At.IsZero() { // the edge stamps every event; a bare signal is as of now
		w.At = workflow.Now(r.ctx)
	}
	words := &r.st.Consent.Email
	if channel == signals.ConsentSMS {
		words, w.Class = &r.st.Consent.SMS, ""
		if perNumber(w.Source) {
			w.Number = r.st.Profile.Phone
		}
	}
	i := slices.IndexFunc(*words, func(x ConsentWord) bool { return slotOf(x.Source) == slotOf(w.Source) && x.Class == w.Class })
	switch {
	case i >= 0 && w.At.Before((*words)[i].At):
		r.note(KindSkip, "%s %s from %s older than its latest: ignored", channel, w.Status, strings.ReplaceAll(w.Source, "_", " "))
		return false
	case i >= 0:
		(*words)[i] = w
	default:
		*words = append(*words, w)
	}
	slices.SortStableFunc(*words, func(a, b ConsentWord) int {
		if d := slices.Index(signals.ConsentSources, a.Source) - slices.Index(signals.ConsentSources, b.Source); d != 0 {
			return d
		}
		return strings.Compare(a.Class, b.Class)
	})
	r.deriveConsent()
	return true
}

// deriveConsent sets the opt-outs and the consent to texts from each
// source's latest word: out while any source's word is an opt-out.
func (r *journey) deriveConsent() {
	c, p := &r.st.Consent, &r.st.Profile
	c.SMSOptedOut = len(c.OptedOutBy(signals.ConsentSMS, "", p.Phone)) > 0
	c.EmailMarketingOptedOut = len(c.OptedOutBy(signals.ConsentEmail, signals.ConsentClassMarketing, p.Phone)) > 0
	c.EmailLifecycleOptedOut = len(c.OptedOutBy(signals.ConsentEmail, signals.ConsentClassLifecycle, p.Phone)) > 0
	p.SMSConsent = slices.ContainsFunc(c.SMS, func(w ConsentWord) bool {
		return w.Status == signals.ConsentOptedIn && grantsSMSConsent(w.Source) && counts(w, p.Phone)
	})
}

// optedOutBy names the sources whose word on channel (email: of class) is
// an opt-out that counts, or "".
func (r *journey) optedOutBy(channel, class string) string {
	by := r.st.Consent.OptedOutBy(channel, class, r.st.Profile.Phone)
	for i := range by {
		by[i] = strings.ReplaceAll(by[i], "_", " ")
	}
	return strings.Join(by, " and ")
}

// OptedOutBy lists the sources whose latest word on channel (for email, on
// class: signals.ConsentClassMarketing or ConsentClassLifecycle) is an
// opt-out that counts for the customer's phone number: a per-number word
// (a STOP) only while the profile has its number.
func (c ConsentState) OptedOutBy(channel, class, phone string) []string {
	words, class := c.Email, wordClass(class)
	if channel == signals.ConsentSMS {
		words, class = c.SMS, ""
	}
	var by []string
	for _, w := range words {
		if w.Class == class && w.Status == signals.ConsentOptedOut && counts(w, phone) {
			by = append(by, w.Source)
		}
	}
	return by
}

// counts says whether w is about the customer whose number is phone.
func counts(w ConsentWord, phone string) bool {
	return !perNumber(w.Source) || w.Number == phone
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
