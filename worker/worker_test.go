package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/internal/devserver"
	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/workflows"
)

// TestDevModeEndToEnd runs what `go run ./worker --dev --playbook
// playbooks/demo.yaml` runs (the embedded Temporal server on a SQLite file,
// the Web UI, the worker and the events API) and drives a customer through
// onboarding over HTTP, then restarts the whole process on the same data.
func TestDevModeEndToEnd(t *testing.T) {
	cfg := config{
		Dev:          true,
		PlaybookPath: "../playbooks/demo.yaml",
		DataDir:      t.TempDir(),
		HTTPAddr:     freeAddr(t),
		TemporalAddr: freeAddr(t),
		Namespace:    "default",
		UIAddr:       freeAddr(t),
	}
	api := "http://" + cfg.HTTPAddr
	outboxFile := cfg.DataDir + "/outbox.jsonl"

	stdout, logs, stop := startWorkerLogged(t, cfg)
	assert.Contains(t, stdout.String(), "Temporal Web UI  http://"+cfg.UIAddr)

	resp, err := http.Get("http://" + cfg.UIAddr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the Web UI serves its pages")

	// Any event but signed_up for an unknown customer is refused: 404.
	code, body := post(t, api, `{"event_id":"l-0","customer_id":"c-1","type":"login"}`)
	assert.Equal(t, http.StatusNotFound, code, body)

	signup := `{"event_id":"su-1","customer_id":"c-1","type":"signed_up","data":{"name":"Ana Lima","email":"ana@example.com","phone":"+15551234567","plan":"pro","timezone":"America/New_York","csm":"U0CSM01"}}`
	code, body = post(t, api, signup)
	require.Equal(t, http.StatusAccepted, code, body)
	code, _ = post(t, api, signup) // a backend retry
	require.Equal(t, http.StatusAccepted, code)

	welcome := waitForOutbox(t, outboxFile, "onboarding.welcome", "email")
	assert.Equal(t, "ana@example.com", welcome.To)
	assert.Equal(t, "Welcome to Acme, Ana", welcome.Subject)
	assert.Equal(t, "c-1", welcome.CustomerID)
	assert.NotEmpty(t, welcome.IdempotencyKey)
	assert.Contains(t, stdout.String(), `outbox email → a…@example.com [welcome] "Welcome to Acme, Ana"`)

	for i, m := range []string{"first_project", "invited_teammate", "connected_integration"} {
		code, body := post(t, api, fmt.Sprintf(`{"event_id":"m-%d","customer_id":"c-1","type":"milestone_reached","data":{"milestone":%q}}`, i, m))
		require.Equal(t, http.StatusAccepted, code, body)
	}
	activated := waitForOutbox(t, outboxFile, "onboarding.activated", "email")
	assert.Equal(t, "You're all set up, Ana 🎉", activated.Subject)

	st := getState(t, api, "c-1")
	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.Equal(t, 1, st.Counters.EventsDuplicate, "the retried signup was applied once")

	// Operators find the customer by stage in the UI's visibility query.
	c, err := client.Dial(client.Options{HostPort: cfg.TemporalAddr, Namespace: cfg.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	defer c.Close()
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: cfg.Namespace, Query: `JourneyStage = "adoption" AND Plan = "pro" AND CsmId = "U0CSM01" AND ExecutionStatus = "Running"`,
		})
		return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == "customer:c-1"
	}, 20*time.Second, 200*time.Millisecond)

	// Customer PII is stored in Temporal only encrypted, and the codec
	// server the embedded UI is configured with shows it to the operator.
	checkEncryptedAtRest(t, c, cfg, "customer:c-1", "ana@example.com", "+15551234567")

	// Every timer and activity says in plain words what it waits for or does
	// (summaries are payloads too: they decrypt with the worker's keys).
	keys, err := codec.LoadDevKeys(codec.DevKeyFile(cfg.DataDir))
	require.NoError(t, err)
	dc, _ := codec.Converters(keys)
	summaries := historySummaries(t, c, dc, "customer:c-1")
	assert.Contains(t, summaries, "TimerStarted: wait until day 1 for activation, else send getting_started email")
	assert.Contains(t, summaries, "ActivityTaskScheduled: send welcome email to the customer (onboarding.welcome)")
	assert.Contains(t, summaries, "ActivityTaskScheduled: record stage adoption in the CRM")

	// The console and the logs show what happened without the customer's
	// contact details.
	assertNoPII(t, cfg, stdout.String()+logs.String(), "ana@example.com", "+15551234567")

	// A restart on the same data keeps the journey, and sends nothing twice.
	stop()
	_, stop = startWorker(t, cfg)
	defer stop()
	st = getState(t, api, "c-1")
	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.Equal(t, []string{"first_project", "invited_teammate", "connected_integration"}, st.Milestones)
	code, body = post(t, api, `{"event_id":"l-1","customer_id":"c-1","type":"login"}`)
	assert.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool { return getState(t, api, "c-1").Counters.Logins == 1 }, 20*time.Second, 100*time.Millisecond)

	records, err := outbox.ReadFile(outboxFile)
	require.NoError(t, err)
	seen := map[string]int{}
	for _, r := range records {
		seen[r.IdempotencyKey]++
		assert.Equal(t, 1, seen[r.IdempotencyKey], "sent twice: %s", r.IdempotencyKey)
	}
	assert.Equal(t, 1, count(records, "onboarding.welcome"))
	assert.Equal(t, 1, count(records, "onboarding.activated"))
	assertDevLinks(t, cfg, records)
}

