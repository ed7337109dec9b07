package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// EnvStripeWebhookSecret names the variable holding the Stripe endpoint's
// signing secret (whsec_...), for Options.StripeWebhookSecret.
const EnvStripeWebhookSecret = "STRIPE_WEBHOOK_SECRET"

// StripeTolerance is how far a Stripe-Signature timestamp may be from the
// server clock, either way, before the request is refused as a replay.
const StripeTolerance = 300 * time.Second

// StripeCustomerKey is the metadata key, on a subscription (and so on its
// invoices) or on an invoice, that holds the journeys customer ID.
const StripeCustomerKey = "journeys_customer_id"

// StripeRetryUnknownFor is how long after a Stripe event's created an
// event for a customer without a journey is answered 409, so that Stripe
// retries it until the backend's signed_up has started the journey. A day
// outlasts a backend outage of hours and stays well inside Stripe's three
// days of retries; older, the event is dropped (200 ignored).
const StripeRetryUnknownFor = 24 * time.Hour

// StripeStatusRetry is the status of a 409 answer: the customer has no
// journey yet, and Stripe is to retry.
const StripeStatusRetry = "retry"

// Stripe event types the edge maps to journey events.
const (
	StripeInvoicePaymentFailed       = "invoice.payment_failed"
	StripeInvoicePaid                = "invoice.paid"
	StripeCustomerSubscriptionDelete = "customer.subscription.deleted"
)

// StripeResult is the body of a 200 or 409 answer to POST /webhooks/stripe.
// Stripe retries anything but a 2xx, so an event that can never apply (a
// type not mapped, no customer ID, no journey StripeRetryUnknownFor after
// it was created) is acknowledged as ignored, and one whose journey may
// yet start is answered 409 with StripeStatusRetry.
type StripeResult struct {
	// Status is "accepted", "ignored" or StripeStatusRetry.
	Status string `json:"status"`
	// Reason says why an event was ignored or is to be retried.
	Reason string `json:"reason,omitempty"`
	// EventID is Stripe's event ID (evt_...), the journey event's event_id.
	EventID    string `json:"event_id"`
	StripeType string `json:"stripe_type"`
	// Type, CustomerID and WorkflowID describe the journey event, when one
	// was built.
	Type       signals.Type `json:"type,omitempty"`
	CustomerID string       `json:"customer_id,omitempty"`
	WorkflowID string       `json:"workflow_id,omitempty"`
}

// stripeWebhook turns a signed Stripe event into a journey event.
func (h *handler) stripeWebhook(w http.ResponseWriter, r *http.Request) {
	if h.stripeSecret == nil {
		h.countRejected(r, ReasonNotConfigured)
		writeJSON(w, http.StatusNotFound, errorBody{Error: "Stripe is not configured: set " + EnvStripeWebhookSecret})
		return
	}
	body, ok := h.readWebhookBody(w, r)
	if !ok {
		return
	}
	if err := verifyStripeSignature(r.Header.Get("Stripe-Signature"), body, h.stripeSecret, h.now(), StripeTolerance); err != nil {
		h.log.Warn("stripe webhook refused", "reason", err)
		h.countRejected(r, ReasonBadSignature)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "bad or stale signature"})
		return
	}
	var se stripeEvent
	if err := json.Unmarshal(body, &se); err != nil {
		h.log.Warn("stripe webhook undecodable", "error", err)
		h.countRejected(r, ReasonBadRequest)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "body: not a Stripe event: " + err.Error(), Field: "body"})
		return
	}
	res := StripeResult{EventID: se.ID, StripeType: se.Type}
	now := h.now()
	ev, ignored, err := stripeToEvent(se, now)
	switch {
	case err != nil:
		h.log.Warn("stripe webhook undecodable", "stripe_event_id", se.ID, "stripe_type", se.Type, "error", err)
		h.countRejected(r, ReasonBadRequest)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "body: " + err.Error(), Field: "body"})
		return
	case ignored != "":
		reason := ReasonUnmappedType
		if stripeMapped(se.Type) {
			reason = ReasonNoCustomerID
		}
		h.stripeIgnored(w, res, ignored, reason)
		return
	}
	res.Type, res.CustomerID = ev.Type, ev.CustomerID
	if err := ev.Validate(now); err != nil {
		h.fail(w, r, err, "", "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	if err := h.journeys.Send(ctx, ev); err != nil {
		if errors.Is(err, sender.ErrUnknownCustomer) {
			h.stripeNoJourney(w, r, res, ev, now)
			return
		}
		h.fail(w, r, err, ev.CustomerID, "")
		return
	}
	res.Status, res.WorkflowID = "accepted", workflows.WorkflowID(ev.CustomerID)
	h.log.Info("stripe event accepted", "event_id", ev.EventID, "stripe_type", se.Type, "type", ev.Type, "customer_id", ev.CustomerID)
	h.countReceived(SourceStripe, ev.Type)
	writeJSON(w, http.StatusOK, res)
}

