package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// TestConsentPrintsTheRecordOfARealJourney signs a customer up on the
// embedded Temporal server with consent to texts, has them unsubscribe by
// one click, and reads the record back as JSON: entries with RFC 3339
// times and their sources.
func TestConsentPrintsTheRecordOfARealJourney(t *testing.T) {
	cli := startJourneys(t, t.TempDir())
	if code, _, stderr := cli("signup", "--customer", "c-1", "--email", "ana@example.com", "--phone", "+15551234567", "--sms-consent"); code != 0 {
		t.Fatalf("signup: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli("event", "--customer", "c-1", "--type", "consent_changed", "--at", "2026-03-02T15:04:05Z",
		"--data", "channel=email", "--data", "status=opted_out", "--data", "source=one_click"); code != 0 {
		t.Fatalf("event: exit %d: %s", code, stderr)
	}
	var stdout string
	waitFor(t, func() bool {
		var code int
		code, stdout, _ = cli("consent", "c-1", "--json")
		return code == 0 && strings.Count(stdout, `"source"`) == 2
	}, "the record has the signup's and the one-click words")

	var got []map[string]string
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("--json is not an array of entries: %v\n%s", err, stdout)
	}
	if got[0]["source"] != workflows.ConsentSourceSignup || got[0]["channel"] != signals.ConsentSMS || got[0]["status"] != signals.ConsentOptedIn {
		t.Errorf("first entry = %v, want the signup's consent to texts", got[0])
	}
	want := map[string]string{"occurred_at": "2026-03-02T15:04:05Z", "channel": "email", "class": "marketing",
		"status": "opted_out", "source": "one_click", "outcome": "applied"}
	for k, v := range want {
		if got[1][k] != v {
			t.Errorf("one-click entry %s = %q, want %q (entry %v)", k, got[1][k], v, got[1])
		}
	}
	if _, err := time.Parse(time.RFC3339, got[0]["occurred_at"]); err != nil {
		t.Errorf("occurred_at is not RFC 3339: %v", err)
	}
	if strings.Contains(stdout, "ana@example.com") || strings.Contains(stdout, "+1555") {
		t.Errorf("the record shows an address:\n%s", stdout)
	}
}

// sampleConsent is a record of two words, in New York's zone.
func sampleConsent() workflows.State {
	st := sampleState()
	st.Profile.SMSConsent = true
	st.Consent = workflows.ConsentState{EmailLifecycleOptedOut: true, History: []workflows.ConsentEntry{
		{OccurredAt: utc("2026-03-02T14:00:00Z"), Channel: "sms", Status: "opted_in", Source: "signup", Outcome: "applied"},
		{OccurredAt: utc("2026-03-03T14:00:00Z"), Channel: "email", Class: "lifecycle", Status: "opted_out", Source: "preferences", Outcome: "applied"},
	}}
	return st
}

func TestConsentPrintsATableAndEmptyJSON(t *testing.T) {
	ta := newTestApp(&fakeJourneys{state: sampleConsent()}, nil, nil)
	if code := ta.run([]string{"consent", "c-1"}); code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, ta.stderr.String())
	}
	hasLines(t, ta.stdout.String(), []string{
		"OCCURRED (America/New_York)  CHANNEL  CLASS      STATUS     SOURCE       OUTCOME  REASON",
		"2026-03-03 09:00:00          email    lifecycle  opted_out  preferences  applied  -",
	})

	ta = newTestApp(&fakeJourneys{state: sampleState()}, nil, nil)
	if code := ta.run([]string{"consent", "--json", "c-1"}); code != 0 || ta.stdout.String() != "[]\n" {
		t.Errorf("empty record: exit %d, stdout %q; want []", code, ta.stdout.String())
	}
}

func TestStatusShowsConsent(t *testing.T) {
	hasLines(t, renderState(sampleConsent()), []string{
		"consent",
		"  sms         consented",
		"  marketing   allowed",
		"  lifecycle   opted out",
		"    2026-03-03 09:00:00  email lifecycle opted_out by preferences: applied",
	})
}
