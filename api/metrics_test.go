package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/internal/metrics/metricstest"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// byCustomer is a Journeys that answers by customer ID: "gone" has no
// journey, "down" finds Temporal unavailable, "closed" has no open alert.
type byCustomer struct{}

func (byCustomer) err(customer string) error {
	switch customer {
	case "gone", "c-2":
		return fmt.Errorf("send: %w", sender.ErrUnknownCustomer)
	case "down":
		return fmt.Errorf("send: %w", sender.ErrUnavailable)
	case "closed":
		return fmt.Errorf("update: %w", sender.ErrRejected)
	}
	return nil
}

func (j byCustomer) Send(_ context.Context, ev signals.Event) error { return j.err(ev.CustomerID) }

func (j byCustomer) State(_ context.Context, id string) (workflows.State, error) {
	return workflows.State{CustomerID: id}, j.err(id)
}

// CustomersByPhoneHash finds the journeys of phoneCustomers.
func (j byCustomer) CustomersByPhoneHash(_ context.Context, hash string) ([]string, error) {
	return phoneCustomers[hash], nil
}

func (j byCustomer) AnswerAlert(_ context.Context, id string, _ workflows.AlertResponse) (workflows.Alert, error) {
	return workflows.Alert{Status: workflows.AlertAcknowledged}, j.err(id)
}

// scriptedSlack parses a body naming the outcome: "bad" has a bad
// signature, "other" is a click on another control, anything else answers
// an alert of the customer it names.
type scriptedSlack struct{}

func (scriptedSlack) ParseAnswer(r *http.Request) (api.AlertAnswer, error) {
	b, _ := io.ReadAll(r.Body)
	switch body := string(b); body {
	case "bad":
		return api.AlertAnswer{}, fmt.Errorf("%w: no signature", api.ErrBadSignature)
	case "other":
		return api.AlertAnswer{}, api.ErrNotAnAnswer
	default:
		return api.AlertAnswer{CustomerID: body, Response: workflows.AlertResponse{AlertKey: "k", Action: workflows.AlertActionAcknowledge}}, nil
	}
}

func (scriptedSlack) Reply(context.Context, string, string) error { return nil }

