package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/sim"
	"github.com/journeyshq/journeys/workflows"
)

var newYork = mustLoad("America/New_York")

// start is a Monday, 09:00 in New York.
var start = time.Date(2026, 1, 5, 9, 0, 0, 0, newYork)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func parse(t *testing.T, text string) sim.Script {
	t.Helper()
	s, err := sim.ParseScript(strings.NewReader(text))
	require.NoError(t, err)
	return s
}

// simulate runs text for profile p from start on the default playbook.
func simulate(t *testing.T, p sim.Profile, text string) sim.Result {
	t.Helper()
	res, err := sim.Run(context.Background(), sim.Options{Playbook: playbook.Default(), Profile: p, Script: parse(t, text), Start: start})
	require.NoError(t, err)
	return res
}

// sent lists the result's messages and alerts as "day channel template".
func sent(res sim.Result) []string {
	var out []string
	for _, e := range res.Entries {
		if e.Kind == sim.KindMessage || e.Kind == sim.KindAlert {
			out = append(out, fmt.Sprintf("%d %s %s", e.Day, e.Channel, e.Template))
		}
	}
	return out
}

func entries(res sim.Result, kind sim.Kind) []sim.Entry {
	var out []sim.Entry
	for _, e := range res.Entries {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func TestParseErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, script string
		line         int
		msg          string
	}{
		{"bad day", "# comment\n\nday two login", 3, `want a number of days, got "two"`},
		{"negative day", "day -1 login", 1, "outside 0-1825"},
		{"unknown type", "day 1 login\nday 2 logout", 2, `"logout" is not an event type; known types: cancellation_requested`},
		{"no type", "day 2", 1, "want an event type after day 2"},
		{"two bare values", "day 2 login 1 2", 1, `more than one bare value ("1" and "2")`},
		{"unterminated quote", `day 2 nps_response 3 comment="slow`, 1, "unterminated quote"},
		{"bad time", "at tomorrow login", 1, "want an RFC 3339 time"},
		{"unknown keyword", "week 2 login", 1, `got "week"`},
		{"end twice", "end day 10\nend day 20", 2, "the end is set twice (line 1)"},
		{"zero interval", "every 0 days until day 9 login", 1, "interval must be more than 0 days"},
		{"every without until", "every 7 days from day 2 login", 1, `want "every N days`},
		{"key twice", "day 3 nps_response score=3 score=4", 1, "score given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sim.ParseScript(strings.NewReader(tt.script))
			var le *sim.LineError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, tt.line, le.Line)
			assert.Contains(t, err.Error(), fmt.Sprintf("line %d: ", tt.line))
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

// Errors found when the events are built and validated as the edge
// validates them name the line too.
func TestEventErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, script string
		line         int
		msg          string
	}{
		{"score out of range", "day 1 login\nday 5 nps_response 11", 2, "nps_response: data.score: must be from 0 to 10, got 11"},
		{"score missing", "day 5 nps_response", 1, "nps_response: data.score: is required"},
		{"score quoted", `day 5 nps_response score="3"`, 1, "data.score: must be a JSON integer"},
		{"unknown field", "day 2 login foo=1", 1, `login has no field "foo" (fields: count)`},
		{"bad reason", "day 3 cancellation_requested bored", 1, `data.reason: "bored" is not a cancellation reason`},
		{"no bare value", "day 3 profile_updated x", 1, "profile_updated takes no bare value"},
		{"empty profile update", "day 3 profile_updated", 1, "data: must change at least one of"},
		{"nothing to resolve", "day 2 support_ticket resolved", 1, "no open ticket to resolve"},
		{"bad time field", "day 2 renewal_scheduled renews_at=soon", 1, `renews_at: want "day N" or an RFC 3339 time`},
		{"renewal too late", "day 2 renewal_scheduled renews_at=day 1500", 1, "more than 3 years in the future"},
		{"event at the end", "day 5 login\nday 9 login\nend day 9", 2, "login is not before the end of the simulation (day 9, line 3)"},
		{"before the start", "at 2026-01-01T00:00:00Z login", 1, "before the start of the simulation"},
		{"end at the signup", "# no events\nend day 0", 2, "the end (day 0) is not after the signup"},
		{"all milestones", "day 1 milestone_reached\nday 1 milestone_reached\nday 1 milestone_reached\nday 2 milestone_reached", 4, "every playbook milestone is reached already"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parse(t, tt.script).Events(sim.DefaultProfile(), playbook.Default(), start)
			var le *sim.LineError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, tt.line, le.Line)
			assert.Contains(t, err.Error(), fmt.Sprintf("line %d: ", tt.line))
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestBadProfileIsReportedByField(t *testing.T) {
	p := sim.DefaultProfile()
	p.Phone = "555-0100"
	_, err := sim.Run(context.Background(), sim.Options{Playbook: playbook.Default(), Profile: p, Script: parse(t, "day 1 login"), Start: start})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "profile: phone: must be an E.164 phone number")
}

// data decodes an event's data.
func data(t *testing.T, ev signals.Event) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(ev.Data, &m))
	return m
}

