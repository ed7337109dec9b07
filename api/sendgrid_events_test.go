package api_test

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/internal/webhooktest"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
)

// sendgridNow is the server clock of the SendGrid tests.
var sendgridNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// sendgridKey is a Signed Event Webhook key pair as SendGrid holds it.
type sendgridKey struct{ webhooktest.SendGridKey }

func newSendGridKey(t *testing.T) sendgridKey {
	t.Helper()
	k, err := webhooktest.NewSendGridKey()
	require.NoError(t, err)
	return sendgridKey{k}
}

// sign returns the signature and timestamp headers of body sent at ts.
func (k sendgridKey) sign(t *testing.T, body string, ts time.Time) (signature, timestamp string) {
	t.Helper()
	signature, timestamp, err := k.Sign(body, ts)
	require.NoError(t, err)
	return signature, timestamp
}

func sendgridHandler(t *testing.T, j api.Journeys, key sendgridKey) http.Handler {
	t.Helper()
	return newHandler(t, j, api.Options{SendGridWebhookPublicKey: key.Public, Now: func() time.Time { return sendgridNow }})
}

// postSendGrid posts body with the given signature headers (none when
// empty).
func postSendGrid(t *testing.T, h http.Handler, body, signature, timestamp string) (*httptest.ResponseRecorder, errorResponse) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, api.SendGridEventsPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", signature)
	}
	if timestamp != "" {
		req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", timestamp)
	}
	return serve(t, h, req)
}

// postSigned posts body signed now by key, and decodes a 200's summary.
func postSigned(t *testing.T, h http.Handler, key sendgridKey, body string) api.SendGridResult {
	t.Helper()
	sig, ts := key.sign(t, body, sendgridNow)
	rec, _ := postSendGrid(t, h, body, sig, ts)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var res api.SendGridResult
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	return res
}

