package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/internal/metrics"
	"github.com/journeyshq/journeys/internal/metrics/metricstest"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
)

const stripeSecret = "whsec_test_5Yq8nC0dJm2LkPz7RvW3xTb9"

// stripeNow is the server clock of the Stripe tests; the events below were
// created a few seconds before it.
var stripeNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// stripeSign returns a Stripe-Signature header for body signed at t with
// secret, as Stripe computes it.
func stripeSign(body, secret string, t time.Time) string {
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), stripeV1(body, secret, t))
}

func stripeV1(body, secret string, t time.Time) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s", t.Unix(), body)
	return hex.EncodeToString(mac.Sum(nil))
}

func stripeHandler(t *testing.T, j api.Journeys) http.Handler {
	return newHandler(t, j, api.Options{StripeWebhookSecret: stripeSecret, Now: func() time.Time { return stripeNow }})
}

// postStripe posts body to the Stripe webhook with signature as its
// Stripe-Signature header (none when empty).
func postStripe(t *testing.T, h http.Handler, body, signature string) (*httptest.ResponseRecorder, errorResponse) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	return serve(t, h, req)
}

func stripeResult(t *testing.T, rec *httptest.ResponseRecorder) api.StripeResult {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	var res api.StripeResult
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	return res
}

// invoicePaymentFailed is an invoice.payment_failed event as Stripe sends
// it on API version 2024-06-20: the customer ID is in the snapshot of the
// subscription's metadata.
const invoicePaymentFailed = `{
  "id": "evt_1OpFailedQx7Lk2Yd9aBcDeF",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1772441990,
  "data": {
    "object": {
      "id": "in_1OpF0aQx7Lk2Yd9a3Xy4ZwVu",
      "object": "invoice",
      "account_country": "US",
      "account_name": "Acme Analytics",
      "amount_due": 49900,
      "amount_paid": 0,
      "amount_remaining": 49900,
      "attempt_count": 2,
      "attempted": true,
      "auto_advance": true,
      "billing_reason": "subscription_cycle",
      "charge": "ch_3OpF0aQx7Lk2Yd9a1mNoPqRs",
      "collection_method": "charge_automatically",
      "created": 1772438400,
      "currency": "usd",
      "customer": "cus_PqR5sT6uV7wX8y",
      "customer_email": "ana@example.com",
      "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1Nv0FGQx7Lk2Yd9a/test_YWNjdF8xTnYwRkdReDdMazJZZDlhLF9QcVI1c1Q2dVY3d1g4eQ0200abcdef?s=ap",
      "invoice_pdf": "https://pay.stripe.com/invoice/acct_1Nv0FGQx7Lk2Yd9a/test_YWNjdF8xTnYw/pdf?s=ap",
      "last_finalization_error": {
        "code": "card_declined",
        "message": "Your card was declined.",
        "type": "card_error"
      },
      "lines": {"object": "list", "data": [], "has_more": false, "total_count": 1, "url": "/v1/invoices/in_1OpF0aQx7Lk2Yd9a3Xy4ZwVu/lines"},
      "livemode": false,
      "metadata": {},
      "next_payment_attempt": 1772701200,
      "paid": false,
      "payment_intent": "pi_3OpF0aQx7Lk2Yd9a0GhIjKlM",
      "period_end": 1772438400,
      "period_start": 1769760000,
      "status": "open",
      "subscription": "sub_1Nv2HIQx7Lk2Yd9aTuVwXyZa",
      "subscription_details": {"metadata": {"journeys_customer_id": "c-1", "plan": "pro"}},
      "total": 49900
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null},
  "type": "invoice.payment_failed"
}`

