package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/integrations/slack"
	"github.com/journeyshq/journeys/internal/metrics/metricstest"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// untouchable fails the test if the edge forwards anything: bad input must
// be answered at the edge and never reach Temporal.
type untouchable struct{ t *testing.T }

func (u untouchable) Send(context.Context, signals.Event) error {
	u.t.Error("an invalid event was forwarded")
	return nil
}

func (u untouchable) State(context.Context, string) (workflows.State, error) {
	u.t.Error("an invalid state request was forwarded")
	return workflows.State{}, nil
}

func (u untouchable) AnswerAlert(context.Context, string, workflows.AlertResponse) (workflows.Alert, error) {
	u.t.Error("an unverified alert answer was forwarded")
	return workflows.Alert{}, nil
}

func (u untouchable) CustomersByPhoneHash(context.Context, string) ([]string, error) {
	u.t.Error("an unverified inbound text was looked up")
	return nil, nil
}

// recorder is a Journeys that keeps the events it is sent and answers
// with err. Its customers are phones: PhoneHash → customer IDs.
type recorder struct {
	mu        sync.Mutex
	events    []signals.Event
	err       error
	phones    map[string][]string
	lookupErr error
}

func (r *recorder) CustomersByPhoneHash(_ context.Context, hash string) ([]string, error) {
	return r.phones[hash], r.lookupErr
}

func (r *recorder) Send(_ context.Context, ev signals.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return r.err
}

func (r *recorder) State(_ context.Context, id string) (workflows.State, error) {
	return workflows.State{CustomerID: id}, r.err
}

func (r *recorder) AnswerAlert(context.Context, string, workflows.AlertResponse) (workflows.Alert, error) {
	return workflows.Alert{}, r.err
}

func (r *recorder) sent() []signals.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]signals.Event(nil), r.events...)
}

type errorResponse struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

// testToken is the bearer token newHandler configures and do sends.
const testToken = "test-token-4f9c2a7e1b"

// newHandler returns the edge with opts, configured with testToken for
// events and reads, as --dev's token is, when opts has no tokens.
func newHandler(t *testing.T, j api.Journeys, opts api.Options) http.Handler {
	t.Helper()
	if opts.Tokens == nil {
		opts.Tokens = []string{testToken}
	}
	if opts.OperatorTokens == nil {
		opts.OperatorTokens = []string{testToken}
	}
	h, err := api.New(j, opts)
	require.NoError(t, err)
	return h
}

// do sends a request authorized with testToken.
func do(t *testing.T, h http.Handler, method, path, body string) (*httptest.ResponseRecorder, errorResponse) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	return serve(t, h, req)
}

// serve serves req and decodes the error body of a 4xx or 5xx, checking
// that it is JSON.
func serve(t *testing.T, h http.Handler, req *http.Request) (*httptest.ResponseRecorder, errorResponse) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var e errorResponse
	if rec.Code >= 400 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "error bodies are JSON: %s", rec.Body)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	}
	return rec, e
}

func TestPostEventRejectsBadInputWith400NamingTheField(t *testing.T) {
	h := newHandler(t, untouchable{t}, api.Options{})
	cases := map[string]struct{ body, field string }{
		"malformed JSON":     {`{"event_id":"e1",`, "body"},
		"missing field":      {`{"customer_id":"c-1","type":"login"}`, "event_id"},
		"invalid field":      {`{"event_id":"e1","customer_id":"c-1","type":"signed_up","data":{"email":"not-an-email"}}`, "data.email"},
		"unknown type":       {`{"event_id":"e1","customer_id":"c-1","type":"teleported"}`, "type"},
		"unknown field":      {`{"event_id":"e1","customer_id":"c-1","type":"login","password":"x"}`, "password"},
		"oversized body":     {`{"event_id":"e1","customer_id":"c-1","type":"login","data":"` + strings.Repeat("x", 70_000) + `"}`, "body"},
		"bad phone":          {`{"event_id":"e1","customer_id":"c-1","type":"signed_up","data":{"email":"a@b.co","phone":"12"}}`, "data.phone"},
		"milestone missing":  {`{"event_id":"e1","customer_id":"c-1","type":"milestone_reached"}`, "data.milestone"},
		"future occurred_at": {`{"event_id":"e1","customer_id":"c-1","type":"login","occurred_at":"2999-01-01T00:00:00Z"}`, "occurred_at"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rec, e := do(t, h, http.MethodPost, "/v1/events", tc.body)
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Equal(t, tc.field, e.Field)
			assert.True(t, strings.HasPrefix(e.Error, tc.field+": "), "the message names the field: %q", e.Error)
		})
	}
}

