package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/erasure"
	"github.com/journeyshq/journeys/integrations/hubspot"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/ledger"
	"github.com/journeyshq/journeys/workflows"
)

// TestForgetEndToEnd runs the dev worker with HubSpot on a fake server, lets
// two customers' journeys send (outbox lines, ledger rows, CRM updates) and
// one of them continue as new, erases one over DELETE /v1/customers/{id},
// and then looks in every place: Temporal's visibility and Describe for
// every run, the ledger, the outbox file and HubSpot. The other customer
// is untouched, a later event for the erased one is 404 as for anyone
// unknown, and a second erasure finds nothing and still succeeds.
func TestForgetEndToEnd(t *testing.T) {
	crm := newFakeHubSpot(t, map[string]string{"ana@example.com": "101", "bob@example.com": "102"})
	env := map[string]string{"HUBSPOT_ACCESS_TOKEN": "pat-test", "HUBSPOT_BASE_URL": crm.URL}
	cfg := config{
		Dev: true, PlaybookPath: "../playbooks/demo.yaml", DataDir: t.TempDir(),
		HTTPAddr: freeAddr(t), TemporalAddr: freeAddr(t), Namespace: "default", UIAddr: "off",
		Getenv: func(k string) string { return env[k] }, LogLevel: "debug",
	}
	stdout, logs, _ := startWorkerLogged(t, cfg)
	base, box := "http://"+cfg.HTTPAddr, filepath.Join(cfg.DataDir, "outbox.jsonl")
	c, err := client.Dial(client.Options{HostPort: cfg.TemporalAddr, Namespace: cfg.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	defer c.Close()

	for _, cu := range [][2]string{{"c-1", "ana@example.com"}, {"c-2", "bob@example.com"}} {
		code, body := post(t, base, fmt.Sprintf(`{"event_id":"su-%s","customer_id":%q,"type":"signed_up","data":{"name":"Ana","email":%q,"plan":"pro"}}`, cu[0], cu[0], cu[1]))
		require.Equal(t, http.StatusAccepted, code, body)
	}
	// c-1 activates: the congratulation email, and the journey continues
	// as new into adoption, so it has two runs.
	for i, m := range []string{"first_project", "invited_teammate", "connected_integration"} {
		code, body := post(t, base, fmt.Sprintf(`{"event_id":"m-%d","customer_id":"c-1","type":"milestone_reached","data":{"milestone":%q}}`, i, m))
		require.Equal(t, http.StatusAccepted, code, body)
	}
	waitForOutbox(t, box, "onboarding.activated", "email")
	waitForOutbox(t, box, "onboarding.welcome", "email")
	runs := waitForRuns(t, c, "customer:c-1", 2)
	require.Eventually(t, func() bool { return ledgerRows(t, cfg, "c-1") > 0 && ledgerRows(t, cfg, "c-2") > 0 }, 20*time.Second, 100*time.Millisecond)
	require.NotEmpty(t, crm.requests("PATCH /crm/v3/objects/contacts/ana@example.com"), "the journey reached HubSpot")
	otherLines := outboxLines(t, box, "c-2")

	code, rep := forget(t, base, "c-1")
	require.Equal(t, http.StatusOK, code)
	assert.True(t, rep.Terminated)
	assert.GreaterOrEqual(t, rep.Runs, 2, "every run, the continued ones too")
	assert.Positive(t, rep.LedgerRows)
	assert.Positive(t, rep.OutboxLines)
	assert.Equal(t, erasure.CRMArchived, rep.CRMContact)

	// Nothing of c-1 is left anywhere.
	assert.Empty(t, listRuns(t, c, "customer:c-1"), "visibility lists no run")
	for _, run := range append(runs, "") {
		_, err := c.DescribeWorkflowExecution(context.Background(), "customer:c-1", run)
		var notFound *serviceerror.NotFound
		assert.ErrorAs(t, err, &notFound, "run %q", run)
	}
	assert.Zero(t, ledgerRows(t, cfg, "c-1"))
	assert.Zero(t, outboxLines(t, box, "c-1"))
	assert.Equal(t, []string{""}, crm.requests("DELETE /crm/v3/objects/contacts/101"))

	// c-2 is untouched.
	assert.Equal(t, "bob@example.com", getState(t, base, "c-2").Profile.Email)
	assert.Positive(t, ledgerRows(t, cfg, "c-2"))
	assert.GreaterOrEqual(t, outboxLines(t, box, "c-2"), otherLines)
	assert.Empty(t, crm.requests("DELETE /crm/v3/objects/contacts/102"))

	// A later event is refused as for any unknown customer.
	code, body := post(t, base, `{"event_id":"l-9","customer_id":"c-1","type":"login"}`)
	assert.Equal(t, http.StatusNotFound, code, body)
	code, _ = getStateWith(t, base, "c-1", api.DevToken)
	assert.Equal(t, http.StatusNotFound, code)

	// A second erasure finds nothing and succeeds.
	code, rep = forget(t, base, "c-1")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, erasure.Report{CustomerID: "c-1", WorkflowID: "customer:c-1", CRMContact: erasure.CRMNotFound}, rep)
	assert.Contains(t, logs.String(), "customer erased")
	assertNoPII(t, cfg, stdout.String()+logs.String(), "ana@example.com")
}

// forget erases customer with the dev token.
func forget(t *testing.T, base, customer string) (int, erasure.Report) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, base+"/v1/customers/"+customer, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+api.DevToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var rep erasure.Report
	if resp.StatusCode != http.StatusOK {
		t.Logf("DELETE /v1/customers/%s: %d %s", customer, resp.StatusCode, b)
		return resp.StatusCode, rep
	}
	require.NoError(t, json.Unmarshal(b, &rep), string(b))
	return resp.StatusCode, rep
}

