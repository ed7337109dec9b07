package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

const testAlertKey = "customer:c-1/j-1/onboarding.escalate/alert"

func TestParseAlertMapsFlagsIntoTheAnswer(t *testing.T) {
	tests := []struct {
		args []string
		want alertCmd
	}{
		{[]string{"--customer", "c-1", "--key", testAlertKey, "--action", "acknowledge", "--by", "U0123ABCD"},
			alertCmd{customerID: "c-1", response: workflows.AlertResponse{AlertKey: testAlertKey, Action: workflows.AlertActionAcknowledge, By: "U0123ABCD"}}},
		{[]string{"--action", "snooze", "--json", "--key", testAlertKey, "--customer", "c-1"},
			alertCmd{customerID: "c-1", json: true, response: workflows.AlertResponse{AlertKey: testAlertKey, Action: workflows.AlertActionSnooze}}},
	}
	for _, tt := range tests {
		cmd, err := parseAlert(tt.args, noEnv)
		if err != nil {
			t.Errorf("parseAlert(%q): %v", tt.args, err)
			continue
		}
		tt.want.conn = connSettings{Address: defaultAddress, Namespace: defaultNamespace, DataDir: defaultDataDir}
		if cmd != tt.want {
			t.Errorf("parseAlert(%q) = %+v\nwant %+v", tt.args, cmd, tt.want)
		}
	}
}

func TestParseAlertConnectionFromEnvAndFlags(t *testing.T) {
	env := mapEnv(map[string]string{envAddress: "temporal.internal:7233", envNamespace: "journeys"})
	cmd, err := parseAlert([]string{"--customer", "c-1", "--key", "k", "--action", "snooze", "--namespace", "staging"}, env)
	if err != nil {
		t.Fatalf("parseAlert: %v", err)
	}
	if want := (connSettings{Address: "temporal.internal:7233", Namespace: "staging", DataDir: defaultDataDir}); cmd.conn != want {
		t.Errorf("conn = %+v, want %+v", cmd.conn, want)
	}
}

func TestParseAlertUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no flags", nil, "--action is required"},
		{"without customer", []string{"--key", "k", "--action", "acknowledge"}, "--customer is required"},
		{"without key", []string{"--customer", "c-1", "--action", "acknowledge"}, "--key is required"},
		{"empty key", []string{"--customer", "c-1", "--key", "", "--action", "acknowledge"}, "--key is required"},
		{"without action", []string{"--customer", "c-1", "--key", "k"}, "--action is required"},
		{"unknown action", []string{"--customer", "c-1", "--key", "k", "--action", "ignore"}, `unknown --action "ignore": want acknowledge or snooze`},
		{"action in capitals", []string{"--customer", "c-1", "--key", "k", "--action", "Acknowledge"}, `unknown --action "Acknowledge"`},
		{"key with spaces", []string{"--customer", "c-1", "--key", " k ", "--action", "snooze"}, "has spaces around it"},
		{"bad customer ID", []string{"--customer", "c 1", "--key", "k", "--action", "snooze"}, `--customer "c 1"`},
		{"argument", []string{"--customer", "c-1", "--key", "k", "--action", "snooze", "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"--customer", "c-1", "--key", "k", "--action", "snooze", "--until", "1h"}, "flag provided but not defined: -until"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAlert(tt.args, noEnv)
			var u *usageError
			if !errors.As(err, &u) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if u.cmd != "alert" || !strings.Contains(u.msg, tt.want) {
				t.Errorf("usage error = {%s %q}, want {alert ...%q...}", u.cmd, u.msg, tt.want)
			}
		})
	}
}

func TestAlertUsageErrorsNeverConnect(t *testing.T) {
	fake := &fakeJourneys{}
	ta := newTestApp(fake, nil, nil)
	if code := ta.run([]string{"alert", "--customer", "c-1", "--key", "k", "--action", "dismiss"}); code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	want := "starter: unknown --action \"dismiss\": want acknowledge or snooze\nRun 'starter alert -h' for usage.\n"
	if got := ta.stderr.String(); got != want {
		t.Errorf("stderr = %q\nwant     %q", got, want)
	}
	if len(ta.conns) != 0 || len(fake.answers) != 0 {
		t.Errorf("connected %d times and answered %d alerts on a usage error, want none", len(ta.conns), len(fake.answers))
	}
}

func TestAlertHelp(t *testing.T) {
	for _, args := range [][]string{{"alert", "-h"}, {"help", "alert"}} {
		code, stdout, stderr := runCLI(args...)
		if code != 0 || stderr != "" {
			t.Errorf("%q: exit code %d, stderr %q; want 0 and nothing", args, code, stderr)
		}
		for _, want := range []string{"Usage: starter alert --customer ID --key KEY --action acknowledge|snooze", "--by WHO", "--json", "--namespace NAMESPACE"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%q: stdout does not contain %q:\n%s", args, want, stdout)
			}
		}
	}
	if !strings.Contains(topUsage(), "starter alert  --customer ID --key KEY --action acknowledge|snooze [--by WHO] [--json]") {
		t.Error("the top usage does not list the alert command")
	}
}

