package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/journeyshq/journeys/signals"
)

func TestCoalescerForwardsOncePerIntervalAndCountsTheRest(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := NewCoalescer(time.Hour, func() time.Time { return now })

	fwd, n := c.Admit("c-1", 1)
	assert.True(t, fwd)
	assert.Equal(t, 1, n)
	for i := 0; i < 5; i++ {
		now = now.Add(5 * time.Minute)
		fwd, _ = c.Admit("c-1", 1)
		assert.False(t, fwd, "login %d within the hour is held back", i)
	}
	fwd, n = c.Admit("c-2", 1)
	assert.True(t, fwd, "customers are coalesced separately")
	assert.Equal(t, 1, n)

	now = now.Add(40 * time.Minute) // 65 minutes after the first
	fwd, n = c.Admit("c-1", 2)
	assert.True(t, fwd)
	assert.Equal(t, 7, n, "its own 2 plus the 5 held back")
}

func TestCoalescerGivesBackAFailedForward(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := NewCoalescer(time.Hour, func() time.Time { return now })
	_, n := c.Admit("c-1", 1)
	c.Failed("c-1", n)
	now = now.Add(time.Minute)
	fwd, n := c.Admit("c-1", 1)
	assert.True(t, fwd, "after a failed forward the next login goes at once")
	assert.Equal(t, 2, n)
}

func TestCoalescerOffForwardsEverything(t *testing.T) {
	c := NewCoalescer(0, nil)
	for i := 0; i < 3; i++ {
		fwd, n := c.Admit("c-1", 1)
		assert.True(t, fwd)
		assert.Equal(t, 1, n)
	}
}

func TestCoalescerMemoryIsBounded(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := NewCoalescer(time.Hour, func() time.Time { return now })
	c.maxCustomers = 10
	for i := 0; i < 10; i++ {
		c.Admit(string(rune('a'+i)), 1)
	}
	now = now.Add(2 * time.Hour)
	c.Admit("z", 1)
	assert.LessOrEqual(t, len(c.customers), 10)
}

// More logins in an hour than one login event may carry are forwarded as
// valid logins, at most signals.MaxLoginCount each; the rest is held for
// the next forward, not lost.
func TestCoalescerNeverForwardsMoreThanALoginMayCount(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := NewCoalescer(time.Hour, func() time.Time { return now })
	c.Admit("c-1", 1)
	for range 3 {
		now = now.Add(time.Minute)
		fwd, _ := c.Admit("c-1", 60_000)
		assert.False(t, fwd)
	}
	sent := 1
	for range 3 {
		now = now.Add(time.Hour)
		fwd, n := c.Admit("c-1", 1)
		assert.True(t, fwd)
		assert.LessOrEqual(t, n, signals.MaxLoginCount, "a forwarded count the validator refuses")
		assert.NoError(t, signals.Event{EventID: "l", CustomerID: "c-1", Type: signals.Login, OccurredAt: now,
			Data: []byte(fmt.Sprintf(`{"count":%d}`, n))}.Validate(now))
		sent += n
	}
	assert.Equal(t, 1+3*60_000+3, sent, "every login is counted once")
}
