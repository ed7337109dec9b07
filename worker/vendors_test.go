package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/workflows"
)

// TestVendorsEndToEnd runs the worker with every channel on its vendor: the
// real SendGrid, Twilio, Slack and HubSpot SDK clients talk to fake vendor
// servers on 127.0.0.1. A customer goes through onboarding to the day-7 CSM
// alert, the CSM clicks Acknowledge in Slack, and nothing escalates or is
// sent twice.
func TestVendorsEndToEnd(t *testing.T) {
	vendors := newFakeVendors(t)
	env := map[string]string{
		"SENDGRID_API_KEY": "SG.test-key", "SENDGRID_FROM": "Acme <hello@acme.example>", "SENDGRID_BASE_URL": vendors.URL,
		"TWILIO_ACCOUNT_SID": "AC0123456789", "TWILIO_AUTH_TOKEN": "authtoken0123", "TWILIO_MESSAGING_SERVICE_SID": "MG0123456789", "TWILIO_BASE_URL": vendors.URL,
		"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "signing-secret", "SLACK_FALLBACK_CHANNEL": "#csm-team", "SLACK_API_URL": vendors.URL + "/slack/",
		"HUBSPOT_ACCESS_TOKEN": "pat-test", "HUBSPOT_BASE_URL": vendors.URL,
		// The ledger on PostgreSQL when the machine has one, as in production.
		"JOURNEYS_DATABASE_URL": os.Getenv("JOURNEYS_TEST_DATABASE_URL"),
	}
	cfg := config{
		Dev: true, PlaybookPath: "testdata/fast.yaml", DataDir: t.TempDir(),
		HTTPAddr: freeAddr(t), TemporalAddr: freeAddr(t), Namespace: "default", UIAddr: "off",
		Getenv: func(k string) string { return env[k] },
		// Everything the worker can log, to show none of it is PII.
		LogLevel: "debug",
	}
	stdout, logs, _ := startWorkerLogged(t, cfg)
	for _, want := range []string{"Channel email    sendgrid", "Channel sms      twilio", "Channel alert    slack", "Channel crm      hubspot"} {
		assert.Contains(t, stdout.String(), want)
	}
	base := "http://" + cfg.HTTPAddr

	code, body := post(t, base, `{"event_id":"su-1","customer_id":"c-7","type":"signed_up","data":{"name":"Ana Lima","email":"ana@example.com","phone":"+15551234567","sms_consent":true,"plan":"pro","seats":5,"csm":"U0CSM01"}}`)
	require.Equal(t, http.StatusAccepted, code, body)

	// The welcome email through SendGrid, with what comes back in its
	// webhooks. The first attempt met a 429 with Retry-After: 4, and the
	// retry waited what SendGrid asked, not the policy's 2-second backoff.
	welcomeAttempts := vendors.waitForMail(t, "onboarding.welcome", 2)
	assert.Equal(t, http.StatusTooManyRequests, welcomeAttempts[0].status)
	assert.Equal(t, http.StatusAccepted, welcomeAttempts[1].status)
	gap := welcomeAttempts[1].at.Sub(welcomeAttempts[0].at)
	assert.GreaterOrEqual(t, gap, 4*time.Second-50*time.Millisecond, "retried after %s", gap)
	welcome := vendors.requests("POST /v3/mail/send")[0]
	var mail struct {
		Subject          string            `json:"subject"`
		CustomArgs       map[string]string `json:"custom_args"`
		Categories       []string          `json:"categories"`
		Personalizations []struct {
			To []struct{ Email string } `json:"to"`
		} `json:"personalizations"`
	}
	require.NoError(t, json.Unmarshal([]byte(welcome), &mail))
	assert.Equal(t, "Welcome to Acme, Ana", mail.Subject)
	assert.Equal(t, "ana@example.com", mail.Personalizations[0].To[0].Email)
	assert.Equal(t, "c-7", mail.CustomArgs["customer_id"])
	assert.Equal(t, "onboarding.welcome", mail.CustomArgs["journey_step"])
	assert.Contains(t, mail.Categories, "onboarding")

	// The stage change in HubSpot.
	contact := vendors.waitFor(t, "PATCH /crm/v3/objects/contacts/ana@example.com", 1)[0]
	assert.Contains(t, contact, `"journeys_lifecycle_stage":"onboarding"`)

	// Day 7: the SMS through Twilio and the alert through Slack, with buttons.
	sms := vendors.waitFor(t, "POST /2010-04-01/Accounts/AC0123456789/Messages.json", 1)[0]
	form, err := url.ParseQuery(sms)
	require.NoError(t, err)
	assert.Equal(t, "+15551234567", form.Get("To"))
	assert.Equal(t, "MG0123456789", form.Get("MessagingServiceSid"))
	alert := vendors.waitFor(t, "POST /slack/chat.postMessage", 1)[0]
	alertForm, err := url.ParseQuery(alert)
	require.NoError(t, err)
	assert.Equal(t, "U0CSM01", alertForm.Get("channel"))
	key := buttonValue(t, alertForm.Get("blocks"), "journeys_ack")
	require.Eventually(t, func() bool {
		for _, b := range vendors.requests("PATCH /crm/v3/objects/contacts/ana@example.com") {
			if strings.Contains(b, `"journeys_last_alert":"not_activated"`) {
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "the alert reaches the CRM contact")
	assert.True(t, strings.HasPrefix(key, "customer:c-7/"), key)

	// A click whose signature does not verify is refused and changes nothing.
	click := slackClick(key, "journeys_ack", vendors.URL+"/slack-hooks/actions/T01/1/abc")
	resp := postSlack(t, base, click, "wrong-secret", time.Now())
	assert.Equal(t, http.StatusUnauthorized, resp)
	resp = postSlack(t, base, click, "signing-secret", time.Now().Add(-10*time.Minute))
	assert.Equal(t, http.StatusUnauthorized, resp, "a stale signature is refused")
	assert.Equal(t, workflows.AlertOpen, getState(t, base, "c-7").Alerts[0].Status)

	// The CSM acknowledges: the journey records it and will not escalate.
	resp = postSlack(t, base, click, "signing-secret", time.Now())
	require.Equal(t, http.StatusOK, resp)
	st := getState(t, base, "c-7")
	require.Len(t, st.Alerts, 1)
	assert.Equal(t, workflows.AlertAcknowledged, st.Alerts[0].Status)
	assert.Equal(t, "U0CSM01", st.Alerts[0].AnsweredBy)
	replies := vendors.waitFor(t, "POST /slack-hooks/actions/T01/1/abc", 1)
	assert.Len(t, replies, 1, "refused clicks get no reply")
	assert.Contains(t, replies[0], `"text":"Done: the not_activated alert for c-7 is acknowledged."`)
	assert.Contains(t, replies[0], `"response_type":"ephemeral"`)

	// Past the 4-day SLA and the end of onboarding: no escalation, and every
	// message reached its vendor exactly once.
	require.Eventually(t, func() bool { return getState(t, base, "c-7").Stage == workflows.StageAdoption }, 30*time.Second, 200*time.Millisecond)
	assert.Len(t, vendors.requests("POST /slack/chat.postMessage"), 1, "acknowledged alerts do not escalate")
	assert.Len(t, vendors.requests("POST /2010-04-01/Accounts/AC0123456789/Messages.json"), 1)
	delivered := map[string]int{}
	for _, m := range vendors.mailAttempts() {
		if m.status == http.StatusAccepted {
			delivered[m.key]++
		}
	}
	assert.Len(t, delivered, 3, "welcome, getting started, nudge")
	for k, n := range delivered {
		assert.Equal(t, 1, n, "delivered twice: %s", k)
	}

	// A run with a rate limit, retries, every vendor and a refused webhook
	// logged plenty at debug level, and none of it is the customer's.
	assert.NotEmpty(t, logs.String())
	assertNoPII(t, cfg, stdout.String()+logs.String(), "ana@example.com", "+15551234567", "Ana Lima")
}

// fakeVendors answers like SendGrid, Twilio, Slack and HubSpot, on one
// loopback server, and records every request body by "METHOD path".
type fakeVendors struct {
	*httptest.Server
	mu   sync.Mutex
	reqs map[string][]string
	// mail records every mail send attempt, in order.
	mail []mailAttempt
}

// mailAttempt is one request to SendGrid's mail send and the fake's answer.
type mailAttempt struct {
	at     time.Time
	step   string
	key    string
	status int
}

func newFakeVendors(t *testing.T) *fakeVendors {
	f := &fakeVendors{reqs: map[string][]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		route := r.Method + " " + r.URL.Path
		f.reqs[route] = append(f.reqs[route], string(b))
		n := len(f.reqs[route])
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case route == "POST /v3/mail/send" && r.Header.Get("Authorization") == "Bearer SG.test-key":
			var m struct {
				CustomArgs map[string]string `json:"custom_args"`
			}
			_ = json.Unmarshal(b, &m)
			status := http.StatusAccepted
			if n == 1 { // the first send meets SendGrid's rate limit
				status = http.StatusTooManyRequests
				w.Header().Set("Retry-After", "4")
			}
			f.mu.Lock()
			f.mail = append(f.mail, mailAttempt{at: time.Now(), step: m.CustomArgs["journey_step"], key: m.CustomArgs["idempotency_key"], status: status})
			f.mu.Unlock()
			w.Header().Set("X-Message-Id", fmt.Sprintf("sg-%d", n))
			w.WriteHeader(status)
			if status == http.StatusTooManyRequests {
				fmt.Fprint(w, `{"errors":[{"field":null,"message":"too many requests"}]}`)
			}
		case strings.HasPrefix(route, "POST /2010-04-01/Accounts/AC0123456789/Messages.json"):
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"sid":"SM%032d","status":"accepted"}`, n)
		case strings.HasPrefix(route, "POST /slack-hooks/"):
			fmt.Fprint(w, "ok")
		case route == "POST /slack/chat.postMessage":
			fmt.Fprintf(w, `{"ok":true,"channel":"D0CSM01","ts":"1700000000.%06d"}`, n)
		case strings.HasPrefix(route, "PATCH /crm/v3/objects/contacts/") && r.Header.Get("Authorization") == "Bearer pat-test":
			fmt.Fprint(w, `{"id":"101","properties":{}}`)
		case route == "POST /crm/v3/objects/notes":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"id":"%d"}`, 200+n)
		default:
			t.Errorf("unexpected vendor request %s", route)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeVendors) requests(route string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs[route]...)
}

func (f *fakeVendors) mailAttempts() []mailAttempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]mailAttempt(nil), f.mail...)
}

