package main

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/journeyshq/journeys/signals"
)

var testNow = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)

func testDefaults() eventDefaults {
	return eventDefaults{now: testNow, newID: func() string { return "generated-id" }}
}

// noEnv is an environment with nothing set.
func noEnv(string) string { return "" }

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseSignupMapsFlagsIntoData(t *testing.T) {
	cmd, err := parseSignup([]string{
		"--customer", "c-1", "--email", "ana@example.com", "--name", "Ana Lima",
		"--phone", "+15551234567", "--plan", "pro", "--seats", "5",
		"--tz", "America/New_York", "--csm", "U0123ABCD",
		"--sms-consent", "--mrr", "49900", "--currency", "EUR",
	}, noEnv, testDefaults())
	if err != nil {
		t.Fatalf("parseSignup: %v", err)
	}
	ev := cmd.event
	if ev.Type != signals.SignedUp || ev.CustomerID != "c-1" || ev.EventID != "generated-id" || !ev.OccurredAt.Equal(testNow) {
		t.Errorf("envelope = %+v, want signed_up for c-1 with generated-id at %v", ev, testNow)
	}
	var got map[string]any
	if err := json.Unmarshal(ev.Data, &got); err != nil {
		t.Fatalf("data %s: %v", ev.Data, err)
	}
	want := map[string]any{
		"name": "Ana Lima", "email": "ana@example.com", "phone": "+15551234567",
		"timezone": "America/New_York", "plan": "pro", "seats": 5.0, "csm": "U0123ABCD",
		"sms_consent": true, "mrr": 49900.0, "currency": "EUR",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("data = %v\nwant   %v", got, want)
	}
	if err := ev.Validate(testNow); err != nil {
		t.Errorf("event does not validate: %v", err)
	}
}

func TestParseSignupMinimalLeavesOptionalFieldsOut(t *testing.T) {
	cmd, err := parseSignup([]string{"--customer", "c-1", "--email", "ana@example.com"}, noEnv, testDefaults())
	if err != nil {
		t.Fatalf("parseSignup: %v", err)
	}
	if got, want := string(cmd.event.Data), `{"email":"ana@example.com"}`; got != want {
		t.Errorf("data = %s, want %s", got, want)
	}
}

func TestParseEventIDAndAtOverrideDefaults(t *testing.T) {
	cmd, err := parseEvent([]string{
		"--customer", "c-1", "--type", "login",
		"--event-id", "login-42", "--at", "2026-03-01T08:30:00-05:00",
	}, noEnv, testDefaults())
	if err != nil {
		t.Fatalf("parseEvent: %v", err)
	}
	want := time.Date(2026, 3, 1, 13, 30, 0, 0, time.UTC)
	if cmd.event.EventID != "login-42" || !cmd.event.OccurredAt.Equal(want) {
		t.Errorf("event = %+v, want ID login-42 at %v", cmd.event, want)
	}
	if cmd.event.Data != nil {
		t.Errorf("data = %s, want none", cmd.event.Data)
	}
}

func TestParseEventDataCoercesValues(t *testing.T) {
	tests := []struct{ value, want string }{
		{"first_project", `"first_project"`},
		{"5", `5`},
		{"-1.5e3", `-1.5e3`},
		{"true", `true`},
		{"false", `false`},
		{"null", `null`},
		{"007", `"007"`},
		{"", `""`},
		{" 5", `" 5"`},
		{"True", `"True"`},
		{`{"a":1}`, `"{\"a\":1}"`},
		{"[1,2]", `"[1,2]"`},
		{"a=b", `"a=b"`},
		{"+15551234567", `"+15551234567"`},
	}
	for _, tt := range tests {
		cmd, err := parseEvent([]string{"--customer", "c-1", "--type", "profile_updated", "--data", "v=" + tt.value}, noEnv, testDefaults())
		if err != nil {
			t.Errorf("--data v=%s: %v", tt.value, err)
			continue
		}
		if got, want := string(cmd.event.Data), `{"v":`+tt.want+`}`; got != want {
			t.Errorf("--data v=%s: data = %s, want %s", tt.value, got, want)
		}
	}
}

