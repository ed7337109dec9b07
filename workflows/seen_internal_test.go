package workflows

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var seenStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Past SeenEventsSize the oldest are forgotten, unless they were applied
// within SeenEventsWindow, and never more than SeenEventsMax are kept.
func TestSeenEventsKeepTheLastAndTheWindow(t *testing.T) {
	var s seenEvents
	for i := range SeenEventsSize + 500 {
		s.add(fmt.Sprintf("hourly-%d", i), seenStart.Add(time.Duration(i)*time.Hour))
	}
	assert.Len(t, s.hashes, SeenEventsSize)
	assert.False(t, s.has("hourly-499"))
	assert.True(t, s.has("hourly-500"))
	assert.True(t, s.has(fmt.Sprintf("hourly-%d", SeenEventsSize+499)))

	var burst seenEvents
	for i := range SeenEventsMax + 10 {
		burst.add(fmt.Sprintf("burst-%d", i), seenStart.Add(time.Duration(i)*time.Millisecond))
	}
	assert.Len(t, burst.hashes, SeenEventsMax, "all within the window, up to the most kept")
	assert.False(t, burst.has("burst-9"))
	assert.True(t, burst.has("burst-10"))
}

// The next run recognises what this one applied.
func TestSeenEventsCrossContinueAsNew(t *testing.T) {
	var s seenEvents
	s.add("evt-a", seenStart)
	s.add("evt-b", seenStart.Add(time.Minute))
	b, err := json.Marshal(Carry{Seen: s.carry()})
	require.NoError(t, err)
	var c Carry
	require.NoError(t, json.Unmarshal(b, &c))
	var next seenEvents
	next.restore(c.Seen)
	assert.True(t, next.has("evt-a"))
	assert.True(t, next.has("evt-b"))
	assert.False(t, next.has("evt-c"))
	assert.Equal(t, s, next)
}

// A mature journey's thousand remembered events cost it about 20 KiB; as ID
// strings in a map and two lists they cost about 127 KiB.
func TestSeenEventsAreSmallInMemory(t *testing.T) {
	const journeys = 200
	before := heapInUse()
	all := make([]*seenEvents, journeys)
	for k := range all {
		all[k] = &seenEvents{}
		for i := range SeenEventsSize {
			all[k].add(fmt.Sprintf("evt_%08d_%016x", k, i*7919), seenStart.Add(time.Duration(i)*time.Hour))
		}
	}
	perJourney := float64(heapInUse()-before) / journeys / 1024
	runtime.KeepAlive(all)
	t.Logf("%d remembered events: %.1f KiB per journey", SeenEventsSize, perJourney)
	assert.Less(t, perJourney, 24.0)
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
