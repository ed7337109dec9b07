// Package api is the events HTTP edge: backends POST events to it, operators
// GET a customer's journey state. Everything it forwards has been decoded
// strictly and validated; bad input gets a 4xx whose JSON body names the
// field, and never reaches a workflow.
//
//	POST /v1/events                   202 accepted, 400 invalid, 404 no journey, 503 Temporal down
//	GET  /v1/customers/{id}           200 state,    400 bad id,  404 no journey, 503 Temporal down
//	POST /webhooks/slack/interactions 200 applied,  401 bad signature, 400 unusable, 404 not configured
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

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

// Options tune the handler; zero values are defaults.
type Options struct {
	// Timeout bounds each call to Temporal; default 10s. Past it the client
	// gets 503 and can retry: the event was not accepted.
	Timeout time.Duration
	// Logger gets one line per request; default slog.Default().
	Logger *slog.Logger
	// Slack, when set, serves POST /webhooks/slack/interactions.
	Slack AlertAnswers
}

type handler struct {
	journeys Journeys
	slack    AlertAnswers
	timeout  time.Duration
	log      *slog.Logger
	now      func() time.Time
}

// New returns the edge's HTTP handler.
func New(j Journeys, opts Options) http.Handler {
	h := &handler{journeys: j, slack: opts.Slack, timeout: opts.Timeout, log: opts.Logger, now: time.Now}
	if h.timeout <= 0 {
		h.timeout = 10 * time.Second
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", h.postEvent)
	mux.HandleFunc("GET /v1/customers/{id}", h.getCustomer)
	mux.HandleFunc("POST /webhooks/slack/interactions", h.slackInteraction)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
	// Field is the JSON path of the offending field, when one is to blame.
	Field string `json:"field,omitempty"`
}

// Accepted is the body of a 202 answer to POST /v1/events.
type Accepted struct {
	Status     string `json:"status"`
	EventID    string `json:"event_id"`
	CustomerID string `json:"customer_id"`
	WorkflowID string `json:"workflow_id"`
}

func (h *handler) postEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := signals.Decode(r.Body, h.now())
	if err != nil {
		h.fail(w, r, err, "", "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	if err := h.journeys.Send(ctx, ev); err != nil {
		h.fail(w, r, err, ev.CustomerID, fmt.Sprintf("customer %s has no journey: send a signed_up event first", ev.CustomerID))
		return
	}
	h.log.Info("event accepted", "event_id", ev.EventID, "type", ev.Type, "customer_id", ev.CustomerID)
	writeJSON(w, http.StatusAccepted, Accepted{Status: "accepted", EventID: ev.EventID, CustomerID: ev.CustomerID, WorkflowID: workflows.WorkflowID(ev.CustomerID)})
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
		writeJSON(w, http.StatusNotFound, errorBody{Error: "Slack is not configured: set SLACK_BOT_TOKEN, SLACK_FALLBACK_CHANNEL and SLACK_SIGNING_SECRET"})
		return
	}
	in, err := h.slack.ParseAnswer(r)
	if errors.Is(err, ErrBadSignature) {
		h.log.Warn("slack interaction refused", "reason", err)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "bad or stale signature"})
		return
	}
	if errors.Is(err, ErrNotAnAnswer) {
		w.WriteHeader(http.StatusOK) // a non-200 makes Slack show the user an error
		return
	}
	if err == nil {
		err = signals.ValidateCustomerID(in.CustomerID)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2500*time.Millisecond)
	defer cancel()
	alert, err := h.journeys.AnswerAlert(ctx, in.CustomerID, in.Response)
	var reply string
	switch {
	case errors.Is(err, sender.ErrRejected):
		reply = "That alert is no longer open on the journey of " + in.CustomerID + "."
	case err != nil:
		h.fail(w, r, err, in.CustomerID, fmt.Sprintf("customer %s has no journey", in.CustomerID))
		return
	default:
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
		h.log.Info("request rejected", "path", r.URL.Path, "field", field.Field, "reason", field.Message)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: field.Error(), Field: field.Field})
	case errors.Is(err, sender.ErrUnknownCustomer):
		h.log.Info("unknown customer", "path", r.URL.Path, "customer_id", customerID)
		writeJSON(w, http.StatusNotFound, errorBody{Error: notFound, Field: "customer_id"})
	case errors.Is(err, sender.ErrUnavailable):
		h.log.Warn("temporal unavailable", "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "Temporal is unavailable; nothing was accepted, retry later"})
	default:
		h.log.Error("request failed", "path", r.URL.Path, "error", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error; nothing was accepted"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