// invoicePaid is an invoice.paid event on API version 2025-03-31.basil,
// where the subscription's metadata moved to parent.subscription_details.
const invoicePaid = `{
  "id": "evt_1OpPaidRz8Mm3Ze0bCdEfGh",
  "object": "event",
  "api_version": "2025-03-31.basil",
  "created": 1772441995,
  "data": {
    "object": {
      "id": "in_1OpF0aQx7Lk2Yd9a3Xy4ZwVu",
      "object": "invoice",
      "amount_due": 49900,
      "amount_paid": 49900,
      "amount_remaining": 0,
      "attempt_count": 3,
      "attempted": true,
      "billing_reason": "subscription_cycle",
      "collection_method": "charge_automatically",
      "created": 1772438400,
      "currency": "eur",
      "customer": "cus_PqR5sT6uV7wX8y",
      "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1Nv0FGQx7Lk2Yd9a/test_abc?s=ap",
      "last_finalization_error": null,
      "livemode": false,
      "metadata": {},
      "parent": {
        "quote_details": null,
        "subscription_details": {
          "metadata": {"journeys_customer_id": "c-2"},
          "subscription": "sub_1Nv2HIQx7Lk2Yd9aTuVwXyZb"
        },
        "type": "subscription_details"
      },
      "status": "paid",
      "status_transitions": {"finalized_at": 1772438460, "paid_at": 1772441990},
      "total": 49900
    }
  },
  "livemode": false,
  "pending_webhooks": 2,
  "request": {"id": null, "idempotency_key": null},
  "type": "invoice.paid"
}`

// subscriptionDeleted is a customer.subscription.deleted event.
const subscriptionDeleted = `{
  "id": "evt_1OpDelSa9Nn4Af1cDeFgHiJ",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1772441700,
  "data": {
    "object": {
      "id": "sub_1Nv2HIQx7Lk2Yd9aTuVwXyZa",
      "object": "subscription",
      "cancel_at_period_end": false,
      "canceled_at": 1772441700,
      "cancellation_details": {"comment": null, "feedback": "too_expensive", "reason": "cancellation_requested"},
      "created": 1706745600,
      "currency": "usd",
      "current_period_end": 1775116800,
      "current_period_start": 1772438400,
      "customer": "cus_PqR5sT6uV7wX8y",
      "ended_at": 1772441700,
      "items": {"object": "list", "data": [], "has_more": false, "total_count": 1, "url": "/v1/subscription_items?subscription=sub_1Nv2HIQx7Lk2Yd9aTuVwXyZa"},
      "livemode": false,
      "metadata": {"journeys_customer_id": "c-3"},
      "status": "canceled"
    },
    "previous_attributes": null
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": "req_AbCdEf123456", "idempotency_key": "5f1e7c9a-1d2b-4c3d-8e9f-0a1b2c3d4e5f"},
  "type": "customer.subscription.deleted"
}`

