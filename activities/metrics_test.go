package activities_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/internal/metrics/metricstest"
)

// Each send counts once: sent when the vendor took it, deduplicated when
// a retry finds it in the ledger, failed per failed attempt with why.
func TestSendsAreCountedByChannelClassAndOutcome(t *testing.T) {
	srv, received := fakeSendGrid(t,
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) },
		func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"errors":[{"field":"personalizations.0.to.0.email","message":"Does not contain a valid address."}]}`))
		},
	)
	a := newActivities(t, srv.URL)
	reg := metricstest.New(t)
	var suite testsuite.WorkflowTestSuite
	suite.SetMetricsHandler(reg.Handler())
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)

	in := welcome()
	in.Class = "lifecycle"
	_, err := env.ExecuteActivity(a.SendEmail, in) // 429
	require.Error(t, err)
	_, err = env.ExecuteActivity(a.SendEmail, in) // sent
	require.NoError(t, err)
	_, err = env.ExecuteActivity(a.SendEmail, in) // a retry after a lost completion
	require.NoError(t, err)
	upsell := welcome()
	upsell.Class, upsell.Step, upsell.IdempotencyKey = "marketing", "expansion.1.email", "customer:c-1/run/expansion.1.email/email"
	_, err = env.ExecuteActivity(a.SendEmail, upsell) // 400
	require.Error(t, err)
	broken := welcome()
	broken.Template, broken.IdempotencyKey = "no_such_template", "customer:c-1/run/broken/email"
	_, err = env.ExecuteActivity(a.SendEmail, broken) // no class: none
	require.Error(t, err)
	require.Equal(t, int32(3), received.Load())
	require.NoError(t, reg.Close())

	s := metricstest.Scrape(t, reg.HTTPHandler())
	email := func(class string) map[string]string { return map[string]string{"channel": "email", "class": class} }
	assert.Equal(t, 1.0, s.Value("journeys_messages_sent_total", email("lifecycle")))
	assert.Equal(t, 1.0, s.Value("journeys_messages_sent_total", nil), "sent once however often it ran")
	assert.Equal(t, 1.0, s.Value("journeys_messages_deduplicated_total", email("lifecycle")))
	for _, c := range []struct {
		class, error string
	}{{"lifecycle", activities.FailureTransient}, {"marketing", activities.FailurePermanent}, {"none", activities.FailureTemplate}} {
		labels := email(c.class)
		labels["error"] = c.error
		assert.Equal(t, 1.0, s.Value("journeys_messages_failed_total", labels), "%v", labels)
	}
	assert.Equal(t, 3.0, s.Value("journeys_messages_failed_total", nil))
	assert.ElementsMatch(t, []string{"channel", "class"}, withoutSDKTags(s.LabelNames("journeys_messages_sent_total")))
	assert.ElementsMatch(t, []string{"channel", "class", "error"}, withoutSDKTags(s.LabelNames("journeys_messages_failed_total")))
}

// withoutSDKTags drops the tags the SDK puts on an activity's handler
// (activity_type, namespace, task_queue...): ours are the rest.
func withoutSDKTags(names []string) []string {
	var out []string
	for _, n := range names {
		switch n {
		case "activity_type", "namespace", "task_queue", "workflow_type", "client_name", "worker_type":
			continue
		}
		out = append(out, n)
	}
	return out
}
