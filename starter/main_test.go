package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// runCLI runs the real entry point; only for paths that never reach Temporal.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunUsageAndHelp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStdout bool
	}{
		{name: "unknown command", args: []string{"launch"}, code: 2, stderr: `starter: unknown command "launch"`, noStdout: true},
		{name: "flag as command", args: []string{"--customer", "c-1"}, code: 2, stderr: `unknown command "--customer"`, noStdout: true},
		{name: "signup without customer", args: []string{"signup", "--email", "ana@example.com"}, code: 2, stderr: "starter: --customer is required\nRun 'starter signup -h' for usage.", noStdout: true},
		{name: "event bad data", args: []string{"event", "--customer", "c-1", "--type", "login", "--data", "oops"}, code: 2, stderr: "want key=value", noStdout: true},
		{name: "event positional", args: []string{"event", "--customer", "c-1", "--type", "login", "now"}, code: 2, stderr: `unexpected argument "now"`, noStdout: true},
		{name: "no arguments", args: nil, code: 2, stderr: "Usage:\n  starter signup", noStdout: true},
		{name: "help", args: []string{"help"}, code: 0, stdout: "TEMPORAL_NAMESPACE"},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: "starter status [--json] CUSTOMER-ID"},
		{name: "help event", args: []string{"help", "event"}, code: 0, stdout: "--data key=value"},
		{name: "help unknown", args: []string{"help", "launch"}, code: 2, stderr: `unknown command "launch"`},
		{name: "signup -h", args: []string{"signup", "-h"}, code: 0, stdout: "Usage: starter signup --customer ID --email ADDRESS [flags]"},
		{name: "status -h", args: []string{"status", "-h"}, code: 0, stdout: "--namespace NAMESPACE"},
		{name: "invalid event is reported before connecting", args: []string{"signup", "--customer", "c-1", "--email", "ana", "--address", "127.0.0.1:1"}, code: 1,
			stderr: "starter: invalid event: data.email: must be a plain email address like ana@example.com\n", noStdout: true},
		{name: "unknown event type", args: []string{"event", "--customer", "c-1", "--type", "logout", "--address", "127.0.0.1:1"}, code: 1,
			stderr: `starter: invalid event: type: "logout" is not an event type`, noStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.stderr)
			}
			if tt.noStdout && stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

// fakeJourneys records what the commands send and answers as configured.
type fakeJourneys struct {
	sent     []signals.Event
	sendErr  error
	state    workflows.State
	stateErr error
	asked    []string
	answers  []workflows.AlertResponse
	alert    workflows.Alert
	alertErr error
}

func (f *fakeJourneys) AnswerAlert(_ context.Context, customerID string, in workflows.AlertResponse) (workflows.Alert, error) {
	f.asked = append(f.asked, customerID)
	f.answers = append(f.answers, in)
	return f.alert, f.alertErr
}

func (f *fakeJourneys) Send(_ context.Context, ev signals.Event) error {
	f.sent = append(f.sent, ev)
	return f.sendErr
}

func (f *fakeJourneys) State(_ context.Context, customerID string) (workflows.State, error) {
	f.asked = append(f.asked, customerID)
	return f.state, f.stateErr
}

// testApp is an app over fake, recording the connection settings it was
// asked to use and whether the connection was closed.
type testApp struct {
	app
	stdout, stderr bytes.Buffer
	conns          []connSettings
	closed         int
}

func newTestApp(fake *fakeJourneys, env map[string]string, connectErr error) *testApp {
	ta := &testApp{}
	ta.app = app{
		stdout: &ta.stdout,
		stderr: &ta.stderr,
		getenv: mapEnv(env),
		now:    func() time.Time { return testNow },
		newID:  func() string { return "3f2a9c10-0000-4000-8000-000000000001" },
		connect: func(c connSettings) (journeys, func(), error) {
			ta.conns = append(ta.conns, c)
			if connectErr != nil {
				return nil, nil, connectErr
			}
			return fake, func() { ta.closed++ }, nil
		},
	}
	return ta
}

func TestSignupSendsAndConfirms(t *testing.T) {
	fake := &fakeJourneys{}
	ta := newTestApp(fake, map[string]string{envAddress: "temporal:7233"}, nil)
	code := ta.run([]string{"signup", "--customer", "c-1", "--email", "ana@example.com", "--phone", "+15551234567", "--plan", "pro", "--tz", "America/New_York"})
	if code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, ta.stderr.String())
	}
	want := "accepted signed_up event 3f2a9c10-0000-4000-8000-000000000001 for customer c-1 (workflow customer:c-1)\n"
	if got := ta.stdout.String(); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if len(fake.sent) != 1 || fake.sent[0].Type != signals.SignedUp || fake.sent[0].CustomerID != "c-1" {
		t.Fatalf("sent = %+v, want one signed_up for c-1", fake.sent)
	}
	if len(ta.conns) != 1 || ta.conns[0] != (connSettings{Address: "temporal:7233", Namespace: "default", DataDir: ".data"}) {
		t.Errorf("connections = %+v, want one to temporal:7233/default", ta.conns)
	}
	if ta.closed != 1 {
		t.Errorf("connection closed %d times, want 1", ta.closed)
	}
}