func TestGetCustomerRejectsABadID(t *testing.T) {
	rec, e := do(t, newHandler(t, untouchable{t}, api.Options{}), http.MethodGet, "/v1/customers/a%20b", "")
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "customer_id", e.Field)
}

func TestWrongMethodIs405(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler(t, untouchable{t}, api.Options{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/events", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

// With Temporal unreachable the edge answers 503 with Retry-After, so the
// backend keeps the event and retries; it never claims to have accepted it.
func TestTemporalUnreachableIs503(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	c, err := client.NewLazyClient(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	defer c.Close()
	h := newHandler(t, sender.New(c), api.Options{Timeout: 500 * time.Millisecond})

	start := time.Now()
	rec, e := do(t, h, http.MethodPost, "/v1/events", `{"event_id":"e1","customer_id":"c-1","type":"login"}`)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	assert.Contains(t, e.Error, "nothing was accepted")
	assert.Less(t, time.Since(start), 5*time.Second, "the edge gives up after its timeout")

	rec, _ = do(t, h, http.MethodGet, "/v1/customers/c-1", "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
}

// slackAnswers is an AlertAnswers that checks the body it is given and
// acknowledges the request as no answer.
type slackAnswers struct {
	t      *testing.T
	want   string
	parsed int
}

func (s *slackAnswers) ParseAnswer(r *http.Request) (api.AlertAnswer, error) {
	s.parsed++
	body, err := io.ReadAll(r.Body)
	require.NoError(s.t, err)
	assert.Equal(s.t, s.want, string(body), "the parser gets the body as sent")
	return api.AlertAnswer{}, api.ErrNotAnAnswer
}

func (s *slackAnswers) Reply(context.Context, string, string) error { return nil }

func TestSlackWebhookBodyOverTheLimitIs413(t *testing.T) {
	sl := &slackAnswers{t: t, want: "payload=" + strings.Repeat("x", api.MaxWebhookBody-len("payload="))}
	h := newHandler(t, untouchable{t}, api.Options{Slack: sl})

	rec, _ := serve(t, h, httptest.NewRequest(http.MethodPost, "/webhooks/slack/interactions", strings.NewReader(sl.want)))
	assert.Equal(t, http.StatusOK, rec.Code, "a body of exactly the limit is read and passed on")
	assert.Equal(t, 1, sl.parsed)

	rec, e := serve(t, h, httptest.NewRequest(http.MethodPost, "/webhooks/slack/interactions", strings.NewReader(sl.want+"x")))
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, "body", e.Field)
	assert.Equal(t, 1, sl.parsed, "an oversized body never reaches the parser")
}

// The edge's webhook limit is the Slack parser's: a body the edge passes on
// is never refused by the parser for its size.
func TestWebhookLimitIsTheSlackParsersLimit(t *testing.T) {
	assert.Equal(t, slack.MaxInteractionBody, api.MaxWebhookBody)
}

// A signed_up for a customer whose journey completed is a duplicate: 200
// with status duplicate, never 202 (nothing started) nor 404 or 500.
func TestSignedUpForACompletedJourneyIsADuplicate(t *testing.T) {
	reg := metricstest.New(t)
	j := &recorder{err: fmt.Errorf("send: %w", sender.ErrJourneyCompleted)}
	h := newHandler(t, j, api.Options{Metrics: reg.Handler()})
	rec, _ := do(t, h, http.MethodPost, "/v1/events", `{"event_id":"signup-c-1","customer_id":"c-1","type":"signed_up","data":{"email":"ana@example.com"}}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var got api.Accepted
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, api.Accepted{
		Status: api.StatusDuplicate, Reason: "journey completed: only a reactivated event starts it again",
		EventID: "signup-c-1", CustomerID: "c-1", WorkflowID: "customer:c-1",
	}, got)
	assertCounted(t, reg, "journeys_events_ignored_total", map[string]string{"source": "api", "reason": api.ReasonJourneyCompleted}, 1)
}
