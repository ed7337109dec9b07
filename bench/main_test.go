package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/signals"
)

// TestRunReportsBothPhases runs the whole benchmark, server included, on a
// tiny load. It checks the report's shape only: timings vary by machine.
func TestRunReportsBothPhases(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"-customers", "3", "-events", "4", "-rounds", "1", "-warmup", "0", "-json"}, &out)
	require.NoError(t, err, out.String())

	var rep report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	require.Len(t, rep.Phases, 2)
	for i, name := range []string{"bare", "edge"} {
		ph := rep.Phases[i]
		assert.Equal(t, name, ph.Phase)
		assert.Equal(t, 12, ph.Events, "%s: 3 customers x 4 events", name)
		assert.Greater(t, ph.WallSeconds, 0.0, name)
		assert.Greater(t, ph.EventsPerSec, 0.0, name)
		assert.LessOrEqual(t, ph.CallP50, ph.CallP99, name)
		assert.LessOrEqual(t, ph.AppliedP50, ph.AppliedP99, name)
		assert.LessOrEqual(t, ph.CallP50, ph.AppliedP50, "%s: an event is applied after its call returns", name)
	}
	assert.False(t, math.IsNaN(rep.Ratio) || math.IsInf(rep.Ratio, 0))
	assert.Greater(t, rep.Ratio, 0.0)
	assert.Equal(t, 3, rep.Params.Customers)
}

func TestPercentileIsNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 10; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 5*time.Millisecond, percentile(d, 50))
	assert.Equal(t, 10*time.Millisecond, percentile(d, 99))
	assert.Equal(t, 1*time.Millisecond, percentile(d, 1))
	assert.Equal(t, time.Duration(0), percentile(nil, 50))
}

func TestEventBodiesAreValidEvents(t *testing.T) {
	for i := range 3 {
		body, err := eventBody("r1-c007", i)
		require.NoError(t, err)
		_, err = signals.Decode(bytes.NewReader(body), time.Now())
		assert.NoError(t, err, "event %d: %s", i, body)
	}
}

func TestFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{
		{"-customers", "0"}, {"-events", "0"}, {"-rounds", "0"}, {"-warmup", "-1"},
		{"-timeout", "0s"}, {"extra"},
	} {
		_, err := parseFlags(args)
		assert.Error(t, err, "%v", args)
	}
	cfg, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, config{Customers: 50, Events: 20, Rounds: 4, Warmup: 5, Timeout: 30 * time.Second}, cfg)
}
