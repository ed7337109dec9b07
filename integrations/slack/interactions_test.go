package slack_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/slack"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// clickPayload is a block_actions payload as Slack posts it for a click on
// one of an alert's buttons (trimmed to the fields that matter).
func clickPayload(actionID, value string) string {
	p := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": "U0CSM01", "username": "jane", "name": "jane", "team_id": "T01"},
		"api_app_id":   "A01",
		"token":        "legacy-verification-token",
		"container":    map[string]any{"type": "message", "message_ts": postedTS, "channel_id": "D123"},
		"trigger_id":   "123.456.abc",
		"team":         map[string]any{"id": "T01", "domain": "journeys"},
		"channel":      map[string]any{"id": "D123", "name": "directmessage"},
		"response_url": "https://hooks.slack.com/actions/T01/1/abc",
		"actions": []any{map[string]any{
			"action_id": actionID,
			"block_id":  slack.BlockIDActions,
			"text":      map[string]any{"type": "plain_text", "text": "Acknowledge"},
			"value":     value,
			"type":      "button",
			"action_ts": "1700000100.000200",
		}},
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return "payload=" + url.QueryEscape(string(b))
}

// sign computes Slack's v0 signature the way the docs describe it, not
// with the SDK, so the test checks the driver against the spec.
func sign(secret string, ts time.Time, body string) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":" + body))
	return timestamp, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func interactionRequest(body, timestamp, signature string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if timestamp != "" {
		r.Header.Set("X-Slack-Request-Timestamp", timestamp)
	}
	if signature != "" {
		r.Header.Set("X-Slack-Signature", signature)
	}
	return r
}

func signedRequest(body string) *http.Request {
	ts, sig := sign(secret, time.Now(), body)
	return interactionRequest(body, ts, sig)
}

func TestParseInteractionForEachButton(t *testing.T) {
	for _, tc := range []struct {
		actionID string
		want     slack.Interaction
	}{
		{slack.ActionIDAcknowledge, slack.Interaction{
			Action: slack.ActionAcknowledge, AlertKey: alertKey, CustomerID: "c-42",
			UserID: "U0CSM01", UserName: "jane", ResponseURL: "https://hooks.slack.com/actions/T01/1/abc",
		}},
		{slack.ActionIDSnooze, slack.Interaction{
			Action: slack.ActionSnooze, AlertKey: alertKey, CustomerID: "c-42",
			UserID: "U0CSM01", UserName: "jane", SnoozeFor: 72 * time.Hour,
			ResponseURL: "https://hooks.slack.com/actions/T01/1/abc",
		}},
	} {
		t.Run(tc.actionID, func(t *testing.T) {
			got, err := slack.ParseInteraction(signedRequest(clickPayload(tc.actionID, alertKey)), secret)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseInteractionRefusesUnverifiedRequests(t *testing.T) {
	body := clickPayload(slack.ActionIDAcknowledge, alertKey)
	now := time.Now()
	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		secret string
	}{
		{"signed with another secret", func() *http.Request {
			ts, sig := sign("not-the-secret", now, body)
			return interactionRequest(body, ts, sig)
		}, secret},
		{"stale timestamp", func() *http.Request {
			ts, sig := sign(secret, now.Add(-10*time.Minute), body)
			return interactionRequest(body, ts, sig)
		}, secret},
		{"body changed after signing", func() *http.Request {
			ts, sig := sign(secret, now, body)
			return interactionRequest(clickPayload(slack.ActionIDSnooze, alertKey), ts, sig)
		}, secret},
		{"no signature headers", func() *http.Request {
			return interactionRequest(body, "", "")
		}, secret},
		{"malformed signature", func() *http.Request {
			ts, _ := sign(secret, now, body)
			return interactionRequest(body, ts, "v0=zz")
		}, secret},
		{"no signing secret configured", func() *http.Request {
			ts, sig := sign("", now, body)
			return interactionRequest(body, ts, sig)
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := slack.ParseInteraction(tc.req(), tc.secret)
			assert.ErrorIs(t, err, slack.ErrBadSignature)
			assert.NotErrorIs(t, err, slack.ErrUnknownAction)
		})
	}
}

func TestParseInteractionUnknownAction(t *testing.T) {
	_, err := slack.ParseInteraction(signedRequest(clickPayload("someone_elses_button", alertKey)), secret)
	assert.ErrorIs(t, err, slack.ErrUnknownAction)
	assert.NotErrorIs(t, err, slack.ErrBadSignature)
}

func TestParseInteractionBadPayloads(t *testing.T) {
	for name, body := range map[string]string{
		"key names no customer": clickPayload(slack.ActionIDAcknowledge, "not-an-alert-key"),
		"no payload field":      "foo=bar",
		"payload is not JSON":   "payload=%7Bnope",
		"too large":             "payload=" + strings.Repeat("a", slack.MaxInteractionBody),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := slack.ParseInteraction(signedRequest(body), secret)
			assert.ErrorIs(t, err, slack.ErrBadPayload)
		})
	}
}

// TestButtonValueFromAPostedAlertParsesBack ties both halves together: the
// value Slack would send back is the one AlertCSM put on the button.
func TestButtonValueFromAPostedAlertParsesBack(t *testing.T) {
	f := newFake(t)
	c := f.client()
	_, err := c.AlertCSM(context.Background(), alert("U0123ABCD"))
	require.NoError(t, err)
	_, byID := blocks(t, f.Calls()[0])
	bs := buttons(t, byID[slack.BlockIDActions])
	require.Len(t, bs, 2)

	got, err := c.ParseInteraction(signedRequest(clickPayload(bs[1].ActionID, bs[1].Value)))
	require.NoError(t, err, "the client's own signing secret verifies it")
	assert.Equal(t, slack.ActionSnooze, got.Action)
	assert.Equal(t, "c-42", got.CustomerID)
	assert.Equal(t, alertKey, got.AlertKey)
}

func TestCustomerIDFromAlertKey(t *testing.T) {
	for key, want := range map[string]string{
		"customer:c-42/j-1/step/alert": "c-42",
		"customer:c-42":                "",
		"customer:/j-1":                "",
		"c-42/j-1":                     "",
		"":                             "",
	} {
		got, ok := slack.CustomerIDFromAlertKey(key)
		assert.Equal(t, want, got, key)
		assert.Equal(t, want != "", ok, key)
	}
}
