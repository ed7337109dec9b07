package workflows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// loginYear runs a customer through a year of logins at the given offsets,
// through a coalescer with interval (0: every login forwarded), and returns
// the history events of the year (the sum of the runs' upper bounds), the
// journey's login count and the logins still held back at the edge at the
// end (they travel with the customer's next login).
func loginYear(t *testing.T, logins []time.Duration, interval time.Duration) (history, counted, held int) {
	t.Helper()
	pb := playbook.Default()
	pb.Alerts.SLADays = 0
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	h.activate(time.Hour)
	now := start
	c := api.NewCoalescer(interval, func() time.Time { return now })
	for i, d := range logins {
		now = start.Add(d)
		if fwd, n := c.Admit("c-1", 1); fwd {
			h.event(d, fmt.Sprintf("e-login-%d", i), signals.Login, signals.LoginData{Count: n})
			held = 0
		} else {
			held++
		}
	}
	st := h.run(365 * day)
	largest := 0
	for _, r := range h.runs {
		history += r.historyBound()
		largest = max(largest, r.historyBound())
		assert.LessOrEqual(t, r.historyBound(), maxHistory)
	}
	t.Logf("interval %s: %d runs, the largest at most %d history events", interval, len(h.runs), largest)
	return history, st.Counters.Logins, held
}

// One login an hour for a year, forwarded as is and coalesced at the edge:
// the history a customer-year costs, and a login count that stays honest.
// (go test -run TestLoginCoalescingHistory -v ./workflows/ prints the table
// docs/events.md quotes.)
func TestLoginCoalescingHistory(t *testing.T) {
	var hourly []time.Duration
	for d := 2 * time.Hour; d < 365*day; d += time.Hour {
		hourly = append(hourly, d)
	}
	plain, n1, held1 := loginYear(t, hourly, 0)
	hour, n2, held2 := loginYear(t, hourly, time.Hour)
	daily, n3, held3 := loginYear(t, hourly, 24*time.Hour)
	t.Logf("history events per customer-year at one login an hour: %d without coalescing, %d with a 1h interval, %d with 24h", plain, hour, daily)

	// Logins exactly an hour apart are each forwarded at a 1h interval;
	// coalescing pays off as soon as they come faster than the interval.
	assert.Equal(t, plain, hour)
	assert.Less(t, daily*10, plain, "a day's logins in one event: over ten times less history")
	assert.Equal(t, len(hourly), n1+held1)
	assert.Equal(t, len(hourly), n2+held2)
	assert.Equal(t, len(hourly), n3+held3, "every login counted, or held for the next")
	assert.Less(t, held3, 24)
}
