package main

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/journeyshq/journeys/workflows"
)

// Time layouts of the status text.
const (
	// stampLayout is for the header fields; the zone abbreviation says which
	// zone the reader is looking at.
	stampLayout = "2006-01-02 15:04:05 MST"
	// timelineLayout is for timeline lines; the zone is named once above them.
	timelineLayout = "2006-01-02 15:04:05"
)

// renderState is the human-readable form of a journey's state. Times are in
// the customer's time zone, because "nudged at 03:00" only means something
// next to the customer's clock; UTC when the zone is unset or unknown.
func renderState(st workflows.State) string {
	loc := customerLocation(st.Profile.Timezone)
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(loc).Format(stampLayout)
	}
	var b strings.Builder
	field := func(label, value string) { fmt.Fprintf(&b, "%-13s %s\n", label, value) }

	field("customer", fmt.Sprintf("%s (workflow %s)", st.CustomerID, workflows.WorkflowID(st.CustomerID)))
	stage := orDash(string(st.Stage))
	if !st.StageSince.IsZero() {
		stage += " since " + stamp(st.StageSince)
	}
	field("stage", stage)
	field("playbook", orDash(st.Playbook))
	field("started", stamp(st.StartedAt))
	b.WriteString(renderProfile(st.Profile, stamp))
	b.WriteString(renderConsent(st, loc))
	field("milestones", joinOr(st.Milestones, "none"))
	field("activated at", stampOr(st.ActivatedAt, stamp, "not yet"))
	field("last login", stampOr(st.LastLogin, stamp, "never"))
	field("health tier", fmt.Sprintf("%s, score %d/100", orDash(st.HealthTier), st.HealthScore))
	if dn := st.Dunning; dn != nil {
		state := "payment being recovered"
		if st.Suspended {
			state = "account suspended"
		}
		field("dunning", fmt.Sprintf("%s: invoice %s unpaid since %s (attempt %d)", state, dn.InvoiceID, stamp(dn.Since), dn.Attempt))
	}
	if rn := st.Renewal; rn != nil {
		field("renewal", fmt.Sprintf("renews %s; sent: %s", stamp(rn.RenewsAt), joinOr(rn.StepsDone, "none yet")))
	}
	if c := st.Cancellation; c != nil {
		field("cancellation", fmt.Sprintf("requested %s (%s)", stamp(c.RequestedAt), c.Reason))
	}
	field("steps done", joinOr(st.StepsDone, "none"))
	field("counters", joinOr(nonZeroCounters(st.Counters), "none"))
	b.WriteString(renderTimeline(st.Timeline, loc))
	return b.String()
}

// renderProfile is the indented profile block; empty fields show "-" so the
// reader sees they are unset rather than missing from the output.
func renderProfile(p workflows.Profile, stamp func(time.Time) string) string {
	var b strings.Builder
	b.WriteString("profile\n")
	field := func(label, value string) { fmt.Fprintf(&b, "  %-11s %s\n", label, orDash(value)) }
	field("name", p.Name)
	field("email", p.Email)
	field("phone", p.Phone)
	field("timezone", p.Timezone)
	field("plan", p.Plan)
	seats := ""
	if p.Seats != 0 {
		seats = strconv.Itoa(p.Seats)
	}
	field("seats", seats)
	field("csm", p.CSM)
	field("signed up", stamp(p.SignedUpAt))
	return b.String()
}

// renderTimeline lists the entries oldest first, one per line, as
// "YYYY-MM-DD HH:MM:SS  kind      text" in loc.
func renderTimeline(entries []workflows.TimelineEntry, loc *time.Location) string {
	if len(entries) == 0 {
		return "timeline      (empty)\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "timeline (%s)\n", loc)
	for _, e := range entries {
		fmt.Fprintf(&b, "%s  %-8s  %s\n", e.At.In(loc).Format(timelineLayout), e.Kind, e.Text)
	}
	return b.String()
}

// customerLocation loads the customer's zone, falling back to UTC: a state
// from an older or newer journey with an odd zone must still print.
func customerLocation(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// nonZeroCounters lists the counters that are not zero as "name=n", under
// their JSON names and in declaration order. It reads the struct's fields so
// that a counter added to workflows.Counters shows up without a change here.
func nonZeroCounters(c workflows.Counters) []string {
	v := reflect.ValueOf(c)
	t := v.Type()
	var out []string
	for i := range t.NumField() {
		f := v.Field(i)
		if !f.CanInt() || f.Int() == 0 {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		out = append(out, fmt.Sprintf("%s=%d", name, f.Int()))
	}
	return out
}

func stampOr(t *time.Time, stamp func(time.Time) string, absent string) string {
	if t == nil || t.IsZero() {
		return absent
	}
	return stamp(*t)
}

func joinOr(items []string, empty string) string {
	if len(items) == 0 {
		return empty
	}
	return strings.Join(items, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