// stripeNoJourney answers an event for a customer without a journey: the
// signed_up that starts it may still be on its way, so a young event is
// answered 409 for Stripe to retry; an older one is dropped.
func (h *handler) stripeNoJourney(w http.ResponseWriter, r *http.Request, res StripeResult, ev signals.Event, now time.Time) {
	if now.Sub(ev.OccurredAt) >= StripeRetryUnknownFor {
		h.stripeIgnored(w, res, "no journey for customer "+ev.CustomerID, ReasonRetryExpired)
		return
	}
	h.countRejected(r, ReasonJourneyNotYet)
	until := ev.OccurredAt.Add(StripeRetryUnknownFor).UTC().Format(time.RFC3339)
	res.Status = StripeStatusRetry
	res.Reason = "no journey for customer " + ev.CustomerID + " yet: retry until " + until + ", after the signed_up that starts it"
	h.log.Info("stripe event before its journey", "stripe_event_id", res.EventID, "stripe_type", res.StripeType, "customer_id", ev.CustomerID, "retry_until", until)
	w.Header().Set("Retry-After", retryAfterSeconds)
	writeJSON(w, http.StatusConflict, res)
}

// stripeIgnored acknowledges an event that can never apply; token is its
// reason tag.
func (h *handler) stripeIgnored(w http.ResponseWriter, res StripeResult, reason, token string) {
	h.countIgnored(SourceStripe, token)
	res.Status, res.Reason = "ignored", reason
	h.log.Info("stripe event ignored", "stripe_event_id", res.EventID, "stripe_type", res.StripeType, "reason", reason)
	writeJSON(w, http.StatusOK, res)
}

// verifyStripeSignature checks a Stripe-Signature header
// ("t=<unix>,v1=<hex>[,v1=<hex>...]") against body as Stripe's libraries do:
// one of the v1 signatures must be the hex HMAC-SHA256 of "<t>.<body>" under
// secret. Unlike them it also refuses a timestamp more than tolerance in
// the future, not only in the past.
func verifyStripeSignature(header string, body, secret []byte, now time.Time, tolerance time.Duration) error {
	if header == "" {
		return errors.New("no Stripe-Signature header")
	}
	var (
		ts      int64
		haveTS  bool
		sigs    [][]byte
		badSigs int
	)
	for _, pair := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return errors.New("malformed Stripe-Signature header")
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || haveTS {
				return errors.New("malformed or repeated timestamp in Stripe-Signature")
			}
			ts, haveTS = n, true
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				badSigs++ // ignored, as Stripe's libraries do
				continue
			}
			sigs = append(sigs, sig)
		}
		// Other schemes (v0: test-mode examples) are ignored.
	}
	if !haveTS {
		return errors.New("no timestamp in Stripe-Signature")
	}
	if len(sigs) == 0 {
		return fmt.Errorf("no v1 signature in Stripe-Signature (%d malformed)", badSigs)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	want := mac.Sum(nil)
	match := 0
	for _, sig := range sigs { // every signature, no early exit
		match |= subtle.ConstantTimeCompare(sig, want)
	}
	if match != 1 {
		return errors.New("no v1 signature matches")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp %d is %s from the server clock, over the %s tolerance", ts, d.Round(time.Second), tolerance)
	}
	return nil
}

// stripeEvent is the part of a Stripe event the edge reads; Stripe adds
// fields freely, so unknown ones are ignored.
type stripeEvent struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

type stripeMetadata map[string]string

