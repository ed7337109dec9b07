// Package api is the events HTTP edge: backends POST events to it, operators
// GET a customer's journey state. Everything it forwards has been decoded
// strictly and validated; bad input gets a 4xx whose JSON body names the
// field, and never reaches a workflow.
//
//	POST /v1/events                   202 accepted, 200 duplicate (journey completed), 400 invalid, 401 no/bad token, 403 an operator token, 404 no journey, 503 Temporal down
//	GET  /v1/customers/{id}           200 state,    400 bad id,  401 no/bad token, 403 not an operator token, 404 no journey, 503 Temporal down
//	DELETE /v1/customers/{id}         200 erased (zero counts: nothing was left), 400 bad id, 401, 403 as GET, 501 not configured, 503 retry (see forget.go)
//	POST /webhooks/slack/interactions 200 applied,  401 bad signature, 400 unusable, 404 not configured, 413 too large
//	POST /webhooks/stripe             200 accepted or ignored, 400 invalid, 401 bad signature, 404 not configured, 409 no journey yet, 413 too large, 503 Temporal down
//	POST /webhooks/twilio/inbound     200 TwiML (applied or ignored), 400 unreadable, 401 bad signature, 404 not configured, 413 too large, 503 Temporal down
//	POST /webhooks/sendgrid/events    200 counts, 400 not a batch, 401 bad or stale signature, 404 not configured, 413 too large, 503 Temporal down
//	GET  /u/{token}                   200 asks to confirm (changes nothing), 404 invalid link or not configured
//	POST /u/{token}                   200 unsubscribed (RFC 8058 one-click) or undone, 400 bad form, 404 invalid link, no journey or not configured, 503 Temporal down
//	GET  /preferences/{token}         200 the preference form, 404 invalid link, no journey or not configured, 503 Temporal down
//	POST /preferences/{token}         200 saved, 400 bad form, 404 invalid link, no journey or not configured, 503 Temporal down
//	GET  /healthz                     200, open: the process is up
//	GET  /readyz                      200 ready, 503 not (Options.Ready says why), open
//
// The /v1 routes need "Authorization: Bearer <token>": POST /v1/events one
// of Options.Tokens, GET and DELETE /v1/customers/{id} (a customer's contact
// details, their erasure) one of Options.OperatorTokens (see auth.go); the
// webhooks are authenticated by their senders' signatures instead, and the
// recipient's pages (pages.go) by the signed token in their URL. A 503
// means Temporal is down, rate limited
// or overloaded, or did not answer in time: nothing was accepted, and its
// Retry-After header says when to try again.
package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// Journeys delivers events to journeys and reads their state;
// *sender.Sender is the implementation.
type Journeys interface {
	Send(ctx context.Context, ev signals.Event) error
	State(ctx context.Context, customerID string) (workflows.State, error)
	AnswerAlert(ctx context.Context, customerID string, in workflows.AlertResponse) (workflows.Alert, error)
	// CustomersByPhoneHash returns the customers with a running journey
	// whose phone has workflows.PhoneHash hash; none is not an error.
	CustomersByPhoneHash(ctx context.Context, hash string) ([]string, error)
}

// AlertAnswers reads a CSM's answer to an alert (a Slack button click) from
// a signed callback request, and tells the CSM the outcome. A request whose
// signature does not verify returns an error wrapping ErrBadSignature.
type AlertAnswers interface {
	ParseAnswer(r *http.Request) (AlertAnswer, error)
	Reply(ctx context.Context, replyTo, text string) error
}

// AlertAnswer is a CSM's answer to one of a customer's alerts.
type AlertAnswer struct {
	CustomerID string
	Response   workflows.AlertResponse
	// ReplyTo is where to tell the CSM the outcome (Slack's response_url).
	ReplyTo string
}

var (
	// ErrBadSignature marks a webhook whose signature is missing, wrong or stale.
	ErrBadSignature = errors.New("api: bad or stale signature")
	// ErrNotAnAnswer marks a genuine callback that answers no alert (a
	// click on another control); it is acknowledged and ignored.
	ErrNotAnAnswer = errors.New("api: not an alert answer")
)