func TestStripeEventsAreMappedAndForwarded(t *testing.T) {
	cases := map[string]struct {
		body     string
		want     signals.Event
		wantData any
	}{
		"invoice.payment_failed": {
			body: invoicePaymentFailed,
			want: signals.Event{EventID: "evt_1OpFailedQx7Lk2Yd9aBcDeF", CustomerID: "c-1", Type: signals.PaymentFailed, OccurredAt: time.Unix(1772441990, 0).UTC()},
			wantData: signals.PaymentFailedData{
				InvoiceID: "in_1OpF0aQx7Lk2Yd9a3Xy4ZwVu", Amount: 49900, Currency: "USD", Attempt: 2, Reason: "card_declined",
				UpdateURL: "https://invoice.stripe.com/i/acct_1Nv0FGQx7Lk2Yd9a/test_YWNjdF8xTnYwRkdReDdMazJZZDlhLF9QcVI1c1Q2dVY3d1g4eQ0200abcdef?s=ap",
			},
		},
		"invoice.paid": {
			body:     invoicePaid,
			want:     signals.Event{EventID: "evt_1OpPaidRz8Mm3Ze0bCdEfGh", CustomerID: "c-2", Type: signals.PaymentSucceeded, OccurredAt: time.Unix(1772441995, 0).UTC()},
			wantData: signals.PaymentSucceededData{InvoiceID: "in_1OpF0aQx7Lk2Yd9a3Xy4ZwVu", Amount: 49900, Currency: "EUR", Renewal: true},
		},
		"customer.subscription.deleted": {
			body:     subscriptionDeleted,
			want:     signals.Event{EventID: "evt_1OpDelSa9Nn4Af1cDeFgHiJ", CustomerID: "c-3", Type: signals.SubscriptionCanceled, OccurredAt: time.Unix(1772441700, 0).UTC()},
			wantData: signals.SubscriptionCanceledData{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			j := &recorder{}
			rec, _ := postStripe(t, stripeHandler(t, j), tc.body, stripeSign(tc.body, stripeSecret, stripeNow))
			res := stripeResult(t, rec)
			assert.Equal(t, "accepted", res.Status)
			assert.Equal(t, tc.want.EventID, res.EventID)
			assert.Equal(t, name, res.StripeType)
			assert.Equal(t, tc.want.Type, res.Type)
			assert.Equal(t, tc.want.CustomerID, res.CustomerID)
			assert.Equal(t, "customer:"+tc.want.CustomerID, res.WorkflowID)

			sent := j.sent()
			require.Len(t, sent, 1)
			got := sent[0]
			assert.Equal(t, tc.want.EventID, got.EventID, "the Stripe event ID is the idempotency key")
			assert.Equal(t, tc.want.CustomerID, got.CustomerID)
			assert.Equal(t, tc.want.Type, got.Type)
			assert.True(t, tc.want.OccurredAt.Equal(got.OccurredAt), "occurred_at is the event's created: %s", got.OccurredAt)
			require.NoError(t, got.Validate(stripeNow), "the forwarded event is valid")
			p, err := got.Payload()
			require.NoError(t, err)
			assert.Equal(t, tc.wantData, p)
		})
	}
}

func TestStripeInvoicePaidOutsideARenewalIsNoRenewal(t *testing.T) {
	body := strings.Replace(invoicePaid, `"billing_reason": "subscription_cycle"`, `"billing_reason": "subscription_update"`, 1)
	j := &recorder{}
	rec, _ := postStripe(t, stripeHandler(t, j), body, stripeSign(body, stripeSecret, stripeNow))
	assert.Equal(t, "accepted", stripeResult(t, rec).Status)
	require.Len(t, j.sent(), 1)
	p, err := j.sent()[0].Payload()
	require.NoError(t, err)
	assert.False(t, p.(signals.PaymentSucceededData).Renewal)
}

// The customer ID on the invoice's own metadata wins; without a code the
// error message is the reason, made to fit.
func TestStripeInvoiceMetadataAndMessageReason(t *testing.T) {
	body := strings.Replace(invoicePaymentFailed, `"metadata": {},`, `"metadata": {"journeys_customer_id": "c-9"},`, 1)
	body = strings.Replace(body, `"code": "card_declined",`, ``, 1)
	j := &recorder{}
	rec, _ := postStripe(t, stripeHandler(t, j), body, stripeSign(body, stripeSecret, stripeNow))
	assert.Equal(t, "accepted", stripeResult(t, rec).Status)
	require.Len(t, j.sent(), 1)
	assert.Equal(t, "c-9", j.sent()[0].CustomerID)
	p, err := j.sent()[0].Payload()
	require.NoError(t, err)
	assert.Equal(t, "Your card was declined", p.(signals.PaymentFailedData).Reason)
}

