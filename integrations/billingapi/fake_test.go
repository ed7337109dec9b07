package billingapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/billingapi"
	"github.com/journeyshq/journeys/integrations/internal/vendortest"
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
type reply = vendortest.Reply

// apiError answers like the billing API does for a failed request.
func apiError(status int, code, message string) reply {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	return reply{Status: status, Body: string(body)}
}

// fake stands in for the billing system's account endpoints. It keeps each
// account's state, answers a repeated idempotency key with its first
// answer, as the API does, and fails the test on any request that is not
// shaped like the API wants. Scripted replies, when there are any, answer
// the next requests instead, in order.
type fake struct {
	srv *vendortest.Server[received]

	mu       sync.Mutex
	accounts map[string]string // customer ID -> active or suspended
	answered map[string]reply  // idempotency key -> first answer
	actions  int
}

func newFake(t *testing.T, script ...reply) *fake {
	t.Helper()
	f := &fake{answered: map[string]reply{},
		accounts: map[string]string{"cus_42": active, "cus_7": suspended}}
	f.srv = vendortest.Start[received](t, "billing api", "application/json", f.serve, script...)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(why string) {
		f.srv.Fail(w, r, apiError(http.StatusBadRequest, "invalid_request", "fake: "+why), why)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail("read body: " + err.Error())
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		// Not a test failure by itself: the wrong-token case sends one on
		// purpose.
		f.srv.Answer(w, r, apiError(http.StatusUnauthorized, "unauthorized", "Invalid API token provided."))
		return
	}
	id, action, why := f.check(r, body)
	if why != "" {
		fail(why)
		return
	}
	f.srv.Record(received{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, Header: r.Header.Clone(), Body: string(body)})
	rep, ok := f.srv.Next()
	if !ok {
		rep = f.act(r.Header.Get("Idempotency-Key"), id, action)
	}
	f.srv.Answer(w, r, rep)
}

// check reads the account ID and action of a request shaped like the API
// wants, or says why it is not.
func (f *fake) check(r *http.Request, body []byte) (id, action, why string) {
	seg := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(seg) != 3 || seg[0] != "accounts" || (seg[2] != "suspend" && seg[2] != "restore") {
		return "", "", "no such endpoint"
	}
	id, err := url.PathUnescape(seg[1])
	if err != nil || id == "" {
		return "", "", "bad account ID in the path"
	}
	switch {
	case r.Method != http.MethodPost:
		return "", "", "method " + r.Method + ", want POST"
	case r.URL.RawQuery != "":
		return "", "", "unexpected query " + r.URL.RawQuery
	case r.Header.Get("Content-Type") != "application/json":
		return "", "", "content type " + r.Header.Get("Content-Type")
	case r.Header.Get("Idempotency-Key") == "":
		return "", "", "no Idempotency-Key"
	}
	var req struct {
		CustomerID *string `json:"customer_id"`
		InvoiceID  *string `json:"invoice_id"`
		Reason     *string `json:"reason"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	switch err := dec.Decode(&req); {
	case err != nil:
		return "", "", "body: " + err.Error()
	case req.CustomerID == nil || req.InvoiceID == nil || req.Reason == nil:
		return "", "", "body lacks customer_id, invoice_id or reason: " + string(body)
	case *req.CustomerID != id:
		return "", "", "body's customer_id " + *req.CustomerID + " is not the path's " + id
	}
	return id, seg[2], ""
}

// act answers an action as the API does: a repeated key with its first
// answer, and otherwise by the account's state.
func (f *fake) act(key, id, action string) reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rep, ok := f.answered[key]; ok {
		if rep.Header == nil {
			rep.Header = map[string]string{}
		}
		rep.Header["Idempotent-Replayed"] = "true"
		return rep
	}
	state, ok := f.accounts[id]
	if !ok {
		return apiError(http.StatusNotFound, "resource_missing", fmt.Sprintf("No such account: '%s'", id))
	}
	want := map[string]string{"suspend": suspended, "restore": active}[action]
	if state == want {
		return apiError(http.StatusConflict, "account_already_"+want, fmt.Sprintf("Account '%s' is already %s.", id, want))
	}
	f.accounts[id] = want
	f.actions++
	rep := reply{Status: http.StatusOK, Body: fmt.Sprintf(`{"id": "acta_%d", "object": "account_action", "account": %q, "action": %q, "status": %q}`, f.actions, id, action, want)}
	f.answered[key] = rep
	return rep
}

func (f *fake) requests() []received { return f.srv.Received() }

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