func TestParseEventMilestoneFromData(t *testing.T) {
	cmd, err := parseEvent([]string{"--customer", "c-1", "--type", "milestone_reached", "--data", "milestone=first_project"}, noEnv, testDefaults())
	if err != nil {
		t.Fatalf("parseEvent: %v", err)
	}
	p, err := cmd.event.Payload()
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	if got := p.(signals.MilestoneReachedData).Milestone; got != "first_project" {
		t.Errorf("milestone = %q, want first_project", got)
	}
	if err := cmd.event.Validate(testNow); err != nil {
		t.Errorf("event does not validate: %v", err)
	}
}

func TestParseEventRepeatedData(t *testing.T) {
	cmd, err := parseEvent([]string{"--customer", "c-1", "--type", "profile_updated", "--data", "plan=business", "--data", "seats=12"}, noEnv, testDefaults())
	if err != nil {
		t.Fatalf("parseEvent: %v", err)
	}
	if got, want := string(cmd.event.Data), `{"plan":"business","seats":12}`; got != want {
		t.Errorf("data = %s, want %s", got, want)
	}
}

func TestParseEventJSONIsSentCompacted(t *testing.T) {
	cmd, err := parseEvent([]string{"--customer", "c-1", "--type", "profile_updated", "--json", `{ "seats": 3, "phone": "" }`}, noEnv, testDefaults())
	if err != nil {
		t.Fatalf("parseEvent: %v", err)
	}
	if got, want := string(cmd.event.Data), `{"seats":3,"phone":""}`; got != want {
		t.Errorf("data = %s, want %s", got, want)
	}
}

func TestParseEventDataAndJSONAreExclusive(t *testing.T) {
	_, err := parseEvent([]string{"--customer", "c-1", "--type", "login", "--data", "a=1", "--json", `{"b":2}`}, noEnv, testDefaults())
	var u *usageError
	if !errors.As(err, &u) || u.cmd != "event" || !strings.Contains(u.msg, "mutually exclusive") {
		t.Fatalf("err = %v, want an event usage error about mutually exclusive flags", err)
	}
}

func TestParseUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		cmd  string
		args []string
		want string
	}{
		{"signup without customer", "signup", []string{"--email", "ana@example.com"}, "--customer is required"},
		{"signup without email", "signup", []string{"--customer", "c-1"}, "--email is required"},
		{"signup with argument", "signup", []string{"--customer", "c-1", "--email", "a@b.co", "extra"}, `unexpected argument "extra"`},
		{"signup seats not a number", "signup", []string{"--customer", "c-1", "--email", "a@b.co", "--seats", "many"}, "-seats"},
		{"event without customer", "event", []string{"--type", "login"}, "--customer is required"},
		{"event without type", "event", []string{"--customer", "c-1"}, "--type is required"},
		{"event data without =", "event", []string{"--customer", "c-1", "--type", "login", "--data", "milestone"}, `want key=value, got "milestone"`},
		{"event data without key", "event", []string{"--customer", "c-1", "--type", "login", "--data", "=x"}, "want key=value"},
		{"event data key twice", "event", []string{"--customer", "c-1", "--type", "login", "--data", "a=1", "--data", "a=2"}, `key "a" given twice`},
		{"event json not an object", "event", []string{"--customer", "c-1", "--type", "login", "--json", "[1]"}, "--json must be a JSON object"},
		{"event json null", "event", []string{"--customer", "c-1", "--type", "login", "--json", "null"}, "--json must be a JSON object"},
		{"event bad at", "event", []string{"--customer", "c-1", "--type", "login", "--at", "yesterday"}, "RFC 3339"},
		{"event unknown flag", "event", []string{"--customer", "c-1", "--type", "login", "--colour", "red"}, "flag provided but not defined: -colour"},
		{"status without customer", "status", nil, "missing customer ID"},
		{"status two customers", "status", []string{"c-1", "c-2"}, "expected one customer ID"},
		{"status conflicting customers", "status", []string{"c-1", "--customer", "c-2"}, "customer given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			switch tt.cmd {
			case "signup":
				_, err = parseSignup(tt.args, noEnv, testDefaults())
			case "event":
				_, err = parseEvent(tt.args, noEnv, testDefaults())
			case "status":
				_, err = parseStatus(tt.args, noEnv)
			}
			var u *usageError
			if !errors.As(err, &u) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if u.cmd != tt.cmd || !strings.Contains(u.msg, tt.want) {
				t.Errorf("usage error = {%s %q}, want {%s ...%q...}", u.cmd, u.msg, tt.cmd, tt.want)
			}
		})
	}
}

