package workflows

import (
	"slices"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
)

// Send windows (playbook.Delivery.Windows), a delivery rule of rules.go:
// the local hours a channel may send in, in the customer's time zone; for
// a text to a customer without one, in every zone their number may be in.
// A message that waits for a window wakes at a per-customer offset into it
// (spread), and a message sent inside a window must go before it shuts
// (sendBy, send.go).

// SpreadShare is the share of what is left of a window over which the
// messages deferred to its opening wake, one offset per customer: 4 is the
// first quarter, 09:00 to 11:45 for a 09:00-20:00 window.
const SpreadShare = 4

// zone is the customer's time zone, else the playbook's.
func (r *journey) zone() *time.Location {
	if loc, ok := r.ownZone(); ok {
		return loc
	}
	return location(r.pb.Delivery.Timezone)
}

// ownZone is the customer's own time zone, when they gave a valid one.
func (r *journey) ownZone() (*time.Location, bool) {
	tz := r.st.Profile.Timezone
	if tz == "" {
		return nil, false
	}
	if loc := location(tz); loc != time.UTC || tz == "UTC" {
		return loc, true
	}
	return nil, false
}

// realDays reports whether a journey day is a calendar day; on a demo
// clock send windows do not apply and caps count journey days.
func (r *journey) realDays() bool { return r.pb.DayLength.D() == 24*time.Hour }

// localText formats t in the customer's zone, for the timeline.
func (r *journey) localText(t time.Time) string {
	if !r.realDays() {
		return r.whenText(t)
	}
	return t.In(r.zone()).Format("Mon Jan 2 15:04 MST")
}

// window is ch's window for a message of class c, or false when none
// applies.
func (r *journey) window(ch messages.Channel, c class) (sendWindow, bool) {
	w, ok := r.pb.Delivery.Windows[string(ch)]
	if !ok || !r.realDays() || (len(w.Classes) > 0 && !slices.Contains(w.Classes, string(c))) {
		return sendWindow{}, false
	}
	from, err1 := playbook.ClockOf(w.From)
	to, err2 := playbook.ClockOf(w.To)
	if err1 != nil || err2 != nil {
		return sendWindow{}, false // validated at load; never block a send on a bad playbook
	}
	sw := sendWindow{from: from, to: to, skipWeekends: w.SkipWeekends, zones: []*time.Location{r.zone()}, fallback: r.zone()}
	if _, own := r.ownZone(); !own && ch == messages.ChannelSMS {
		if zones := numberZones(r.st.Profile.Phone); len(zones) > 0 {
			sw.zones = zones
		}
	}
	return sw, true
}

// numberZones are the time zones the phone number library places phone
// in, in its order: its area code's when it knows them, else its
// country's (all of +1's, Guam to Newfoundland, for an area code it does
// not know). A pure lookup in the library's tables, so workflow code may
// call it; none for a number it cannot parse.
func numberZones(phone string) []*time.Location {
	if phone == "" {
		return nil
	}
	n, err := phonenumbers.Parse(phone, "")
	if err != nil {
		return nil
	}
	names, err := phonenumbers.GetTimezonesForNumber(n)
	if err != nil {
		return nil
	}
	var zones []*time.Location
	for _, name := range names {
		if loc := location(name); loc != time.UTC || name == "UTC" {
			zones = append(zones, loc)
		}
	}
	return zones
}

// sendWindow is a channel's window as it holds for one customer: local
// hours [from, to) in every one of zones; in fallback alone when zones
// share no open hour within 8 days.
type sendWindow struct {
	from, to     time.Duration
	skipWeekends bool
	zones        []*time.Location
	fallback     *time.Location
}

// next is the first instant from t on when w is open, and when it shuts
// then.
func (w sendWindow) next(t time.Time) (open, shut time.Time) {
	if open, ok := openInAll(t, w.zones, w.from, w.to, w.skipWeekends); ok {
		return open, shutsInAll(open, w.zones, w.to)
	}
	open = nextOpen(t.In(w.fallback), w.from, w.to, w.skipWeekends)
	return open, shutsInAll(open, []*time.Location{w.fallback}, w.to)
}

// openInAll is the first instant from t on inside [from, to) in every
// zone; false when no instant within 8 days is.
func openInAll(t time.Time, zones []*time.Location, from, to time.Duration, skipWeekends bool) (time.Time, bool) {
	at := t
	for at.Sub(t) <= 8*24*time.Hour {
		moved := false
		for _, z := range zones {
			if o := nextOpen(at.In(z), from, to, skipWeekends); o.After(at) {
				at, moved = o, true
			}
		}
		if !moved {
			return at, true
		}
	}
	return t, false
}

// shutsInAll is when a window [.., to) open at t in every zone shuts: the
// earliest end of that day's window among them.
func shutsInAll(t time.Time, zones []*time.Location, to time.Duration) time.Time {
	var end time.Time
	for _, z := range zones {
		if e := atClock(t.In(z), to); end.IsZero() || e.Before(end) {
			end = e
		}
	}
	return end
}

// windowOpens is the first instant from t on when ch may send a message of
// class c: t itself when the window is open or none applies.
func (r *journey) windowOpens(ch messages.Channel, c class, t time.Time) time.Time {
	w, ok := r.window(ch, c)
	if !ok {
		return t
	}
	at, _ := w.next(t)
	return at
}

// sendBy is when a message of class c sent on ch at t must have gone: when
// the window open at t shuts; zero when no window applies.
func (r *journey) sendBy(ch messages.Channel, c class, t time.Time) time.Time {
	w, ok := r.window(ch, c)
	if !ok {
		return time.Time{}
	}
	_, shut := w.next(t)
	return shut
}

// spread moves a wake-up at at, inside ch's window, by the customer's
// offset into the first SpreadShare-th of what is left of the window, so
// that the messages deferred to one opening do not all wake at once and
// queue behind the channel's rate limit.
func (r *journey) spread(ch messages.Channel, c class, at time.Time) time.Time {
	w, ok := r.window(ch, c)
	if !ok {
		return at
	}
	_, shut := w.next(at)
	return at.Add(SpreadOffset(r.st.CustomerID, shut.Sub(at)/SpreadShare))
}

// SpreadOffset is customerID's offset into a spread of span, in whole
// seconds: SHA-256("<customerID>/spread") as in InHoldout, modulo the
// span's seconds. The same for every message, run and worker.
func SpreadOffset(customerID string, span time.Duration) time.Duration {
	if span < time.Second {
		return 0
	}
	return time.Duration(bucket(customerID+"/spread", uint64(span/time.Second))) * time.Second
}

// nextOpen is the first instant from t on inside [from, to) of a local day
// (t's location), skipping weekends if asked. Local times are built with
// time.Date, so a window opens at its wall-clock time across DST changes.
func nextOpen(t time.Time, from, to time.Duration, skipWeekends bool) time.Time {
	for i := range 8 {
		day := time.Date(t.Year(), t.Month(), t.Day()+i, 0, 0, 0, 0, t.Location())
		if skipWeekends && (day.Weekday() == time.Saturday || day.Weekday() == time.Sunday) {
			continue
		}
		open, shut := atClock(day, from), atClock(day, to)
		if !t.Before(open) && t.Before(shut) {
			return t
		}
		if open.After(t) {
			return open
		}
	}
	return t
}

// atClock is the instant of the local day day at time of day d.
func atClock(day time.Time, d time.Duration) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), int(d/time.Hour), int(d%time.Hour/time.Minute), 0, 0, day.Location())
}