// listRuns is every run of workflowID in visibility, open or closed.
func listRuns(t *testing.T, c client.Client, workflowID string) []string {
	t.Helper()
	resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = '" + workflowID + "'"})
	require.NoError(t, err)
	var runs []string
	for _, ex := range resp.GetExecutions() {
		runs = append(runs, ex.GetExecution().GetRunId())
	}
	return runs
}

func waitForRuns(t *testing.T, c client.Client, workflowID string, n int) []string {
	t.Helper()
	var runs []string
	require.Eventually(t, func() bool { runs = listRuns(t, c, workflowID); return len(runs) >= n }, 20*time.Second, 100*time.Millisecond,
		"%s has fewer than %d runs", workflowID, n)
	return runs
}

// ledgerRows counts customer's rows in the dev worker's SQLite ledger.
func ledgerRows(t *testing.T, cfg config, customer string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(cfg.DataDir, "ledger.db")+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	var n int
	prefix := workflows.IdempotencyKeyPrefix(customer)
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM `+ledger.DefaultTable+` WHERE substr(idempotency_key, 1, ?) = ?`, len(prefix), prefix).Scan(&n))
	return n
}

func outboxLines(t *testing.T, file, customer string) int {
	t.Helper()
	records, err := outbox.ReadFile(file)
	require.NoError(t, err)
	n := 0
	for _, r := range records {
		if r.CustomerID == customer {
			n++
		}
	}
	return n
}

// fakeHubSpot answers the contacts and notes calls as HubSpot's CRM v3
// does, for the contacts it is given (email → ID): a contact it archived
// is gone (404) afterwards. It records every request by "METHOD path".
type fakeHubSpot struct {
	*httptest.Server
	mu       sync.Mutex
	contacts map[string]string
	reqs     map[string][]string
}

func newFakeHubSpot(t *testing.T, contacts map[string]string) *fakeHubSpot {
	f := &fakeHubSpot{contacts: contacts, reqs: map[string][]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeHubSpot) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs[r.Method+" "+r.URL.Path] = append(f.reqs[r.Method+" "+r.URL.Path], string(b))
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	if r.Header.Get("Authorization") != "Bearer pat-test" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}`)
		return
	}
	key, isContact := strings.CutPrefix(r.URL.Path, hubspot.ContactsPath+"/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == hubspot.NotesPath:
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"9%d","properties":{},"archived":false}`, len(f.reqs))
	case isContact && r.Method == http.MethodDelete:
		f.archive(w, key)
	case isContact && (r.Method == http.MethodGet || r.Method == http.MethodPatch) && r.URL.Query().Get("idProperty") == "email":
		id, ok := f.contacts[key]
		if !ok {
			notFound(w)
			return
		}
		fmt.Fprintf(w, `{"id":%q,"properties":{"email":%q},"archived":false}`, id, key)
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"status":"error","message":"fake: no such endpoint","category":"VALIDATION_ERROR"}`)
	}
}

// archive removes the contact with id: 204, or 404 for an unknown ID.
func (f *fakeHubSpot) archive(w http.ResponseWriter, id string) {
	for email, known := range f.contacts {
		if known == id {
			delete(f.contacts, email)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	notFound(w)
}

func notFound(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, `{"status":"error","message":"resource not found","correlationId":"0b5c","category":"OBJECT_NOT_FOUND"}`)
}

func (f *fakeHubSpot) requests(route string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs[route]...)
}
