package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
)

const operatorToken = "operator-token-0123456789"

// fakeEdge answers DELETE /v1/customers/{id} as the events API does: 401
// without the operator token, then the given statuses in order (503 with
// Retry-After 0), and the report on 200.
type fakeEdge struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	paths    []string
}

func newFakeEdge(t *testing.T, token string, statuses ...int) *fakeEdge {
	f := &fakeEdge{statuses: statuses}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.paths = append(f.paths, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"error":"reading or erasing a customer takes an operator token"}`)
			return
		}
		status := f.statuses[0]
		f.statuses = f.statuses[1:]
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(status)
			fmt.Fprint(w, `{"error":"erasure incomplete at temporal: call again; the parts done stay done"}`)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/v1/customers/")
		fmt.Fprintf(w, `{"customer_id":%q,"workflow_id":"customer:%s","terminated":true,"runs":2,"ledger_rows":5,"outbox_lines":7,"crm_contact":"not_configured"}`, id, id)
	}))
	t.Cleanup(f.Close)
	return f
}

func TestForgetCallsTheEdgeAndPrintsTheReport(t *testing.T) {
	edge := newFakeEdge(t, operatorToken, http.StatusServiceUnavailable, http.StatusOK)
	ta := newTestApp(nil, map[string]string{api.EnvOperatorTokens: operatorToken + ",another-token-0123456"}, nil)
	code := ta.run([]string{"forget", "--api", edge.URL, "c-1"})
	require.Equal(t, 0, code, ta.stderr.String())
	assert.Equal(t, "forgot customer c-1 (workflow customer:c-1; its running journey was ended)\n"+
		"  runs:         2\n  ledger rows:  5\n  outbox lines: 7\n  CRM contact:  not configured\n", ta.stdout.String())
	assert.Contains(t, ta.stderr.String(), "erasure incomplete at temporal", "the retry is said")
	assert.Equal(t, []string{"DELETE /v1/customers/c-1", "DELETE /v1/customers/c-1"}, edge.paths, "asked again after the 503")
	assert.Empty(t, ta.conns, "forget never dials Temporal itself")
}

func TestForgetJSONAndTheDevToken(t *testing.T) {
	edge := newFakeEdge(t, api.DevToken, http.StatusOK)
	ta := newTestApp(nil, nil, nil)
	require.Equal(t, 0, ta.run([]string{"forget", "--json", "--api", edge.URL + "/", "c-2"}), ta.stderr.String())
	assert.Contains(t, ta.stdout.String(), `"ledger_rows": 5`)
	assert.Equal(t, []string{"DELETE /v1/customers/c-2"}, edge.paths)
}

func TestForgetFailures(t *testing.T) {
	edge := newFakeEdge(t, "some-other-token-0123456")
	ta := newTestApp(nil, nil, nil)
	assert.Equal(t, 1, ta.run([]string{"forget", "--api", edge.URL, "c-1"}))
	assert.Contains(t, ta.stderr.String(), "403 Forbidden: reading or erasing a customer takes an operator token (set JOURNEYS_OPERATOR_TOKENS")

	edge = newFakeEdge(t, api.DevToken, http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	ta = newTestApp(nil, nil, nil)
	assert.Equal(t, 1, ta.run([]string{"forget", "--api", edge.URL, "c-1"}))
	assert.Len(t, edge.paths, forgetAttempts, "gives up after a few attempts")

	ta = newTestApp(nil, nil, nil)
	assert.Equal(t, 1, ta.run([]string{"forget", "--api", "http://127.0.0.1:1", "c-1"}))
	assert.Contains(t, ta.stderr.String(), "is the worker running")

	for _, args := range [][]string{{"forget"}, {"forget", "c 1"}, {"forget", "c-1", "c-2"}, {"forget", "--api", "127.0.0.1:8080", "c-1"}} {
		ta = newTestApp(nil, nil, nil)
		assert.Equal(t, 2, ta.run(args), "%v", args)
	}
	ta = newTestApp(nil, nil, nil)
	require.Equal(t, 0, ta.run([]string{"help", "forget"}))
	assert.Contains(t, ta.stdout.String(), "--api URL")
	assert.NotContains(t, ta.stdout.String(), "Connection:")
}
