package main

import (
	"encoding/base64"
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
	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/internal/webhooktest"
	"github.com/journeyshq/journeys/workflows"
)

// TestConsentWebhooksAreWired runs the worker as in production with the
// consent webhooks' settings: each webhook is served (a bad signature is
// 401, not the 404 of a webhook without its settings), and a signed STOP
// runs its phone lookup against Temporal's visibility. Without the lookup
// key the inbound webhook is off and the worker says so at start.
func TestConsentWebhooksAreWired(t *testing.T) {
	temporalAddr := startTemporal(t)
	entry, err := codec.GenerateKey("k1")
	require.NoError(t, err)
	sgKey, err := webhooktest.NewSendGridKey()
	require.NoError(t, err)
	const token, publicURL = "0123456789abcdef0123456789abcdef", "https://journeys.acme.example"
	env := map[string]string{
		api.EnvTokens: "backend-token-0123456789", codec.EnvKeys: entry,
		"TWILIO_ACCOUNT_SID": "AC" + strings.Repeat("0", 32), "TWILIO_AUTH_TOKEN": token, "TWILIO_FROM_NUMBER": "+15550001111",
		api.EnvPublicURL:                publicURL,
		api.EnvLookupKey:                base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))),
		api.EnvSendGridWebhookPublicKey: sgKey.Public,
	}
	withLinks(t, env)
	cfg := config{
		DataDir: t.TempDir(), HTTPAddr: freeAddr(t), TemporalAddr: temporalAddr, Namespace: "default",
		Getenv: func(k string) string { return env[k] },
	}
	_, logs, stop := startWorkerLogged(t, cfg)
	base := "http://" + cfg.HTTPAddr

	stopText := url.Values{"MessageSid": {"SM" + strings.Repeat("1", 32)}, "From": {"+15557770000"}, "To": {"+15550001111"}, "Body": {"STOP"}}
	code, _ := postForm(t, base+api.TwilioInboundPath, stopText, "bm8=")
	assert.Equal(t, http.StatusUnauthorized, code, "the inbound webhook is on, with the auth token")
	code, body := postForm(t, base+api.TwilioInboundPath, stopText, webhooktest.TwilioSignature(token, publicURL+api.TwilioInboundPath, stopText))
	assert.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, api.TwiMLEmpty, body, "a STOP from a phone no journey has is acknowledged")
	code, _ = postForm(t, base+api.SendGridEventsPath, url.Values{}, "")
	assert.Equal(t, http.StatusUnauthorized, code, "the SendGrid webhook is on, with the key")
	assert.NotContains(t, logs.String(), "cannot reach the journeys")
	stop()

	delete(env, api.EnvLookupKey)
	cfg.HTTPAddr = freeAddr(t)
	_, logs, _ = startWorkerLogged(t, cfg)
	code, body = postForm(t, "http://"+cfg.HTTPAddr+api.TwilioInboundPath, stopText, webhooktest.TwilioSignature(token, publicURL+api.TwilioInboundPath, stopText))
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, body, "set JOURNEYS_LOOKUP_KEY")
	assert.Contains(t, logs.String(), "inbound STOP and START texts cannot reach the journeys")
}

func postForm(t *testing.T, u string, form url.Values, signature string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// On the embedded default (--dev, its own lookup key), a customer's STOP
// through the signed Twilio webhook stops their texts and START brings them
// back; a badly signed STOP changes nothing; a signed SendGrid unsubscribe
// stops their marketing email. Each reaches the journey's state.
func TestConsentWebhooksReachTheJourney(t *testing.T) {
	twilioAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("no text is due in this test, got %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(twilioAPI.Close)
	sgKey, err := webhooktest.NewSendGridKey()
	require.NoError(t, err)
	const token, publicURL, phone = "0123456789abcdef0123456789abcdef", "https://journeys.acme.example", "+15557770000"
	env := map[string]string{
		"TWILIO_ACCOUNT_SID": "AC" + strings.Repeat("0", 32), "TWILIO_AUTH_TOKEN": token, "TWILIO_FROM_NUMBER": "+15550001111",
		"TWILIO_BASE_URL":               twilioAPI.URL,
		api.EnvPublicURL:                publicURL,
		api.EnvSendGridWebhookPublicKey: sgKey.Public,
	}
	cfg := config{
		Dev: true, DataDir: t.TempDir(), HTTPAddr: freeAddr(t), TemporalAddr: freeAddr(t), Namespace: "default", UIAddr: "off",
		Getenv: func(k string) string { return env[k] },
	}
	startWorker(t, cfg)
	base := "http://" + cfg.HTTPAddr

	code, body := post(t, base, `{"event_id":"su-1","customer_id":"c-1","type":"signed_up","data":{"name":"Ana Lima","email":"ana@example.com","phone":"`+phone+`","sms_consent":true,"timezone":"America/New_York"}}`)
	require.Equal(t, http.StatusAccepted, code, body)

	text := func(sid, keyword string) url.Values {
		return url.Values{"MessageSid": {sid}, "AccountSid": {env["TWILIO_ACCOUNT_SID"]}, "From": {phone}, "To": {"+15550001111"}, "Body": {keyword}}
	}
	signed := func(form url.Values) string {
		return webhooktest.TwilioSignature(token, publicURL+api.TwilioInboundPath, form)
	}

	forged := text("SM"+strings.Repeat("9", 32), "STOP")
	code, _ = postForm(t, base+api.TwilioInboundPath, forged, signed(text("SM"+strings.Repeat("8", 32), "STOP")))
	assert.Equal(t, http.StatusUnauthorized, code, "a signature over another text")

	// The journey indexes its phone at its first workflow task; until
	// visibility has it, a STOP finds nobody and is acknowledged. Twilio
	// would not resend, so the test does, with the same MessageSid.
	stop := text("SM"+strings.Repeat("1", 32), "STOP")
	require.Eventually(t, func() bool {
		code, body := postForm(t, base+api.TwilioInboundPath, stop, signed(stop))
		require.Equal(t, http.StatusOK, code, body)
		return getState(t, base, "c-1").Consent.SMSOptedOut
	}, 20*time.Second, 200*time.Millisecond, "STOP reaches the journey")
	st := getState(t, base, "c-1")
	assert.True(t, stateHas(st, "opted out of SMS (twilio inbound): STOP: no more texts"))
	assert.False(t, stateHas(st, "SM"+strings.Repeat("9", 32)), "the forged text changed nothing")

	start := text("SM"+strings.Repeat("2", 32), "start")
	code, body = postForm(t, base+api.TwilioInboundPath, start, signed(start))
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool { return !getState(t, base, "c-1").Consent.SMSOptedOut }, 10*time.Second, 100*time.Millisecond, "START reaches the journey")
	assert.True(t, stateHas(getState(t, base, "c-1"), "opted in to SMS (twilio inbound): START"))

	batch := `[{"email":"ana@example.com","timestamp":` + strconv.FormatInt(time.Now().Unix(), 10) +
		`,"event":"unsubscribe","sg_event_id":"sg-unsub-1","sg_message_id":"m1","customer_id":"c-1"}]`
	sig, ts, err := sgKey.Sign(batch, time.Now())
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+api.SendGridEventsPath, strings.NewReader(batch))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sig)
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool { return getState(t, base, "c-1").Consent.EmailMarketingOptedOut }, 10*time.Second, 100*time.Millisecond)
}

func stateHas(st workflows.State, text string) bool {
	for _, e := range st.Timeline {
		if strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}