// Options configure the handler. Tokens is required; for the rest, zero
// values are defaults.
type Options struct {
	// Tokens are the bearer tokens POST /v1/events accepts (the
	// backends'); several allow rotation. At least one is
	// required (an empty list is an error, never an open API), each at
	// least MinTokenLength printable ASCII characters without spaces.
	// TokensFromEnv reads them from JOURNEYS_API_TOKENS.
	Tokens []string
	// OperatorTokens are the bearer tokens GET /v1/customers/{id} accepts:
	// a customer's state holds their email and phone, which sending events
	// must not reveal. None turns reading off (403); each must be as
	// acceptable as Tokens. OperatorTokensFromEnv reads them from
	// JOURNEYS_OPERATOR_TOKENS.
	OperatorTokens []string
	// Timeout bounds each call to Temporal; default 10s. Past it the client
	// gets 503 and can retry: the event was not accepted.
	Timeout time.Duration
	// Logger gets one line per request; default slog.Default().
	Logger *slog.Logger
	// Slack, when set, serves POST /webhooks/slack/interactions.
	Slack AlertAnswers
	// StripeWebhookSecret, when set, serves POST /webhooks/stripe: the
	// endpoint's signing secret (whsec_...), from STRIPE_WEBHOOK_SECRET.
	// Unset, the endpoint answers 404.
	StripeWebhookSecret string
	// TwilioAuthToken, PublicURL and LookupKey together serve POST
	// /webhooks/twilio/inbound (see twilio_inbound.go): the account's auth
	// token (TWILIO_AUTH_TOKEN) that signs Twilio's requests; the edge's
	// public base URL as Twilio calls it (JOURNEYS_PUBLIC_URL, see
	// ParsePublicURL); and the key of workflows.PhoneHash the journeys index
	// their phones with (JOURNEYS_LOOKUP_KEY). Without any of them the
	// endpoint answers 404 naming what to set.
	TwilioAuthToken string
	PublicURL       string
	LookupKey       []byte
	// SMSHelpText is the reply to an inbound HELP or INFO (see
	// SMSHelpText); empty replies nothing.
	SMSHelpText string
	// SMSProgram is the brand that starts journeys' STOP and START
	// confirmations, such as the playbook's product.
	SMSProgram string
	// SMSReplyKeywords makes journeys confirm STOP and START itself: set it
	// only where Twilio's Advanced Opt-Out is off, so that the customer
	// never gets two confirmations. Default false: Twilio confirms.
	SMSReplyKeywords bool
	// SendGridWebhookPublicKey, when set, serves POST
	// /webhooks/sendgrid/events: the Signed Event Webhook's verification
	// key, base64 of its DER form as SendGrid shows it
	// (SENDGRID_WEBHOOK_PUBLIC_KEY). New fails on a key that does not parse.
	SendGridWebhookPublicKey string
	// SendGridLifecycleGroup is the unsubscribe group lifecycle email goes
	// in (SENDGRID_UNSUBSCRIBE_GROUPS): a group unsubscribe or resubscribe
	// of it is about lifecycle email, of any other group about marketing.
	SendGridLifecycleGroup int
	// Now is the clock: the time of receipt of events and the reference
	// for webhook signature timestamps; default time.Now.
	Now func() time.Time
	// CoalesceLogins is how often a customer's login events are forwarded
	// at most; the rest are answered 202 with the Journeys-Coalesced header
	// and counted into the next forwarded one. 0 means
	// DefaultCoalesceInterval; negative forwards every login.
	CoalesceLogins time.Duration
	// Ready, when set, serves GET /readyz: nil means this process can take
	// traffic (Temporal reachable, worker polling); an error says why not.
	// It gets a context bounded to a few seconds.
	Ready func(ctx context.Context) error
	// LinkKeys verify the tokens of unsubscribe and preference links
	// (JOURNEYS_LINK_KEYS) and sign the preference links the unsubscribe
	// page offers. Without keys, those routes answer 404 naming the variable.
	LinkKeys links.Keys
	// Brand names the sender on the unsubscribe and preference pages, such
	// as the playbook's product; empty shows no name.
	Brand string
	// Metrics records the API's counters (see metrics.go): the handler the
	// Temporal client was dialed with, so that all metrics share one
	// scope. Default client.MetricsNopHandler.
	Metrics client.MetricsHandler
	// Forget, when set, serves DELETE /v1/customers/{id}: a customer's
	// erasure (*erasure.Eraser). Unset, the route answers 501.
	Forget Forgetter
}

