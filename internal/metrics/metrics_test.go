package metrics_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/journeyshq/journeys/internal/metrics"
	"github.com/journeyshq/journeys/internal/metrics/metricstest"
	"github.com/journeyshq/journeys/workflows"
)

func TestHandlerExportsPrometheusNames(t *testing.T) {
	r := metricstest.New(t)
	h := r.Handler()
	h.WithTags(map[string]string{"type": "signed_up"}).Counter("journeys_events_received").Inc(2)
	h.WithTags(map[string]string{"type": "login"}).Counter("journeys_events_received").Inc(1)
	h.Gauge("journeys_test_gauge").Update(7)
	h.Timer("journeys_test_latency").Record(150 * time.Millisecond)
	require.NoError(t, r.Close()) // reports what is buffered

	s := metricstest.Scrape(t, r.HTTPHandler())
	assert.Equal(t, 2.0, s.Value("journeys_events_received_total", map[string]string{"type": "signed_up"}), "counters get _total")
	assert.Equal(t, 3.0, s.Value("journeys_events_received_total", nil))
	assert.Equal(t, 7.0, s.Value("journeys_test_gauge", nil), "gauges keep their name")
	assert.Equal(t, 1.0, s.Value("journeys_test_latency_seconds", nil), "timers are histograms in seconds")
	assert.Equal(t, "HISTOGRAM", s["journeys_test_latency_seconds"].GetType().String())
	require.NoError(t, r.Close(), "closing twice is harmless")
}

func TestRegistriesDoNotCollide(t *testing.T) {
	a, b := metricstest.New(t), metricstest.New(t)
	a.Handler().Counter("journeys_twice").Inc(1)
	b.Handler().Counter("journeys_twice").Inc(5)
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
	assert.Equal(t, 1.0, metricstest.Scrape(t, a.HTTPHandler()).Value("journeys_twice_total", nil))
	assert.Equal(t, 5.0, metricstest.Scrape(t, b.HTTPHandler()).Value("journeys_twice_total", nil))
}

// Prometheus refuses a name with a second set of label names. The registry
// reports it instead of panicking, and keeps the first.
func TestTagKeysOfANameAreFixed(t *testing.T) {
	var mu sync.Mutex
	var errs []error
	r := metrics.New(metrics.Options{OnError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}})
	h := r.Handler()
	h.WithTags(map[string]string{"channel": "email"}).Counter("journeys_mixed").Inc(1)
	assert.NotPanics(t, func() {
		h.WithTags(map[string]string{"channel": "email", "class": "marketing"}).Counter("journeys_mixed").Inc(1)
	})
	require.NoError(t, r.Close())
	mu.Lock()
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "journeys_mixed_total")
	mu.Unlock()
	s := metricstest.Scrape(t, r.HTTPHandler())
	assert.Equal(t, 1.0, s.Value("journeys_mixed_total", nil), "only the first set is exported")
	assert.Equal(t, []string{"channel"}, s.LabelNames("journeys_mixed_total"))
}

// fakeVisibility answers counts by query.
type fakeVisibility struct {
	mu      sync.Mutex
	counts  map[string]int64
	fail    map[string]bool
	queries []string
}

func (f *fakeVisibility) CountWorkflow(_ context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, req.GetQuery())
	if f.fail[req.GetQuery()] {
		return nil, errors.New("visibility unavailable")
	}
	return &workflowservice.CountWorkflowExecutionsResponse{Count: f.counts[req.GetQuery()]}, nil
}

func (f *fakeVisibility) rounds() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queries) / len(metrics.Stages)
}

func TestCountStages(t *testing.T) {
	assert.Equal(t, "WorkflowType = 'CustomerJourney' AND ExecutionStatus = 'Running' AND JourneyStage = 'onboarding'",
		metrics.StageQuery(workflows.StageOnboarding))

	r := metricstest.New(t)
	vis := &fakeVisibility{counts: map[string]int64{
		metrics.StageQuery(workflows.StageOnboarding): 3,
		metrics.StageQuery(workflows.StageAdoption):   41,
	}}
	require.NoError(t, metrics.CountStages(context.Background(), vis, r.Handler()))
	vis.counts[metrics.StageQuery(workflows.StageOnboarding)] = 4
	vis.fail = map[string]bool{metrics.StageQuery(workflows.StageAdoption): true}
	err := metrics.CountStages(context.Background(), vis, r.Handler())
	assert.ErrorContains(t, err, "count journeys in stage adoption: visibility unavailable")
	require.NoError(t, r.Close())

	s := metricstest.Scrape(t, r.HTTPHandler())
	for stage, want := range map[workflows.Stage]float64{
		workflows.StageOnboarding: 4,
		workflows.StageAdoption:   41, // the failed count kept the last value
		workflows.StageChurned:    0,  // every stage is reported, empty ones as 0
		workflows.StageNew:        0,
	} {
		assert.True(t, s.Has(metrics.CustomersGauge, map[string]string{"stage": string(stage)}), stage)
		assert.Equal(t, want, s.Value(metrics.CustomersGauge, map[string]string{"stage": string(stage)}), stage)
	}
}

func TestStartStageCountCountsAtOnceThenEveryIntervalUntilStopped(t *testing.T) {
	r := metricstest.New(t)
	vis := &fakeVisibility{counts: map[string]int64{metrics.StageQuery(workflows.StageRenewal): 2}, fail: map[string]bool{metrics.StageQuery(workflows.StageNew): true}}
	var mu sync.Mutex
	var errs []string
	stop := metrics.StartStageCount(vis, r.Handler(), 20*time.Millisecond, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err.Error())
	})
	require.Eventually(t, func() bool { return vis.rounds() >= 3 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, stop())
	after := vis.rounds()
	time.Sleep(60 * time.Millisecond)
	assert.Equal(t, after, vis.rounds(), "no count after stop")
	mu.Lock()
	assert.NotEmpty(t, errs)
	assert.True(t, strings.HasPrefix(errs[0], "count journeys in stage new"), errs[0])
	mu.Unlock()
	require.NoError(t, r.Close())
	assert.Equal(t, 2.0, metricstest.Scrape(t, r.HTTPHandler()).Value(metrics.CustomersGauge, map[string]string{"stage": "renewal"}))
}
