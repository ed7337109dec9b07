package api

import (
	"sync"
	"time"

	"github.com/journeyshq/journeys/signals"
)

// CoalescedHeader is set to "true" on the 202 answering a login the edge
// held back instead of forwarding.
const CoalescedHeader = "Journeys-Coalesced"

// DefaultCoalesceInterval is how often a customer's logins reach the journey
// at most, per edge process.
const DefaultCoalesceInterval = time.Hour

// Coalescer forwards a customer's login at most once per interval. A login
// per page view would otherwise put a signal, and a workflow task, in the
// journey's history for every click. The logins held back are counted into
// the next forwarded one (its data.count), so the journey's login count
// stays honest; only last_login is up to one interval late.
//
// It is per process: with several edge processes each forwards its own
// once per interval, which still bounds the rate.
type Coalescer struct {
	interval time.Duration
	now      func() time.Time
	// maxCustomers bounds the memory: past it, entries older than the
	// interval are dropped (their held-back count with them).
	maxCustomers int

	mu        sync.Mutex
	customers map[string]*loginWindow
}

type loginWindow struct {
	forwardedAt time.Time
	held        int
}

// NewCoalescer returns a coalescer with interval; interval ≤ 0 forwards
// every login.
func NewCoalescer(interval time.Duration, now func() time.Time) *Coalescer {
	if now == nil {
		now = time.Now
	}
	return &Coalescer{interval: interval, now: now, maxCustomers: 100_000, customers: map[string]*loginWindow{}}
}

// Admit decides on one login of customer carrying count logins (at least 1).
// It returns whether to forward it and, if so, the count to forward: its
// own plus the ones held back since the last forwarded login, at most
// signals.MaxLoginCount (a valid login); the rest stays held for the next.
func (c *Coalescer) Admit(customer string, count int) (forward bool, total int) {
	count = max(1, count)
	if c == nil || c.interval <= 0 {
		return true, count
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.customers[customer]
	if w != nil && now.Sub(w.forwardedAt) < c.interval {
		w.held += count
		return false, 0
	}
	if w == nil {
		if len(c.customers) >= c.maxCustomers {
			c.sweep(now)
		}
		w = &loginWindow{}
		c.customers[customer] = w
	}
	total = min(count+w.held, signals.MaxLoginCount)
	w.forwardedAt, w.held = now, count+w.held-total
	return true, total
}

// Failed gives back a forwarded login that did not reach the journey: its
// count is held again and the next login is forwarded at once.
func (c *Coalescer) Failed(customer string, total int) {
	if c == nil || c.interval <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.customers[customer]; w != nil {
		w.held += total
		w.forwardedAt = time.Time{}
	}
}

func (c *Coalescer) sweep(now time.Time) {
	for id, w := range c.customers {
		if now.Sub(w.forwardedAt) >= c.interval {
			delete(c.customers, id)
		}
	}
}
