package api

import (
	"net/http"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/signals"
)

// The events API's metrics, recorded through Options.Metrics. They are
// counters, exported with "_total" appended. Each name has fixed tag keys:
//
//	journeys_events_received{source, type}     answered 2xx and taken: forwarded to the journey, or a coalesced login
//	journeys_events_rejected{source, reason}   answered 4xx/5xx; nothing reached a journey
//	journeys_events_ignored{source, reason}    a genuine webhook, or a duplicate signed_up, acknowledged without effect
//	journeys_logins_coalesced                  logins held back (also counted as received)
//
// source is api (POST /v1/events), stripe, slack, twilio or sendgrid (the
// webhooks), unsubscribe or preferences (the recipient's pages; GETs that
// change nothing are counted only when rejected). GET /v1/customers/{id} is not counted. A SendGrid batch counts
// each of its events; a Twilio STOP counts one event per customer found.
const (
	MetricEventsReceived  = "journeys_events_received"
	MetricEventsRejected  = "journeys_events_rejected"
	MetricEventsIgnored   = "journeys_events_ignored"
	MetricLoginsCoalesced = "journeys_logins_coalesced"
)

// Sources of events, the source tag.
const (
	SourceAPI    = "api"
	SourceStripe = "stripe"
	SourceSlack  = "slack"
	// SourceTwilio is Twilio's inbound SMS webhook (STOP, START).
	SourceTwilio = "twilio"
	// SourceSendGrid is SendGrid's Event Webhook.
	SourceSendGrid = "sendgrid"
)

// Why a request was rejected or ignored, the reason tag.
const (
	ReasonBadRequest       = "bad_request"       // 400: invalid JSON, field or value
	ReasonTooLarge         = "too_large"         // a body over the limit (400 on /v1/events, 413 on webhooks)
	ReasonUnauthorized     = "unauthorized"      // 401: no or wrong bearer token
	ReasonForbidden        = "forbidden"         // 403: an operator token on POST /v1/events
	ReasonBadSignature     = "bad_signature"     // 401: a webhook's signature is missing, wrong or stale
	ReasonUnknownCustomer  = "unknown_customer"  // 404 (ignored on the Twilio and SendGrid webhooks: 200; Stripe: journey_not_yet, retry_expired)
	ReasonUnavailable      = "unavailable"       // 503: Temporal did not answer
	ReasonInternal         = "internal"          // 500
	ReasonNotConfigured    = "not_configured"    // 404: a webhook without its secret
	ReasonUnmappedType     = "unmapped_type"     // ignored: a Stripe type or SendGrid event journeys does not use
	ReasonNoCustomerID     = "no_customer_id"    // ignored: a Stripe object or SendGrid event without the customer ID
	ReasonNotAnAnswer      = "not_an_answer"     // ignored: a Slack click on another control
	ReasonAlertClosed      = "alert_closed"      // ignored: an answer to an alert no longer open
	ReasonNotAKeyword      = "not_a_keyword"     // ignored: an inbound text other than an opt-out or opt-in keyword
	ReasonHelp             = "help"              // ignored: an inbound HELP or INFO, answered with the help text
	ReasonInvalidEvent     = "invalid_event"     // ignored: a SendGrid event that does not decode or map to a valid event
	ReasonJourneyNotYet    = "journey_not_yet"   // 409: a Stripe event for a customer without a journey yet; Stripe retries it
	ReasonRetryExpired     = "retry_expired"     // ignored: a Stripe event still without a journey StripeRetryUnknownFor after it was created; dropped
	ReasonJourneyCompleted = "journey_completed" // ignored (200 duplicate): a signed_up for a customer whose journey completed
)

// AlertResponseType is the type tag of a Slack alert answer.
const AlertResponseType = "alert_response"

// sourceOf is the source of a request by its path, or "" for a request
// that carries no event.
func sourceOf(r *http.Request) string {
	switch r.URL.Path {
	case "/v1/events":
		return SourceAPI
	case "/webhooks/stripe":
		return SourceStripe
	case "/webhooks/slack/interactions":
		return SourceSlack
	case TwilioInboundPath:
		return SourceTwilio
	case SendGridEventsPath:
		return SourceSendGrid
	}
	switch {
	case strings.HasPrefix(r.URL.Path, links.UnsubscribePath):
		return SourceUnsubscribe
	case strings.HasPrefix(r.URL.Path, links.PreferencesPath):
		return SourcePreferencesPage
	}
	return ""
}

func (h *handler) countReceived(source string, typ signals.Type) {
	h.metrics.WithTags(map[string]string{"source": source, "type": string(typ)}).Counter(MetricEventsReceived).Inc(1)
}

// countRejected counts r as rejected for reason, when it carries an event.
func (h *handler) countRejected(r *http.Request, reason string) {
	if source := sourceOf(r); source != "" {
		h.metrics.WithTags(map[string]string{"source": source, "reason": reason}).Counter(MetricEventsRejected).Inc(1)
	}
}

func (h *handler) countIgnored(source, reason string) {
	h.metrics.WithTags(map[string]string{"source": source, "reason": reason}).Counter(MetricEventsIgnored).Inc(1)
}

// badRequestReason tells a body over the size limit from other bad input.
func badRequestReason(err error) string {
	if signals.IsTooLarge(err) {
		return ReasonTooLarge
	}
	return ReasonBadRequest
}

// metricsOrNop is m, or the SDK's no-op handler.
func metricsOrNop(m client.MetricsHandler) client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	return m
}
