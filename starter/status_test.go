package main

import (
	"strings"
	"testing"
	"time"

	"github.com/journeyshq/journeys/workflows"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func timePtr(t time.Time) *time.Time { return &t }

// sampleState is a journey in onboarding whose timeline crosses the start of
// US daylight saving time (2026-03-08), so zone handling shows in the hours.
func sampleState() workflows.State {
	return workflows.State{
		CustomerID: "c-1",
		JourneyID:  "run-1",
		Stage:      workflows.StageOnboarding,
		StageSince: utc("2026-03-02T14:00:00Z"),
		StartedAt:  utc("2026-03-02T14:00:00Z"),
		Profile: workflows.Profile{
			Name: "Ana Lima", Email: "ana@example.com", Phone: "+15551234567",
			Timezone: "America/New_York", Plan: "pro", Seats: 5, CSM: "U0123ABCD",
			SignedUpAt: utc("2026-03-02T14:00:00Z"),
		},
		Milestones:  []string{"first_project", "invited_teammate"},
		ActivatedAt: timePtr(utc("2026-03-09T15:30:00Z")),
		LastLogin:   timePtr(utc("2026-03-10T12:00:05Z")),
		HealthTier:  "green",
		HealthScore: 82,
		StepsDone:   []string{"welcome"},
		Counters:    workflows.Counters{EventsApplied: 4, Logins: 1, EmailsSent: 2},
		Playbook:    "default@9f86d081",
		Timeline: []workflows.TimelineEntry{
			{At: utc("2026-03-02T14:00:00Z"), Kind: workflows.KindEvent, Text: "signed_up"},
			{At: utc("2026-03-02T14:00:01Z"), Kind: workflows.KindSend, Text: "email welcome to ana@example.com"},
			{At: utc("2026-03-09T15:30:00Z"), Kind: workflows.KindDecision, Text: "activated"},
		},
	}
}

func TestRenderStateShowsEveryPart(t *testing.T) {
	got := renderState(sampleState())
	wantLines := []string{
		"customer      c-1 (workflow customer:c-1)",
		"stage         onboarding since 2026-03-02 09:00:00 EST",
		"playbook      default@9f86d081",
		"profile",
		"  name        Ana Lima",
		"  email       ana@example.com",
		"  phone       +15551234567",
		"  timezone    America/New_York",
		"  plan        pro",
		"  seats       5",
		"  csm         U0123ABCD",
		"milestones    first_project, invited_teammate",
		"activated at  2026-03-09 11:30:00 EDT",
		"last login    2026-03-10 08:00:05 EDT",
		"health tier   green, score 82/100",
		"counters      events_applied=4, logins=1, emails_sent=2",
		"timeline (America/New_York)",
		"2026-03-02 09:00:00  event     signed_up",
		"2026-03-02 09:00:01  send      email welcome to ana@example.com",
		"2026-03-09 11:30:00  decision  activated",
	}
	lines := strings.Split(got, "\n")
	for _, want := range wantLines {
		if !containsLine(lines, want) {
			t.Errorf("missing line %q in:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "decision  activated\n") {
		t.Errorf("timeline is not last, oldest first:\n%s", got)
	}
}

func TestRenderStateFallsBackToUTC(t *testing.T) {
	for _, zone := range []string{"", "Mars/Olympus_Mons"} {
		st := sampleState()
		st.Profile.Timezone = zone
		got := renderState(st)
		for _, want := range []string{
			"stage         onboarding since 2026-03-02 14:00:00 UTC",
			"timeline (UTC)",
			"2026-03-09 15:30:00  decision  activated",
		} {
			if !containsLine(strings.Split(got, "\n"), want) {
				t.Errorf("timezone %q: missing line %q in:\n%s", zone, want, got)
			}
		}
	}
}

func TestRenderStateOfEmptyJourney(t *testing.T) {
	got := renderState(workflows.State{CustomerID: "c-9", Stage: workflows.StageNew})
	hasLines(t, got, []string{
		"stage         new",
		"  name        -",
		"  seats       -",
		"milestones    none",
		"activated at  not yet",
		"last login    never",
		"health tier   -, score 0/100",
		"counters      none",
		"timeline      (empty)",
	})
}

// hasLines reports each line of want that got lacks.
func hasLines(t *testing.T, got string, want []string) {
	t.Helper()
	lines := strings.Split(got, "\n")
	for _, w := range want {
		if !containsLine(lines, w) {
			t.Errorf("missing line %q in:\n%s", w, got)
		}
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
