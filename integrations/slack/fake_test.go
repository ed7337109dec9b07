package slack_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/internal/vendortest"
	"github.com/journeyshq/journeys/integrations/slack"
)

const (
	testToken    = "xoxb-1-test-token"
	testFallback = "#csm-team"
	testUIURL    = "http://ui.example:8233"
	// postedTS is the ts the fake gives every posted message.
	postedTS = "1700000000.000100"
)

// call is one request the fake Slack received.
type call struct {
	Method string // Web API method: the path without its leading slash
	Form   url.Values
}

// fakeSlack answers like Slack's Web API for the two methods the driver
// uses. It authenticates as Slack does (a Bearer header or a token form
// field; slack-go v0.35.0 sends the latter for these methods) and answers a
// wrong token with HTTP 200 {"ok":false,"error":"invalid_auth"}.
type fakeSlack struct {
	t   *testing.T
	srv *vendortest.Server[call]

	// users maps emails to user IDs for users.lookupByEmail.
	users map[string]string
	// post, when set, answers chat.postMessage instead of the default.
	post http.HandlerFunc
	// lookup, when set, answers users.lookupByEmail instead of the default.
	lookup http.HandlerFunc
}

func newFake(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{t: t, users: map[string]string{}}
	f.srv = vendortest.Start[call](t, "slack", "application/json; charset=utf-8", f.serve)
	return f
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var form url.Values
	switch ct := r.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		if form, err = url.ParseQuery(string(body)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	case strings.HasPrefix(ct, "application/json"):
		// Slack accepts JSON bodies with a Bearer token; flatten the
		// top level into form values so assertions are the same.
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form = url.Values{}
		for k, v := range m {
			if s, ok := v.(string); ok {
				form.Set(k, s)
			} else {
				b, _ := json.Marshal(v)
				form.Set(k, string(b))
			}
		}
	default:
		http.Error(w, "unsupported content type "+ct, http.StatusUnsupportedMediaType)
		return
	}

	method := strings.TrimPrefix(r.URL.Path, "/")
	f.srv.Record(call{Method: method, Form: form})

	auth := r.Header.Get("Authorization") == "Bearer "+testToken || form.Get("token") == testToken
	if !auth {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}

	switch method {
	case "chat.postMessage":
		if f.post != nil {
			f.post(w, r)
			return
		}
		ch := form.Get("channel")
		switch {
		case strings.HasPrefix(ch, "U"):
			ch = "D123" // Slack answers with the DM's conversation ID
		case strings.HasPrefix(ch, "#"):
			ch = "C0TEAM01"
		}
		writeJSON(w, map[string]any{"ok": true, "channel": ch, "ts": postedTS,
			"message": map[string]any{"type": "message", "text": form.Get("text"), "ts": postedTS}})
	case "users.lookupByEmail":
		if f.lookup != nil {
			f.lookup(w, r)
			return
		}
		id, ok := f.users[form.Get("email")]
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "users_not_found"})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "user": map[string]any{"id": id, "name": "csm", "deleted": false}})
	default:
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// Calls returns what the fake received so far.
func (f *fakeSlack) Calls() []call { return f.srv.Received() }

// config points a driver at the fake; the API URL has no trailing slash on
// purpose, as an operator might write it.
func (f *fakeSlack) config() slack.Config {
	return slack.Config{
		BotToken:        testToken,
		SigningSecret:   secret,
		FallbackChannel: testFallback,
		APIURL:          f.srv.URL,
		UIURL:           testUIURL,
		Namespace:       "journeys",
		Timeout:         2 * time.Second,
	}
}

func (f *fakeSlack) client() *slack.Client {
	f.t.Helper()
	c, err := slack.New(f.config())
	require.NoError(f.t, err)
	return c
}

// block is a Block Kit block as Slack receives it.
type block struct {
	Type     string            `json:"type"`
	BlockID  string            `json:"block_id"`
	Text     *textObject       `json:"text"`
	Fields   []textObject      `json:"fields"`
	Elements []json.RawMessage `json:"elements"`
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type button struct {
	Type     string     `json:"type"`
	ActionID string     `json:"action_id"`
	Value    string     `json:"value"`
	Style    string     `json:"style"`
	Text     textObject `json:"text"`
}

// blocks decodes a chat.postMessage call's blocks by block ID, and checks
// IDs are unique (Slack refuses duplicates with invalid_blocks).
func blocks(t *testing.T, c call) (order []string, byID map[string]block) {
	t.Helper()
	var bs []block
	require.NoError(t, json.Unmarshal([]byte(c.Form.Get("blocks")), &bs), "blocks: %s", c.Form.Get("blocks"))
	byID = map[string]block{}
	for _, b := range bs {
		require.NotEmpty(t, b.BlockID, "block of type %s has no block_id", b.Type)
		_, dup := byID[b.BlockID]
		require.False(t, dup, "duplicate block_id %s", b.BlockID)
		byID[b.BlockID] = b
		order = append(order, b.BlockID)
	}
	return order, byID
}

func contextTexts(t *testing.T, b block) []string {
	t.Helper()
	var out []string
	for _, raw := range b.Elements {
		var e textObject
		require.NoError(t, json.Unmarshal(raw, &e))
		require.Equal(t, "mrkdwn", e.Type)
		out = append(out, e.Text)
	}
	return out
}

func buttons(t *testing.T, b block) []button {
	t.Helper()
	var out []button
	for _, raw := range b.Elements {
		var e button
		require.NoError(t, json.Unmarshal(raw, &e))
		out = append(out, e)
	}
	return out
}

func fieldTexts(b block) []string {
	var out []string
	for _, f := range b.Fields {
		out = append(out, f.Text)
	}
	return out
}

// rateLimit answers like Slack's HTTP 429.
func rateLimit(seconds int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", fmt.Sprint(seconds))
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
	}
}

// apiError answers like a Slack API error: HTTP 200 with ok=false.
func apiError(code string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"ok": false, "error": code})
	}
}