func TestParseStatusCustomer(t *testing.T) {
	tests := []struct {
		args     []string
		customer string
		json     bool
	}{
		{[]string{"c-1"}, "c-1", false},
		{[]string{"--customer", "c-1"}, "c-1", false},
		{[]string{"c-1", "--json"}, "c-1", true},
		{[]string{"--json", "c-1"}, "c-1", true},
		{[]string{"--customer", "c-1", "c-1"}, "c-1", false},
		{[]string{"--", "c-1"}, "c-1", false},
	}
	for _, tt := range tests {
		cmd, err := parseStatus(tt.args, noEnv)
		if err != nil {
			t.Errorf("parseStatus(%q): %v", tt.args, err)
			continue
		}
		if cmd.customerID != tt.customer || cmd.json != tt.json {
			t.Errorf("parseStatus(%q) = %+v, want customer %s json %v", tt.args, cmd, tt.customer, tt.json)
		}
	}
}

func TestConnectionSettingsFromEnvAndFlags(t *testing.T) {
	env := mapEnv(map[string]string{envAddress: "temporal.internal:7233", envNamespace: "journeys", envDataDir: "/var/lib/journeys", "JOURNEYS_CODEC_KEYS": "k1:secret"})
	tests := []struct {
		name string
		env  func(string) string
		args []string
		want connSettings
	}{
		{"defaults", noEnv, nil, connSettings{Address: "127.0.0.1:7233", Namespace: "default", DataDir: ".data"}},
		{"env", env, nil, connSettings{Address: "temporal.internal:7233", Namespace: "journeys", DataDir: "/var/lib/journeys", CodecKeys: "k1:secret"}},
		{"flags beat env", env, []string{"--address", "localhost:7000", "--namespace", "staging", "--data-dir", "d"}, connSettings{Address: "localhost:7000", Namespace: "staging", DataDir: "d", CodecKeys: "k1:secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parseStatus(append([]string{"c-1"}, tt.args...), tt.env)
			if err != nil {
				t.Fatalf("parseStatus: %v", err)
			}
			ev, err := parseEvent(append([]string{"--customer", "c-1", "--type", "login"}, tt.args...), tt.env, testDefaults())
			if err != nil {
				t.Fatalf("parseEvent: %v", err)
			}
			if st.conn != tt.want || ev.conn != tt.want {
				t.Errorf("status conn = %+v, event conn = %+v, want %+v", st.conn, ev.conn, tt.want)
			}
		})
	}
}

func TestHelpListsEveryEventTypeAndTheReference(t *testing.T) {
	_, err := parseEvent([]string{"-h"}, noEnv, testDefaults())
	var help *helpRequest
	if !errors.As(err, &help) {
		t.Fatalf("event -h: err = %v, want a help request", err)
	}
	for name, text := range map[string]string{"starter help": topUsage(), "starter event -h": help.text} {
		for _, typ := range signals.Types() {
			if !strings.Contains(text, string(typ)) {
				t.Errorf("%s does not list event type %s", name, typ)
			}
		}
		if !strings.Contains(text, "docs/events.md") {
			t.Errorf("%s does not point at docs/events.md", name)
		}
	}
}

func TestTypeListWraps(t *testing.T) {
	list := typeList("  ")
	for _, line := range strings.Split(list, "\n") {
		if len(line) > 76 || !strings.HasPrefix(line, "  ") {
			t.Errorf("type list line %q: want at most 76 columns, indented by 2", line)
		}
	}
	var names []string
	for _, typ := range signals.Types() {
		names = append(names, string(typ))
	}
	if got, want := strings.Join(strings.Fields(list), " "), strings.Join(names, ", "); got != want {
		t.Errorf("type list = %q, want %q", got, want)
	}
}
