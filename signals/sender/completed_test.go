package sender_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// quickPlaybook is the default playbook on days of 200 ms, with a win-back
// that sends nothing and runs out 2 days after the churn.
func quickPlaybook() playbook.Playbook {
	pb := playbook.Default()
	pb.DayLength = playbook.Duration(200 * time.Millisecond)
	pb.WinBack.Steps = nil
	pb.WinBack.EndsAfterDays = 2
	return pb
}

// startJourneys runs the real journeys on pb against c, every channel
// into an outbox file.
func startJourneys(t *testing.T, c client.Client, pb playbook.Playbook) {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.jsonl"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { ob.Close() })
	acts := &activities.Activities{Email: ob, SMS: ob, Alerts: ob, CRM: ob, Billing: ob}
	ws := workflows.NewWorkers(c, workflows.NewJourneys(pb), acts, nil, workflows.WorkerOptions())
	require.NoError(t, ws.Start())
	t.Cleanup(ws.Stop)
}

func customerEvent(t *testing.T, id string, typ signals.Type, p signals.Payload) signals.Event {
	t.Helper()
	ev, err := signals.NewEvent(id, "c-1", typ, time.Now().UTC(), p)
	require.NoError(t, err)
	return ev
}

const edgeToken = "edge-token-for-sender-tests-9d1c"

var anaSignup = signals.SignedUpData{Email: "ana@example.com", Plan: "starter"}

// describe returns the run ID and status of the journey's latest run.
func describe(t *testing.T, c client.Client, id string) (string, enumspb.WorkflowExecutionStatus) {
	t.Helper()
	d, err := c.DescribeWorkflowExecution(context.Background(), id, "")
	require.NoError(t, err)
	info := d.GetWorkflowExecutionInfo()
	return info.GetExecution().GetRunId(), info.GetStatus()
}

// A journey that completed after its win-back is not started again by a
// signed_up, the same one redelivered or a resync's new one: that is a
// duplicate. A reactivated starts it again, from where it ended.
func TestCompletedJourney(t *testing.T) {
	c := startDevServer(t)
	startJourneys(t, c, quickPlaybook())
	s := sender.New(c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := workflows.WorkflowID("c-1")

	require.NoError(t, s.Send(ctx, customerEvent(t, "signup-c-1", signals.SignedUp, anaSignup)))
	require.NoError(t, s.Send(ctx, customerEvent(t, "sub-c-1-deleted", signals.SubscriptionCanceled, signals.SubscriptionCanceledData{})))
	var res workflows.Result
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res), "the journey completes after its win-back")
	require.NotNil(t, res.Summary, "completed, not canceled")
	ended, status := describe(t, c, id)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, status)

	t.Run("signed_up is a duplicate", func(t *testing.T) {
		for _, eventID := range []string{"signup-c-1", "signup-c-1-resync"} {
			err := s.Send(ctx, customerEvent(t, eventID, signals.SignedUp, anaSignup))
			assert.ErrorIs(t, err, sender.ErrJourneyCompleted, eventID)
		}
		run, status := describe(t, c, id)
		assert.Equal(t, ended, run, "no new run")
		assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, status)
	})

	t.Run("the edge answers it as a duplicate", func(t *testing.T) {
		h, err := api.New(s, api.Options{Tokens: []string{edgeToken}})
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(
			`{"event_id":"signup-c-1-replayed","customer_id":"c-1","type":"signed_up","data":{"email":"ana@example.com"}}`))
		req.Header.Set("Authorization", "Bearer "+edgeToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var got api.Accepted
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		assert.Equal(t, api.StatusDuplicate, got.Status)
		assert.Contains(t, got.Reason, "journey completed")
		run, status := describe(t, c, id)
		assert.Equal(t, ended, run, "no new run")
		assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, status)
	})

	t.Run("reactivated resumes it", func(t *testing.T) {
		require.NoError(t, s.Send(ctx, customerEvent(t, "react-c-1", signals.Reactivated, signals.ReactivatedData{Plan: "pro"})))
		st := pollStage(t, s, "c-1", workflows.StageAdoption)
		assert.Equal(t, workflows.StageAdoption, st.Stage)
		assert.Equal(t, "ana@example.com", st.Profile.Email, "the profile is carried over")
		assert.Equal(t, "pro", st.Profile.Plan)
		assert.Equal(t, res.State.JourneyID, st.JourneyID, "the same journey goes on")
		assert.Equal(t, 1, st.Counters.Reactivations)

		// A second reactivation while it runs starts nothing: it is signalled.
		run, _ := describe(t, c, id)
		require.NoError(t, s.Send(ctx, customerEvent(t, "react-c-1-again", signals.Reactivated, signals.ReactivatedData{})))
		again, status := describe(t, c, id)
		assert.Equal(t, run, again)
		assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, status)
	})
}

// pollStage reads customerID's state until it is in stage or 20 seconds
// have passed, and returns the last state read.
func pollStage(t *testing.T, s *sender.Sender, customerID string, stage workflows.Stage) workflows.State {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := s.State(context.Background(), customerID)
		if err == nil && st.Stage == stage || time.Now().After(deadline) {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
}