func TestStripeSeveralSignaturesOneMatching(t *testing.T) {
	// While a secret is rolled, Stripe signs with the old and the new one;
	// v0 is the test-mode scheme, ignored.
	body := invoicePaid
	for i := range 3 {
		v1 := []string{
			stripeV1(body, "whsec_the_other_secret_of_the_roll", stripeNow),
			stripeV1(body, "whsec_yet_another_secret", stripeNow),
		}
		v1 = append(v1[:i], append([]string{stripeV1(body, stripeSecret, stripeNow)}, v1[i:]...)...)
		header := fmt.Sprintf("t=%d,v1=%s,v1=%s,v0=%s,v1=%s", stripeNow.Unix(), v1[0], v1[1], stripeV1(body, "whsec_test_mode_v0", stripeNow), v1[2])
		j := &recorder{}
		rec, _ := postStripe(t, stripeHandler(t, j), body, header)
		assert.Equal(t, "accepted", stripeResult(t, rec).Status, "the matching signature at position %d", i)
		assert.Len(t, j.sent(), 1)
	}
}

// A request that is not signed with the secret, or not recently, gets 401
// and nothing is forwarded: untouchable fails the test otherwise.
func TestStripeBadSignaturesAre401(t *testing.T) {
	body := invoicePaymentFailed
	h := stripeHandler(t, untouchable{t})
	cases := map[string]string{
		"missing header":      "",
		"wrong secret":        stripeSign(body, "whsec_not_the_secret", stripeNow),
		"other body":          stripeSign(body+" ", stripeSecret, stripeNow),
		"no v1":               fmt.Sprintf("t=%d,v0=%s", stripeNow.Unix(), stripeV1(body, stripeSecret, stripeNow)),
		"no timestamp":        "v1=" + stripeV1(body, stripeSecret, stripeNow),
		"other timestamp":     fmt.Sprintf("t=%d,v1=%s", stripeNow.Unix()+1, stripeV1(body, stripeSecret, stripeNow)),
		"all signatures bad":  fmt.Sprintf("t=%d,v1=%s,v1=%s", stripeNow.Unix(), stripeV1(body, "whsec_a", stripeNow), stripeV1(body, "whsec_b", stripeNow)),
		"not hex":             fmt.Sprintf("t=%d,v1=zz%s", stripeNow.Unix(), stripeV1(body, stripeSecret, stripeNow)[2:]),
		"truncated signature": fmt.Sprintf("t=%d,v1=%s", stripeNow.Unix(), stripeV1(body, stripeSecret, stripeNow)[:32]),
		"malformed header":    "garbage",
		"stale: 301 s old":    stripeSign(body, stripeSecret, stripeNow.Add(-301*time.Second)),
		"future: 301 s ahead": stripeSign(body, stripeSecret, stripeNow.Add(301*time.Second)),
	}
	for name, header := range cases {
		t.Run(name, func(t *testing.T) {
			rec, e := postStripe(t, h, body, header)
			assert.Equal(t, http.StatusUnauthorized, rec.Code)
			assert.Contains(t, e.Error, "signature")
		})
	}
}

func TestStripeTimestampWithinToleranceIsAccepted(t *testing.T) {
	for _, at := range []time.Time{stripeNow.Add(-api.StripeTolerance), stripeNow.Add(api.StripeTolerance)} {
		j := &recorder{}
		rec, _ := postStripe(t, stripeHandler(t, j), invoicePaid, stripeSign(invoicePaid, stripeSecret, at))
		assert.Equal(t, "accepted", stripeResult(t, rec).Status, "signed %s from now", at.Sub(stripeNow))
	}
}

func TestStripeBodyOverTheLimitIs413(t *testing.T) {
	body := `{"id":"evt_1","type":"invoice.paid","data":{"object":{}},"pad":"` + strings.Repeat("x", api.MaxWebhookBody) + `"}`
	rec, e := postStripe(t, stripeHandler(t, untouchable{t}), body, stripeSign(body, stripeSecret, stripeNow))
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, "body", e.Field)
}

