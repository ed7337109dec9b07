package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/workflows"
)

func cohortOptions(customers int, years float64, seed uint64) CohortOptions {
	return CohortOptions{
		Customers: customers, Years: years, Seed: seed, Playbook: playbook.Default(),
		Start:     time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
		Behaviour: DefaultBehaviour(), SignupDays: DefaultSignupDays,
	}
}

// numbers are the report's figures that do not depend on the wall clock.
func numbers(r CohortReport) CohortReport {
	r.Elapsed, r.Workers = 0, 0
	return r
}

func TestCohortIsReproducibleAndConsistent(t *testing.T) {
	o := cohortOptions(20, 0.5, 7)
	first, err := RunCohort(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// The same seed on one worker: the scheduling must not matter.
	o.Workers = 1
	again, err := RunCohort(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := reportText(t, numbers(first)), reportText(t, numbers(again)); a != b {
		t.Errorf("the same seed gave different reports:\n%s\n%s", a, b)
	}
	o.Seed = 8
	other, err := RunCohort(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if reportText(t, numbers(first)) == reportText(t, numbers(other)) {
		t.Errorf("seeds 7 and 8 gave the same report:\n%s", reportText(t, numbers(first)))
	}

	r := first
	if r.Customers != 20 || r.CustomerYears <= 0 || r.CustomerYears > 20*0.5 {
		t.Errorf("customers %d, customer-years %v", r.Customers, r.CustomerYears)
	}
	if r.Recovered > r.Dunnings || r.Suspensions > r.Dunnings {
		t.Errorf("%d dunnings, %d recovered, %d suspended", r.Dunnings, r.Recovered, r.Suspensions)
	}
	if r.Saves > r.Cancellations || r.Reactivations > r.Churns {
		t.Errorf("%d cancellations, %d saves, %d churns, %d reactivations", r.Cancellations, r.Saves, r.Churns, r.Reactivations)
	}
	total := 0
	for _, n := range r.Messages {
		total += n
	}
	classes := 0
	for _, n := range r.MessagesByClass {
		classes += n
	}
	if total == 0 || total != classes {
		t.Errorf("%d messages by channel, %d by class", total, classes)
	}
	if r.Messages["email"] < 2*r.Customers {
		t.Errorf("%d emails for %d customers: every customer gets a welcome and a getting-started email", r.Messages["email"], r.Customers)
	}
	if r.Events < r.Customers || r.Runs < r.Customers || r.HistoryBound <= r.Events {
		t.Errorf("%d events, %d runs, history bound %d", r.Events, r.Runs, r.HistoryBound)
	}
	final := 0
	for _, n := range r.FinalStages {
		final += n
	}
	if final != r.Customers {
		t.Errorf("final stages count %d customers, want %d", final, r.Customers)
	}
	if len(r.Weekly) != 27 {
		t.Fatalf("%d weekly samples, want 27", len(r.Weekly))
	}
	for _, w := range r.Weekly {
		n := 0
		for _, c := range w.Stages {
			n += c
		}
		if n > r.Customers {
			t.Errorf("week %d counts %d customers", w.Week, n)
		}
	}
	last := r.Weekly[len(r.Weekly)-1].Stages
	if last[workflows.StageAdoption] == 0 || r.Weekly[0].Stages[workflows.StageAdoption] != 0 {
		t.Errorf("adoption by week 0 %d, by the end %d", r.Weekly[0].Stages[workflows.StageAdoption], last[workflows.StageAdoption])
	}
}

func reportText(t *testing.T, r CohortReport) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestCohortChartIsWellFormedSVGWithTheStages(t *testing.T) {
	rep, err := RunCohort(context.Background(), cohortOptions(6, 0.2, 1))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteChart(&b); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&b)
	stages := map[string]bool{}
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = el.Name.Local
		}
		for _, a := range el.Attr {
			if a.Name.Local == "data-stage" {
				stages[a.Value] = true
			}
		}
	}
	if root != "svg" {
		t.Errorf("the root element is %q", root)
	}
	for _, s := range cohortStages {
		if !stages[string(s)] {
			t.Errorf("no series for stage %s", s)
		}
	}
}

