package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/journeyshq/journeys/api"
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

type errorResponse struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func do(t *testing.T, h http.Handler, method, path, body string) (*httptest.ResponseRecorder, errorResponse) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	var e errorResponse
	if rec.Code >= 400 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "error bodies are JSON: %s", rec.Body)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	}
	return rec, e
}

func TestPostEventRejectsBadInputWith400NamingTheField(t *testing.T) {
	h := api.New(untouchable{t}, api.Options{})
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
	rec, e := do(t, api.New(untouchable{t}, api.Options{}), http.MethodGet, "/v1/customers/a%20b", "")
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "customer_id", e.Field)
}

func TestWrongMethodIs405(t *testing.T) {
	rec := httptest.NewRecorder()
	api.New(untouchable{t}, api.Options{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/events", nil))
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
	h := api.New(sender.New(c), api.Options{Timeout: 500 * time.Millisecond})

	start := time.Now()
	rec, e := do(t, h, http.MethodPost, "/v1/events", `{"event_id":"e1","customer_id":"c-1","type":"login"}`)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	assert.Contains(t, e.Error, "nothing was accepted")
	assert.Less(t, time.Since(start), 5*time.Second, "the edge gives up after its timeout")

	rec, _ = do(t, h, http.MethodGet, "/v1/customers/c-1", "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
}
