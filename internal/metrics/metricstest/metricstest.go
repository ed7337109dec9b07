// Package metricstest reads metrics the way Prometheus does, from the text
// a /metrics endpoint serves, for tests.
package metricstest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/journeyshq/journeys/internal/metrics"
)

// New returns a registry that reports every 10 ms and fails the test on a
// metric registered with two sets of tag keys. It is closed when the test
// ends.
func New(t testing.TB) *metrics.Registry {
	t.Helper()
	r := metrics.New(metrics.Options{
		ReportInterval: 10 * time.Millisecond,
		OnError:        func(err error) { t.Errorf("metrics: %v", err) },
	})
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// Samples is one scrape, by metric family name.
type Samples map[string]*dto.MetricFamily

// Scrape reads h's answer to GET /metrics.
func Scrape(t testing.TB, h http.Handler) Samples {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body.String())
	}
	return parse(t, rec.Body)
}

// ScrapeURL reads url (http://host/metrics).
func ScrapeURL(t testing.TB, url string) Samples {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return parse(t, resp.Body)
}

func parse(t testing.TB, r io.Reader) Samples {
	t.Helper()
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// Value sums the series of name that carry every label in labels (a
// subset: nil matches all). A counter or gauge adds its value, a histogram
// or summary its sample count. Absent, it is 0.
func (s Samples) Value(name string, labels map[string]string) float64 {
	f := s[name]
	if f == nil {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if !matches(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Summary != nil:
			sum += float64(m.GetSummary().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// Has reports whether name has a series carrying every label in labels.
func (s Samples) Has(name string, labels map[string]string) bool {
	for _, m := range s[name].GetMetric() {
		if matches(m, labels) {
			return true
		}
	}
	return false
}

// LabelNames are the label names of name's series, the first series' only
// (Prometheus requires every series of a name to have the same).
func (s Samples) LabelNames(name string) []string {
	ms := s[name].GetMetric()
	if len(ms) == 0 {
		return nil
	}
	var out []string
	for _, l := range ms[0].GetLabel() {
		out = append(out, l.GetName())
	}
	return out
}

func matches(m *dto.Metric, labels map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range labels {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