type handler struct {
	journeys     Journeys
	slack        AlertAnswers
	stripeSecret []byte
	twilio       twilioInbound
	sendgridKey  *ecdsa.PublicKey
	// sendgridLifecycleGroup is Options.SendGridLifecycleGroup.
	sendgridLifecycleGroup int
	tokens                 [][sha256.Size]byte
	// operatorTokens read state; none turns reading off.
	operatorTokens [][sha256.Size]byte
	timeout        time.Duration
	log            *slog.Logger
	now            func() time.Time
	logins         *Coalescer
	metrics        client.MetricsHandler
	linkKeys       links.Keys
	brand          string
	forget         Forgetter
}

// New returns the edge's HTTP handler. It fails when opts.Tokens is empty
// or holds a token TokensFromEnv would refuse.
func New(j Journeys, opts Options) (http.Handler, error) {
	if j == nil {
		return nil, errors.New("api: no Journeys")
	}
	if len(opts.Tokens) == 0 {
		return nil, fmt.Errorf("api: no bearer tokens: the events API needs at least one (set %s)", EnvTokens)
	}
	tokens, err := tokenDigests("Tokens", opts.Tokens)
	if err != nil {
		return nil, err
	}
	operatorTokens, err := tokenDigests("OperatorTokens", opts.OperatorTokens)
	if err != nil {
		return nil, err
	}
	h := &handler{journeys: j, slack: opts.Slack, tokens: tokens, operatorTokens: operatorTokens, timeout: opts.Timeout, log: opts.Logger, now: opts.Now, metrics: metricsOrNop(opts.Metrics), linkKeys: opts.LinkKeys, brand: opts.Brand, forget: opts.Forget}
	if opts.StripeWebhookSecret != "" {
		h.stripeSecret = []byte(opts.StripeWebhookSecret)
	}
	if h.twilio, err = newTwilioInbound(opts.TwilioAuthToken, opts.PublicURL, opts.LookupKey); err != nil {
		return nil, err
	}
	h.twilio.help, h.twilio.program, h.twilio.confirm = opts.SMSHelpText, opts.SMSProgram, opts.SMSReplyKeywords
	h.sendgridLifecycleGroup = opts.SendGridLifecycleGroup
	if opts.SendGridWebhookPublicKey != "" {
		if h.sendgridKey, err = ParseSendGridPublicKey(opts.SendGridWebhookPublicKey); err != nil {
			return nil, err
		}
	}
	if h.timeout <= 0 {
		h.timeout = 10 * time.Second
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	switch {
	case opts.CoalesceLogins == 0:
		h.logins = NewCoalescer(DefaultCoalesceInterval, h.now)
	case opts.CoalesceLogins > 0:
		h.logins = NewCoalescer(opts.CoalesceLogins, h.now)
	}
	mux := h.routes()
	addHealth(mux, opts.Ready)
	return mux, nil
}

// routes serves every endpoint but the health checks.
func (h *handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", h.authorized(roleEvents, h.postEvent))
	mux.HandleFunc("GET /v1/customers/{id}", h.authorized(roleOperator, h.getCustomer))
	mux.HandleFunc("DELETE /v1/customers/{id}", h.authorized(roleOperator, h.deleteCustomer))
	mux.HandleFunc("POST /webhooks/slack/interactions", h.slackInteraction)
	mux.HandleFunc("POST /webhooks/stripe", h.stripeWebhook)
	mux.HandleFunc("POST "+TwilioInboundPath, h.twilioInboundWebhook)
	mux.HandleFunc("POST "+SendGridEventsPath, h.sendgridWebhook)
	mux.HandleFunc("GET "+links.UnsubscribePath+"{token}", h.unsubscribePage)
	mux.HandleFunc("POST "+links.UnsubscribePath+"{token}", h.unsubscribe)
	mux.HandleFunc("GET "+links.PreferencesPath+"{token}", h.preferencesPage)
	mux.HandleFunc("POST "+links.PreferencesPath+"{token}", h.savePreferences)
	return mux
}

// Health serves only GET /healthz and, when ready is set, GET /readyz, as
// New does: for a process that runs the worker without the events API.
func Health(ready func(ctx context.Context) error) http.Handler {
	mux := http.NewServeMux()
	addHealth(mux, ready)
	return mux
}

func addHealth(mux *http.ServeMux, ready func(ctx context.Context) error) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	if ready == nil {
		return
	}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// readyTimeout bounds a readiness check: a load balancer polls often and
// must get an answer before its own timeout.
const readyTimeout = 3 * time.Second

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
	// Field is the JSON path of the offending field, when one is to blame.
	Field string `json:"field,omitempty"`
}