func TestEventSendsData(t *testing.T) {
	fake := &fakeJourneys{}
	ta := newTestApp(fake, nil, nil)
	code := ta.run([]string{"event", "--customer", "c-1", "--type", "milestone_reached", "--data", "milestone=first_project", "--event-id", "m-1"})
	if code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, ta.stderr.String())
	}
	if got, want := ta.stdout.String(), "accepted milestone_reached event m-1 for customer c-1 (workflow customer:c-1)\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if len(fake.sent) != 1 || string(fake.sent[0].Data) != `{"milestone":"first_project"}` {
		t.Errorf("sent = %+v, want milestone first_project", fake.sent)
	}
}

func TestInvalidEventNeverConnects(t *testing.T) {
	fake := &fakeJourneys{}
	ta := newTestApp(fake, nil, nil)
	code := ta.run([]string{"event", "--customer", "c-1", "--type", "milestone_reached"})
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if got, want := ta.stderr.String(), "starter: invalid event: data.milestone: is required\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if len(ta.conns) != 0 {
		t.Errorf("connected %d times for an invalid event, want 0", len(ta.conns))
	}
}

func TestErrorsAreExplained(t *testing.T) {
	unavailable := fmt.Errorf("send login event e-1 to customer:c-2: %w: connection refused", sender.ErrUnavailable)
	unknown := fmt.Errorf("send login event e-1 to customer:c-2: %w", sender.ErrUnknownCustomer)
	tests := []struct {
		name       string
		args       []string
		sendErr    error
		stateErr   error
		connectErr error
		want       string
	}{
		{"event for unknown customer", []string{"event", "--customer", "c-2", "--type", "login"}, unknown, nil, nil,
			"starter: no journey for customer c-2: sign them up first (starter signup --customer c-2 ...)\n"},
		{"status of unknown customer", []string{"status", "c-2"}, nil, unknown, nil,
			"starter: no journey for customer c-2: sign them up first (starter signup --customer c-2 ...)\n"},
		{"send while Temporal is down", []string{"event", "--customer", "c-2", "--type", "login", "--address", "10.0.0.9:7233"}, unavailable, nil, nil,
			"starter: Temporal at 10.0.0.9:7233 is not reachable: is the worker running (go run ./worker --dev)?\n"},
		{"connect fails", []string{"status", "c-2"}, nil, nil, fmt.Errorf("connect: %w", sender.ErrUnavailable),
			"starter: Temporal at 127.0.0.1:7233 is not reachable: is the worker running (go run ./worker --dev)?\n"},
		{"sender rejects a field", []string{"event", "--customer", "c-2", "--type", "login"}, &signals.FieldError{Field: "data.x", Message: "is odd"}, nil, nil,
			"starter: invalid event: data.x: is odd\n"},
		{"other failure keeps its text", []string{"status", "c-2"}, nil, errors.New("sender: decode state: boom"), nil,
			"starter: sender: decode state: boom\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestApp(&fakeJourneys{sendErr: tt.sendErr, stateErr: tt.stateErr}, nil, tt.connectErr)
			if code := ta.run(tt.args); code != 1 {
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

func TestStatusPrintsTextAndJSON(t *testing.T) {
	fake := &fakeJourneys{state: sampleState()}
	ta := newTestApp(fake, nil, nil)
	if code := ta.run([]string{"status", "c-1"}); code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, ta.stderr.String())
	}
	if got := ta.stdout.String(); got != renderState(sampleState()) {
		t.Errorf("status text = %q, want renderState's", got)
	}
	if len(fake.asked) != 1 || fake.asked[0] != "c-1" {
		t.Errorf("asked state of %q, want [c-1]", fake.asked)
	}

	ta = newTestApp(fake, nil, nil)
	if code := ta.run([]string{"status", "--json", "--customer", "c-1"}); code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, ta.stderr.String())
	}
	out := ta.stdout.String()
	if !strings.Contains(out, "\n  \"customer_id\": \"c-1\",\n") {
		t.Errorf("--json output is not indented JSON of the state:\n%s", out)
	}
	var back workflows.State
	if err := json.Unmarshal([]byte(out), &back); err != nil {
		t.Fatalf("--json output does not decode: %v", err)
	}
	if back.Stage != workflows.StageOnboarding || len(back.Timeline) != len(sampleState().Timeline) {
		t.Errorf("decoded state = %+v, want the sample", back)
	}
}