// sgEvent is one Event Webhook event of ours, with fields over the
// common ones as name, value pairs ("" removes a field).
func sgEvent(event string, fields ...any) string {
	m := map[string]any{
		"email": "ana@example.com", "timestamp": sendgridNow.Add(-time.Minute).Unix(), "event": event,
		"sg_event_id": "sg-" + event, "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
		"customer_id": "c-1", "message": "welcome", "journeys_key": "c-1:welcome:1",
	}
	for i := 0; i+1 < len(fields); i += 2 {
		name := fields[i].(string)
		if fields[i+1] == "" {
			delete(m, name)
		} else {
			m[name] = fields[i+1]
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func batch(events ...string) string { return "[" + strings.Join(events, ",") + "]" }

func TestSendGridMapping(t *testing.T) {
	key := newSendGridKey(t)
	for _, tc := range []struct {
		name           string
		event          string
		status, reason string // status "" means ignored
		address        string // default the event's email
	}{
		{"unsubscribe", sgEvent("unsubscribe"), signals.ConsentOptedOut, "unsubscribe", ""},
		{"group_unsubscribe", sgEvent("group_unsubscribe", "asm_group_id", "42"), signals.ConsentOptedOut, "group_unsubscribe", ""},
		{"spamreport", sgEvent("spamreport"), signals.ConsentOptedOut, "spamreport", ""},
		{"group_resubscribe", sgEvent("group_resubscribe"), signals.ConsentOptedIn, "group_resubscribe", ""},
		{"bounce", sgEvent("bounce", "type", "bounce", "status", "5.1.1", "reason", "550 5.1.1 no such user ana@example.com"), signals.ConsentUnusable, "bounce 5.1.1", ""},
		{"bounce without status", sgEvent("bounce", "type", "bounce"), signals.ConsentUnusable, "bounce", ""},
		{"bounce with odd status", sgEvent("bounce", "type", "bounce", "status", "mailbox ana@example.com"), signals.ConsentUnusable, "bounce", ""},
		{"blocked", sgEvent("bounce", "type", "blocked", "status", "4.0.0"), "", "", ""},
		{"dropped bounced address", sgEvent("dropped", "reason", "Bounced Address"), signals.ConsentUnusable, "dropped: Bounced Address", ""},
		{"dropped invalid", sgEvent("dropped", "reason", "Invalid"), signals.ConsentUnusable, "dropped: Invalid", ""},
		{"dropped unsubscribed", sgEvent("dropped", "reason", "Unsubscribed Address"), signals.ConsentOptedOut, "dropped: Unsubscribed Address", ""},
		{"dropped spam reporting", sgEvent("dropped", "reason", "Spam Reporting Address"), signals.ConsentOptedOut, "dropped: Spam Reporting Address", ""},
		{"email in another case", sgEvent("unsubscribe", "email", "Ana@Example.com"), signals.ConsentOptedOut, "unsubscribe", "Ana@Example.com"},
		{"email not a plain address", sgEvent("unsubscribe", "email", "Ana <ana@example.com>"), signals.ConsentOptedOut, "unsubscribe", "-"},
		{"no email", sgEvent("spamreport", "email", ""), signals.ConsentOptedOut, "spamreport", "-"},
		{"dropped spam content", sgEvent("dropped", "reason", "Spam Content (if spam checker app enabled)"), "", "", ""},
		{"processed", sgEvent("processed"), "", "", ""},
		{"delivered", sgEvent("delivered", "response", "250 OK"), "", "", ""},
		{"open", sgEvent("open"), "", "", ""},
		{"click", sgEvent("click", "url", "https://acme.example/x"), "", "", ""},
		{"deferred", sgEvent("deferred", "response", "400 try again later"), "", "", ""},
		{"no customer_id", sgEvent("unsubscribe", "customer_id", ""), "", "", ""},
		{"invalid customer_id", sgEvent("unsubscribe", "customer_id", "not a customer"), "", "", ""},
		{"no sg_event_id", sgEvent("unsubscribe", "sg_event_id", ""), "", "", ""},
		{"not an object", `"unsubscribe"`, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			var logs bytes.Buffer
			h := newHandler(t, rec, api.Options{SendGridWebhookPublicKey: key.Public, Now: func() time.Time { return sendgridNow },
				Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			res := postSigned(t, h, key, batch(tc.event))
			assert.NotContains(t, logs.String(), "ana@example.com", "no address in the logs")
			if tc.status == "" {
				assert.Empty(t, rec.sent())
				assert.Equal(t, api.SendGridResult{Ignored: 1}, res)
				return
			}
			assert.Equal(t, api.SendGridResult{Accepted: 1}, res)
			require.Len(t, rec.sent(), 1)
			ev := rec.sent()[0]
			var sg struct {
				ID string `json:"sg_event_id"`
			}
			require.NoError(t, json.Unmarshal([]byte(tc.event), &sg))
			assert.Equal(t, "sendgrid-"+sg.ID, ev.EventID)
			assert.Equal(t, "c-1", ev.CustomerID)
			assert.Equal(t, sendgridNow.Add(-time.Minute), ev.OccurredAt, "when SendGrid saw it")
			address := cmp.Or(tc.address, "ana@example.com")
			if address == "-" { // one it cannot vouch for: the change still applies, to the current address
				address = ""
			}
			assert.Equal(t, signals.ConsentChangedData{Channel: signals.ConsentEmail, Status: tc.status, Source: signals.SourceSendGrid, Reason: tc.reason, Address: address}, consentData(t, ev))
		})
	}
}

// With the lifecycle email's unsubscribe group known, a group unsubscribe
// or resubscribe of that group is about lifecycle email; of any other
// group, or of no group, about marketing.
func TestSendGridGroupsMapToClasses(t *testing.T) {
	key := newSendGridKey(t)
	for _, tc := range []struct {
		name, event, class string
	}{
		{"lifecycle group", sgEvent("group_unsubscribe", "asm_group_id", 456), signals.ConsentClassLifecycle},
		{"lifecycle group quoted", sgEvent("group_resubscribe", "asm_group_id", "456"), signals.ConsentClassLifecycle},
		{"marketing group", sgEvent("group_unsubscribe", "asm_group_id", 123), ""},
		{"no group", sgEvent("group_unsubscribe"), ""},
		{"not a group event", sgEvent("unsubscribe", "asm_group_id", 456), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			h := newHandler(t, rec, api.Options{SendGridWebhookPublicKey: key.Public, SendGridLifecycleGroup: 456, Now: func() time.Time { return sendgridNow }})
			require.Equal(t, api.SendGridResult{Accepted: 1}, postSigned(t, h, key, batch(tc.event)))
			require.Len(t, rec.sent(), 1)
			assert.Equal(t, tc.class, consentData(t, rec.sent()[0]).Class)
		})
	}
}

func TestSendGridBatch(t *testing.T) {
	key := newSendGridKey(t)
	rec := &recorder{}
	h := sendgridHandler(t, rec, key)
	at := func(d time.Duration) int64 { return sendgridNow.Add(d).Unix() }
	body := batch(
		sgEvent("group_resubscribe", "sg_event_id", "resub", "timestamp", at(-time.Minute)),
		sgEvent("delivered", "timestamp", at(-3*time.Minute)),
		sgEvent("group_unsubscribe", "sg_event_id", "unsub", "timestamp", at(-2*time.Minute)),
		sgEvent("spamreport", "sg_event_id", "Gd6uVfp9RTyOhhm+NYT7/A==", "customer_id", "c-2"),
	)
	res := postSigned(t, h, key, body)
	assert.Equal(t, api.SendGridResult{Accepted: 3, Ignored: 1}, res)
	sent := rec.sent()
	require.Len(t, sent, 3)
	assert.Equal(t, "sendgrid-unsub", sent[0].EventID, "applied in the order they happened, not the batch's")
	assert.Equal(t, "sendgrid-resub", sent[1].EventID)
	assert.Equal(t, "c-2", sent[2].CustomerID)
	assert.Regexp(t, `^sendgrid-h-[0-9a-f]{40}$`, sent[2].EventID, "an ID with characters event_id refuses is hashed")
	assert.NoError(t, sent[2].Validate(sendgridNow))

	// The redelivered batch sends the same event IDs.
	postSigned(t, h, key, body)
	require.Len(t, rec.sent(), 6)
	for i := range 3 {
		assert.Equal(t, sent[i].EventID, rec.sent()[3+i].EventID)
	}
}

func TestSendGridUnknownCustomerIsIgnored(t *testing.T) {
	key := newSendGridKey(t)
	rec := &recorder{err: fmt.Errorf("send: %w", sender.ErrUnknownCustomer)}
	res := postSigned(t, sendgridHandler(t, rec, key), key, batch(sgEvent("unsubscribe")))
	assert.Equal(t, api.SendGridResult{Ignored: 1}, res)
}

func TestSendGridRefusesBadOrStaleSignatures(t *testing.T) {
	key, other := newSendGridKey(t), newSendGridKey(t)
	h := sendgridHandler(t, untouchable{t}, key)
	body := batch(sgEvent("unsubscribe"))
	sig, ts := key.sign(t, body, sendgridNow)
	otherSig, _ := other.sign(t, body, sendgridNow)
	staleSig, staleTS := key.sign(t, body, sendgridNow.Add(-api.SendGridTolerance-time.Second))
	futureSig, futureTS := key.sign(t, body, sendgridNow.Add(api.SendGridTolerance+time.Second))
	// Signed over the word itself, so that only the timestamp's parse fails.
	wordSig, err := key.SignTimestamp(body, "yesterday")
	require.NoError(t, err)
	for _, tc := range []struct{ name, body, sig, ts string }{
		{"no headers", body, "", ""},
		{"no timestamp", body, sig, ""},
		{"no signature", body, "", ts},
		{"another key", body, otherSig, ts},
		{"another body", batch(sgEvent("spamreport")), sig, ts},
		{"another timestamp", body, sig, strconv.FormatInt(sendgridNow.Unix()+1, 10)},
		{"stale", body, staleSig, staleTS},
		{"from the future", body, futureSig, futureTS},
		{"timestamp not a number", body, wordSig, "yesterday"},
		{"signature not base64", body, "%%%", ts},
		{"signature not ASN.1", body, base64.StdEncoding.EncodeToString([]byte("nope")), ts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, e := postSendGrid(t, h, tc.body, tc.sig, tc.ts)
			assert.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
			assert.Equal(t, "bad or stale signature", e.Error)
		})
	}
	// Within the tolerance it is taken.
	rec := &recorder{}
	recent := sendgridHandler(t, rec, key)
	sig, ts = key.sign(t, body, sendgridNow.Add(-api.SendGridTolerance+time.Second))
	res, _ := postSendGrid(t, recent, body, sig, ts)
	assert.Equal(t, http.StatusOK, res.Code, res.Body.String())
	assert.Len(t, rec.sent(), 1)
}

func TestSendGridNotConfigured(t *testing.T) {
	h := newHandler(t, untouchable{t}, api.Options{})
	rec, e := postSendGrid(t, h, batch(sgEvent("unsubscribe")), "sig", "1")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Contains(t, e.Error, "set SENDGRID_WEBHOOK_PUBLIC_KEY")
}

func TestSendGridTemporalUnavailableIs503(t *testing.T) {
	key := newSendGridKey(t)
	rec := &recorder{err: fmt.Errorf("send: %w", sender.ErrUnavailable)}
	body := batch(sgEvent("delivered"), sgEvent("unsubscribe"))
	sig, ts := key.sign(t, body, sendgridNow)
	res, _ := postSendGrid(t, sendgridHandler(t, rec, key), body, sig, ts)
	assert.Equal(t, http.StatusServiceUnavailable, res.Code)
	assert.NotEmpty(t, res.Header().Get("Retry-After"))
}

func TestSendGridBodyNotABatch(t *testing.T) {
	key := newSendGridKey(t)
	h := sendgridHandler(t, untouchable{t}, key)
	body := sgEvent("unsubscribe") // an object, not an array
	sig, ts := key.sign(t, body, sendgridNow)
	rec, e := postSendGrid(t, h, body, sig, ts)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "body", e.Field)
}

// SendGrid batches up to 768 KB: larger than the other webhooks' limit,
// still bounded.
func TestSendGridBodyLimit(t *testing.T) {
	key := newSendGridKey(t)
	rec := &recorder{}
	h := sendgridHandler(t, rec, key)
	var events []string
	for i := 0; len(strings.Join(events, ",")) < 700<<10; i++ {
		events = append(events, sgEvent("delivered", "sg_event_id", fmt.Sprintf("d-%d", i)))
	}
	events = append(events, sgEvent("unsubscribe"))
	res := postSigned(t, h, key, batch(events...))
	assert.Equal(t, 1, res.Accepted)

	big := batch(sgEvent("unsubscribe", "padding", strings.Repeat("x", api.MaxSendGridBody)))
	sig, ts := key.sign(t, big, sendgridNow)
	tooLarge, _ := postSendGrid(t, h, big, sig, ts)
	assert.Equal(t, http.StatusRequestEntityTooLarge, tooLarge.Code)
}

func TestParseSendGridPublicKey(t *testing.T) {
	key := newSendGridKey(t)
	pub, err := api.ParseSendGridPublicKey(key.Public + "\n")
	require.NoError(t, err)
	assert.True(t, pub.Equal(&key.Private.PublicKey))

	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	rsaDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	edDER, err := x509.MarshalPKIXPublicKey(edPub)
	require.NoError(t, err)
	for name, bad := range map[string]string{
		"not base64": "not base64!",
		"not DER":    base64.StdEncoding.EncodeToString([]byte("garbage")),
		"RSA":        base64.StdEncoding.EncodeToString(rsaDER),
		"Ed25519":    base64.StdEncoding.EncodeToString(edDER),
	} {
		_, err := api.ParseSendGridPublicKey(bad)
		assert.ErrorContains(t, err, "SENDGRID_WEBHOOK_PUBLIC_KEY", name)
		_, err = api.New(untouchable{t}, api.Options{Tokens: []string{testToken}, SendGridWebhookPublicKey: bad})
		assert.ErrorContains(t, err, "SENDGRID_WEBHOOK_PUBLIC_KEY", "New refuses it too: %s", name)
	}
}
