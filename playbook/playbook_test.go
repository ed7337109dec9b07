package playbook_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/journeyshq/journeys/playbook"
)

func TestDefaultIsValid(t *testing.T) {
	require.NoError(t, playbook.Default().Validate())
}

// playbooks/default.yaml documents the built-in playbook; it must not drift.
func TestDefaultFileMatchesTheCode(t *testing.T) {
	p, err := playbook.Load("../playbooks/default.yaml")
	require.NoError(t, err)
	assert.Equal(t, playbook.Default(), p)
}

// playbooks/default.yaml writes every field out, so that it documents
// them all (the JSON of Default omits only the empty optional ones).
func TestDefaultFileWritesEveryField(t *testing.T) {
	raw, err := os.ReadFile("../playbooks/default.yaml")
	require.NoError(t, err)
	var file any
	require.NoError(t, yaml.Unmarshal(raw, &file))
	js, err := json.Marshal(playbook.Default())
	require.NoError(t, err)
	var code any
	require.NoError(t, json.Unmarshal(js, &code))
	var missing []string
	var walk func(code, file any, path string)
	walk = func(code, file any, path string) {
		switch c := code.(type) {
		case map[string]any:
			f, _ := file.(map[string]any)
			for k, v := range c {
				if _, ok := f[k]; !ok {
					missing = append(missing, path+k)
					continue
				}
				walk(v, f[k], path+k+".")
			}
		case []any:
			f, _ := file.([]any)
			for i, v := range c {
				if i < len(f) {
					walk(v, f[i], fmt.Sprintf("%s[%d].", strings.TrimSuffix(path, "."), i))
				}
			}
		}
	}
	walk(code, file, "")
	assert.Empty(t, missing, "fields playbooks/default.yaml leaves out")
}

func TestDemoPlaybook(t *testing.T) {
	p, err := playbook.Load("../playbooks/demo.yaml")
	require.NoError(t, err)
	assert.Equal(t, "demo", p.Name)
	assert.Equal(t, 10*time.Second, p.DayLength.D())
	assert.Equal(t, 2*time.Minute, p.Day(p.Onboarding.EndsAfterDays), "the demo onboarding lasts about two minutes")
	assert.Equal(t, "Acme", p.Product, "fields the file leaves out keep their defaults")

	d := playbook.Default()
	assert.Equal(t, d.Onboarding.Steps, p.Onboarding.Steps, "the demo onboarding keeps the production steps")
	assert.Equal(t, 40*time.Second, p.Day(p.NPS.FirstDay))
	assert.Equal(t, time.Minute, p.Day(p.NPS.EveryDays))
	assert.Equal(t, 30*time.Second, p.Day(p.Adoption.InactiveEmailDays))
	assert.Equal(t, 50*time.Second, p.Day(p.Adoption.InactiveAlertDays))
	assert.Equal(t, []int{-6, -4, -2, -1}, days(p.Renewal.Steps))
	assert.Equal(t, 1, p.Renewal.CloseAfterDays)
	assert.Equal(t, d.Dunning, p.Dunning, "the demo dunning is the production one")
	assert.Equal(t, 100*time.Second, p.Day(p.Dunning.SuspendAfterDays))
	assert.Equal(t, []int{3, 6, 9}, days(p.WinBack.Steps))
	assert.Equal(t, 2*time.Minute, p.Day(p.WinBack.EndsAfterDays))
	for i, s := range p.Renewal.Steps {
		want := d.Renewal.Steps[i]
		want.Day = s.Day
		assert.Equal(t, want, s, "renewal steps keep their names and templates")
	}
	for i, s := range p.WinBack.Steps {
		want := d.WinBack.Steps[i]
		want.Day = s.Day
		assert.Equal(t, want, s, "win-back steps keep their names and templates")
	}
	// Every sequence plays out in a few minutes on the demo clock.
	for name, length := range map[string]int{
		"onboarding": p.Onboarding.EndsAfterDays,
		"inactivity": p.Adoption.InactiveAlertDays,
		"nps":        p.NPS.FirstDay + p.NPS.EveryDays,
		"renewal":    -p.Renewal.Steps[0].Day + p.Renewal.CloseAfterDays,
		"dunning":    p.Dunning.SuspendAfterDays,
		"win_back":   p.WinBack.EndsAfterDays,
		"alerts":     p.Alerts.SLADays + p.Alerts.SnoozeDays,
	} {
		assert.LessOrEqual(t, p.Day(length), 3*time.Minute, name)
	}
}

// The end-to-end tests' playbook is valid and keeps its clock.
func TestFastPlaybook(t *testing.T) {
	p, err := playbook.Load("../worker/testdata/fast.yaml")
	require.NoError(t, err)
	assert.Equal(t, "fast", p.Name)
	assert.Equal(t, time.Second, p.DayLength.D())
	assert.Equal(t, 12, p.Onboarding.EndsAfterDays)
	assert.Equal(t, 4, p.Alerts.SLADays)
}

