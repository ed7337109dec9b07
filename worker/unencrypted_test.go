package main

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/internal/metrics/metricstest"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// signalInClear signals customer's journey as a backend that dials Temporal
// without the codec would: the event's payload is plain JSON.
func signalInClear(t *testing.T, temporalAddr, customer string, ev signals.Event) {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default"})
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.SignalWorkflow(ctx, workflows.WorkflowID(customer), "", signals.SignalName, ev))
}

func milestone(id, name string) signals.Event {
	return signals.Event{EventID: id, CustomerID: "c-3", Type: signals.MilestoneReached, OccurredAt: time.Now().UTC(),
		Data: []byte(`{"milestone":"` + name + `"}`)}
}

// Outside --dev an event that reaches the worker unencrypted is refused:
// never applied, so never copied into the state, and counted; the journey
// goes on with the next encrypted one.
func TestUnencryptedEventIsRefusedOutsideDev(t *testing.T) {
	temporalAddr := startTemporal(t)
	entry, err := codec.GenerateKey("k1")
	require.NoError(t, err)
	const operator = "operator-token-0123456789"
	env := withLinks(t, map[string]string{api.EnvTokens: api.DevToken, api.EnvOperatorTokens: operator, codec.EnvKeys: entry, "JOURNEYS_OUTBOX_CHANNELS": "all"})
	cfg := config{DataDir: t.TempDir(), HTTPAddr: freeAddr(t), TemporalAddr: temporalAddr, Namespace: "default",
		Getenv: func(k string) string { return env[k] }}
	_, logs, _ := startWorkerLogged(t, cfg)
	base := "http://" + cfg.HTTPAddr
	state := func() workflows.State {
		code, st := getStateWith(t, base, "c-3", operator)
		require.Equal(t, http.StatusOK, code)
		return st
	}

	code, body := post(t, base, `{"event_id":"su-3","customer_id":"c-3","type":"signed_up","data":{"email":"cy@example.com","plan":"pro"}}`)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool { return state().Stage == workflows.StageOnboarding }, 20*time.Second, 100*time.Millisecond)

	signalInClear(t, temporalAddr, "c-3", milestone("m-clear", "first_project"))
	var s metricstest.Samples
	require.Eventually(t, func() bool {
		s = metricstest.ScrapeURL(t, base+"/metrics")
		return s.Value(codec.MetricEventsRefused+"_total", map[string]string{"reason": codec.ReasonUnencrypted}) == 1
	}, 20*time.Second, 100*time.Millisecond, "the refused event is counted")

	code, body = post(t, base, `{"event_id":"m-coded","customer_id":"c-3","type":"milestone_reached","data":{"milestone":"invited_teammate"}}`)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool { return slices.Contains(state().Milestones, "invited_teammate") }, 20*time.Second, 100*time.Millisecond,
		"the journey goes on with the next event")
	assert.NotContains(t, state().Milestones, "first_project", "the unencrypted event was not applied")
	assert.Contains(t, logs.String(), "Signal refused: its payload is not encrypted", "and noted")
}

// With --dev the same unencrypted event is applied: a local client or the
// temporal CLI may signal without the codec there.
func TestUnencryptedEventIsAppliedWithDev(t *testing.T) {
	cfg := config{Dev: true, DataDir: t.TempDir(), HTTPAddr: freeAddr(t), TemporalAddr: freeAddr(t), Namespace: "default", UIAddr: "off",
		Getenv: func(string) string { return "" }}
	startWorker(t, cfg)
	base := "http://" + cfg.HTTPAddr
	code, body := post(t, base, `{"event_id":"su-3","customer_id":"c-3","type":"signed_up","data":{"email":"cy@example.com","plan":"pro"}}`)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool { return getState(t, base, "c-3").Stage == workflows.StageOnboarding }, 20*time.Second, 100*time.Millisecond)

	signalInClear(t, cfg.TemporalAddr, "c-3", milestone("m-clear", "first_project"))
	require.Eventually(t, func() bool { return slices.Contains(getState(t, base, "c-3").Milestones, "first_project") }, 20*time.Second, 100*time.Millisecond)
}
