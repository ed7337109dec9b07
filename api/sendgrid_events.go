package api

// SendGrid's Event Webhook: unsubscribes, spam reports and permanent
// bounces of our emails become consent_changed events. The sibling
// twilio_inbound.go does the same for SMS.

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"

	"github.com/journeyshq/journeys/signals"
)

// SendGridEventsPath is the route of SendGrid's Event Webhook.
const SendGridEventsPath = "/webhooks/sendgrid/events"

// EnvSendGridWebhookPublicKey names the variable holding the Signed Event
// Webhook's verification key, for Options.SendGridWebhookPublicKey.
const EnvSendGridWebhookPublicKey = "SENDGRID_WEBHOOK_PUBLIC_KEY"

// SendGridTolerance is how far the signed timestamp may be from the server
// clock, either way, before the batch is refused as a replay.
const SendGridTolerance = 300 * time.Second

// MaxSendGridBody is the largest batch the edge reads: SendGrid posts up
// to 768 KB at once, and a batch refused for its size would be retried,
// and refused, for a day.
const MaxSendGridBody = 1 << 20

// SendGridCustomerKey is the custom argument, set on every email journeys
// sends (integrations/sendgrid.ArgCustomerID), that SendGrid copies into
// each of its events as a top-level key.
const SendGridCustomerKey = "customer_id"

// SendGridResult is the body of a 200 answer to POST /webhooks/sendgrid/events.
type SendGridResult struct {
	// Accepted counts the consent changes delivered to journeys.
	Accepted int `json:"accepted"`
	// Ignored counts the events that change no consent (deliveries, opens,
	// clicks...), name no known customer, or do not decode.
	Ignored int `json:"ignored"`
}

// ParseSendGridPublicKey reads the Signed Event Webhook's verification key
// as SendGrid shows it: base64 of a PKIX (DER) ECDSA public key.
func ParseSendGridPublicKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s: not base64 (paste the verification key SendGrid shows): %v", EnvSendGridWebhookPublicKey, err)
	}
	// Checked here because the SDK's conversion panics on a key of
	// another type.
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: not a public key: %v", EnvSendGridWebhookPublicKey, err)
	}
	if _, ok := pub.(*ecdsa.PublicKey); !ok {
		return nil, fmt.Errorf("%s: a %T, want the ECDSA verification key SendGrid shows", EnvSendGridWebhookPublicKey, pub)
	}
	return eventwebhook.ConvertPublicKeyBase64ToECDSA(s)
}

// sendgridEvent is the part of an Event Webhook event the edge reads.
type sendgridEvent struct {
	Event      string `json:"event"`
	EventID    string `json:"sg_event_id"`
	Timestamp  int64  `json:"timestamp"`
	CustomerID string `json:"customer_id"`
	// Email is the recipient's address: personal data, carried in the
	// event (the journey compares it with the current one), never logged.
	Email string `json:"email"`
	// Type tells a bounce ("bounce", permanent) from a block ("blocked").
	Type string `json:"type"`
	// Status is the bounce's enhanced SMTP status code, such as 5.1.1.
	Status string `json:"status"`
	// GroupID is the unsubscribe group of a group_unsubscribe or
	// group_resubscribe.
	GroupID groupID `json:"asm_group_id"`
	// Reason is why a message was dropped, one of SendGrid's fixed
	// phrases. (On a bounce it is the receiving server's text, which can
	// quote the address: never read.)
	Reason string `json:"reason"`
}

// groupID is an unsubscribe group's ID, which SendGrid sends as a number;
// a quoted one is read too, and anything else as no group.
type groupID int

func (g *groupID) UnmarshalJSON(b []byte) error {
	n, err := strconv.Atoi(strings.Trim(string(b), `"`))
	if err == nil {
		*g = groupID(n)
	}
	return nil
}

