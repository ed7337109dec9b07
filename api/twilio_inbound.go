package api

// Twilio's inbound SMS webhook: a customer texting STOP or START to our
// number becomes a consent_changed event on every journey with that phone;
// HELP or INFO gets the program's help text as a TwiML reply.
// The sibling sendgrid_events.go does the same for email.

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	twilioclient "github.com/twilio/twilio-go/client"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// TwilioInboundPath is the route of Twilio's "A message comes in" webhook.
const TwilioInboundPath = "/webhooks/twilio/inbound"

// The variables the inbound webhook needs besides TWILIO_AUTH_TOKEN.
const (
	// EnvPublicURL is the edge's public base URL, for Options.PublicURL.
	EnvPublicURL = "JOURNEYS_PUBLIC_URL"
	// EnvLookupKey holds the key of workflows.PhoneHash, base64 of at
	// least MinLookupKeyBytes bytes, for Options.LookupKey.
	EnvLookupKey = "JOURNEYS_LOOKUP_KEY"
	// EnvSMSReplyKeywords set to true turns Options.SMSReplyKeywords on.
	EnvSMSReplyKeywords = "JOURNEYS_SMS_REPLY_KEYWORDS"
	// envTwilioAuthToken is the Twilio driver's variable, named here only
	// to say what to set.
	envTwilioAuthToken = "TWILIO_AUTH_TOKEN"
)

// MinLookupKeyBytes is the least length of the lookup key: an HMAC key as
// long as its SHA-256 output.
const MinLookupKeyBytes = 32

// TwiMLEmpty is the answer to every accepted inbound text: a TwiML document
// without verbs, so that Twilio replies nothing of its own beyond its
// standard opt-out and opt-in confirmations.
const TwiMLEmpty = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// Twilio's default opt-out and opt-in keywords, as it matches them: the
// whole body, trimmed, in any case. Anything else (HELP, free text) is not
// a consent change.
var (
	twilioOptOut = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
	twilioOptIn  = map[string]bool{"START": true, "UNSTOP": true}
	// The carriers' help keywords (CTIA), matched the same way.
	twilioHelp = map[string]bool{"HELP": true, "INFO": true}
)

// ParsePublicURL checks the edge's public base URL: absolute http or https,
// with a host and without user info, path, query or fragment (a lone "/"
// is dropped). Twilio signs the exact URL it calls, which behind a proxy
// is not the one the edge sees, so the webhook URLs are built from this.
func ParsePublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("%s %q: %v", EnvPublicURL, s, err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "", u.Opaque != "":
		return "", fmt.Errorf("%s %q: want an absolute http(s) URL, such as https://journeys.acme.com", EnvPublicURL, s)
	case u.User != nil, (u.Path != "" && u.Path != "/"), u.RawQuery != "", u.ForceQuery, u.Fragment != "", strings.Contains(s, "#"):
		return "", fmt.Errorf("%s %q: want the scheme and host only, without user info, path, query or fragment: the webhook paths are added to it", EnvPublicURL, s)
	}
	return u.Scheme + "://" + u.Host, nil
}

// ParseLookupKey decodes JOURNEYS_LOOKUP_KEY: standard base64 of at least
// MinLookupKeyBytes random bytes (make one with: openssl rand -base64 32).
func ParseLookupKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%s: not base64 (make one with: openssl rand -base64 32): %v", EnvLookupKey, err)
	}
	if len(key) < MinLookupKeyBytes {
		return nil, fmt.Errorf("%s: %d bytes, want at least %d (make one with: openssl rand -base64 32)", EnvLookupKey, len(key), MinLookupKeyBytes)
	}
	return key, nil
}

// twilioInbound is the inbound webhook's configuration; missing lists
// what is not set, and it serves only when that is empty.
type twilioInbound struct {
	validator twilioclient.RequestValidator
	url       string // the public URL Twilio signs
	key       []byte // of workflows.PhoneHash
	missing   []string
	help      string // the reply to HELP and INFO; "" replies nothing
	program   string // starts the STOP and START confirmations
	confirm   bool   // journeys, not Twilio, confirms STOP and START
}

func newTwilioInbound(authToken, publicURL string, key []byte) (twilioInbound, error) {
	var t twilioInbound
	if authToken == "" {
		t.missing = append(t.missing, envTwilioAuthToken)
	} else {
		t.validator = twilioclient.NewRequestValidator(authToken)
	}
	if publicURL == "" {
		t.missing = append(t.missing, EnvPublicURL)
	} else {
		base, err := ParsePublicURL(publicURL)
		if err != nil {
			return t, fmt.Errorf("api: %w", err)
		}
		t.url = base + TwilioInboundPath
	}
	switch {
	case len(key) == 0:
		t.missing = append(t.missing, EnvLookupKey)
	case len(key) < MinLookupKeyBytes:
		return t, fmt.Errorf("api: lookup key of %d bytes, want at least %d", len(key), MinLookupKeyBytes)
	default:
		t.key = append([]byte(nil), key...)
	}
	return t, nil
}

