package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/signals/sender"
)

// refusingClient is a Temporal client whose every call the sender makes
// fails with err, as the SDK returns a server's or the transport's answer.
// Any other call panics on the nil embedded client.
type refusingClient struct {
	client.Client
	err error
}

func (c refusingClient) SignalWorkflow(context.Context, string, string, string, any) error {
	return c.err
}

func (c refusingClient) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, c.err
}

func (c refusingClient) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, c.err
}

func (c refusingClient) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, c.err
}

func (c refusingClient) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return nil, c.err
}

// temporalBusyErrors are Temporal's answers that mean "not now": the event
// was not accepted and the same request can be retried.
func temporalBusyErrors() map[string]error {
	return map[string]error{
		"ResourceExhausted":      serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "namespace rate limit exceeded"),
		"ResourceExhausted busy": serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW, "workflow is busy"),
		"Unavailable":            serviceerror.NewUnavailable("frontend is shutting down"),
		"NamespaceUnavailable":   serviceerror.NewNamespaceUnavailable("default"),
		"Canceled":               serviceerror.NewCanceled("context canceled"),
		"DeadlineExceeded":       serviceerror.NewDeadlineExceeded("context deadline exceeded"),
		"gRPC ResourceExhausted": status.Error(codes.ResourceExhausted, "too many requests"),
		"gRPC Unavailable":       status.Error(codes.Unavailable, "connection refused"),
		"gRPC Canceled":          status.Error(codes.Canceled, "context canceled"),
		"context.Canceled":       fmt.Errorf("call: %w", context.Canceled),
		"context.Deadline":       fmt.Errorf("call: %w", context.DeadlineExceeded),
		"update timeout":         client.NewWorkflowUpdateServiceTimeoutOrCanceledError(serviceerror.NewCanceled("context canceled")),
	}
}

// assertRetryLater checks the answer backends and webhook senders retry
// on: 503, a Retry-After of whole seconds, and the JSON error body.
func assertRetryLater(t *testing.T, code int, header http.Header, e errorResponse) {
	t.Helper()
	assert.Equal(t, http.StatusServiceUnavailable, code, "Temporal being busy or gone is not the edge's fault")
	secs, err := strconv.Atoi(header.Get("Retry-After"))
	if assert.NoError(t, err, "Retry-After is delay-seconds: %q", header.Get("Retry-After")) {
		assert.Positive(t, secs)
	}
	assert.Contains(t, e.Error, "nothing was accepted")
	assert.Contains(t, e.Error, "retry later")
}

// busyRoutes are the routes that call Temporal, each answering one request
// through j with the edge's real options for it.
func busyRoutes(t *testing.T, j api.Journeys) map[string]func() (int, http.Header, errorResponse) {
	return map[string]func() (int, http.Header, errorResponse){
		"POST /v1/events login": func() (int, http.Header, errorResponse) {
			rec, e := do(t, newHandler(t, j, api.Options{CoalesceLogins: -1}), http.MethodPost, "/v1/events", `{"event_id":"e1","customer_id":"c-1","type":"login"}`)
			return rec.Code, rec.Header(), e
		},
		"POST /v1/events signed_up": func() (int, http.Header, errorResponse) {
			rec, e := do(t, newHandler(t, j, api.Options{}), http.MethodPost, "/v1/events", `{"event_id":"e2","customer_id":"c-1","type":"signed_up","data":{"email":"a@b.co"}}`)
			return rec.Code, rec.Header(), e
		},
		"GET /v1/customers": func() (int, http.Header, errorResponse) {
			rec, e := do(t, newHandler(t, j, api.Options{}), http.MethodGet, "/v1/customers/c-1", "")
			return rec.Code, rec.Header(), e
		},
		"stripe": func() (int, http.Header, errorResponse) {
			rec, e := postStripe(t, stripeHandler(t, j), invoicePaid, stripeSign(invoicePaid, stripeSecret, stripeNow))
			return rec.Code, rec.Header(), e
		},
		"sendgrid": func() (int, http.Header, errorResponse) {
			key := newSendGridKey(t)
			body := batch(sgEvent("unsubscribe"))
			sig, ts := key.sign(t, body, sendgridNow)
			rec, e := postSendGrid(t, sendgridHandler(t, j, key), body, sig, ts)
			return rec.Code, rec.Header(), e
		},
		"twilio": func() (int, http.Header, errorResponse) {
			rec := postTwilio(t, newHandler(t, j, twilioOptions()), inboundText("STOP"))
			var e errorResponse
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "error bodies are JSON: %s", rec.Body)
			return rec.Code, rec.Header(), e
		},
	}
}

// Temporal refusing for now (rate limits, a frontend going away, the call
// canceled or out of time) is a 503 the caller retries, never a 500.
func TestTemporalBusyIs503WithRetryAfter(t *testing.T) {
	for name, temporalErr := range temporalBusyErrors() {
		t.Run(name, func(t *testing.T) {
			for route, call := range busyRoutes(t, sender.New(refusingClient{err: temporalErr})) {
				t.Run(route, func(t *testing.T) {
					code, header, e := call()
					assertRetryLater(t, code, header, e)
				})
			}
		})
	}
}

// A Journeys other than the sender may hand back the call's context error
// bare; it is still the caller's to retry.
func TestBareContextErrorIs503(t *testing.T) {
	for _, err := range []error{context.Canceled, context.DeadlineExceeded} {
		t.Run(err.Error(), func(t *testing.T) {
			h := newHandler(t, &recorder{err: err}, api.Options{CoalesceLogins: -1})
			rec, e := do(t, h, http.MethodPost, "/v1/events", `{"event_id":"e1","customer_id":"c-1","type":"login"}`)
			assertRetryLater(t, rec.Code, rec.Header(), e)
		})
	}
}

// Other failures stay 500: retrying them as they are would not help.
func TestTemporalInternalErrorStays500(t *testing.T) {
	h := newHandler(t, sender.New(refusingClient{err: serviceerror.NewInternal("persistence failure")}), api.Options{CoalesceLogins: -1})
	rec, e := do(t, h, http.MethodPost, "/v1/events", `{"event_id":"e1","customer_id":"c-1","type":"login"}`)
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Empty(t, rec.Header().Get("Retry-After"))
	assert.Equal(t, "internal error; nothing was accepted", e.Error)
}
