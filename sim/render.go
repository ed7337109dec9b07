package sim

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/workflows"
)

// TimeLayout is how WriteText shows a time, in the customer's zone.
const TimeLayout = "Mon 2006-01-02 15:04 MST"

// detailWidth is where WriteText cuts a long subject or body.
const detailWidth = 90

// TextOptions choose what WriteText prints.
type TextOptions struct {
	// All prints the entries left out by default too: logins, CRM records
	// and hand-overs to a new run.
	All bool
}

// WriteText prints the result as a readable timeline, one entry per line
// in the customer's time zone, and a summary.
func (r Result) WriteText(w io.Writer, o TextOptions) error {
	loc := r.location()
	var b strings.Builder
	r.writeHeader(&b, loc)
	for _, e := range r.Entries {
		if o.All || !routine(e) {
			b.WriteString(formatEntry(e, loc))
		}
	}
	r.writeSummary(&b, loc)
	_, err := io.WriteString(w, b.String())
	return err
}

// location is the customer's zone at the end, else the profile's, else UTC.
func (r Result) location() *time.Location {
	for _, name := range []string{r.State.Profile.Timezone, r.Profile.Timezone} {
		if name == "" {
			continue
		}
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return time.UTC
}

// routine reports whether e is left out of the default timeline: it is
// frequent and says little about what the customer receives.
func routine(e Entry) bool {
	switch e.Kind {
	case KindCRM, KindRun:
		return true
	case KindEvent:
		return e.Detail == "login"
	}
	return false
}

func (r Result) writeHeader(b *strings.Builder, loc *time.Location) {
	p := r.Profile
	who := p.CustomerID
	if p.Name != "" {
		who += " (" + p.Name + ")"
	}
	fmt.Fprintf(b, "Simulated journey of %s: %s, %d seats, %s a month; playbook %s\n",
		who, orDash(p.Plan), p.Seats, money(p.MRR, p.Currency), orDash(r.Playbook))
	fmt.Fprintf(b, "From %s to %s, times in %s\n\n", r.Start.In(loc).Format(TimeLayout), r.End.In(loc).Format(TimeLayout), loc)
}

// formatEntry is one timeline line: time, journey day, stage, kind, then
// what was sent or decided.
func formatEntry(e Entry, loc *time.Location) string {
	day := "-"
	if e.Day >= 0 {
		day = fmt.Sprint(e.Day)
	}
	head := fmt.Sprintf("%s  day %-4s %-11s %-10s ", e.At.In(loc).Format(TimeLayout), day, e.Stage, label(e))
	var what string
	switch e.Kind {
	case KindMessage, KindAlert, KindAccount, KindCRM:
		what = fmt.Sprintf("%-26s %s", sendName(e), quote(e.Detail))
	case KindSuppressed, KindDeferred:
		// The journey's own words, after the step they name.
		name, text := e.Step, strings.TrimPrefix(e.Detail, e.Step+": ")
		if name == "" {
			name = "-"
		}
		what = fmt.Sprintf("%-26s %s", name, cut(text))
	case KindStage:
		what = e.Detail
		if e.Why != "" {
			what += " (" + cut(e.Why) + ")"
		}
	default:
		what = cut(e.Detail)
	}
	return strings.TrimRight(head+what, " ") + "\n"
}

// label is the kind column: a message's channel, else the kind.
func label(e Entry) string {
	if e.Kind == KindMessage && e.Channel != "" {
		return string(e.Channel)
	}
	return string(e.Kind)
}

// sendName names a send: its template, and whom an alert went to.
func sendName(e Entry) string {
	name := e.Template
	if name == "" {
		name = e.Step
	}
	if e.Kind == KindAlert && e.To != "" {
		name += " → " + e.To
	}
	return name
}

func quote(s string) string {
	if s == "" {
		return ""
	}
	return `"` + cut(s) + `"`
}

// cut makes s one line of at most detailWidth characters.
func cut(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= detailWidth {
		return s
	}
	return string([]rune(s)[:detailWidth-1]) + "…"
}

func (r Result) writeSummary(b *strings.Builder, loc *time.Location) {
	s := r.Summary
	line := func(label, format string, args ...any) {
		fmt.Fprintf(b, "  %-12s %s\n", label, fmt.Sprintf(format, args...))
	}
	b.WriteString("\nSummary\n")
	line("messages", "%d email, %d sms", s.Messages[messages.ChannelEmail], s.Messages[messages.ChannelSMS])
	line("CSM alerts", "%d (%d escalated to the team)", s.Alerts, s.Escalations)
	line("not sent", "%d suppressed, %d deferred", s.Suppressed, s.Deferred)
	line("events", "%d sent, %d rejected", s.EventsSent, s.EventsRejected)
	line("stages", "%s", stagePath(s.Stages))
	line("runs", "%d", s.Runs)
	final := string(s.FinalStage)
	if since := r.State.StageSince; !since.IsZero() {
		final += " since " + since.In(loc).Format(TimeLayout)
	}
	if s.HealthTier != "" {
		final += fmt.Sprintf(", health %d (%s)", s.HealthScore, s.HealthTier)
	}
	line("final stage", "%s", final)
	if r.Completed != nil {
		line("completed", "the journey ended on %s", r.Completed.EndedAt.In(loc).Format(TimeLayout))
	}
	for _, w := range r.Warnings {
		line("warning", "%s", w)
	}
}

func stagePath(visits []workflows.StageVisit) string {
	if len(visits) == 0 {
		return "-"
	}
	names := make([]string, len(visits))
	for i, v := range visits {
		names[i] = string(v.Stage)
	}
	return strings.Join(names, " → ")
}

// money shows an amount in minor units (cents) with its currency.
func money(minor int64, currency string) string {
	if currency == "" {
		currency = "USD"
	}
	return fmt.Sprintf("%s %d.%02d", currency, minor/100, minor%100)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