func TestEventsFillDefaultsFromTheProfileAndTheScript(t *testing.T) {
	s := parse(t, `
day 1 milestone_reached          # the playbook's first milestone
day 1.5 milestone_reached        # ...then the next
day 2 login 3
day 10 nps_response 3 comment="Reports are slow"   # a comment after the data
day 30 renewal_scheduled
day 40 payment_failed
day 43 payment_failed            # the retry fails too
day 44 payment_succeeded
day 50 payment_failed amount=1000 currency=EUR
day 60 support_ticket priority=high
day 61 support_ticket resolved
day 70 renewal_scheduled renews_at=day 400
day 80 cancellation_requested price in=10
day 90 plan_changed business seats=20
day 95 renewal_scheduled in=300
end day 100
`)
	events, end, err := s.Events(sim.DefaultProfile(), playbook.Default(), start)
	require.NoError(t, err)
	assert.Equal(t, start.Add(100*24*time.Hour), end)
	require.Len(t, events, 16)

	signup := events[0]
	assert.Equal(t, 0, signup.Line, "the profile signs up without a line")
	assert.Equal(t, signals.SignedUp, signup.Event.Type)
	assert.True(t, signup.Event.OccurredAt.Equal(start))
	assert.Equal(t, "America/New_York", data(t, signup.Event)["timezone"])
	assert.Equal(t, 49900.0, data(t, signup.Event)["mrr"])

	byLine := map[int]signals.Event{}
	for _, p := range events {
		assert.Equal(t, "sim-1", p.Event.CustomerID)
		require.NoError(t, p.Event.Validate(p.Event.OccurredAt))
		byLine[p.Line] = p.Event
	}
	day := func(d float64) time.Time { return start.Add(time.Duration(d * float64(24*time.Hour))) }
	assert.Equal(t, "first_project", data(t, byLine[2])["milestone"])
	assert.Equal(t, "invited_teammate", data(t, byLine[3])["milestone"])
	assert.True(t, byLine[3].OccurredAt.Equal(day(1.5)))
	assert.Equal(t, 3.0, data(t, byLine[4])["count"])
	assert.Equal(t, map[string]any{"score": 3.0, "comment": "Reports are slow"}, data(t, byLine[5]))
	assert.Equal(t, day(365).UTC().Format(time.RFC3339), data(t, byLine[6])["renews_at"], "the signup's anniversary")
	assert.Equal(t, 598800.0, data(t, byLine[6])["amount"], "a year of the profile's MRR")

	failed := data(t, byLine[7])
	assert.Equal(t, "in_1", failed["invoice_id"])
	assert.Equal(t, 49900.0, failed["amount"])
	assert.Equal(t, "USD", failed["currency"])
	assert.Equal(t, 1.0, failed["attempt"])
	assert.Equal(t, "https://billing.example.com/update", failed["update_url"])
	assert.Equal(t, "in_1", data(t, byLine[8])["invoice_id"], "a failure while dunning is a retry of the same invoice")
	assert.Equal(t, 2.0, data(t, byLine[8])["attempt"])
	assert.Equal(t, "in_1", data(t, byLine[9])["invoice_id"], "a payment pays the failed invoice")
	assert.Equal(t, "in_2", data(t, byLine[10])["invoice_id"])
	assert.Equal(t, 1000.0, data(t, byLine[10])["amount"])
	assert.Equal(t, "EUR", data(t, byLine[10])["currency"])

	assert.Equal(t, map[string]any{"status": "opened", "ticket_id": "t_1", "priority": "high"}, data(t, byLine[11]))
	assert.Equal(t, map[string]any{"status": "resolved", "ticket_id": "t_1"}, data(t, byLine[12]))
	assert.Equal(t, day(400).UTC().Format(time.RFC3339), data(t, byLine[13])["renews_at"])
	assert.Equal(t, map[string]any{"reason": "price", "effective_at": day(90).UTC().Format(time.RFC3339)}, data(t, byLine[14]))
	assert.Equal(t, map[string]any{"plan": "business", "seats": 20.0, "mrr": 49900.0, "currency": "USD"}, data(t, byLine[15]))
	assert.Equal(t, day(395).UTC().Format(time.RFC3339), data(t, byLine[16])["renews_at"])
}

