package signals_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/signals"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const validSignup = `{"event_id":"evt-1","customer_id":"c-1","type":"signed_up","occurred_at":"2026-11-23T11:59:00Z",
 "data":{"name":"Ana Lima","email":"ana@example.com","phone":"+15551234567","timezone":"America/New_York","plan":"pro","seats":5,"csm":"U0CSM01"}}`

func TestDecodeAcceptsValidEvents(t *testing.T) {
	for name, body := range map[string]string{
		"signup":             validSignup,
		"login without data": `{"event_id":"l-1","customer_id":"c-1","type":"login"}`,
		"login null data":    `{"event_id":"l-1","customer_id":"c-1","type":"login","data":null}`,
		"milestone":          `{"event_id":"m-1","customer_id":"c-1","type":"milestone_reached","data":{"milestone":"first_project"}}`,
		"profile csm email":  `{"event_id":"p-1","customer_id":"c-1","type":"profile_updated","data":{"csm":"maria@acme.io"}}`,
		"profile drop phone": `{"event_id":"p-2","customer_id":"c-1","type":"profile_updated","data":{"phone":""}}`,
	} {
		t.Run(name, func(t *testing.T) {
			ev, err := signals.Decode(strings.NewReader(body), now)
			require.NoError(t, err)
			assert.False(t, ev.OccurredAt.IsZero(), "a missing occurred_at is the time of receipt")
			_, err = ev.Payload()
			assert.NoError(t, err)
		})
	}
}

func TestDecodeFillsOccurredAt(t *testing.T) {
	ev, err := signals.Decode(strings.NewReader(`{"event_id":"l-1","customer_id":"c-1","type":"login"}`), now)
	require.NoError(t, err)
	assert.Equal(t, now, ev.OccurredAt)
}

func TestDecodeRejectsWithTheField(t *testing.T) {
	signup := func(data string) string {
		return `{"event_id":"e","customer_id":"c-1","type":"signed_up","data":` + data + `}`
	}
	cases := []struct {
		name, body, field, message string
	}{
		{"not JSON", `{"event_id":`, "body", "is not valid JSON"},
		{"empty body", ``, "body", "is not valid JSON"},
		{"array", `[1,2]`, "body", "must be a JSON object"},
		{"two objects", validSignup + validSignup, "body", "trailing data"},
		{"unknown field", `{"event_id":"e","customer_id":"c-1","type":"login","extra":1}`, "extra", "is not a known field"},
		{"missing event_id", `{"customer_id":"c-1","type":"login"}`, "event_id", "is required"},
		{"bad event_id", `{"event_id":"a b","customer_id":"c-1","type":"login"}`, "event_id", "letters, digits"},
		{"long event_id", `{"event_id":"` + strings.Repeat("a", 129) + `","customer_id":"c-1","type":"login"}`, "event_id", "1-128"},
		{"missing customer_id", `{"event_id":"e","type":"login"}`, "customer_id", "is required"},
		{"customer_id with colon", `{"event_id":"e","customer_id":"c:1","type":"login"}`, "customer_id", "letters, digits"},
		{"missing type", `{"event_id":"e","customer_id":"c-1"}`, "type", "is required"},
		{"unknown type", `{"event_id":"e","customer_id":"c-1","type":"logout"}`, "type", `"logout" is not an event type; known types: cancellation_requested, cancellation_withdrawn, consent_changed, feature_used, login, milestone_reached, nps_response, payment_failed, payment_succeeded, plan_changed, profile_updated, reactivated, renewal_scheduled, signed_up, subscription_canceled, support_ticket, usage_snapshot`},
		{"type of wrong JSON kind", `{"event_id":"e","customer_id":"c-1","type":7}`, "type", "must be a JSON string"},
		{"occurred_at not RFC3339", `{"event_id":"e","customer_id":"c-1","type":"login","occurred_at":"yesterday"}`, "body", "RFC 3339"},
		{"occurred_at in the future", `{"event_id":"e","customer_id":"c-1","type":"login","occurred_at":"2027-01-01T00:00:00Z"}`, "occurred_at", "in the future"},
		{"occurred_at ancient", `{"event_id":"e","customer_id":"c-1","type":"login","occurred_at":"1999-01-01T00:00:00Z"}`, "occurred_at", "more than 5 years"},
		{"signup without email", signup(`{"name":"Ana"}`), "data.email", "is required"},
		{"signup bad email", signup(`{"email":"Ana <ana@example.com>"}`), "data.email", "plain email address"},
		{"signup email without domain dot", signup(`{"email":"ana@localhost"}`), "data.email", "plain email address"},
		{"signup bad phone", signup(`{"email":"a@b.co","phone":"555-1234"}`), "data.phone", "E.164"},
		{"signup bad timezone", signup(`{"email":"a@b.co","timezone":"Mars/Olympus"}`), "data.timezone", "IANA"},
		{"signup Local timezone", signup(`{"email":"a@b.co","timezone":"Local"}`), "data.timezone", "IANA"},
		{"signup negative seats", signup(`{"email":"a@b.co","seats":-1}`), "data.seats", "from 0 to 1000000"},
		{"signup seats as string", signup(`{"email":"a@b.co","seats":"5"}`), "data.seats", "must be a JSON integer"},
		{"signup bad csm", signup(`{"email":"a@b.co","csm":"maria"}`), "data.csm", "Slack user ID"},
		{"signup bad plan", signup(`{"email":"a@b.co","plan":"pro plan"}`), "data.plan", "letters, digits"},
		{"signup unknown data field", signup(`{"email":"a@b.co","mrr_cents":100}`), "data.mrr_cents", "is not a known field"},
		{"signup control chars in name", signup(`{"email":"a@b.co","name":"Ana\u0007"}`), "data.name", "control characters"},
		{"milestone missing", `{"event_id":"e","customer_id":"c-1","type":"milestone_reached","data":{}}`, "data.milestone", "is required"},
		{"milestone bad name", `{"event_id":"e","customer_id":"c-1","type":"milestone_reached","data":{"milestone":"First Project"}}`, "data.milestone", "lower_snake_case"},
		{"data not an object", `{"event_id":"e","customer_id":"c-1","type":"milestone_reached","data":"first_project"}`, "data", "must be a JSON object"},
		{"profile update of nothing", `{"event_id":"e","customer_id":"c-1","type":"profile_updated","data":{}}`, "data", "at least one"},
		{"profile update empty email", `{"event_id":"e","customer_id":"c-1","type":"profile_updated","data":{"email":""}}`, "data.email", "plain email address"},
		{"oversized", `{"event_id":"e","customer_id":"c-1","type":"login","data":{"x":"` + strings.Repeat("a", signals.MaxEventBytes) + `"}}`, "body", "larger than 65536 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signals.Decode(strings.NewReader(tc.body), now)
			var fe *signals.FieldError
			require.True(t, errors.As(err, &fe), "want a *FieldError, got %v", err)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, fe.Message, tc.message)
		})
	}
}

func TestPayloadIsLenientForTheWorkflow(t *testing.T) {
	// A journey must keep working on an event a newer edge enriched.
	ev := signals.Event{EventID: "e", CustomerID: "c-1", Type: signals.MilestoneReached,
		Data: []byte(`{"milestone":"first_project","source":"web"}`)}
	p, err := ev.Payload()
	require.NoError(t, err)
	assert.Equal(t, signals.MilestoneReachedData{Milestone: "first_project"}, p)
}

func TestValidateCustomerID(t *testing.T) {
	assert.NoError(t, signals.ValidateCustomerID("cus_123.A-b"))
	assert.Error(t, signals.ValidateCustomerID(""))
	assert.Error(t, signals.ValidateCustomerID("../etc"))
	assert.Error(t, signals.ValidateCustomerID(strings.Repeat("a", 65)))
}