// smtpStatus is an enhanced status code; anything else in a bounce's
// status is not copied into the event.
var smtpStatus = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}$`)

// sendgridConsent maps an event to the consent change it reports; ok is
// false for the events that report none.
func sendgridConsent(e sendgridEvent, lifecycleGroup int) (d signals.ConsentChangedData, ok bool) {
	d = signals.ConsentChangedData{Channel: signals.ConsentEmail, Source: signals.SourceSendGrid}
	if signals.ValidConsentAddress(d.Channel, e.Email) { // else the current address, rather than lose it
		d.Address = e.Email
	}
	switch e.Event {
	case "unsubscribe", "spamreport":
		d.Status, d.Reason = signals.ConsentOptedOut, e.Event
	case "group_unsubscribe", "group_resubscribe":
		d.Status, d.Reason = signals.ConsentOptedOut, e.Event
		if e.Event == "group_resubscribe" {
			d.Status = signals.ConsentOptedIn
		}
		if lifecycleGroup != 0 && int(e.GroupID) == lifecycleGroup {
			d.Class = signals.ConsentClassLifecycle
		}
	case "bounce":
		if e.Type != "bounce" { // "blocked": temporary, the next send may pass
			return d, false
		}
		d.Status, d.Reason = signals.ConsentUnusable, "bounce"
		if smtpStatus.MatchString(e.Status) {
			d.Reason += " " + e.Status
		}
	case "dropped":
		switch e.Reason {
		case "Bounced Address", "Invalid":
			d.Status = signals.ConsentUnusable
		case "Unsubscribed Address", "Spam Reporting Address":
			d.Status = signals.ConsentOptedOut
		default: // spam content, a bad header: about the message, not the address
			return d, false
		}
		d.Reason = "dropped: " + e.Reason
	default:
		return d, false
	}
	return d, true
}

// eventIDChars is what an event_id may hold (signals' rule), leaving room
// for the prefix. SendGrid's IDs are base64, and some hold "+", "/" or "=".
var eventIDChars = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,110}$`)

// sendgridEventID is the journey event ID of a SendGrid event ID: the same
// on every redelivery of the event. An ID that does not fit is hashed,
// since replacing its characters could make two IDs one.
func sendgridEventID(sgEventID string) string {
	if eventIDChars.MatchString(sgEventID) {
		return "sendgrid-" + sgEventID
	}
	sum := sha256.Sum256([]byte(sgEventID))
	return "sendgrid-h-" + hex.EncodeToString(sum[:20])
}

// sendgridWebhook applies a signed batch of events. Each event stands on
// its own: one that changes no consent or names no journey is counted as
// ignored, and the batch is still acknowledged. Only Temporal being
// unavailable refuses the batch (503): SendGrid retries all of it, and the
// event IDs make the events already delivered apply once.
func (h *handler) sendgridWebhook(w http.ResponseWriter, r *http.Request) {
	raw, now, ok := h.readSendGridBatch(w, r)
	if !ok {
		return
	}
	var res SendGridResult
	ignore := func(reason string) {
		res.Ignored++
		h.countIgnored(SourceSendGrid, reason)
	}
	for _, e := range h.sendgridEvents(raw, ignore) {
		reason, err := h.applySendGridEvent(r.Context(), e, now)
		switch {
		case err != nil:
			h.fail(w, r, err, e.CustomerID, "")
			return
		case reason != "":
			ignore(reason)
		default:
			res.Accepted++
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// readSendGridBatch reads a batch's events, undecoded, and the time it is
// checked at. It has answered, and ok is false, when the webhook is not
// configured, the signature is bad or stale, or the body is not a JSON
// array: no event of such a batch can be trusted.
func (h *handler) readSendGridBatch(w http.ResponseWriter, r *http.Request) (raw []json.RawMessage, now time.Time, ok bool) {
	if h.sendgridKey == nil {
		h.countRejected(r, ReasonNotConfigured)
		writeJSON(w, http.StatusNotFound, errorBody{Error: "SendGrid events are not configured: set " + EnvSendGridWebhookPublicKey})
		return nil, now, false
	}
	body, ok := h.readBody(w, r, MaxSendGridBody)
	if !ok {
		return nil, now, false
	}
	now = h.now()
	if err := h.verifySendGrid(r.Header, body, now); err != nil {
		h.log.Warn("sendgrid webhook refused", "reason", err)
		h.countRejected(r, ReasonBadSignature)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "bad or stale signature"})
		return nil, now, false
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		h.log.Warn("sendgrid webhook undecodable", "error", err)
		h.countRejected(r, ReasonBadRequest)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "body: not a JSON array of events: " + err.Error(), Field: "body"})
		return nil, now, false
	}
	return raw, now, true
}

