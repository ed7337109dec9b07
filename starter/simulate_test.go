package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/sim"
	"github.com/journeyshq/journeys/workflows"
)

// simulateApp runs the CLI with a fixed clock, for the default --start.
func simulateApp(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut, getenv: noEnv, now: func() time.Time { return testNow }}
	code = a.run(args)
	return code, out.String(), errOut.String()
}

// writeFile writes content to name in a fresh directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const shortScript = `# activated on day 2
day 0.5 milestone_reached first_project
day 1.5 milestone_reached invited_teammate
day 2 milestone_reached connected_integration
end day 5
`

func TestSimulatePrintsTheTimelineInTheCustomersZone(t *testing.T) {
	events := writeFile(t, "events.txt", shortScript)
	code, stdout, stderr := simulateApp("simulate", "--events", events, "--start", "2026-01-05")
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		`Mon 2026-01-05 09:00 EST  day 0 +onboarding +email +welcome +"Welcome to Acme, Ana"`,
		`Tue 2026-01-06 09:00 EST  day 1 +onboarding +email +getting_started +"`,
		`Wed 2026-01-07 09:00 EST  day 2 +adoption +stage +onboarding → adoption \(activated\)`,
		`messages +3 email, 0 sms`,
		`final stage +adoption since Wed 2026-01-07 09:00 EST`,
	} {
		if !regexp.MustCompile(want).MatchString(stdout) {
			t.Errorf("output does not match %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "crm ") {
		t.Errorf("CRM records are shown without --all:\n%s", stdout)
	}
}

func TestSimulateTakesTheProfileFromAFileThenFlags(t *testing.T) {
	events := writeFile(t, "events.txt", shortScript)
	profile := writeFile(t, "profile.yaml", "customer_id: lisbon-1\nname: Rui Costa\ntimezone: Europe/Lisbon\nphone: \"+351912345678\"\n")
	code, stdout, stderr := simulateApp("simulate", "--events", events, "--profile", profile,
		"--plan", "business", "--sms-consent=false", "--start", "2026-01-05T08:30", "--json")
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	var res sim.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--json output does not decode: %v\n%s", err, stdout)
	}
	want := sim.DefaultProfile()
	want.CustomerID, want.Name, want.Timezone, want.Phone = "lisbon-1", "Rui Costa", "Europe/Lisbon", "+351912345678"
	want.Plan, want.SMSConsent = "business", false
	if res.Profile != want {
		t.Errorf("profile = %+v\nwant      %+v", res.Profile, want)
	}
	lisbon, _ := time.LoadLocation("Europe/Lisbon")
	if got := res.Start.In(lisbon).Format("2006-01-02 15:04"); got != "2026-01-05 08:30" {
		t.Errorf("start = %s, want 08:30 in Lisbon", got)
	}
	if res.State.Stage != workflows.StageAdoption || res.Summary.FinalStage != workflows.StageAdoption {
		t.Errorf("final stage = %s / %s, want adoption", res.State.Stage, res.Summary.FinalStage)
	}
	var welcome *sim.Entry
	for i, e := range res.Entries {
		if e.Kind == sim.KindMessage && e.Template == "welcome" {
			welcome = &res.Entries[i]
		}
	}
	if welcome == nil || welcome.Channel != messages.ChannelEmail || welcome.To != "ana@example.com" || welcome.Day != 0 {
		t.Errorf("welcome entry = %+v, want an email to ana@example.com on day 0", welcome)
	}
	if res.Summary.Messages[messages.ChannelEmail] != 3 || len(res.Runs) == 0 {
		t.Errorf("summary = %+v, runs %d", res.Summary, len(res.Runs))
	}
}

