// Package metrics serves a process's metrics to Prometheus: the Temporal
// SDK's (temporal_*) and journeys' own (journeys_*), through one tally
// scope. The scope backs the client.MetricsHandler the Temporal client is
// dialed with, so the SDK's metrics, the workflows' (workflow.
// GetMetricsHandler, silent during replay), the activities'
// (activity.GetMetricsHandler) and the events API's all land in it.
//
// Each Registry has a Prometheus registry of its own, so that two in one
// process (tests run several workers) do not collide.
//
// Names follow Prometheus conventions through the SDK's naming scope:
// counters get "_total" and timers "_seconds" appended to the name they are
// recorded under. A metric name must always be recorded with the same tag
// keys; Prometheus refuses a second set (Options.OnError gets the error and
// the metric with the second set is dropped).
package metrics

import (
	"net/http"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// DefaultReportInterval is how often the scope hands what was recorded to
// the Prometheus registry, which /metrics reads.
const DefaultReportInterval = time.Second

// Options configure a Registry; zero values are defaults.
type Options struct {
	// ReportInterval is how often recorded values reach /metrics; default
	// DefaultReportInterval.
	ReportInterval time.Duration
	// OnError is called when a metric cannot be registered, typically a
	// name recorded with two different sets of tag keys; the metric is
	// then not exported. Default: ignore. The tally reporter's own default,
	// a panic, would let one stray metric take the worker down.
	OnError func(error)
}

// Registry is one process's metrics: the handler to record through and the
// /metrics endpoint that exports them.
type Registry struct {
	handler   client.MetricsHandler
	http      http.Handler
	closer    interface{ Close() error }
	closeOnce sync.Once
	closeErr  error
}

// New returns a registry with its own Prometheus registry. Close it when
// the process stops, after the client that records into it.
func New(opts Options) *Registry {
	if opts.ReportInterval <= 0 {
		opts.ReportInterval = DefaultReportInterval
	}
	onError := opts.OnError
	if onError == nil {
		onError = func(error) {}
	}
	registry := prom.NewRegistry()
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer: registry,
		Gatherer:   registry,
		// Histograms aggregate across replicas; summaries do not.
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError:  onError,
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              tallyprom.DefaultSeparator,
		SanitizeOptions:        &sdktally.PrometheusSanitizeOptions,
		OmitCardinalityMetrics: true,
	}, opts.ReportInterval)
	return &Registry{
		handler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
		http:    reporter.HTTPHandler(),
		closer:  closer,
	}
}

// Handler is what to record through: client.Options.MetricsHandler, and
// the events API's Options.Metrics.
func (r *Registry) Handler() client.MetricsHandler { return r.handler }

// HTTPHandler serves the metrics in the Prometheus text format, for
// GET /metrics.
func (r *Registry) HTTPHandler() http.Handler { return r.http }

// Close reports what was recorded last and stops the reporting loop. It
// may be called more than once.
func (r *Registry) Close() error {
	r.closeOnce.Do(func() { r.closeErr = r.closer.Close() })
	return r.closeErr
}