func TestStripeEventsThatMapToNothingAreIgnoredWith200(t *testing.T) {
	cases := map[string]struct{ body, reason string }{
		"unknown type": {
			`{"id":"evt_1Unk","object":"event","type":"customer.created","created":1772441990,"data":{"object":{"id":"cus_PqR5sT6uV7wX8y","object":"customer","metadata":{"journeys_customer_id":"c-1"}}}}`,
			`"customer.created" is not mapped`,
		},
		"invoice without metadata": {
			strings.Replace(invoicePaymentFailed, `"subscription_details": {"metadata": {"journeys_customer_id": "c-1", "plan": "pro"}},`, `"subscription_details": {"metadata": {}},`, 1),
			"invoice in_1OpF0aQx7Lk2Yd9a3Xy4ZwVu has no metadata.journeys_customer_id",
		},
		"subscription without metadata": {
			strings.Replace(subscriptionDeleted, `"metadata": {"journeys_customer_id": "c-3"},`, `"metadata": {},`, 1),
			"subscription sub_1Nv2HIQx7Lk2Yd9aTuVwXyZa has no metadata.journeys_customer_id",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rec, _ := postStripe(t, stripeHandler(t, untouchable{t}), tc.body, stripeSign(tc.body, stripeSecret, stripeNow))
			res := stripeResult(t, rec)
			assert.Equal(t, "ignored", res.Status)
			assert.Contains(t, res.Reason, tc.reason)
			assert.NotEmpty(t, res.EventID)
		})
	}
}

// An event that maps to an invalid journey event is refused with 400
// naming the field, and never forwarded.
func TestStripeEventFailingValidationIs400(t *testing.T) {
	cases := map[string]struct{ body, field string }{
		"no hosted invoice URL": {strings.Replace(invoicePaymentFailed, `"hosted_invoice_url": "https://invoice.stripe.com/`, `"hosted_invoice_url_": "https://invoice.stripe.com/`, 1), "data.update_url"},
		"bad customer ID":       {strings.Replace(subscriptionDeleted, `"journeys_customer_id": "c-3"`, `"journeys_customer_id": "c 3"`, 1), "customer_id"},
		"negative amount":       {strings.Replace(invoicePaid, `"amount_paid": 49900`, `"amount_paid": -1`, 1), "data.amount"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			require.NotEqual(t, invoicePaymentFailed, tc.body)
			rec, e := postStripe(t, stripeHandler(t, untouchable{t}), tc.body, stripeSign(tc.body, stripeSecret, stripeNow))
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Equal(t, tc.field, e.Field)
			assert.True(t, strings.HasPrefix(e.Error, tc.field+": "), "the message names the field: %q", e.Error)
		})
	}
}

func TestStripeForwardingErrors(t *testing.T) {
	// No journey yet, for an event created seconds ago: 409, Stripe retries.
	rec, _ := postStripe(t, stripeHandler(t, &recorder{err: fmt.Errorf("send: %w", sender.ErrUnknownCustomer)}), invoicePaid, stripeSign(invoicePaid, stripeSecret, stripeNow))
	assert.Equal(t, http.StatusConflict, rec.Code)
	assert.Contains(t, rec.Body.String(), "no journey for customer c-2 yet")

	// Temporal down: 503, and Stripe retries.
	rec, e := postStripe(t, stripeHandler(t, &recorder{err: fmt.Errorf("send: %w", sender.ErrUnavailable)}), invoicePaid, stripeSign(invoicePaid, stripeSecret, stripeNow))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "5", rec.Header().Get("Retry-After"))
	assert.Contains(t, e.Error, "nothing was accepted")
}

func TestStripeWebhookWithoutSecretIs404(t *testing.T) {
	h := newHandler(t, untouchable{t}, api.Options{})
	rec, e := postStripe(t, h, invoicePaid, stripeSign(invoicePaid, stripeSecret, time.Now()))
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Contains(t, e.Error, "STRIPE_WEBHOOK_SECRET")
}

// signupLater is a Journeys whose customers have no journey until a
// signed_up arrives: Stripe's events may come before the backend's.
type signupLater struct {
	recorder
	started map[string]bool
}

