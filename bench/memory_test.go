package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStepsWantsAscendingCounts(t *testing.T) {
	got, err := parseSteps("1000, 5000,10000")
	require.NoError(t, err)
	assert.Equal(t, []int{1000, 5000, 10000}, got)
	for _, bad := range []string{"", "0", "10,5", "5,5", "x"} {
		_, err := parseSteps(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseWorkersReadsNamedPaths(t *testing.T) {
	got, err := parseWorkers("old=/a,new=/b")
	require.NoError(t, err)
	assert.Equal(t, []namedBin{{Name: "old", Path: "/a"}, {Name: "new", Path: "/b"}}, got)
	_, err = parseWorkers("old")
	assert.Error(t, err)
	self, err := parseWorkers("")
	require.NoError(t, err)
	assert.Equal(t, "this", self[0].Name)
}

func TestParseVmRSS(t *testing.T) {
	n, err := parseVmRSS("Name:\tbench\nVmPeak:\t  9 kB\nVmRSS:\t  123456 kB\nThreads: 4\n")
	require.NoError(t, err)
	assert.Equal(t, int64(123456), n)
	_, err = parseVmRSS("Name:\tbench\n")
	assert.Error(t, err)
}

func TestMemStepIsPerJourneyOverTheBaseline(t *testing.T) {
	base := usage{RSSKiB: 1000, HeapBytes: 1 << 20, StackBytes: 1 << 20, Goroutines: 100}
	now := usage{RSSKiB: 3000, HeapBytes: 3 << 20, StackBytes: 2 << 20, Goroutines: 300}
	s := newMemStep("new", 1, 200, base, now, 1800, 2*time.Second, 100)
	assert.InDelta(t, 10.0, s.RSSKiB, 1e-9)
	assert.InDelta(t, 10.24, s.HeapKiB, 1e-9)
	assert.InDelta(t, 5.12, s.StackKiB, 1e-9)
	assert.InDelta(t, 1.0, s.Goroutines, 1e-9)
	assert.InDelta(t, 50.0, s.WakePerSecond, 1e-9)
}