// twilioConsent reads a consent change from an inbound text: Twilio's own
// verdict (OptOutType, sent when Advanced Opt-Out is on, which also covers
// custom keywords) or else the default keywords. ok is false for anything
// else. reason is the keyword, never other text of the message.
func twilioConsent(form url.Values) (status, reason string, ok bool) {
	keyword := strings.ToUpper(strings.TrimSpace(form.Get("Body")))
	switch strings.ToUpper(form.Get("OptOutType")) {
	case "STOP":
		if !twilioOptOut[keyword] {
			keyword = "STOP" // a custom keyword: any text, not to be copied
		}
		return signals.ConsentOptedOut, keyword, true
	case "START":
		if !twilioOptIn[keyword] {
			keyword = "START"
		}
		return signals.ConsentOptedIn, keyword, true
	case "HELP": // even where the text is a default keyword Advanced Opt-Out reassigned
		return "", "", false
	}
	switch {
	case twilioOptOut[keyword]:
		return signals.ConsentOptedOut, keyword, true
	case twilioOptIn[keyword]:
		return signals.ConsentOptedIn, keyword, true
	}
	return "", "", false
}

// twilioInboundWebhook applies a signed inbound text's opt-out or opt-in to
// every running journey with the sender's phone. Twilio gets a TwiML
// document (empty, or the help text or a confirmation) for whatever it need
// not retry; a 503 when Temporal is
// down, which Twilio retries as the URL's connection overrides say. The
// sender's number and the message are never logged.
func (h *handler) twilioInboundWebhook(w http.ResponseWriter, r *http.Request) {
	if len(h.twilio.missing) > 0 {
		h.countRejected(r, ReasonNotConfigured)
		writeJSON(w, http.StatusNotFound, errorBody{Error: "Twilio inbound SMS is not configured: set " + strings.Join(h.twilio.missing, ", ")})
		return
	}
	body, ok := h.readWebhookBody(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		h.log.Info("twilio inbound refused", "reason", "body is not form-encoded")
		h.countRejected(r, ReasonBadRequest)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "body: not form-encoded", Field: "body"})
		return
	}
	if err := h.verifyTwilio(r.Header.Get("X-Twilio-Signature"), form); err != nil {
		h.log.Warn("twilio inbound refused", "reason", err)
		h.countRejected(r, ReasonBadSignature)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "bad signature"})
		return
	}
	sid := form.Get("MessageSid")
	if sid == "" {
		// Every inbound text has one; without it the event ID would be the
		// same for every text, and a second STOP or START would be lost.
		h.countRejected(r, ReasonBadRequest)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "MessageSid: is required", Field: "MessageSid"})
		return
	}
	status, keyword, ok := twilioConsent(form)
	if !ok {
		h.twilioNotConsent(w, sid, form)
		return
	}
	reply := h.twilio.confirmation(status, form)
	from := form.Get("From")
	if from == "" {
		h.twilioIgnored(w, sid, "no From", ReasonUnknownCustomer, reply)
		return
	}
	// One deadline for the lookup and every send: Twilio waits 15 s.
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	customers, err := h.journeys.CustomersByPhoneHash(ctx, workflows.PhoneHash(h.twilio.key, from))
	if err != nil {
		h.fail(w, r, err, "", "")
		return
	}
	if len(customers) == 0 {
		h.twilioIgnored(w, sid, "no running journey has this phone", ReasonUnknownCustomer, reply)
		return
	}
	h.applyTwilioConsent(ctx, w, r, customers, sid, from, status, keyword, reply)
}

// applyTwilioConsent sends the consent change to each journey found and
// answers Twilio with reply, or a 503 when Temporal is down.
func (h *handler) applyTwilioConsent(ctx context.Context, w http.ResponseWriter, r *http.Request, customers []string, sid, from, status, keyword, reply string) {
	now := h.now()
	data := signals.ConsentChangedData{Channel: signals.ConsentSMS, Status: status, Source: signals.SourceTwilioInbound, Reason: keyword}
	if signals.ValidConsentAddress(data.Channel, from) { // STOP is per number: the journey compares it with its phone
		data.Address = from
	}
	for _, customer := range customers {
		// The same ID on a redelivery, so each journey applies it once.
		ev, err := signals.NewEvent("twilio-"+sid, customer, signals.ConsentChanged, now.UTC(), data)
		if err == nil {
			err = ev.Validate(now)
		}
		if err != nil {
			h.fail(w, r, err, "", "")
			return
		}
		delivered, err := h.sendConsent(ctx, SourceTwilio, ev, data)
		switch {
		case err != nil:
			h.fail(w, r, err, customer, "")
			return
		case !delivered:
			// Ended since the lookup: nothing left to apply it to.
			h.countIgnored(SourceTwilio, ReasonUnknownCustomer)
		}
	}
	writeTwiML(w, reply)
}

