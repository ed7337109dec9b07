package billingapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/billingapi"
)

const testToken = "bk_test_9f8e7d6c5b4a39281706"

// Account states in the fake.
const (
	active    = "active"
	suspended = "suspended"
)

// received is one request as the fake saw it.
type received struct {
	Method string
	// Path is decoded, RawPath as sent (empty when no escaping was needed).
	Path, RawPath string
	Header        http.Header
	Body          string
}

// reply is what the fake answers to one request.
type reply struct {
	status int
	body   string
	header map[string]string
	// hang holds the answer back until the client gives up.
	hang bool
}

// apiError answers like the billing API does for a failed request.
func apiError(status int, code, message string) reply {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	return reply{status: status, body: string(body)}
}

// fake stands in for the billing system's account endpoints. It keeps each
// account's state, answers a repeated idempotency key with its first
// answer, as the API does, and fails the test on any request that is not
// shaped like the API wants. Scripted replies, when there are any, answer
// the next requests instead, in order.
type fake struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	accounts map[string]string // customer ID -> active or suspended
	answered map[string]reply  // idempotency key -> first answer
	script   []reply
	got      []received
	actions  int
}

func newFake(t *testing.T, script ...reply) *fake {
	t.Helper()
	f := &fake{t: t, script: script, answered: map[string]reply{},
		accounts: map[string]string{"cus_42": active, "cus_7": suspended}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	require.True(t, strings.HasPrefix(f.srv.URL, "http://127.0.0.1:"), "fake listens on %s", f.srv.URL)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(why string) {
		f.t.Errorf("fake billing api: %s %s: %s", r.Method, r.URL.EscapedPath(), why)
		write(w, apiError(http.StatusBadRequest, "invalid_request", "fake: "+why))
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail("read body: " + err.Error())
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		// Not a test failure by itself: the wrong-token case sends one on
		// purpose.
		write(w, apiError(http.StatusUnauthorized, "unauthorized", "Invalid API token provided."))
		return
	}
	seg := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(seg) != 3 || seg[0] != "accounts" || (seg[2] != "suspend" && seg[2] != "restore") {
		fail("no such endpoint")
		return
	}
	id, err := url.PathUnescape(seg[1])
	if err != nil || id == "" {
		fail("bad account ID in the path")
		return
	}
	action := seg[2]
	switch {
	case r.Method != http.MethodPost:
		fail("method " + r.Method + ", want POST")
		return
	case r.URL.RawQuery != "":
		fail("unexpected query " + r.URL.RawQuery)
		return
	case r.Header.Get("Content-Type") != "application/json":
		fail("content type " + r.Header.Get("Content-Type"))
		return
	case r.Header.Get("Idempotency-Key") == "":
		fail("no Idempotency-Key")
		return
	}
	var req struct {
		CustomerID *string `json:"customer_id"`
		InvoiceID  *string `json:"invoice_id"`
		Reason     *string `json:"reason"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail("body: " + err.Error())
		return
	}
	if req.CustomerID == nil || req.InvoiceID == nil || req.Reason == nil {
		fail("body lacks customer_id, invoice_id or reason: " + string(body))
		return
	}
	if *req.CustomerID != id {
		fail("body's customer_id " + *req.CustomerID + " is not the path's " + id)
		return
	}

	f.mu.Lock()
	f.got = append(f.got, received{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, Header: r.Header.Clone(), Body: string(body)})
	rep, ok := f.next(r.Header.Get("Idempotency-Key"), id, action)
	f.mu.Unlock()
	if !ok {
		return
	}
	if rep.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	write(w, rep)
}

// next decides the answer to an action, with f.mu held.
func (f *fake) next(key, id, action string) (reply, bool) {
	if len(f.script) > 0 {
		rep := f.script[0]
		f.script = f.script[1:]
		return rep, true
	}
	if rep, ok := f.answered[key]; ok {
		if rep.header == nil {
			rep.header = map[string]string{}
		}
		rep.header["Idempotent-Replayed"] = "true"
		return rep, true
	}
	state, ok := f.accounts[id]
	if !ok {
		return apiError(http.StatusNotFound, "resource_missing", fmt.Sprintf("No such account: '%s'", id)), true
	}
	want := map[string]string{"suspend": suspended, "restore": active}[action]
	if state == want {
		return apiError(http.StatusConflict, "account_already_"+want, fmt.Sprintf("Account '%s' is already %s.", id, want)), true
	}
	f.accounts[id] = want
	f.actions++
	rep := reply{status: http.StatusOK, body: fmt.Sprintf(`{"id": "acta_%d", "object": "account_action", "account": %q, "action": %q, "status": %q}`, f.actions, id, action, want)}
	f.answered[key] = rep
	return rep, true
}

func write(w http.ResponseWriter, rep reply) {
	w.Header().Set("Content-Type", "application/json")
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (f *fake) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

func (f *fake) state(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accounts[id]
}

func (f *fake) client(t *testing.T, edit ...func(*billingapi.Config)) *billingapi.Client {
	t.Helper()
	cfg := billingapi.Config{BaseURL: f.srv.URL, Token: testToken, Timeout: 2 * time.Second}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := billingapi.New(cfg, billingapi.WithClock(func() time.Time { return testNow }))
	require.NoError(t, err)
	return c
}

// testNow is the pinned clock that reads date-valued Retry-After headers.
var testNow = time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)
