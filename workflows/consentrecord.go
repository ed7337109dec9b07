package workflows

import (
	"slices"
	"strings"
	"time"

	"github.com/journeyshq/journeys/signals"
)

// The consent record: every consent word the journey heard, for an
// auditor (starter consent), without addresses or numbers
// (docs/events.md#the-consent-record).

// ConsentHistoryKept is how many record entries each channel keeps; a
// channel's oldest entry is dropped for its 21st, so the state stays small.
const ConsentHistoryKept = 20

// consentReasonKept bounds an entry's reason, in bytes.
const consentReasonKept = 80

// Sources of record entries beside signals.ConsentSources: the consent
// given in signed_up, and Twilio's permanent refusal of a text (21610
// unsubscribed, 21211 invalid number).
const (
	ConsentSourceSignup = "signup"
	ConsentSourceTwilio = "twilio"
)

// Outcomes of record entries: whether the word took effect.
const (
	ConsentApplied = "applied"
	// ConsentIgnoredOlder: older than its source's latest word.
	ConsentIgnoredOlder = "ignored_older"
	// ConsentIgnoredPreviousAddress: about an address or number the
	// profile no longer has.
	ConsentIgnoredPreviousAddress = "ignored_previous_address"
)

// ConsentEntry is one word of the consent record.
type ConsentEntry struct {
	// OccurredAt is when the word was said (the event's occurred_at, or
	// when a send was refused).
	OccurredAt time.Time `json:"occurred_at"`
	// Channel is signals.ConsentSMS or signals.ConsentEmail.
	Channel string `json:"channel"`
	// Class is the email class (marketing or lifecycle) of an opt-in or
	// opt-out; "" for SMS and unusable addresses.
	Class string `json:"class,omitempty"`
	// Status is opted_in, opted_out or unusable.
	Status string `json:"status"`
	// Source is one of signals.ConsentSources, ConsentSourceSignup or
	// ConsentSourceTwilio.
	Source string `json:"source"`
	// Reason is the source's reason (a keyword, a bounce type), cut to 80
	// bytes.
	Reason string `json:"reason,omitempty"`
	// Outcome is ConsentApplied or why the word was ignored.
	Outcome string `json:"outcome"`
}

// consentEntry is the record entry of d, said at at.
func consentEntry(at time.Time, d signals.ConsentChangedData) ConsentEntry {
	e := ConsentEntry{OccurredAt: at, Channel: d.Channel, Status: d.Status, Source: d.Source, Reason: d.Reason}
	if d.Channel == signals.ConsentEmail && d.Status != signals.ConsentUnusable { // a bounce closes every class
		e.Class = orDefault(d.Class, signals.ConsentClassMarketing)
	}
	return e
}

// record adds e with outcome to the consent record, dropping its channel's
// oldest entry beyond ConsentHistoryKept.
func (r *journey) record(e ConsentEntry, outcome string) {
	e.Outcome = outcome
	if len(e.Reason) > consentReasonKept {
		e.Reason = strings.ToValidUTF8(e.Reason[:consentReasonKept], "") // whole runes only
	}
	h := append(r.st.Consent.History, e)
	n := 0
	for _, x := range h {
		if x.Channel == e.Channel {
			n++
		}
	}
	if n > ConsentHistoryKept {
		i := slices.IndexFunc(h, func(x ConsentEntry) bool { return x.Channel == e.Channel })
		h = slices.Delete(h, i, i+1)
	}
	r.st.Consent.History = h
}

// hearBackend applies a consent field of signed_up or profile_updated as
// the backend's word on channel's marketing, and records it as from
// source, unless it repeats the backend's latest word: a backend that
// sends the whole profile on every change must not push the real changes
// out of the record.
func (r *journey) hearBackend(ev signals.Event, channel, status, source string) {
	d := signals.ConsentChangedData{Channel: channel, Status: status, Source: source}
	e := consentEntry(r.when(ev), d)
	words := r.st.Consent.Email
	if channel == signals.ConsentSMS {
		words = r.st.Consent.SMS
	}
	repeat := slices.ContainsFunc(words, func(w ConsentWord) bool {
		return w.Source == signals.SourceBackend && w.Class == "" && w.Status == status
	})
	switch applied := r.hear(channel, ConsentWord{Source: signals.SourceBackend, Status: status, At: e.OccurredAt}); {
	case repeat:
	case applied:
		r.record(e, ConsentApplied)
	default:
		r.record(e, ConsentIgnoredOlder)
	}
}