// sendConsent sends a consent change from a vendor's webhook to its
// journey, and logs and counts it: false, without an error, when the
// customer has no running journey (the caller counts that as ignored).
func (h *handler) sendConsent(ctx context.Context, source string, ev signals.Event, d signals.ConsentChangedData) (bool, error) {
	if err := h.journeys.Send(ctx, ev); err != nil {
		if errors.Is(err, sender.ErrUnknownCustomer) {
			return false, nil
		}
		return false, err
	}
	h.log.Info("consent change accepted", "event_id", ev.EventID, "customer_id", ev.CustomerID, "channel", d.Channel, "status", d.Status, "reason", d.Reason)
	h.countReceived(source, ev.Type)
	return true, nil
}

// verifyTwilio checks X-Twilio-Signature over the public URL and the form,
// as Twilio's SDK does.
func (h *handler) verifyTwilio(signature string, form url.Values) error {
	if signature == "" {
		return errors.New("no X-Twilio-Signature header")
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		params[k] = v[0] // Twilio sends each parameter once
	}
	if !h.twilio.validator.Validate(h.twilio.url, params, signature) {
		return fmt.Errorf("X-Twilio-Signature does not match %s (is %s the URL Twilio calls?)", h.twilio.url, EnvPublicURL)
	}
	return nil
}

// twilioNotConsent answers a text that is no consent change: the help text
// to HELP or INFO, unless Advanced Opt-Out (OptOutType) already did.
func (h *handler) twilioNotConsent(w http.ResponseWriter, sid string, form url.Values) {
	if twilioHelp[strings.ToUpper(strings.TrimSpace(form.Get("Body")))] {
		reply := h.twilio.help
		if form.Get("OptOutType") != "" {
			reply = ""
		}
		h.twilioIgnored(w, sid, "help", ReasonHelp, reply)
		return
	}
	if strings.EqualFold(form.Get("OptOutType"), "HELP") { // a custom help keyword Twilio answered
		h.twilioIgnored(w, sid, "help", ReasonHelp, "")
		return
	}
	h.twilioIgnored(w, sid, "not a consent keyword", ReasonNotAKeyword, "")
}

// confirmation is journeys' reply to a consent keyword: none unless
// SMSReplyKeywords says Twilio does not confirm, and none when OptOutType
// shows Advanced Opt-Out handled it, so the customer never gets two.
func (t twilioInbound) confirmation(status string, form url.Values) string {
	if !t.confirm || form.Get("OptOutType") != "" {
		return ""
	}
	if status == signals.ConsentOptedOut {
		return SMSStopConfirmation(t.program)
	}
	return SMSStartConfirmation(t.program)
}

// twilioIgnored acknowledges a genuine inbound text that changes nothing,
// replying reply when it is not empty.
func (h *handler) twilioIgnored(w http.ResponseWriter, sid, reason, token, reply string) {
	h.countIgnored(SourceTwilio, token)
	h.log.Info("twilio inbound ignored", "message_sid", sid, "reason", reason)
	writeTwiML(w, reply)
}

// writeTwiML answers Twilio with one Message of text, XML-escaped, or with
// TwiMLEmpty when text is empty.
func writeTwiML(w http.ResponseWriter, text string) {
	doc := TwiMLEmpty
	if text != "" {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(text)) // a strings.Builder does not fail
		doc = `<?xml version="1.0" encoding="UTF-8"?><Response><Message>` + b.String() + `</Message></Response>`
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(doc))
}

// SMSHelpText is the carrier-style help reply for program, pointing to
// helpURL when there is one.
func SMSHelpText(program, helpURL string) string {
	where := ""
	if helpURL != "" {
		where = " help at " + helpURL + "."
	}
	return program + ":" + where + " Msg&data rates may apply. Reply STOP to opt out."
}

// SMSReplyKeywordsFromEnv reads EnvSMSReplyKeywords: true or false, unset
// being false (Twilio's Advanced Opt-Out confirms).
func SMSReplyKeywordsFromEnv(getenv func(string) string) (bool, error) {
	switch v := getenv(EnvSMSReplyKeywords); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%s %q: want true (journeys confirms STOP and START) or false (Twilio's Advanced Opt-Out does)", EnvSMSReplyKeywords, v)
	}
}

// SMSStopConfirmation is journeys' reply to an opt-out keyword when
// Options.SMSReplyKeywords is set.
func SMSStopConfirmation(program string) string {
	return program + ": You are unsubscribed and will receive no more messages. Reply START to resubscribe."
}

// SMSStartConfirmation is journeys' reply to an opt-in keyword when
// Options.SMSReplyKeywords is set.
func SMSStartConfirmation(program string) string {
	return program + ": You are resubscribed. Reply HELP for help, STOP to opt out. Msg&data rates may apply."
}