func TestScriptSignupLineOverridesTheProfile(t *testing.T) {
	events, _, err := parse(t, "day 0.5 signed_up plan=business seats=20 sms_consent=false").Events(sim.DefaultProfile(), playbook.Default(), start)
	require.NoError(t, err)
	require.Len(t, events, 1)
	d := data(t, events[0].Event)
	assert.Equal(t, "business", d["plan"])
	assert.Equal(t, 20.0, d["seats"])
	assert.Equal(t, false, d["sms_consent"])
	assert.Equal(t, "ana@example.com", d["email"], "the rest from the profile")
	assert.True(t, events[0].Event.OccurredAt.Equal(start.Add(12*time.Hour)))
}

func TestRepeatedLines(t *testing.T) {
	events, _, err := parse(t, "every 7 days from day 1 until day 22 login\nat 2026-01-07T12:00:00Z feature_used export_csv").
		Events(sim.DefaultProfile(), playbook.Default(), start)
	require.NoError(t, err)
	var got []string
	for _, p := range events[1:] {
		got = append(got, fmt.Sprintf("%s %s %s", p.Event.EventID, p.Event.Type, p.Event.OccurredAt.In(newYork).Format("Jan 2 15:04")))
	}
	assert.Equal(t, []string{
		"line-1.1 login Jan 6 09:00",
		"line-2 feature_used Jan 7 07:00",
		"line-1.2 login Jan 13 09:00",
		"line-1.3 login Jan 20 09:00",
		"line-1.4 login Jan 27 09:00",
	}, got)
}

func TestYAMLScriptIsTheTextScript(t *testing.T) {
	y, err := sim.ParseYAMLScript([]byte(`
end_day: 60
events:
  - {day: 2, type: login}
  - {day: 5, type: nps_response, data: {score: 3, comment: "Reports are slow"}}
  - {every: 7, day: 14, until: 28, type: login}
  - {day: 30, type: renewal_scheduled, data: {renews_at: day 365}}
`))
	require.NoError(t, err)
	text := parse(t, `
day 2 login
day 5 nps_response comment="Reports are slow" score=3
every 7 days from day 14 until day 28 login
day 30 renewal_scheduled renews_at="day 365"
end day 60
`)
	ye, yend, err := y.Events(sim.DefaultProfile(), playbook.Default(), start)
	require.NoError(t, err)
	te, tend, err := text.Events(sim.DefaultProfile(), playbook.Default(), start)
	require.NoError(t, err)
	assert.Equal(t, tend, yend)
	require.Len(t, ye, len(te))
	for i := range te {
		assert.Equal(t, te[i].Event.Type, ye[i].Event.Type)
		assert.True(t, te[i].Event.OccurredAt.Equal(ye[i].Event.OccurredAt))
		assert.JSONEq(t, string(te[i].Event.Data), string(ye[i].Event.Data))
	}

	_, err = sim.ParseYAMLScript([]byte("events:\n  - {day: 2, type: login}\n  - {day: 3, type: logout}\n"))
	assert.ErrorContains(t, err, `line 3: "logout" is not an event type`)
}

// A signup in New York: the day-1 email goes at 09:00 local time, the
// timeline shows it so, and without a phone the day-7 SMS goes by email.
func TestShortScriptShowsMessagesInLocalTime(t *testing.T) {
	p := sim.DefaultProfile()
	p.Phone = ""
	res := simulate(t, p, "day 0.25 milestone_reached first_project\nend day 10")

	assert.Equal(t, []string{
		"0 email welcome",
		"1 email getting_started",
		"3 email onboarding_nudge",
		"7 email onboarding_nudge", // the day-7 text, by email
		"7 alert not_activated",
		"9 alert escalation", // nobody acknowledged within 2 business days
	}, sent(res))
	day1 := entries(res, sim.KindMessage)[1]
	assert.Equal(t, "Tue 2026-01-06 09:00 EST", day1.At.In(newYork).Format(sim.TimeLayout))
	assert.Equal(t, messages.ChannelEmail, day1.Channel)
	assert.Equal(t, "onboarding.getting_started", day1.Step)
	assert.Equal(t, "ana@example.com", day1.To)
	assert.Equal(t, workflows.StageOnboarding, day1.Stage)
	assert.NotEmpty(t, day1.Detail, "the subject")

	assert.Empty(t, entries(res, sim.KindSuppressed))

	var out bytes.Buffer
	require.NoError(t, res.WriteText(&out, sim.TextOptions{}))
	text := out.String()
	assert.Regexp(t, `Tue 2026-01-06 09:00 EST  day 1 +onboarding +email +getting_started +"`, text)
	assert.Regexp(t, `Mon 2026-01-12 09:00 EST  day 7 +onboarding +decision +onboarding.escalate: onboarding_nudge goes by email, the customer has no phone number`, text)
	assert.Regexp(t, `Mon 2026-01-05 09:00 EST  day 0 +onboarding +stage +new → onboarding \(signed up\)`, text)
	assert.Contains(t, text, "messages     4 email, 0 sms")
	assert.Contains(t, text, "CSM alerts   2 (1 escalated to the team)")
	assert.Contains(t, text, "times in America/New_York")
}