// assertDevLinks checks the dev worker's email footers: the lifecycle
// welcome links to its preference page on the HTTP address, with a token
// the dev key file verifies, and has no List-Unsubscribe.
func assertDevLinks(t *testing.T, cfg config, records []outbox.Record) {
	t.Helper()
	keys, err := links.LoadOrCreateDevKeys(links.DevKeyFile(cfg.DataDir))
	require.NoError(t, err)
	prefix := "http://" + cfg.HTTPAddr + links.PreferencesPath
	for _, r := range records {
		if r.Step != "onboarding.welcome" {
			continue
		}
		assert.Equal(t, "lifecycle", r.Class)
		assert.NotContains(t, r.Headers, "List-Unsubscribe")
		_, after, ok := strings.Cut(r.Body, prefix)
		require.True(t, ok, "no preference link in %q", r.Body)
		token, _, _ := strings.Cut(after, "\n")
		c, err := keys.VerifyPurpose(token, links.PurposePreferences)
		require.NoError(t, err)
		assert.Equal(t, "c-1", c.CustomerID)
		assert.Contains(t, r.Body, "548 Market St", "the playbook's postal address")
	}
}

// historySummaries lists "EVENT_TYPE: summary" for every timer and activity
// in the histories of all the workflow's runs (a journey continues as new
// at each stage boundary), failing on one without a summary.
func historySummaries(t *testing.T, c client.Client, dc converter.DataConverter, workflowID string) []string {
	t.Helper()
	var out []string
	// From the current run back: each run's start names the run before.
	for runID, more := "", true; more; {
		var summaries []string
		summaries, runID = runSummaries(t, c, dc, workflowID, runID)
		out = append(summaries, out...)
		more = runID != ""
	}
	return out
}

// runSummaries lists the summaries of one run and returns the ID of the
// run it continued, if any.
func runSummaries(t *testing.T, c client.Client, dc converter.DataConverter, workflowID, runID string) ([]string, string) {
	t.Helper()
	var out []string
	var previous string
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			previous = a.GetContinuedExecutionRunId()
		}
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_TIMER_STARTED, enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			var summary string
			if p := ev.GetUserMetadata().GetSummary(); p != nil {
				require.NoError(t, dc.FromPayload(p, &summary))
			}
			require.NotEmpty(t, summary, "event %d (%s) has no summary", ev.GetEventId(), ev.GetEventType())
			out = append(out, ev.GetEventType().String()+": "+summary)
		}
	}
	return out, previous
}

// assertNoPII fails if output, or the embedded Temporal server's log, holds
// any of pii.
func assertNoPII(t *testing.T, cfg config, output string, pii ...string) {
	t.Helper()
	serverLog, err := os.ReadFile(filepath.Join(cfg.DataDir, "temporal-server.log"))
	require.NoError(t, err)
	for _, s := range pii {
		for _, line := range strings.Split(output, "\n") {
			assert.NotContains(t, line, s, "the worker's output")
		}
		assert.NotContains(t, string(serverLog), s, "the Temporal server's log")
	}
}