// stripeInvoice is the part of an Invoice the edge reads.
type stripeInvoice struct {
	ID               string `json:"id"`
	AmountDue        int64  `json:"amount_due"`
	AmountPaid       int64  `json:"amount_paid"`
	Currency         string `json:"currency"`
	AttemptCount     int    `json:"attempt_count"`
	BillingReason    string `json:"billing_reason"`
	HostedInvoiceURL string `json:"hosted_invoice_url"`
	// LastFinalizationError is the invoice's last error, if any.
	LastFinalizationError *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"last_finalization_error"`
	Metadata stripeMetadata `json:"metadata"`
	// SubscriptionDetails holds a snapshot of the subscription's metadata
	// (API versions before 2025-03-31)...
	SubscriptionDetails *struct {
		Metadata stripeMetadata `json:"metadata"`
	} `json:"subscription_details"`
	// ...and Parent.SubscriptionDetails from 2025-03-31.basil on.
	Parent *struct {
		SubscriptionDetails *struct {
			Metadata stripeMetadata `json:"metadata"`
		} `json:"subscription_details"`
	} `json:"parent"`
}

// customerID finds the journeys customer ID on the invoice itself, else
// on the snapshot of its subscription's metadata.
func (in stripeInvoice) customerID() string {
	if id := in.Metadata[StripeCustomerKey]; id != "" {
		return id
	}
	if in.SubscriptionDetails != nil {
		if id := in.SubscriptionDetails.Metadata[StripeCustomerKey]; id != "" {
			return id
		}
	}
	if in.Parent != nil && in.Parent.SubscriptionDetails != nil {
		return in.Parent.SubscriptionDetails.Metadata[StripeCustomerKey]
	}
	return ""
}

// reason is the invoice's error as a decline reason: the code
// (card_declined) when there is one, else the message, made to fit
// data.reason (one line, at most 200 bytes) since it is optional and
// should not get the event refused.
func (in stripeInvoice) reason() string {
	e := in.LastFinalizationError
	if e == nil {
		return ""
	}
	s := e.Code
	if s == "" {
		s = strings.TrimRight(e.Message, ". ")
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	for len(s) > 200 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// stripeSubscription is the part of a Subscription the edge reads.
type stripeSubscription struct {
	ID       string         `json:"id"`
	Metadata stripeMetadata `json:"metadata"`
}

// stripeMapped reports whether Stripe events of type t map to journey events.
func stripeMapped(t string) bool {
	switch t {
	case StripeInvoicePaymentFailed, StripeInvoicePaid, StripeCustomerSubscriptionDelete:
		return true
	}
	return false
}

// stripeToEvent maps se to a journey event. For an event that maps to none
// it returns why in ignored; err is for an object it cannot decode. The
// event is not validated yet.
func stripeToEvent(se stripeEvent, now time.Time) (ev signals.Event, ignored string, err error) {
	occurred := time.Unix(se.Created, 0).UTC()
	if se.Created == 0 {
		occurred = now.UTC()
	}
	var (
		customer string
		typ      signals.Type
		payload  signals.Payload
	)
	switch se.Type {
	case StripeInvoicePaymentFailed, StripeInvoicePaid:
		var in stripeInvoice
		if err := json.Unmarshal(se.Data.Object, &in); err != nil {
			return ev, "", fmt.Errorf("data.object is not an invoice: %v", err)
		}
		customer = in.customerID()
		if customer == "" {
			return ev, fmt.Sprintf("invoice %s has no metadata.%s, nor has its subscription", in.ID, StripeCustomerKey), nil
		}
		currency := strings.ToUpper(in.Currency)
		if se.Type == StripeInvoicePaymentFailed {
			typ = signals.PaymentFailed
			payload = signals.PaymentFailedData{
				InvoiceID: in.ID, Amount: in.AmountDue, Currency: currency, Attempt: in.AttemptCount,
				Reason: in.reason(), UpdateURL: in.HostedInvoiceURL,
			}
		} else {
			typ = signals.PaymentSucceeded
			payload = signals.PaymentSucceededData{
				InvoiceID: in.ID, Amount: in.AmountPaid, Currency: currency,
				Renewal: in.BillingReason == "subscription_cycle",
			}
		}
	case StripeCustomerSubscriptionDelete:
		var sub stripeSubscription
		if err := json.Unmarshal(se.Data.Object, &sub); err != nil {
			return ev, "", fmt.Errorf("data.object is not a subscription: %v", err)
		}
		customer = sub.Metadata[StripeCustomerKey]
		if customer == "" {
			return ev, fmt.Sprintf("subscription %s has no metadata.%s", sub.ID, StripeCustomerKey), nil
		}
		typ, payload = signals.SubscriptionCanceled, signals.SubscriptionCanceledData{}
	default:
		return ev, fmt.Sprintf("Stripe event type %q is not mapped to a journey event", se.Type), nil
	}
	ev, err = signals.NewEvent(se.ID, customer, typ, occurred, payload)
	return ev, "", err
}
