package workflows

import (
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/messages"
)

// keyRecorder is a metrics handler that keeps, by counter name, the tag
// keys it was counted with.
type keyRecorder struct {
	mu   *sync.Mutex
	tags map[string]string
	keys map[string][][]string
}

func (k keyRecorder) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(k.tags)
	maps.Copy(merged, tags)
	return keyRecorder{mu: k.mu, tags: merged, keys: k.keys}
}

func (k keyRecorder) Counter(name string) client.MetricsCounter {
	return counterFunc(func(int64) {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.keys[name] = append(k.keys[name], slices.Sorted(maps.Keys(k.tags)))
	})
}

func (k keyRecorder) Gauge(string) client.MetricsGauge { return client.MetricsNopHandler.Gauge("") }
func (k keyRecorder) Timer(string) client.MetricsTimer { return client.MetricsNopHandler.Timer("") }

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

// Every journey metric is counted with one set of tag keys, whatever the
// reason or template, and with the keys dashboards group by.
func TestJourneyMetricsKeepTheirTagKeys(t *testing.T) {
	rec := keyRecorder{mu: &sync.Mutex{}, tags: map[string]string{}, keys: map[string][][]string{}}
	var suite testsuite.WorkflowTestSuite
	suite.SetMetricsHandler(rec)
	env := suite.NewTestWorkflowEnvironment()
	env.ExecuteWorkflow(func(ctx workflow.Context) error {
		r := &journey{ctx: ctx}
		r.countSuppressed(messages.ChannelEmail, marketing, SkipDunning)
		r.countSuppressed(messages.ChannelSMS, transactional, SkipNoSMSConsent)
		r.countDeferred(messages.ChannelEmail, marketing, "quiet_hours")
		for _, name := range []string{MetricAlertsRaised, MetricAlertsAcknowledged, MetricAlertsSnoozed, MetricAlertsEscalated} {
			r.countAlert(name, "not_activated")
		}
		return workflow.Sleep(ctx, time.Second)
	})
	require.NoError(t, env.GetWorkflowError())

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.keys, 6)
	for name, sets := range rec.keys {
		for _, keys := range sets[1:] {
			assert.Equal(t, sets[0], keys, name)
		}
		switch name {
		case MetricMessagesSuppressed, MetricMessagesDeferred:
			assert.Subset(t, sets[0], []string{"channel", "class", "reason"}, name)
		default:
			assert.Contains(t, sets[0], "template", name)
		}
	}
}
