package signals_test

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/signals"
)

// validData is a valid data object of every event type (docs/events.md shows
// the same examples). TestEveryTypeHasAValidExample makes a new type without
// one fail.
var validData = map[signals.Type]string{
	signals.SignedUp: `{"name":"Ana Lima","email":"ana@example.com","phone":"+15551234567","timezone":"America/New_York",
		"plan":"pro","seats":5,"csm":"U0CSM01","signed_up_at":"2026-11-20T09:00:00Z","sms_consent":true,"mrr":49900,"currency":"USD"}`,
	signals.Login:                 `{}`,
	signals.MilestoneReached:      `{"milestone":"first_project"}`,
	signals.ProfileUpdated:        `{"sms_consent":false}`,
	signals.FeatureUsed:           `{"feature":"export_csv","count":3}`,
	signals.UsageSnapshot:         `{"active_users":12,"key_actions":340,"seats_used":14}`,
	signals.NPSResponse:           `{"score":4,"comment":"Too slow.\nReports take\tminutes."}`,
	signals.SupportTicket:         `{"ticket_id":"T-1042","status":"opened","priority":"high"}`,
	signals.PaymentFailed:         `{"invoice_id":"in_1Ab2Cd","amount":49900,"currency":"usd","attempt":2,"reason":"card_declined","update_url":"https://billing.example.com/update?c=c-1"}`,
	signals.PaymentSucceeded:      `{"invoice_id":"in_1Ab2Cd","amount":49900,"currency":"USD","renewal":true}`,
	signals.PlanChanged:           `{"plan":"business","seats":20,"mrr":99900,"currency":"EUR"}`,
	signals.RenewalScheduled:      `{"renews_at":"2027-02-01T00:00:00Z","amount":598800,"currency":"USD"}`,
	signals.CancellationRequested: `{"reason":"price","comment":"Budget cuts","effective_at":"2026-12-31T23:59:59Z"}`,
	signals.CancellationWithdrawn: `{}`,
	signals.SubscriptionCanceled:  `{}`,
	signals.Reactivated:           `{"plan":"pro","seats":5,"mrr":49900}`,
	signals.ConsentChanged:        `{"channel":"sms","status":"opted_out","source":"twilio_inbound","reason":"STOP","address":"+15551234567"}`,
}

// eventBody is an event of typ with data, received at now.
func eventBody(typ signals.Type, data string) string {
	return `{"event_id":"evt-1","customer_id":"c-1","type":"` + string(typ) + `","data":` + data + `}`
}

// at is now moved by d, as the RFC 3339 text of a JSON string.
func at(d time.Duration) string {
	return `"` + now.Add(d).Format(time.RFC3339) + `"`
}

func TestEveryTypeHasAValidExample(t *testing.T) {
	for _, typ := range signals.Types() {
		_, ok := validData[typ]
		assert.True(t, ok, "validData has no example of %s: add one (and to docs/events.md)", typ)
	}
	for typ := range validData {
		assert.True(t, typ.Known(), "validData has an example of unknown type %q", typ)
	}
}

// docsJSONRE matches the JSON examples of docs/events.md.
var docsJSONRE = regexp.MustCompile("(?s)```json\n(.*?)```")

func TestDocsEventExamplesDecode(t *testing.T) {
	doc, err := os.ReadFile("../docs/events.md")
	require.NoError(t, err)
	documented := map[signals.Type]bool{}
	for _, m := range docsJSONRE.FindAllSubmatch(doc, -1) {
		ev, err := signals.Decode(strings.NewReader(string(m[1])), now)
		if !assert.NoError(t, err, "docs/events.md example:\n%s", m[1]) {
			continue
		}
		documented[ev.Type] = true
	}
	for _, typ := range signals.Types() {
		assert.True(t, documented[typ], "docs/events.md has no JSON example of %s", typ)
	}
}

func TestLifecycleValidExamplesDecode(t *testing.T) {
	for typ, data := range validData {
		t.Run(string(typ), func(t *testing.T) {
			ev, err := signals.Decode(strings.NewReader(eventBody(typ, data)), now)
			require.NoError(t, err)
			assert.Equal(t, typ, ev.Type)
			_, err = ev.Payload()
			assert.NoError(t, err)
		})
	}
}