func TestSimulateErrors(t *testing.T) {
	bad := writeFile(t, "bad.txt", "day 1 login\nday 2 nps_response score=11\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no script", []string{"simulate"}, 2, "--events is required"},
		{"bad flag", []string{"simulate", "--events", bad, "--seats", "many"}, 2, `invalid value "many"`},
		{"positional", []string{"simulate", "x.txt"}, 2, `unexpected argument "x.txt"`},
		{"bad start", []string{"simulate", "--events", bad, "--start", "Monday"}, 2, "--start: want a date like 2026-01-05"},
		{"missing script", []string{"simulate", "--events", filepath.Join(t.TempDir(), "none.txt")}, 1, "read script"},
		{"bad line", []string{"simulate", "--events", bad}, 1, "line 2: nps_response: data.score: must be from 0 to 10, got 11"},
		{"bad profile", []string{"simulate", "--events", bad, "--email", "ana"}, 1, "profile: email: must be a plain email address"},
		{"bad zone", []string{"simulate", "--events", bad, "--tz", "Mars/Olympus"}, 1, `profile timezone "Mars/Olympus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := simulateApp(tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit %d and stderr containing %q", code, stderr, stdout, tt.code, tt.stderr)
			}
		})
	}
}

func TestSimulateHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "simulate"}, {"simulate", "-h"}} {
		code, stdout, _ := simulateApp(args...)
		if code != 0 || !strings.Contains(stdout, "every 7 days from day 14 until day 700 login") || !strings.Contains(stdout, "--events FILE") {
			t.Errorf("%v: exit %d, help:\n%s", args, code, stdout)
		}
		if strings.Contains(stdout, "Connection:") {
			t.Errorf("%v: simulate needs no connection flags:\n%s", args, stdout)
		}
	}
	if !strings.Contains(topUsage(), "simulate   run a scripted customer's journey") {
		t.Error("starter help does not list simulate")
	}
}

func TestParseStart(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct{ in, want string }{
		{"", "2026-03-02T09:00:00-05:00"}, // testNow's date, 09:00 local
		{"2026-01-05", "2026-01-05T09:00:00-05:00"},
		{"2026-03-08", "2026-03-08T09:00:00-04:00"}, // daylight saving starts at 02:00
		{"2026-01-05T18:45", "2026-01-05T18:45:00-05:00"},
		{"2026-01-05T18:45:30", "2026-01-05T18:45:30-05:00"},
		{"2026-01-05T12:00:00Z", "2026-01-05T12:00:00Z"},
	}
	for _, tt := range tests {
		got, err := parseStart(tt.in, testNow, ny)
		if err != nil || got.Format(time.RFC3339) != tt.want {
			t.Errorf("parseStart(%q) = %s, %v; want %s", tt.in, got.Format(time.RFC3339), err, tt.want)
		}
	}
	if _, err := parseStart("05/01/2026", testNow, ny); err == nil {
		t.Error("parseStart accepted 05/01/2026")
	}
}

func TestSimulateCohortPrintsTheReportAndWritesTheChart(t *testing.T) {
	chart := filepath.Join(t.TempDir(), "cohort.svg")
	code, stdout, stderr := simulateApp("simulate", "--cohort", "4", "--years", "0.1", "--seed", "3", "--chart", chart, "--activation", "1")
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"cohort       4 customers", "messages ", "CSM alerts ", "dunning ", "history ", "customer-years/s", "chart        " + chart} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	svg, err := os.ReadFile(chart)
	if err != nil || !strings.Contains(string(svg), `data-stage="adoption"`) {
		t.Errorf("chart: %v\n%s", err, svg)
	}
}

func TestSimulateCohortRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--cohort", "0", "--chart", "x.svg"},
		{"--cohort", "2", "--events", "sim/testdata/two-years.txt"},
		{"--cohort", "2", "--years", "0"},
		{"--cohort", "2", "--recovery", "2"},
	} {
		code, _, stderr := simulateApp(append([]string{"simulate"}, args...)...)
		if code == 0 || stderr == "" {
			t.Errorf("%v: exit code %d, stderr %q", args, code, stderr)
		}
	}
}