// checkEncryptedAtRest reads the first run's history as Temporal stores it
// and checks that none of pii appears in it, that the signals are encrypted
// payloads, and that the codec endpoint the UI advertises decrypts them for
// a browser on the UI's origin.
func checkEncryptedAtRest(t *testing.T, c client.Client, cfg config, workflowID string, pii ...string) {
	t.Helper()
	var stored []byte
	var signal *commonpb.Payload
	// Every run of the chain, from the current one back to the first,
	// whose first signal is the signup.
	for runID, more := "", true; more; more = runID != "" {
		it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		runID = ""
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			b, err := proto.Marshal(ev)
			require.NoError(t, err)
			stored = append(stored, b...)
			if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				runID = a.GetContinuedExecutionRunId()
				signal = nil
			}
			if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && signal == nil {
				signal = a.GetInput().GetPayloads()[0]
			}
		}
	}
	for _, s := range pii {
		assert.NotContains(t, string(stored), s, "stored in clear text in the history")
	}
	require.NotNil(t, signal, "the history has a signal")
	assert.Equal(t, codec.EncodingEncrypted, string(signal.GetMetadata()["encoding"]))

	resp, err := http.Get("http://" + cfg.UIAddr + "/api/v1/settings")
	require.NoError(t, err)
	var settings struct{ Codec struct{ Endpoint string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
	resp.Body.Close()
	require.Equal(t, "http://"+cfg.HTTPAddr+"/codec", settings.Codec.Endpoint, "the UI is configured with the codec server")

	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{signal}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, settings.Codec.Endpoint+"/decode", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://"+cfg.UIAddr)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "http://"+cfg.UIAddr, resp.Header.Get("Access-Control-Allow-Origin"))
	var decoded commonpb.Payloads
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, protojson.Unmarshal(b, &decoded))
	assert.Contains(t, string(decoded.GetPayloads()[0].GetData()), pii[0], "the operator sees the decrypted signal")
}

// startWorker runs the worker as main does, until the returned stop is
// called; it returns once the events API answers.
func startWorker(t *testing.T, cfg config) (*syncBuffer, func()) {
	t.Helper()
	out, _, stop := startWorkerLogged(t, cfg)
	return out, stop
}

// startWorkerLogged is startWorker that also returns the worker's logs.
func startWorkerLogged(t *testing.T, cfg config) (stdout, logs *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, out, logs) }()
	require.Eventually(t, func() bool {
		select {
		case err := <-done:
			done <- err
			return true
		default:
		}
		resp, err := http.Get("http://" + cfg.HTTPAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 50*time.Millisecond, "the worker did not come up")
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err, "worker stopped with an error; output:\n%s", out.String())
			case <-time.After(30 * time.Second):
				t.Fatal("the worker did not stop within 30s")
			}
		})
	}
	t.Cleanup(stop)
	select {
	case err := <-done:
		done <- err // for stop, which the cleanup calls
		t.Fatalf("worker exited at start: %v\n%s", err, out.String())
	default:
	}
	return out, logs, stop
}

func post(t *testing.T, base, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/events", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+api.DevToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// getState reads customer's state with the dev token.
func getState(t *testing.T, base, customer string) workflows.State {
	t.Helper()
	code, st := getStateWith(t, base, customer, api.DevToken)
	require.Equal(t, http.StatusOK, code)
	return st
}

// getStateWith reads customer's state with token: the status, and the
// state when it is 200.
func getStateWith(t *testing.T, base, customer, token string) (int, workflows.State) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/v1/customers/"+customer, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var st workflows.State
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, st
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return resp.StatusCode, st
}

func waitForOutbox(t *testing.T, file, step, channel string) outbox.Record {
	t.Helper()
	var found outbox.Record
	require.Eventually(t, func() bool {
		records, err := outbox.ReadFile(file)
		if err != nil {
			return false
		}
		for _, r := range records {
			if r.Step == step && string(r.Channel) == channel {
				found = r
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "no %s %s in the outbox", channel, step)
	return found
}

func count(records []outbox.Record, step string) int {
	n := 0
	for _, r := range records {
		if r.Step == step {
			n++
		}
	}
	return n
}

// startTemporal runs an embedded Temporal server, with the journeys'
// search attributes, until the test ends, and returns its address.
func startTemporal(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	srv, err := devserver.Start(context.Background(), devserver.Options{
		DataDir: t.TempDir(), FrontendAddr: addr, UIAddr: "off", SearchAttributes: workflows.SearchAttributes(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Stop() })
	return addr
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := devserver.FreeAddr("127.0.0.1")
	require.NoError(t, err)
	return addr
}

// syncBuffer is a bytes.Buffer safe for the worker's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