func TestLifecycleDecodeAcceptsLimits(t *testing.T) {
	cases := []struct {
		name string
		typ  signals.Type
		data string
	}{
		{"feature count omitted", signals.FeatureUsed, `{"feature":"export_csv"}`},
		{"feature count max", signals.FeatureUsed, `{"feature":"export_csv","count":1000000}`},
		{"usage all zero", signals.UsageSnapshot, `{"active_users":0,"key_actions":0,"seats_used":0}`},
		{"usage max", signals.UsageSnapshot, `{"active_users":100000000,"key_actions":100000000,"seats_used":1000000}`},
		{"nps score 0", signals.NPSResponse, `{"score":0}`},
		{"nps score 10", signals.NPSResponse, `{"score":10}`},
		{"nps comment max bytes", signals.NPSResponse, `{"score":7,"comment":"` + strings.Repeat("é", 1000) + `"}`},
		{"ticket resolved without priority", signals.SupportTicket, `{"ticket_id":"zd:1042","status":"resolved"}`},
		{"ticket priority normal", signals.SupportTicket, `{"ticket_id":"1042","status":"opened","priority":"normal"}`},
		{"payment failed max amount, http url", signals.PaymentFailed, `{"invoice_id":"in_1","amount":1000000000000,"currency":"Jpy","attempt":100,"update_url":"http://localhost:3000/billing"}`},
		{"payment succeeded minimal", signals.PaymentSucceeded, `{"invoice_id":"in_1"}`},
		{"plan changed without currency", signals.PlanChanged, `{"plan":"free","seats":0,"mrr":0}`},
		{"renewal exactly 1 day ago", signals.RenewalScheduled, `{"renews_at":` + at(-24*time.Hour) + `,"amount":0}`},
		{"renewal exactly 3 years ahead", signals.RenewalScheduled, `{"renews_at":` + at(3*365*24*time.Hour) + `,"amount":100}`},
		{"cancellation at period end", signals.CancellationRequested, `{"reason":"other"}`},
		{"cancellation effective 3 years ahead", signals.CancellationRequested, `{"reason":"switching","effective_at":` + at(3*365*24*time.Hour) + `}`},
		{"cancellation effective in the past", signals.CancellationRequested, `{"reason":"not_using","effective_at":` + at(-30*24*time.Hour) + `}`},
		{"cancellation withdrawn without data", signals.CancellationWithdrawn, `null`},
		{"reactivated without data", signals.Reactivated, `{}`},
		{"signup mrr without currency", signals.SignedUp, `{"email":"a@b.co","mrr":1000000000000}`},
		{"profile sms consent granted", signals.ProfileUpdated, `{"sms_consent":true}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signals.Decode(strings.NewReader(eventBody(tc.typ, tc.data)), now)
			assert.NoError(t, err)
		})
	}
}

func TestLifecycleDecodeRejectsWithTheField(t *testing.T) {
	const (
		isoMsg   = "3-letter ISO 4217 currency code"
		moneyMsg = "must be from 0 to 1000000000000 in the currency's minor unit (cents)"
		urlMsg   = "absolute http or https URL"
	)
	cases := []struct {
		name    string
		typ     signals.Type
		data    string
		field   string
		message string
	}{
		// feature_used
		{"feature missing", signals.FeatureUsed, `{"count":2}`, "data.feature", "is required"},
		{"feature not snake case", signals.FeatureUsed, `{"feature":"Export CSV"}`, "data.feature", "lower_snake_case"},
		{"feature count negative", signals.FeatureUsed, `{"feature":"export_csv","count":-1}`, "data.count", "must be from 0 to 1000000, got -1"},
		{"feature count too big", signals.FeatureUsed, `{"feature":"export_csv","count":1000001}`, "data.count", "must be from 0 to 1000000"},

		// usage_snapshot
		{"usage active users negative", signals.UsageSnapshot, `{"active_users":-1}`, "data.active_users", "must be from 0 to 100000000"},
		{"usage key actions too many", signals.UsageSnapshot, `{"key_actions":100000001}`, "data.key_actions", "must be from 0 to 100000000, got 100000001"},
		{"usage seats used too many", signals.UsageSnapshot, `{"seats_used":1000001}`, "data.seats_used", "must be from 0 to 1000000"},
		{"usage count not an integer", signals.UsageSnapshot, `{"key_actions":1.5}`, "data.key_actions", "must be a JSON integer"},

		// nps_response
		{"nps score missing", signals.NPSResponse, `{"comment":"fine"}`, "data.score", "is required"},
		{"nps score null", signals.NPSResponse, `{"score":null}`, "data.score", "is required"},
		{"nps score too high", signals.NPSResponse, `{"score":11}`, "data.score", "must be from 0 to 10, got 11"},
		{"nps score negative", signals.NPSResponse, `{"score":-1}`, "data.score", "must be from 0 to 10"},
		{"nps score as string", signals.NPSResponse, `{"score":"4"}`, "data.score", "must be a JSON integer"},
		{"nps comment too long", signals.NPSResponse, `{"score":4,"comment":"` + strings.Repeat("a", 2001) + `"}`, "data.comment", "at most 2000 bytes"},
		{"nps comment carriage return", signals.NPSResponse, `{"score":4,"comment":"slow\r\nvery"}`, "data.comment", "control characters other than newline and tab"},

		// support_ticket
		{"ticket id missing", signals.SupportTicket, `{"status":"opened"}`, "data.ticket_id", "is required"},
		{"ticket id with space", signals.SupportTicket, `{"ticket_id":"T 1","status":"opened"}`, "data.ticket_id", "letters, digits"},
		{"ticket id too long", signals.SupportTicket, `{"ticket_id":"T` + strings.Repeat("1", 128) + `","status":"opened"}`, "data.ticket_id", "1-128"},
		{"ticket status missing", signals.SupportTicket, `{"ticket_id":"T-1"}`, "data.status", "is required"},
		{"ticket status unknown", signals.SupportTicket, `{"ticket_id":"T-1","status":"closed"}`, "data.status", `"closed" is not a ticket status; must be one of opened, resolved`},
		{"ticket priority unknown", signals.SupportTicket, `{"ticket_id":"T-1","status":"opened","priority":"P1"}`, "data.priority", "must be one of low, normal, high, urgent"},

		// payment_failed
		{"failed invoice missing", signals.PaymentFailed, `{"amount":100,"currency":"USD","update_url":"https://b.example.com"}`, "data.invoice_id", "is required"},
		{"failed invoice bad", signals.PaymentFailed, `{"invoice_id":"in/1","amount":100,"currency":"USD","update_url":"https://b.example.com"}`, "data.invoice_id", "letters, digits"},
		{"failed amount negative", signals.PaymentFailed, `{"invoice_id":"in_1","amount":-100,"currency":"USD","update_url":"https://b.example.com"}`, "data.amount", moneyMsg + ", got -100"},
		{"failed amount too big", signals.PaymentFailed, `{"invoice_id":"in_1","amount":1000000000001,"currency":"USD","update_url":"https://b.example.com"}`, "data.amount", moneyMsg},
		{"failed amount in dollars", signals.PaymentFailed, `{"invoice_id":"in_1","amount":49.99,"currency":"USD","update_url":"https://b.example.com"}`, "data.amount", "must be a JSON integer"},
		{"failed currency missing", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"update_url":"https://b.example.com"}`, "data.currency", "is required"},
		{"failed currency two letters", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"US","update_url":"https://b.example.com"}`, "data.currency", isoMsg},
		{"failed currency symbol", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"US$","update_url":"https://b.example.com"}`, "data.currency", isoMsg},
		{"failed currency non-ASCII", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"ÉU","update_url":"https://b.example.com"}`, "data.currency", isoMsg},
		{"failed attempt too high", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","attempt":101,"update_url":"https://b.example.com"}`, "data.attempt", "must be from 0 to 100, got 101"},
		{"failed attempt negative", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","attempt":-1,"update_url":"https://b.example.com"}`, "data.attempt", "must be from 0 to 100"},
		{"failed reason too long", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","reason":"` + strings.Repeat("x", 201) + `","update_url":"https://b.example.com"}`, "data.reason", "at most 200 bytes"},
		{"failed reason with newline", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","reason":"card\ndeclined","update_url":"https://b.example.com"}`, "data.reason", "must not contain control characters"},
		{"failed update url missing", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD"}`, "data.update_url", "is required"},
		{"failed update url relative", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","update_url":"/billing/update"}`, "data.update_url", urlMsg},
		{"failed update url ftp", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","update_url":"ftp://b.example.com/x"}`, "data.update_url", urlMsg},
		{"failed update url javascript", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","update_url":"javascript:alert(1)"}`, "data.update_url", urlMsg},
		{"failed update url without host", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","update_url":"https:///update"}`, "data.update_url", urlMsg},
		{"failed update url port only", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","update_url":"https://:443/update"}`, "data.update_url", urlMsg},
		{"failed update url user info", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","update_url":"https://bank.example@evil.example/"}`, "data.update_url", "user info"},
		{"failed update url space", signals.PaymentFailed, `{"invoice_id":"in_1","amount":100,"currency":"USD","update_url":"https://b.example.com/up date"}`, "data.update_url", "spaces"},

		// payment_succeeded
		{"succeeded invoice missing", signals.PaymentSucceeded, `{"amount":100}`, "data.invoice_id", "is required"},
		{"succeeded amount negative", signals.PaymentSucceeded, `{"invoice_id":"in_1","amount":-1}`, "data.amount", moneyMsg},
		{"succeeded currency bad", signals.PaymentSucceeded, `{"invoice_id":"in_1","amount":100,"currency":"dollars"}`, "data.currency", isoMsg},

		// plan_changed
		{"plan missing", signals.PlanChanged, `{"seats":5,"mrr":100}`, "data.plan", "is required"},
		{"plan bad", signals.PlanChanged, `{"plan":"pro plan","seats":5}`, "data.plan", "letters, digits"},
		{"plan seats too many", signals.PlanChanged, `{"plan":"pro","seats":1000001}`, "data.seats", "must be from 0 to 1000000"},
		{"plan mrr negative", signals.PlanChanged, `{"plan":"pro","mrr":-1}`, "data.mrr", moneyMsg},
		{"plan currency bad", signals.PlanChanged, `{"plan":"pro","mrr":100,"currency":"EURO"}`, "data.currency", isoMsg},

		// renewal_scheduled
		{"renewal date missing", signals.RenewalScheduled, `{"amount":100}`, "data.renews_at", "is required"},
		{"renewal date not RFC 3339", signals.RenewalScheduled, `{"renews_at":"2027-02-01"}`, "data.body", "RFC 3339"},
		{"renewal more than a day ago", signals.RenewalScheduled, `{"renews_at":` + at(-24*time.Hour-time.Second) + `}`, "data.renews_at", "more than 1 day in the past"},
		{"renewal more than 3 years ahead", signals.RenewalScheduled, `{"renews_at":` + at(3*365*24*time.Hour+time.Second) + `}`, "data.renews_at", "more than 3 years in the future"},
		{"renewal amount too big", signals.RenewalScheduled, `{"renews_at":"2027-02-01T00:00:00Z","amount":1000000000001}`, "data.amount", moneyMsg},
		{"renewal currency bad", signals.RenewalScheduled, `{"renews_at":"2027-02-01T00:00:00Z","currency":"U5D"}`, "data.currency", isoMsg},

		// cancellation_requested
		{"cancellation reason missing", signals.CancellationRequested, `{"comment":"bye"}`, "data.reason", "is required"},
		{"cancellation reason unknown", signals.CancellationRequested, `{"reason":"too_expensive"}`, "data.reason", `"too_expensive" is not a cancellation reason; must be one of price, missing_feature, not_using, switching, other`},
		{"cancellation comment too long", signals.CancellationRequested, `{"reason":"other","comment":"` + strings.Repeat("a", 2001) + `"}`, "data.comment", "at most 2000 bytes"},
		{"cancellation comment control char", signals.CancellationRequested, `{"reason":"other","comment":"bye\u0000"}`, "data.comment", "control characters"},
		{"cancellation effective too old", signals.CancellationRequested, `{"reason":"price","effective_at":` + at(-5*365*24*time.Hour-time.Second) + `}`, "data.effective_at", "more than 5 years in the past"},
		{"cancellation effective too far", signals.CancellationRequested, `{"reason":"price","effective_at":` + at(3*365*24*time.Hour+time.Second) + `}`, "data.effective_at", "more than 3 years in the future"},

		// cancellation_withdrawn, subscription_canceled: no fields
		{"withdrawn with a field", signals.CancellationWithdrawn, `{"reason":"price"}`, "data.reason", "is not a known field"},
		{"canceled with a field", signals.SubscriptionCanceled, `{"at":"2026-11-23T00:00:00Z"}`, "data.at", "is not a known field"},

		// reactivated
		{"reactivated plan bad", signals.Reactivated, `{"plan":"pro!"}`, "data.plan", "letters, digits"},
		{"reactivated seats negative", signals.Reactivated, `{"seats":-1}`, "data.seats", "must be from 0 to 1000000"},
		{"reactivated mrr too big", signals.Reactivated, `{"mrr":1000000000001}`, "data.mrr", moneyMsg},
		{"reactivated currency is not a field", signals.Reactivated, `{"mrr":100,"currency":"USD"}`, "data.currency", "is not a known field"},

		// consent_changed
		{"consent channel missing", signals.ConsentChanged, `{"status":"opted_out"}`, "data.channel", "is required"},
		{"consent channel unknown", signals.ConsentChanged, `{"channel":"push","status":"opted_out"}`, "data.channel", `"push" is not a consent channel; must be one of sms, email`},
		{"consent status missing", signals.ConsentChanged, `{"channel":"sms"}`, "data.status", "is required"},
		{"consent status unknown", signals.ConsentChanged, `{"channel":"sms","status":"paused"}`, "data.status", "must be one of opted_out, opted_in, unusable"},
		{"consent source unknown", signals.ConsentChanged, `{"channel":"email","status":"opted_out","source":"mailchimp"}`, "data.source", "must be one of backend, twilio_inbound, sendgrid"},
		{"consent sms address not E.164", signals.ConsentChanged, `{"channel":"sms","status":"opted_out","address":"555-1234"}`, "data.address", "must be an E.164 phone number"},
		{"consent email address on sms", signals.ConsentChanged, `{"channel":"sms","status":"opted_out","address":"ana@example.com"}`, "data.address", "must be an E.164 phone number"},
		{"consent email address not an address", signals.ConsentChanged, `{"channel":"email","status":"unusable","address":"Ana <ana@example.com>"}`, "data.address", "must be a plain email address"},
		{"consent reason with newline", signals.ConsentChanged, `{"channel":"email","status":"opted_out","reason":"a\nb"}`, "data.reason", "must not contain control characters"},

		// signed_up's and profile_updated's new fields
		{"signup mrr negative", signals.SignedUp, `{"email":"a@b.co","mrr":-1}`, "data.mrr", moneyMsg},
		{"signup mrr too big", signals.SignedUp, `{"email":"a@b.co","mrr":1000000000001}`, "data.mrr", moneyMsg},
		{"signup currency bad", signals.SignedUp, `{"email":"a@b.co","mrr":100,"currency":"usdollar"}`, "data.currency", isoMsg},
		{"signup sms consent not a boolean", signals.SignedUp, `{"email":"a@b.co","sms_consent":"yes"}`, "data.sms_consent", "must be a JSON boolean"},
		{"profile update of nothing names sms_consent", signals.ProfileUpdated, `{}`, "data", "must change at least one of name, email, phone, timezone, plan, seats, csm, sms_consent"},
		{"profile sms consent not a boolean", signals.ProfileUpdated, `{"sms_consent":1}`, "data.sms_consent", "must be a JSON boolean"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signals.Decode(strings.NewReader(eventBody(tc.typ, tc.data)), now)
			var fe *signals.FieldError
			require.True(t, errors.As(err, &fe), "want a *FieldError, got %v", err)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, fe.Message, tc.message)
		})
	}
}
