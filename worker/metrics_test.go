package main

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/internal/metrics/metricstest"
	"github.com/journeyshq/journeys/workflows"
)

// TestMetricsEndToEnd runs the dev worker, configured through its flags
// and environment as main does, signs a customer up over HTTP and reads
// GET /metrics as Prometheus would: the SDK's metrics and journeys' own
// (events API, activities, the stage count) are there, in one scrape.
func TestMetricsEndToEnd(t *testing.T) {
	dataDir, httpAddr := t.TempDir(), freeAddr(t)
	env := map[string]string{EnvStageCountInterval: "1s"}
	cfg, err := parseConfig([]string{"--dev", "--data-dir", dataDir, "--http-addr", httpAddr, "--temporal-address", freeAddr(t), "--ui-addr", "off"},
		func(k string) string { return env[k] }, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, time.Second, cfg.StageCount)
	stdout, logs, _ := startWorkerLogged(t, cfg)
	base := "http://" + httpAddr
	assert.Contains(t, stdout.String(), "Metrics          "+base+"/metrics")

	code, body := post(t, base, `{"event_id":"su-1","customer_id":"c-1","type":"signed_up","data":{"email":"not-an-email"}}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = post(t, base, `{"event_id":"su-1","customer_id":"c-1","type":"signed_up","data":{"name":"Ana Lima","email":"ana@example.com","plan":"pro"}}`)
	require.Equal(t, http.StatusAccepted, code, body)
	waitForOutbox(t, dataDir+"/outbox.jsonl", "onboarding.welcome", "email")

	want := []struct {
		name   string
		labels map[string]string
	}{
		{"journeys_events_received_total", map[string]string{"source": "api", "type": "signed_up"}},
		{"journeys_events_rejected_total", map[string]string{"source": "api", "reason": "bad_request"}},
		{"journeys_messages_sent_total", map[string]string{"channel": "email", "class": "lifecycle", "activity_type": "SendEmail"}},
		{"journeys_messages_sent_total", map[string]string{"channel": "crm", "class": "none"}},
		{"journeys_customers", map[string]string{"stage": "onboarding"}},
		// The SDK's, through the same handler: the client's calls, the
		// worker's workflow tasks and activities.
		{"temporal_request_total", map[string]string{"namespace": "default"}},
		{"temporal_workflow_task_execution_latency_seconds", map[string]string{"workflow_type": workflows.WorkflowType}},
		{"temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "SendEmail"}},
		{"temporal_worker_start_total", nil},
	}
	var s metricstest.Samples
	require.Eventually(t, func() bool {
		s = metricstest.ScrapeURL(t, base+"/metrics")
		for _, w := range want {
			if s.Value(w.name, w.labels) < 1 {
				return false
			}
		}
		return true
	}, 30*time.Second, 200*time.Millisecond, "metrics missing")
	assert.Equal(t, 1.0, s.Value("journeys_events_received_total", nil), "the signup only")
	assert.Equal(t, 1.0, s.Value("journeys_messages_sent_total", map[string]string{"channel": "email"}), "the welcome email only")
	assert.Equal(t, 1.0, s.Value("journeys_customers", map[string]string{"stage": "onboarding"}))
	assert.True(t, s.Has("journeys_customers", map[string]string{"stage": "churned"}), "every stage is reported")
	assert.Equal(t, "COUNTER", s["journeys_events_received_total"].GetType().String())
	assert.Equal(t, "GAUGE", s["journeys_customers"].GetType().String())
	assert.Equal(t, "HISTOGRAM", s["temporal_workflow_task_execution_latency_seconds"].GetType().String())
	assert.NotContains(t, logs.String(), "metric not exported", "no metric recorded with two sets of tag keys")
}

// A worker-role process serves /metrics too, on its health listener, with
// the SDK's metrics; it does not count stages (the API's processes do).
func TestMetricsOnTheWorkerRole(t *testing.T) {
	temporalAddr := startTemporal(t)
	entry, err := codec.GenerateKey("k1")
	require.NoError(t, err)
	env := withLinks(t, map[string]string{codec.EnvKeys: entry})
	cfg := config{Role: RoleWorker, DataDir: t.TempDir(), HTTPAddr: freeAddr(t), TemporalAddr: temporalAddr, Namespace: "default",
		StageCount: time.Second, Getenv: func(k string) string { return env[k] }}
	startWorker(t, cfg)

	var s metricstest.Samples
	require.Eventually(t, func() bool {
		s = metricstest.ScrapeURL(t, "http://"+cfg.HTTPAddr+"/metrics")
		return s.Value("temporal_worker_start_total", nil) >= 1
	}, 30*time.Second, 200*time.Millisecond)
	time.Sleep(1500 * time.Millisecond) // a stage count would have run
	s = metricstest.ScrapeURL(t, "http://"+cfg.HTTPAddr+"/metrics")
	assert.False(t, s.Has("journeys_customers", nil), "worker replicas leave the stage count to the API's")
}