func TestCohortRejectsBadOptions(t *testing.T) {
	o := cohortOptions(0, 1, 1)
	if _, err := RunCohort(context.Background(), o); err == nil || !strings.Contains(err.Error(), "customer") {
		t.Errorf("0 customers: %v", err)
	}
	o = cohortOptions(1, 1, 1)
	o.Behaviour.Recovery = 1.5
	if _, err := RunCohort(context.Background(), o); err == nil || !strings.Contains(err.Error(), "recovery") {
		t.Errorf("recovery 1.5: %v", err)
	}
}

// The cohort counts each message under the class the journey gave it.
func TestCohortCountsTheClassesTheJourneyGives(t *testing.T) {
	rep, err := RunCohort(context.Background(), cohortOptions(40, 1, 7))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for class, n := range rep.MessagesByClass {
		if class != "transactional" && class != "lifecycle" && class != "marketing" {
			t.Errorf("%d messages of class %q", n, class)
		}
		total += n
	}
	sent := 0
	for _, n := range rep.Messages {
		sent += n
	}
	if total != sent || rep.MessagesByClass["transactional"] == 0 || rep.MessagesByClass["marketing"] == 0 {
		t.Errorf("by class %v, by channel %v", rep.MessagesByClass, rep.Messages)
	}
}

// BenchmarkCohort runs a cohort of 200 customers and then its floor
// (floor_test.go): the test environment alone, with the same events,
// timers and activities. It reports the customer-years per second of both
// and the cohort's speed as a share of the floor's. To profile the cohort
// (the profile covers the floor too):
//
//	go test ./sim -run '^$' -bench Cohort -benchtime 1x -cpuprofile cpu.out
func BenchmarkCohort(b *testing.B) {
	o := cohortOptions(200, 1, 7)
	for b.Loop() {
		began := time.Now()
		results, err := RunCohortBatch(context.Background(), o, 0, o.Customers)
		if err != nil {
			b.Fatal(err)
		}
		rate := o.sum(results).CustomerYears / time.Since(began).Seconds()
		floor := runFloor(b, o, results)
		b.ReportMetric(rate, "customer-years/s")
		b.ReportMetric(floor, "floor-customer-years/s")
		b.ReportMetric(rate/floor, "of-floor")
	}
}

// The cohort's stand-ins answer to every activity the journey can call.
func TestCountingActivitiesStandInForEveryActivity(t *testing.T) {
	names := func(v any) []string {
		var out []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumMethod() {
			out = append(out, typ.Method(i).Name)
		}
		return out
	}
	assert.Equal(t, names(&activities.Activities{}), names(&countingActivities{}))
}

// Batches give the report of one run: the batches' results travel as JSON
// (as from a child process) and each customer comes out the same in any
// batch.
func TestCohortInBatchesIsTheSame(t *testing.T) {
	o := cohortOptions(7, 1, 3)
	whole, err := RunCohort(context.Background(), o)
	require.NoError(t, err)

	var batches [][2]int
	o.Batch = 3
	o.RunBatch = func(ctx context.Context, o CohortOptions, first, n int) ([]CustomerResult, error) {
		batches = append(batches, [2]int{first, n})
		res, err := RunCohortBatch(ctx, o, first, n)
		if err != nil {
			return nil, err
		}
		data, err := json.Marshal(res)
		require.NoError(t, err)
		var back []CustomerResult
		require.NoError(t, json.Unmarshal(data, &back))
		return back, nil
	}
	batched, err := RunCohort(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, [][2]int{{0, 3}, {3, 3}, {6, 1}}, batches)
	assert.Equal(t, numbers(whole), numbers(batched))

	o.RunBatch = func(context.Context, CohortOptions, int, int) ([]CustomerResult, error) { return nil, nil }
	_, err = RunCohort(context.Background(), o)
	assert.ErrorContains(t, err, "batch of customers 0 to 2 returned 0 results")
	_, err = RunCohortBatch(context.Background(), o, 5, 3)
	assert.ErrorContains(t, err, "customers 5 to 7 are not in a cohort of 7")
}