// A failed payment starts the dunning emails; the payment stops them.
func TestDunningStopsWhenThePaymentSucceeds(t *testing.T) {
	res := simulate(t, sim.DefaultProfile(), `
day 0.1 milestone_reached
day 0.1 milestone_reached
day 0.1 milestone_reached
every 3 days from day 1 until day 60 login
day 40 payment_failed
day 44 payment_succeeded
end day 60
`)
	var dunning []string
	for _, e := range res.Entries {
		if strings.HasPrefix(e.Step, "dunning.") && e.Kind != sim.KindCRM {
			dunning = append(dunning, fmt.Sprintf("%d %s %s %s", e.Day, e.Kind, e.Channel, e.Step))
		}
	}
	assert.Equal(t, []string{
		"40 message email dunning.1.failed",
		"43 message email dunning.1.reminder",
		"43 message sms dunning.1.reminder",
		"44 message email dunning.1.recovered",
	}, dunning, "no final reminder, no suspension after the payment")
	assert.Nil(t, res.State.Dunning)
	assert.Equal(t, 1, res.State.Counters.DunningRecovered)
	assert.Empty(t, entries(res, sim.KindAccount))
}

func TestUnpaidInvoiceSuspendsTheAccount(t *testing.T) {
	res := simulate(t, sim.DefaultProfile(), "day 5 payment_failed\nend day 20")
	var steps []string
	for _, e := range res.Entries {
		if strings.HasPrefix(e.Step, "dunning.") && e.Kind != sim.KindCRM {
			steps = append(steps, fmt.Sprintf("%d %s %s", e.Day, e.Kind, e.Step))
		}
	}
	assert.Contains(t, steps, "12 message dunning.1.final_reminder")
	assert.Contains(t, steps, "15 account dunning.1.suspend")
	assert.Contains(t, steps, "15 message dunning.1.suspended")
	assert.True(t, res.State.Suspended)
}

// A churned customer who never comes back: the journey completes on its
// own, and the events after that are reported as not sent.
func TestCompletedJourneyReportsEventsNeverSent(t *testing.T) {
	res := simulate(t, sim.DefaultProfile(), "day 5 subscription_canceled\nday 200 login")
	require.NotNil(t, res.Completed)
	assert.Equal(t, workflows.StageChurned, res.State.Stage)
	assert.True(t, res.End.Equal(start.Add(125*24*time.Hour)), "120 days after the churn, not at the end of the script")
	require.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0], "1 events after the journey completed")
	assert.Contains(t, sent(res), "35 email winback_whats_new")
}

