package playbook_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

func TestDemoPlaybook(t *testing.T) {
	p, err := playbook.Load("../playbooks/demo.yaml")
	require.NoError(t, err)
	assert.Equal(t, "demo", p.Name)
	assert.Equal(t, 10*time.Second, p.DayLength.D())
	assert.Equal(t, 2*time.Minute, p.Day(p.Onboarding.EndsAfterDays), "the demo onboarding lasts about two minutes")
	assert.Equal(t, "Acme", p.Product, "fields the file leaves out keep their defaults")
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

func TestEqualAndFingerprint(t *testing.T) {
	a, b := playbook.Default(), playbook.Default()
	assert.True(t, playbook.Equal(a, b))
	assert.Equal(t, a.Fingerprint(), b.Fingerprint())
	b.Onboarding.Steps[1].Day = 4
	assert.False(t, playbook.Equal(a, b))
	assert.NotEqual(t, a.Fingerprint(), b.Fingerprint())
}

// A step in the file is exactly what the file says, never mixed with the
// default step at the same position.
func TestStepsFromTheFileDoNotInheritDefaults(t *testing.T) {
	p, err := playbook.Parse([]byte("onboarding:\n  steps:\n    - {name: only, day: 2, sms: onboarding_nudge}\n"), ".yaml")
	require.NoError(t, err)
	assert.Equal(t, []playbook.Step{{Name: "only", Day: 2, SMS: "onboarding_nudge"}}, p.Onboarding.Steps)
}