// waitForMail waits for n attempts to send the email of step.
func (f *fakeVendors) waitForMail(t *testing.T, step string, n int) []mailAttempt {
	t.Helper()
	var got []mailAttempt
	require.Eventually(t, func() bool {
		got = got[:0]
		for _, m := range f.mailAttempts() {
			if m.step == step {
				got = append(got, m)
			}
		}
		return len(got) >= n
	}, 30*time.Second, 50*time.Millisecond, "fewer than %d attempts to send %s", n, step)
	return got
}

func (f *fakeVendors) waitFor(t *testing.T, route string, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { return len(f.requests(route)) >= n }, 30*time.Second, 50*time.Millisecond, "no %s", route)
	return f.requests(route)
}

// buttonValue finds the value of the button with actionID in Block Kit JSON.
func buttonValue(t *testing.T, blocksJSON, actionID string) string {
	t.Helper()
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	require.NoError(t, json.Unmarshal([]byte(blocksJSON), &blocks))
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value
			}
		}
	}
	t.Fatalf("no %s button in %s", actionID, blocksJSON)
	return ""
}

// slackClick is the form body Slack posts when a button is clicked.
func slackClick(value, actionID, responseURL string) string {
	payload, _ := json.Marshal(map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": "U0CSM01", "username": "maria"},
		"response_url": responseURL,
		"actions":      []any{map[string]any{"action_id": actionID, "block_id": "journeys_actions", "value": value, "type": "button"}},
	})
	return "payload=" + url.QueryEscape(string(payload))
}

// postSlack posts body signed with secret at ts the way Slack signs (v0).
func postSlack(t *testing.T, base, body, secret string, ts time.Time) int {
	t.Helper()
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":" + body))
	req, err := http.NewRequest(http.MethodPost, base+"/webhooks/slack/interactions", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