func TestTwoYearsExample(t *testing.T) {
	s, err := sim.LoadScript("testdata/two-years.txt")
	require.NoError(t, err)
	p, err := sim.LoadProfile("testdata/profile.yaml")
	require.NoError(t, err)
	res, err := sim.Run(context.Background(), sim.Options{Playbook: playbook.Default(), Profile: p, Script: s, Start: start})
	require.NoError(t, err)

	st := res.State
	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.Equal(t, playbook.TierHealthy, st.HealthTier)
	assert.Equal(t, "acme-ana", st.CustomerID)
	var stages []workflows.Stage
	for _, v := range res.Summary.Stages {
		stages = append(stages, v.Stage)
	}
	assert.Equal(t, []workflows.Stage{
		workflows.StageOnboarding, workflows.StageAdoption, workflows.StageRenewal, workflows.StageAdoption,
		workflows.StageCancelling, workflows.StageChurned, workflows.StageAdoption,
	}, stages)
	assert.Equal(t, 1, st.Counters.Renewals)
	assert.Equal(t, 1, st.Counters.DunningRecovered)
	assert.Equal(t, 1, st.Counters.Churns)
	assert.Equal(t, 1, st.Counters.Reactivations)
	assert.Zero(t, st.Counters.EventsRejected)
	assert.Empty(t, res.Warnings)
	assert.Empty(t, entries(res, sim.KindError))
	assert.Greater(t, len(res.Runs), 1, "the journey continued as new at its stage boundaries")
	planned, _, err := s.Events(p, playbook.Default(), start)
	require.NoError(t, err)
	assert.Equal(t, len(planned), res.Summary.EventsSent, "every event delivered once, across the hand-overs")
	assert.Equal(t, len(planned), st.Counters.EventsApplied)

	// The timeline holds every message the outbox got, once each.
	assert.Equal(t, st.Counters.EmailsSent, res.Summary.Messages[messages.ChannelEmail])
	assert.Equal(t, st.Counters.SMSSent, res.Summary.Messages[messages.ChannelSMS])
	assert.Equal(t, st.Counters.CSMAlerts, res.Summary.Alerts)
	assert.Equal(t, st.Counters.SendsSuppressed, countWhere(res, func(e sim.Entry) bool {
		return e.Kind == sim.KindSuppressed && e.Template != "" || e.Kind == sim.KindDeferred
	}), "every send suppressed by its class is on the timeline")
	seen := map[string]bool{}
	for _, e := range entries(res, sim.KindMessage) {
		key := string(e.Channel) + " " + e.Step
		assert.False(t, seen[key], "%s twice", key)
		seen[key] = true
	}
	for _, want := range []string{
		"email onboarding.welcome", "email renewal.1.value_recap", "email renewal.1.final_reminder",
		"email dunning.1.failed", "sms dunning.1.reminder", "email dunning.1.recovered",
		"email cancel.1.save_offer", "email winback.1.whats_new", "email winback.1.welcome_back",
	} {
		assert.True(t, seen[want], "%s sent", want)
	}
	var survey []sim.Entry
	for _, e := range entries(res, sim.KindSuppressed) {
		if e.Template == "nps_survey" {
			survey = append(survey, e)
		}
	}
	require.Len(t, survey, 1, "the NPS survey due during dunning")
	assert.Equal(t, 210, survey[0].Day)
	assert.Equal(t, "marketing is paused while a payment is being recovered", survey[0].Why)
}

func countWhere(res sim.Result, f func(sim.Entry) bool) int {
	n := 0
	for _, e := range res.Entries {
		if f(e) {
			n++
		}
	}
	return n
}

func TestCanceledContextStopsTheSimulation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sim.Run(ctx, sim.Options{Playbook: playbook.Default(), Profile: sim.DefaultProfile(), Script: parse(t, "day 30 login"), Start: start})
	assert.True(t, errors.Is(err, context.Canceled), "err = %v", err)
}

// A text due at night shows as deferred, and goes at 09:00 local time.
func TestQuietHoursShowAsDeferred(t *testing.T) {
	p := sim.DefaultProfile()
	p.Timezone = "Asia/Tokyo" // day 7 at 09:00 New York is 23:00 in Tokyo
	res := simulate(t, p, "end day 9")

	deferred := entries(res, sim.KindDeferred)
	require.Len(t, deferred, 1)
	assert.Equal(t, "onboarding.escalate", deferred[0].Step)
	assert.Equal(t, messages.ChannelSMS, deferred[0].Channel)
	assert.Equal(t, "onboarding_nudge", deferred[0].Template)
	// 09:00 and the customer's spread into the window (workflows.SpreadOffset).
	wake := time.Date(2026, 1, 13, 9, 0, 0, 0, mustLoad("Asia/Tokyo")).Add(workflows.SpreadOffset(p.CustomerID, 11*time.Hour/workflows.SpreadShare))
	assert.Equal(t, "quiet hours: sms may go from "+wake.Format("Mon Jan 2 15:04 MST"), deferred[0].Why)
	var sms []sim.Entry
	for _, e := range entries(res, sim.KindMessage) {
		if e.Channel == messages.ChannelSMS {
			sms = append(sms, e)
		}
	}
	require.Len(t, sms, 1)
	assert.Equal(t, wake.Format(sim.TimeLayout), sms[0].At.In(mustLoad("Asia/Tokyo")).Format(sim.TimeLayout))
	assert.Equal(t, 1, res.Summary.Deferred)
}