func days(steps []playbook.Step) []int {
	var out []int
	for _, s := range steps {
		out = append(out, s.Day)
	}
	return out
}

func TestJSONPlaybook(t *testing.T) {
	p, err := playbook.Parse([]byte(`{"name":"short","day_length":"1h","onboarding":{"ends_after_days":10}}`), ".json")
	require.NoError(t, err)
	assert.Equal(t, time.Hour, p.DayLength.D())
	assert.Equal(t, 10, p.Onboarding.EndsAfterDays)
}

func TestErrorsNameTheField(t *testing.T) {
	cases := map[string]struct{ yaml, field, message string }{
		"unknown field":         {"name: x\ndays: 3\n", "days", "is not a playbook field"},
		"bad duration":          {"day_length: soon\n", "day_length", `must be a duration like "24h" or "10s", got "soon"`},
		"duration as number":    {"day_length: 10\n", "day_length", "must be a duration"},
		"too short a day":       {"day_length: 10ms\n", "day_length", "at least 1s"},
		"wrong type":            {"onboarding:\n  ends_after_days: soon\n", "onboarding.ends_after_days", "must be int"},
		"no milestones":         {"onboarding:\n  milestones: []\n", "onboarding.milestones", "at least one"},
		"repeated milestone":    {"onboarding:\n  milestones: [a, a]\n", "onboarding.milestones[1]", "listed twice"},
		"missing template":      {"onboarding:\n  welcome_email: hello\n", "onboarding.welcome_email", `no email template "hello"`},
		"sms template as email": {"onboarding:\n  steps:\n    - {name: s, day: 1, email: not_activated}\n", "onboarding.steps[0].email", "no email template"},
		"step past the end":     {"onboarding:\n  ends_after_days: 5\n  steps:\n    - {name: s, day: 5, email: welcome}\n", "onboarding.steps[0].day", "from 0 to ends_after_days-1 (4)"},
		"steps out of order":    {"onboarding:\n  steps:\n    - {name: a, day: 3, email: welcome}\n    - {name: b, day: 1, email: welcome}\n", "onboarding.steps[1].day", "day order"},
		"duplicate step":        {"onboarding:\n  steps:\n    - {name: a, day: 1, email: welcome}\n    - {name: a, day: 2, email: welcome}\n", "onboarding.steps[1].name", "used by another step"},
		"idle step":             {"onboarding:\n  steps:\n    - {name: a, day: 1}\n", "onboarding.steps[0]", "does nothing"},
		"bad tier":              {"onboarding:\n  steps:\n    - {name: a, day: 1, email: welcome, health_tier: red}\n", "onboarding.steps[0].health_tier", "must be healthy, at_risk or critical"},
		"bad app_url":           {"app_url: app.example.com\n", "app_url", "http(s) URL"},
		"unknown nested field":  {"onboarding:\n  stepz: []\n", "onboarding.stepz", "is not a playbook field"},
		"unknown step field":    {"dunning:\n  steps:\n    - {name: a, day: 0, emial: x}\n", "dunning.steps[0].emial", "is not a playbook field"},
		"field in another case": {"onboarding:\n  Steps: []\n", "onboarding.Steps", `is not a playbook field (did you mean "steps"?)`},
		"step field's case":     {"win_back:\n  steps:\n    - {name: a, Day: 3, email: x}\n", "win_back.steps[0].Day", `did you mean "day"?`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := playbook.Parse([]byte(tc.yaml), ".yaml")
			var fe *playbook.FieldError
			require.True(t, errors.As(err, &fe), "want a *FieldError, got %v", err)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, fe.Message, tc.message)
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	_, err := playbook.Load("testdata/missing.yaml")
	assert.ErrorContains(t, err, "testdata/missing.yaml")
}

func TestFingerprint(t *testing.T) {
	a, b := playbook.Default(), playbook.Default()
	assert.Equal(t, a.Fingerprint(), b.Fingerprint())
	b.Onboarding.Steps[1].Day = 4
	assert.NotEqual(t, a.Fingerprint(), b.Fingerprint())
}

// A step in the file is exactly what the file says, never mixed with the
// default step at the same position.
func TestStepsFromTheFileDoNotInheritDefaults(t *testing.T) {
	p, err := playbook.Parse([]byte("onboarding:\n  steps:\n    - {name: only, day: 2, sms: onboarding_nudge}\n"), ".yaml")
	require.NoError(t, err)
	assert.Equal(t, []playbook.Step{{Name: "only", Day: 2, SMS: "onboarding_nudge"}}, p.Onboarding.Steps)
}