// Accepted is the body of a 202 answer to POST /v1/events, and of a 200
// one with StatusDuplicate.
type Accepted struct {
	// Status is "accepted", "coalesced" or StatusDuplicate.
	Status string `json:"status"`
	// Reason says why an event is a duplicate.
	Reason     string `json:"reason,omitempty"`
	EventID    string `json:"event_id"`
	CustomerID string `json:"customer_id"`
	WorkflowID string `json:"workflow_id"`
}

// StatusDuplicate is the status of a 200 answer to POST /v1/events: a
// signed_up for a customer whose journey completed, which starts nothing.
const StatusDuplicate = "duplicate"

func (h *handler) postEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := signals.Decode(r.Body, h.now())
	if err != nil {
		h.fail(w, r, err, "", "")
		return
	}
	accepted := Accepted{Status: "accepted", EventID: ev.EventID, CustomerID: ev.CustomerID, WorkflowID: workflows.WorkflowID(ev.CustomerID)}
	login, coalesced := 0, false
	if ev.Type == signals.Login {
		if ev, login, coalesced = h.coalesceLogin(ev); coalesced {
			w.Header().Set(CoalescedHeader, "true")
			accepted.Status = "coalesced"
			h.countReceived(SourceAPI, ev.Type)
			h.metrics.Counter(MetricLoginsCoalesced).Inc(1)
			writeJSON(w, http.StatusAccepted, accepted)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	err = h.journeys.Send(ctx, ev)
	if errors.Is(err, sender.ErrJourneyCompleted) {
		h.duplicate(w, accepted, "journey completed: only a reactivated event starts it again")
		return
	}
	if err != nil {
		if login > 0 && !errors.Is(err, sender.ErrUnknownCustomer) {
			// Not accepted, whatever the failure; the next login carries
			// this one's count. A login for a customer without a journey
			// is not kept.
			h.logins.Failed(ev.CustomerID, login)
		}
		h.fail(w, r, err, ev.CustomerID, fmt.Sprintf("customer %s has no journey: send a signed_up event first", ev.CustomerID))
		return
	}
	h.log.Info("event accepted", "event_id", ev.EventID, "type", ev.Type, "customer_id", ev.CustomerID)
	h.countReceived(SourceAPI, ev.Type)
	writeJSON(w, http.StatusAccepted, accepted)
}

// duplicate answers an event that applies to nothing: 200, so the backend
// does not retry it, and not 202, as nothing was accepted.
func (h *handler) duplicate(w http.ResponseWriter, res Accepted, reason string) {
	h.countIgnored(SourceAPI, ReasonJourneyCompleted)
	h.log.Info("event is a duplicate", "event_id", res.EventID, "customer_id", res.CustomerID, "reason", reason)
	res.Status, res.Reason = StatusDuplicate, reason
	writeJSON(w, http.StatusOK, res)
}

// coalesceLogin decides on a login: held back (coalesced), or forwarded
// with the count of the logins held back since the last one.
func (h *handler) coalesceLogin(ev signals.Event) (signals.Event, int, bool) {
	if h.logins == nil {
		return ev, 0, false
	}
	var d signals.LoginData
	if len(ev.Data) > 0 {
		_ = json.Unmarshal(ev.Data, &d) // Decode validated it
	}
	forward, total := h.logins.Admit(ev.CustomerID, d.Count)
	if !forward {
		return ev, 0, true
	}
	if total != max(1, d.Count) {
		d.Count = total
		data, err := json.Marshal(d)
		if err == nil {
			ev.Data = data
		}
	}
	return ev, total, false
}

func (h *handler) getCustomer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := signals.ValidateCustomerID(id); err != nil {
		h.fail(w, r, err, "", "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	st, err := h.journeys.State(ctx, id)
	if err != nil {
		h.fail(w, r, err, id, fmt.Sprintf("customer %s has no journey", id))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// slackInteraction applies a CSM's button click to the alert's journey.
// Slack wants an answer within 3 seconds, so the update gets 2.5.
func (h *handler) slackInteraction(w http.ResponseWriter, r *http.Request) {
	if h.slack == nil {
		h.countRejected(r, ReasonNotConfigured)
		writeJSON(w, http.StatusNotFound, errorBody{Error: "Slack is not configured: set SLACK_BOT_TOKEN, SLACK_FALLBACK_CHANNEL and SLACK_SIGNING_SECRET"})
		return
	}
	// The body is read here, so that one over the limit gets 413; the
	// parser verifies the signature over the same bytes.
	body, ok := h.readWebhookBody(w, r)
	if !ok {
		return
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	in, err := h.slack.ParseAnswer(r)
	if errors.Is(err, ErrBadSignature) {
		h.log.Warn("slack interaction refused", "reason", err)
		h.countRejected(r, ReasonBadSignature)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "bad or stale signature"})
		return
	}
	if errors.Is(err, ErrNotAnAnswer) {
		h.countIgnored(SourceSlack, ReasonNotAnAnswer)
		w.WriteHeader(http.StatusOK) // a non-200 makes Slack show the user an error
		return
	}
	if err == nil {
		err = signals.ValidateCustomerID(in.CustomerID)
	}
	if err != nil {
		h.countRejected(r, ReasonBadRequest)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2500*time.Millisecond)
	defer cancel()
	alert, err := h.journeys.AnswerAlert(ctx, in.CustomerID, in.Response)
	var reply string
	switch {
	case errors.Is(err, sender.ErrRejected):
		h.countIgnored(SourceSlack, ReasonAlertClosed)
		reply = "That alert is no longer open on the journey of " + in.CustomerID + "."
	case err != nil:
		h.fail(w, r, err, in.CustomerID, fmt.Sprintf("customer %s has no journey", in.CustomerID))
		return
	default:
		h.countReceived(SourceSlack, AlertResponseType)
		h.log.Info("alert answered", "customer_id", in.CustomerID, "action", in.Response.Action, "status", alert.Status)
		reply = fmt.Sprintf("Done: the %s alert for %s is %s.", alert.Template, in.CustomerID, alert.Status)
		if alert.SnoozedUntil != nil {
			reply += " Quiet until " + alert.SnoozedUntil.UTC().Format("Mon Jan 2 15:04 MST") + "; if nobody acknowledges it within the SLA after that, it escalates to the team."
		}
	}
	w.WriteHeader(http.StatusOK)
	// The reply goes after the 200: Slack wants the answer within 3 seconds.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.slack.Reply(ctx, in.ReplyTo, reply); err != nil {
			h.log.Warn("slack reply failed", "customer_id", in.CustomerID, "error", err)
		}
	}()
}

// fail answers err with the status it calls for.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error, customerID, notFound string) {
	var field *signals.FieldError
	switch {
	case errors.As(err, &field):
		h.countRejected(r, badRequestReason(err))
		h.log.Info("request rejected", "path", r.URL.Path, "field", field.Field, "reason", field.Message)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: field.Error(), Field: field.Field})
	case errors.Is(err, sender.ErrUnknownCustomer):
		h.countRejected(r, ReasonUnknownCustomer)
		h.log.Info("unknown customer", "path", r.URL.Path, "customer_id", customerID)
		writeJSON(w, http.StatusNotFound, errorBody{Error: notFound, Field: "customer_id"})
	case errors.Is(err, sender.ErrUnavailable),
		// A Journeys other than the sender may return the call's context
		// error bare: out of time or canceled, it is still not accepted.
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		h.countRejected(r, ReasonUnavailable)
		h.log.Warn("temporal unavailable", "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "Temporal is unavailable; nothing was accepted, retry later"})
	default:
		h.countRejected(r, ReasonInternal)
		h.log.Error("request failed", "path", r.URL.Path, "error", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error; nothing was accepted"})
	}
}

// retryAfterSeconds is the Retry-After of a 503: long enough for a
// rate limit or a frontend restart to pass, short enough that events are
// not held back for long.
const retryAfterSeconds = "5"

// MaxWebhookBody is the largest webhook body (Slack, Stripe, Twilio) the
// edge reads; a larger one is answered 413. It equals the Slack parser's
// own limit. SendGrid's batches have their own, MaxSendGridBody.
const MaxWebhookBody = 64 << 10

// readWebhookBody reads r's body up to MaxWebhookBody. A larger body is
// answered 413, an unreadable one 400; then ok is false.
func (h *handler) readWebhookBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	return h.readBody(w, r, MaxWebhookBody)
}

// readBody is readWebhookBody with another limit.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.log.Info("webhook refused", "path", r.URL.Path, "reason", "body too large", "limit", tooLarge.Limit)
		h.countRejected(r, ReasonTooLarge)
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("body: is larger than %d bytes", tooLarge.Limit), Field: "body"})
		return nil, false
	case err != nil:
		h.log.Info("webhook refused", "path", r.URL.Path, "reason", "body unreadable", "error", err)
		h.countRejected(r, ReasonBadRequest)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "body: could not be read: " + err.Error(), Field: "body"})
		return nil, false
	}
	return body, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