// sendgridEvents decodes a batch's events in the order they happened; one
// that does not decode is passed to ignore, and the rest still apply.
func (h *handler) sendgridEvents(raw []json.RawMessage, ignore func(reason string)) []sendgridEvent {
	events := make([]sendgridEvent, 0, len(raw))
	for _, m := range raw {
		var e sendgridEvent
		if err := json.Unmarshal(m, &e); err != nil {
			h.log.Info("sendgrid event ignored", "reason", "undecodable", "error", err)
			ignore(ReasonInvalidEvent)
			continue
		}
		events = append(events, e)
	}
	// A batch is not in order; an unsubscribe and a resubscribe in it must
	// apply as they happened. Across batches (and SendGrid's retries of one
	// answered 503) the order is the arrival's: docs/events.md says so.
	slices.SortStableFunc(events, func(a, b sendgridEvent) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	return events
}

// applySendGridEvent delivers event e's consent change to its journey. It
// returns the reason e is ignored (logged), or "" once delivered; an error
// is Temporal's, which refuses the batch.
func (h *handler) applySendGridEvent(ctx context.Context, e sendgridEvent, now time.Time) (ignored string, err error) {
	ev, data, ignored := h.sendgridSignal(e, now)
	if ignored != "" {
		return ignored, nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	delivered, err := h.sendConsent(ctx, SourceSendGrid, ev, data)
	cancel()
	switch {
	case err != nil:
		return "", err
	case !delivered:
		h.log.Info("sendgrid event ignored", "sg_event_id", e.EventID, "event", e.Event, "customer_id", e.CustomerID, "reason", "no journey")
		return ReasonUnknownCustomer, nil
	}
	return "", nil
}

// sendgridSignal is the consent_changed event SendGrid event e reports, or
// the reason it is ignored (logged): it changes no consent, or lacks what
// makes a valid journey event.
func (h *handler) sendgridSignal(e sendgridEvent, now time.Time) (signals.Event, signals.ConsentChangedData, string) {
	data, ok := sendgridConsent(e, h.sendgridLifecycleGroup)
	switch {
	case !ok:
		return signals.Event{}, data, ReasonUnmappedType
	case e.CustomerID == "":
		h.log.Info("sendgrid event ignored", "sg_event_id", e.EventID, "event", e.Event, "reason", "no "+SendGridCustomerKey)
		return signals.Event{}, data, ReasonNoCustomerID
	case e.EventID == "":
		h.log.Info("sendgrid event ignored", "event", e.Event, "customer_id", e.CustomerID, "reason", "no sg_event_id")
		return signals.Event{}, data, ReasonInvalidEvent
	}
	occurred := time.Unix(e.Timestamp, 0).UTC()
	if e.Timestamp == 0 {
		occurred = now.UTC()
	}
	ev, err := signals.NewEvent(sendgridEventID(e.EventID), e.CustomerID, signals.ConsentChanged, occurred, data)
	if err == nil {
		err = ev.Validate(now)
	}
	if err != nil {
		h.log.Info("sendgrid event ignored", "sg_event_id", e.EventID, "event", e.Event, "reason", err)
		return signals.Event{}, data, ReasonInvalidEvent
	}
	return ev, data, ""
}

// verifySendGrid checks the batch's ECDSA signature over timestamp+body
// with SendGrid's helper, and that the timestamp is within
// SendGridTolerance of now.
func (h *handler) verifySendGrid(header http.Header, body []byte, now time.Time) error {
	sig, ts := header.Get(eventwebhook.VerificationHTTPHeader), header.Get(eventwebhook.TimestampHTTPHeader)
	if sig == "" || ts == "" {
		return fmt.Errorf("no %s or %s header", eventwebhook.VerificationHTTPHeader, eventwebhook.TimestampHTTPHeader)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not a Unix time", ts)
	}
	ok, err := eventwebhook.VerifySignature(h.sendgridKey, body, sig, ts)
	if err != nil {
		return fmt.Errorf("malformed signature: %v", err)
	}
	if !ok {
		return errors.New("signature does not match")
	}
	if d := now.Sub(time.Unix(unix, 0)); d > SendGridTolerance || d < -SendGridTolerance {
		return fmt.Errorf("timestamp %d is %s from the server clock, over the %s tolerance", unix, d.Round(time.Second), SendGridTolerance)
	}
	return nil
}