func (j *signupLater) Send(ctx context.Context, ev signals.Event) error {
	j.mu.Lock()
	known := j.started[ev.CustomerID] || ev.Type == signals.SignedUp
	if ev.Type == signals.SignedUp {
		j.started[ev.CustomerID] = true
	}
	j.mu.Unlock()
	if !known {
		return fmt.Errorf("send %s: %w", ev.EventID, sender.ErrUnknownCustomer)
	}
	return j.recorder.Send(ctx, ev)
}

// stripeAt is invoicePaymentFailed for c-1, created at created.
func stripeAt(created time.Time) string {
	return strings.Replace(invoicePaymentFailed, `"created": 1772441990,`, fmt.Sprintf(`"created": %d,`, created.Unix()), 1)
}

// A young event for a customer without a journey yet is answered 409 so
// that Stripe retries it; once signed_up has arrived, the retry applies.
func TestStripeEventBeforeSignupIsRetriedUntilItApplies(t *testing.T) {
	reg := metricstest.New(t)
	j := &signupLater{started: map[string]bool{}}
	h := newHandler(t, j, api.Options{StripeWebhookSecret: stripeSecret, Now: func() time.Time { return stripeNow }, Metrics: reg.Handler()})
	body := stripeAt(stripeNow.Add(-api.StripeRetryUnknownFor + time.Minute))

	rec, _ := postStripe(t, h, body, stripeSign(body, stripeSecret, stripeNow))
	assert.Equal(t, http.StatusConflict, rec.Code, "body: %s", rec.Body)
	var res api.StripeResult
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	assert.Equal(t, api.StripeStatusRetry, res.Status)
	assert.Contains(t, res.Reason, "no journey for customer c-1 yet")
	assert.Equal(t, "evt_1OpFailedQx7Lk2Yd9aBcDeF", res.EventID)
	assert.Empty(t, j.sent())

	require.NoError(t, j.Send(context.Background(), signals.Event{EventID: "signup-c-1", CustomerID: "c-1", Type: signals.SignedUp}))
	rec, _ = postStripe(t, h, body, stripeSign(body, stripeSecret, stripeNow)) // Stripe's retry
	assert.Equal(t, "accepted", stripeResult(t, rec).Status)
	sent := j.sent()
	require.Len(t, sent, 2)
	assert.Equal(t, "evt_1OpFailedQx7Lk2Yd9aBcDeF", sent[1].EventID)
	assert.Equal(t, signals.PaymentFailed, sent[1].Type)
	assertCounted(t, reg, "journeys_events_rejected_total", map[string]string{"source": "stripe", "reason": api.ReasonJourneyNotYet}, 1)
}

// Past the bound the event is dropped: 200 ignored, so that Stripe stops.
func TestStripeOldEventForUnknownCustomerIsDropped(t *testing.T) {
	reg := metricstest.New(t)
	j := &signupLater{started: map[string]bool{}}
	h := newHandler(t, j, api.Options{StripeWebhookSecret: stripeSecret, Now: func() time.Time { return stripeNow }, Metrics: reg.Handler()})
	body := stripeAt(stripeNow.Add(-api.StripeRetryUnknownFor))

	rec, _ := postStripe(t, h, body, stripeSign(body, stripeSecret, stripeNow))
	res := stripeResult(t, rec)
	assert.Equal(t, "ignored", res.Status)
	assert.Equal(t, "no journey for customer c-1", res.Reason)
	assertCounted(t, reg, "journeys_events_ignored_total", map[string]string{"source": "stripe", "reason": api.ReasonRetryExpired}, 1)
}

// assertCounted checks one counter of reg, which it closes to flush it.
func assertCounted(t *testing.T, reg *metrics.Registry, name string, labels map[string]string, want float64) {
	t.Helper()
	require.NoError(t, reg.Close())
	assert.Equal(t, want, metricstest.Scrape(t, reg.HTTPHandler()).Value(name, labels), "%s%v", name, labels)
}