func sampleAlert() workflows.Alert {
	raised := time.Date(2026, 3, 2, 13, 59, 10, 0, time.UTC)
	answered := testNow
	return workflows.Alert{
		Key: testAlertKey, Step: "onboarding.escalate", Template: "not_activated",
		RaisedAt: raised, Status: workflows.AlertAcknowledged, AnsweredBy: "U0123ABCD", AnsweredAt: &answered,
	}
}

func TestAlertAnswersTheJourneyAndPrintsTheAlert(t *testing.T) {
	fake := &fakeJourneys{alert: sampleAlert()}
	ta := newTestApp(fake, map[string]string{envAddress: "temporal:7233"}, nil)
	code := ta.run([]string{"alert", "--customer", "c-1", "--key", testAlertKey, "--action", "acknowledge", "--by", "U0123ABCD"})
	if code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, ta.stderr.String())
	}
	want := workflows.AlertResponse{AlertKey: testAlertKey, Action: workflows.AlertActionAcknowledge, By: "U0123ABCD"}
	if len(fake.answers) != 1 || fake.answers[0] != want || len(fake.asked) != 1 || fake.asked[0] != "c-1" {
		t.Fatalf("answers = %+v for %q, want [%+v] for c-1", fake.answers, fake.asked, want)
	}
	wantOut := "the not_activated alert of customer c-1 is acknowledged\n" +
		"step          onboarding.escalate\n" +
		"raised at     2026-03-02 13:59:10 UTC\n" +
		"answered by   U0123ABCD\n" +
		"answered at   2026-03-02 14:00:00 UTC\n" +
		"key           " + testAlertKey + "\n"
	if got := ta.stdout.String(); got != wantOut {
		t.Errorf("stdout =\n%s\nwant\n%s", got, wantOut)
	}
	if len(ta.conns) != 1 || ta.conns[0].Address != "temporal:7233" || ta.closed != 1 {
		t.Errorf("connections = %+v, closed %d times; want one to temporal:7233, closed once", ta.conns, ta.closed)
	}
}

func TestAlertSnoozedShowsWhenItWakes(t *testing.T) {
	al := sampleAlert()
	until := testNow.Add(30 * time.Second)
	al.Status, al.SnoozedUntil = workflows.AlertSnoozed, &until
	ta := newTestApp(&fakeJourneys{alert: al}, nil, nil)
	if code := ta.run([]string{"alert", "--customer", "c-1", "--key", testAlertKey, "--action", "snooze"}); code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, ta.stderr.String())
	}
	out := ta.stdout.String()
	for _, want := range []string{"alert of customer c-1 is snoozed\n", "snoozed until 2026-03-02 14:00:30 UTC; it escalates"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, out)
		}
	}
}

func TestAlertJSON(t *testing.T) {
	ta := newTestApp(&fakeJourneys{alert: sampleAlert()}, nil, nil)
	if code := ta.run([]string{"alert", "--customer", "c-1", "--key", testAlertKey, "--action", "acknowledge", "--json"}); code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, ta.stderr.String())
	}
	out := ta.stdout.String()
	if !strings.Contains(out, "\n  \"status\": \"acknowledged\",\n") {
		t.Errorf("--json output is not indented JSON of the alert:\n%s", out)
	}
	var back workflows.Alert
	if err := json.Unmarshal([]byte(out), &back); err != nil {
		t.Fatalf("--json output does not decode: %v", err)
	}
	if back.Key != testAlertKey || back.AnsweredBy != "U0123ABCD" || back.AnsweredAt == nil || !back.AnsweredAt.Equal(testNow) {
		t.Errorf("decoded alert = %+v, want the sample", back)
	}
}

func TestAlertErrorsAreExplained(t *testing.T) {
	tests := []struct {
		name       string
		alertErr   error
		connectErr error
		want       string
	}{
		{"no such alert", fmt.Errorf("answer alert of customer:c-1: %w: no alert \"k-9\" on this journey", sender.ErrRejected), nil,
			"starter: the journey of customer c-1 refused the answer: no alert \"k-9\" on this journey ('starter status --json c-1' lists its alerts and their keys)\n"},
		{"unknown customer", fmt.Errorf("answer alert of customer:c-1: %w", sender.ErrUnknownCustomer), nil,
			"starter: no journey for customer c-1: sign them up first (starter signup --customer c-1 ...)\n"},
		{"Temporal down", fmt.Errorf("answer alert of customer:c-1: %w: deadline exceeded", sender.ErrUnavailable), nil,
			"starter: Temporal at 127.0.0.1:7233 is not reachable: is the worker running (go run ./worker --dev)?\n"},
		{"connect fails", nil, fmt.Errorf("connect: %w", sender.ErrUnavailable),
			"starter: Temporal at 127.0.0.1:7233 is not reachable: is the worker running (go run ./worker --dev)?\n"},
		{"other failure keeps its text", errors.New("sender: answer alert of customer:c-1: boom"), nil,
			"starter: sender: answer alert of customer:c-1: boom\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestApp(&fakeJourneys{alertErr: tt.alertErr}, nil, tt.connectErr)
			if code := ta.run([]string{"alert", "--customer", "c-1", "--key", "k-9", "--action", "acknowledge"}); code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			if got := ta.stderr.String(); got != tt.want {
				t.Errorf("stderr = %q\nwant     %q", got, tt.want)
			}
			if ta.stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", ta.stdout.String())
			}
		})
	}
}