// Every outcome of every route that carries an event moves one counter,
// under fixed tag keys (the registry fails the test on a second set).
func TestRequestsAreCounted(t *testing.T) {
	reg := metricstest.New(t)
	now := time.Now().UTC()
	sgKey := newSendGridKey(t)
	h := newHandler(t, byCustomer{}, api.Options{
		Metrics: reg.Handler(), Slack: scriptedSlack{}, StripeWebhookSecret: stripeSecret, CoalesceLogins: time.Hour,
		TwilioAuthToken: twilioToken, PublicURL: twilioPublicURL, LookupKey: testLookupKey,
		SendGridWebhookPublicKey: sgKey.Public,
		Now:                      func() time.Time { return now },
	})
	event := func(customer, typ, data string) string {
		return fmt.Sprintf(`{"event_id":"e-%d","customer_id":%q,"type":%q%s}`, time.Now().UnixNano(), customer, typ, data)
	}
	post := func(body string, want int) {
		t.Helper()
		rec, _ := do(t, h, http.MethodPost, "/v1/events", body)
		require.Equal(t, want, rec.Code, rec.Body.String())
	}
	post(event("c-1", "signed_up", `,"data":{"email":"ana@example.com"}`), http.StatusAccepted)
	post(event("c-1", "login", ""), http.StatusAccepted)
	post(event("c-1", "login", ""), http.StatusAccepted) // coalesced
	post(event("c-1", "login", ""), http.StatusAccepted) // coalesced
	post(`{"event_id":"e1",`, http.StatusBadRequest)
	post(event("c-1", "teleported", ""), http.StatusBadRequest)
	post(event("c-1", "login", `,"data":"`+strings.Repeat("x", 70_000)+`"`), http.StatusBadRequest)
	post(event("gone", "milestone_reached", `,"data":{"milestone":"first_project"}`), http.StatusNotFound)
	post(event("down", "milestone_reached", `,"data":{"milestone":"first_project"}`), http.StatusServiceUnavailable)
	rec, _ := serve(t, h, httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(event("c-1", "login", ""))))
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	rec, _ = serve(t, h, httptest.NewRequest(http.MethodGet, "/v1/customers/c-1", nil))
	require.Equal(t, http.StatusUnauthorized, rec.Code, "not an event: not counted")
	rec, _ = do(t, h, http.MethodGet, "/v1/customers/gone", "")
	require.Equal(t, http.StatusNotFound, rec.Code, "not an event: not counted")

	stripe := func(body, signature string, want int) {
		t.Helper()
		rec, _ := postStripe(t, h, body, signature)
		require.Equal(t, want, rec.Code, rec.Body.String())
	}
	stripe(invoicePaymentFailed, stripeSign(invoicePaymentFailed, stripeSecret, now), http.StatusOK)
	stripe(invoicePaid, stripeSign(invoicePaid, stripeSecret, now), http.StatusOK) // c-2 has no journey, months after: dropped
	young := strings.Replace(invoicePaid, `"created": 1772441995,`, fmt.Sprintf(`"created": %d,`, now.Unix()), 1)
	stripe(young, stripeSign(young, stripeSecret, now), http.StatusConflict) // c-2 has no journey yet: Stripe retries
	stripe(invoicePaymentFailed, stripeSign(invoicePaymentFailed, "whsec_wrong_secret_0123456789", now), http.StatusUnauthorized)
	unmapped := `{"id":"evt_1Unk","object":"event","type":"customer.created","created":1772441990,"data":{"object":{}}}`
	stripe(unmapped, stripeSign(unmapped, stripeSecret, now), http.StatusOK)

	slack := func(body string, want int) {
		t.Helper()
		rec, _ := serve(t, h, httptest.NewRequest(http.MethodPost, "/webhooks/slack/interactions", strings.NewReader(body)))
		require.Equal(t, want, rec.Code, rec.Body.String())
	}
	slack("c-1", http.StatusOK)
	slack("closed", http.StatusOK)
	slack("other", http.StatusOK)
	slack("bad", http.StatusUnauthorized)
	slack("a b", http.StatusBadRequest)
	twilio := func(form url.Values, signed bool, want int) {
		t.Helper()
		sig := "bm8="
		if signed {
			sig = twilioSign(twilioToken, twilioPublicURL+api.TwilioInboundPath, form)
		}
		rec := postTwilioSigned(t, h, form.Encode(), sig)
		require.Equal(t, want, rec.Code, rec.Body.String())
	}
	twilio(inboundText("STOP"), true, http.StatusOK)                         // c-1
	twilio(inboundText("HELP"), true, http.StatusOK)                         // help
	twilio(inboundText("hello"), true, http.StatusOK)                        // not a keyword
	twilio(inboundText("STOP", "From", "+15550009999"), true, http.StatusOK) // no journey
	twilio(inboundText("STOP"), false, http.StatusUnauthorized)

	sgBody := batch(sgEvent("unsubscribe"), sgEvent("delivered"), sgEvent("spamreport", "customer_id", "gone"), sgEvent("unsubscribe", "customer_id", "", "sg_event_id", "u2"),
		sgEvent("dropped", "reason", "Spam Content (if spam checker app enabled)"))
	sig, ts := sgKey.sign(t, sgBody, now)
	rec, _ = postSendGrid(t, h, sgBody, sig, ts)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec, _ = postSendGrid(t, h, sgBody, sig, strconv.FormatInt(now.Unix()-1, 10))
	require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
	require.NoError(t, reg.Close())

	s := metricstest.Scrape(t, reg.HTTPHandler())
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"journeys_events_received_total", map[string]string{"source": "api", "type": "signed_up"}, 1},
		{"journeys_events_received_total", map[string]string{"source": "api", "type": "login"}, 3},
		{"journeys_events_received_total", map[string]string{"source": "stripe", "type": "payment_failed"}, 1},
		{"journeys_events_received_total", map[string]string{"source": "slack", "type": "alert_response"}, 1},
		{"journeys_events_received_total", map[string]string{"source": "twilio", "type": "consent_changed"}, 1},
		{"journeys_events_received_total", map[string]string{"source": "sendgrid", "type": "consent_changed"}, 1},
		{"journeys_events_received_total", nil, 8},
		{"journeys_logins_coalesced_total", nil, 2},
		{"journeys_events_rejected_total", map[string]string{"source": "api", "reason": "bad_request"}, 2},
		{"journeys_events_rejected_total", map[string]string{"source": "api", "reason": "too_large"}, 1},
		{"journeys_events_rejected_total", map[string]string{"source": "api", "reason": "unknown_customer"}, 1},
		{"journeys_events_rejected_total", map[string]string{"source": "api", "reason": "unavailable"}, 1},
		{"journeys_events_rejected_total", map[string]string{"source": "api", "reason": "unauthorized"}, 1},
		{"journeys_events_rejected_total", map[string]string{"source": "stripe", "reason": "bad_signature"}, 1},
		{"journeys_events_rejected_total", map[string]string{"source": "stripe", "reason": "journey_not_yet"}, 1},
		{"journeys_events_rejected_total", map[string]string{"source": "slack", "reason": "bad_signature"}, 1},
		{"journeys_events_rejected_total", map[string]string{"source": "slack", "reason": "bad_request"}, 1},
		{"journeys_events_rejected_total", map[string]string{"source": "twilio", "reason": "bad_signature"}, 1},
		{"journeys_events_rejected_total", map[string]string{"source": "sendgrid", "reason": "bad_signature"}, 1},
		{"journeys_events_rejected_total", nil, 12},
		{"journeys_events_ignored_total", map[string]string{"source": "stripe", "reason": "retry_expired"}, 1},
		{"journeys_events_ignored_total", map[string]string{"source": "stripe", "reason": "unmapped_type"}, 1},
		{"journeys_events_ignored_total", map[string]string{"source": "slack", "reason": "alert_closed"}, 1},
		{"journeys_events_ignored_total", map[string]string{"source": "slack", "reason": "not_an_answer"}, 1},
		{"journeys_events_ignored_total", map[string]string{"source": "twilio", "reason": "not_a_keyword"}, 1},
		{"journeys_events_ignored_total", map[string]string{"source": "twilio", "reason": "help"}, 1},
		{"journeys_events_ignored_total", map[string]string{"source": "twilio", "reason": "unknown_customer"}, 1},
		{"journeys_events_ignored_total", map[string]string{"source": "sendgrid", "reason": "unmapped_type"}, 2},
		{"journeys_events_ignored_total", map[string]string{"source": "sendgrid", "reason": "no_customer_id"}, 1},
		{"journeys_events_ignored_total", map[string]string{"source": "sendgrid", "reason": "unknown_customer"}, 1},
		{"journeys_events_ignored_total", nil, 11},
	} {
		assert.Equal(t, c.want, s.Value(c.name, c.labels), "%s%v", c.name, c.labels)
	}
	assert.ElementsMatch(t, []string{"source", "type"}, s.LabelNames("journeys_events_received_total"))
	assert.ElementsMatch(t, []string{"source", "reason"}, s.LabelNames("journeys_events_rejected_total"))
	assert.ElementsMatch(t, []string{"source", "reason"}, s.LabelNames("journeys_events_ignored_total"))
	assert.Empty(t, s.LabelNames("journeys_logins_coalesced_total"))
}

// Without Options.Metrics the API counts into the SDK's no-op handler.
func TestMetricsAreOptional(t *testing.T) {
	h := newHandler(t, byCustomer{}, api.Options{})
	rec, _ := do(t, h, http.MethodPost, "/v1/events", `{"event_id":"e1","customer_id":"c-1","type":"login"}`)
	assert.Equal(t, http.StatusAccepted, rec.Code)
}
