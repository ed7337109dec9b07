package workflows

import (
	"strings"

	"github.com/journeyshq/journeys/signals"
)

// ConsentState is the customer's opt-outs and unusable channels. Consent
// to texts itself is Profile.SMSConsent.
type ConsentState struct {
	// SMSOptedOut: the customer texted STOP (or Twilio refused a send with
	// 21610): no SMS of any class until they text START.
	SMSOptedOut bool `json:"sms_opted_out,omitempty"`
	// EmailMarketingOptedOut: the customer unsubscribed or reported spam:
	// no marketing email; transactional and lifecycle email still go.
	EmailMarketingOptedOut bool `json:"email_marketing_opted_out,omitempty"`
	// EmailUnusable says why no email can reach the customer (a permanent
	// bounce), until a profile update changes the address.
	EmailUnusable string `json:"email_unusable,omitempty"`
	// UnreachableAlerted is set when the CSM was told that a message had
	// no channel left, and cleared when a channel opens again.
	UnreachableAlerted bool `json:"unreachable_alerted,omitempty"`
}

// onConsentChanged applies an opt-out, an opt-in or an unusable channel.
func (r *journey) onConsentChanged(d signals.ConsentChangedData) {
	c := &r.st.Consent
	from := ""
	if d.Source != "" && d.Source != signals.SourceBackend {
		from = " (" + strings.ReplaceAll(d.Source, "_", " ") + ")"
	}
	if d.Reason != "" {
		from += ": " + d.Reason
	}
	switch {
	case d.Channel == signals.ConsentSMS && d.Status == signals.ConsentOptedOut:
		c.SMSOptedOut = true
		r.recallTexts()
		r.note(KindEvent, "opted out of SMS%s: no more texts", from)
	case d.Channel == signals.ConsentSMS && d.Status == signals.ConsentOptedIn:
		c.SMSOptedOut, c.UnreachableAlerted = false, false
		if d.Source != signals.SourceTwilioInbound {
			r.st.Profile.SMSConsent = true // START lifts a STOP; it is not consent
		}
		if r.st.SMSUnusable == SkipUnsubscribed {
			r.st.SMSUnusable = ""
		}
		r.note(KindEvent, "opted in to SMS%s: texts may go again", from)
	case d.Channel == signals.ConsentSMS && d.Status == signals.ConsentUnusable:
		r.st.SMSUnusable = SkipInvalidNumber
		r.recallTexts()
		r.note(KindEvent, "phone number unusable%s: no more texts until it changes", from)
	case d.Channel == signals.ConsentEmail && d.Status == signals.ConsentOptedOut:
		c.EmailMarketingOptedOut = true
		r.note(KindEvent, "opted out of marketing email%s: transactional and lifecycle email still go", from)
	case d.Channel == signals.ConsentEmail && d.Status == signals.ConsentOptedIn:
		c.EmailMarketingOptedOut, c.UnreachableAlerted = false, false
		r.note(KindEvent, "opted in to marketing email%s", from)
	case d.Channel == signals.ConsentEmail && d.Status == signals.ConsentUnusable:
		c.EmailUnusable = orDefault(d.Reason, "permanent bounce")
		r.note(KindEvent, "email address unusable%s: no more email until it changes", from)
	default:
		r.note(KindSkip, "consent change %s/%s not understood", d.Channel, d.Status)
	}
}
