package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/internal/devserver"
	"github.com/journeyshq/journeys/workflows"
)

// TestReadinessFollowsTemporal runs the worker as in production, against a
// Temporal server of its own, and takes that server away: /healthz stays
// 200 (the process is up) while /readyz turns 503 and says why.
func TestReadinessFollowsTemporal(t *testing.T) {
	temporalAddr := freeAddr(t)
	srv, err := devserver.Start(context.Background(), devserver.Options{
		DataDir: t.TempDir(), FrontendAddr: temporalAddr, UIAddr: "off", SearchAttributes: workflows.SearchAttributes(),
	})
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			_ = srv.Stop()
		}
	}()

	entry, err := codec.GenerateKey("k1")
	require.NoError(t, err)
	env := withLinks(t, map[string]string{"JOURNEYS_API_TOKENS": "backend-token-0123456789", codec.EnvKeys: entry})
	cfg := config{
		DataDir: t.TempDir(), HTTPAddr: freeAddr(t), TemporalAddr: temporalAddr, Namespace: "default",
		Getenv: func(k string) string { return env[k] },
	}
	startWorker(t, cfg)
	base := "http://" + cfg.HTTPAddr

	code, body := getJSON(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, body)

	require.NoError(t, srv.Stop())
	stopped = true
	require.Eventually(t, func() bool {
		code, _ := getJSON(t, base+"/readyz")
		return code == http.StatusServiceUnavailable
	}, 20*time.Second, 100*time.Millisecond, "readiness turns 503 when Temporal goes away")
	_, body = getJSON(t, base+"/readyz")
	assert.Contains(t, body, "Temporal at "+temporalAddr+" does not answer")
	code, _ = getJSON(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code, "the process itself is still up")
}

func getJSON(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	var v map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	b, _ := json.Marshal(v)
	return resp.StatusCode, string(b)
}

// TestShutdownLetsTheSendInFlightFinish stops the worker (what SIGTERM does
// through main's signal context) while SendGrid is still answering the
// welcome email: the send completes with its connection intact, the
// journey records it, and a restart does not send it again.
func TestShutdownLetsTheSendInFlightFinish(t *testing.T) {
	var mu sync.Mutex
	var started, completed int
	inFlight := make(chan struct{}, 1)
	sendgrid := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v3/mail/send" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		started++
		first := started == 1
		mu.Unlock()
		if first {
			inFlight <- struct{}{}
			time.Sleep(2 * time.Second) // SendGrid being slow
		}
		if r.Context().Err() != nil {
			return // the worker hung up: the send was cut off
		}
		mu.Lock()
		completed++
		mu.Unlock()
		w.Header().Set("X-Message-Id", fmt.Sprintf("sg-%d", started))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sendgrid.Close()
	env := map[string]string{"SENDGRID_API_KEY": "SG.test-key", "SENDGRID_FROM": "Acme <hello@acme.example>", "SENDGRID_BASE_URL": sendgrid.URL}
	cfg := config{
		Dev: true, DataDir: t.TempDir(), HTTPAddr: freeAddr(t), TemporalAddr: freeAddr(t), Namespace: "default", UIAddr: "off",
		Getenv: func(k string) string { return env[k] },
	}
	_, stop := startWorker(t, cfg)
	base := "http://" + cfg.HTTPAddr
	code, body := post(t, base, `{"event_id":"su-1","customer_id":"c-9","type":"signed_up","data":{"name":"Ana Lima","email":"ana@example.com","plan":"pro"}}`)
	require.Equal(t, http.StatusAccepted, code, body)
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("the welcome email never reached SendGrid")
	}

	stop() // returns once run has returned
	mu.Lock()
	assert.Equal(t, 1, completed, "the send in flight finished before the worker stopped")
	mu.Unlock()

	_, stop = startWorker(t, cfg)
	defer stop()
	require.Eventually(t, func() bool { return getState(t, base, "c-9").Counters.EmailsSent == 1 }, 20*time.Second, 100*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, started, "the restart did not send the welcome again")
}

// TestRolesRunApart runs the events API and the worker as two processes on
// one Temporal, as a deployment scaling each on its own does: the API
// process takes the signup, the worker process runs the journey, and each
// answers only its own routes.
func TestRolesRunApart(t *testing.T) {
	temporalAddr := startTemporal(t)
	entry, err := codec.GenerateKey("k1")
	require.NoError(t, err)
	const operator = "operator-token-0123456789"
	env := withLinks(t, map[string]string{"JOURNEYS_API_TOKENS": api.DevToken, api.EnvOperatorTokens: operator, codec.EnvKeys: entry})
	role := func(r string) config {
		return config{Role: r, DataDir: t.TempDir(), HTTPAddr: freeAddr(t), TemporalAddr: temporalAddr, Namespace: "default",
			Getenv: func(k string) string { return env[k] }}
	}
	apiCfg, workerCfg := role(RoleAPI), role(RoleWorker)
	apiOut, _ := startWorker(t, apiCfg)
	workerOut, _ := startWorker(t, workerCfg)
	assert.NotContains(t, apiOut.String(), "  Worker ")
	assert.Contains(t, workerOut.String(), "role worker: no events API")

	apiBase, workerBase := "http://"+apiCfg.HTTPAddr, "http://"+workerCfg.HTTPAddr
	code, body := post(t, apiBase, `{"event_id":"su-1","customer_id":"c-5","type":"signed_up","data":{"email":"bo@example.com","plan":"pro"}}`)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool {
		code, st := getStateWith(t, apiBase, "c-5", operator)
		return code == http.StatusOK && st.Counters.EmailsSent == 1
	}, 20*time.Second, 100*time.Millisecond, "the worker process ran the journey the API process started")
	code, _ = getStateWith(t, apiBase, "c-5", api.DevToken)
	assert.Equal(t, http.StatusForbidden, code, "outside --dev the events token reads no state")

	code, _ = post(t, workerBase, `{"event_id":"l-1","customer_id":"c-5","type":"login"}`)
	assert.Equal(t, http.StatusNotFound, code, "the worker role serves no events API")
	for _, base := range []string{apiBase, workerBase} {
		code, body := getJSON(t, base+"/readyz")
		assert.Equal(t, http.StatusOK, code, "%s: %s", base, body)
	}
}
