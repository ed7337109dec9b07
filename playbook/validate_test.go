package playbook_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/playbook"
)

type ruleCase struct{ yaml, field, message string }

// assertFieldErrors parses each case's YAML over the defaults and checks the
// *FieldError it fails with. The problem a case sets up comes before any
// template check, so these hold whichever templates exist.
func assertFieldErrors(t *testing.T, cases map[string]ruleCase) {
	t.Helper()
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

// The checks every step list shares: onboarding, renewal, dunning, win_back.
func TestStepListRules(t *testing.T) {
	assertFieldErrors(t, map[string]ruleCase{
		"renewal name not snake case": {"renewal:\n  steps:\n    - {name: Recap, day: -5, email: x}\n", "renewal.steps[0].name", `"Recap" must be lower_snake_case`},
		"win_back name missing":       {"win_back:\n  steps:\n    - {day: 5, email: x}\n", "win_back.steps[0].name", "must be lower_snake_case"},
		"dunning duplicate name":      {"dunning:\n  steps:\n    - {name: a, day: 0, email: x}\n    - {name: a, day: 1, email: x}\n", "dunning.steps[1].name", `"a" is used by another step`},
		"dunning out of order":        {"dunning:\n  steps:\n    - {name: a, day: 3, email: x}\n    - {name: b, day: 1, email: x}\n", "dunning.steps[1].day", "day order: day 1 comes after day 3"},
		"renewal out of order":        {"renewal:\n  steps:\n    - {name: a, day: -7, email: x}\n    - {name: b, day: -30, email: x}\n", "renewal.steps[1].day", "day order"},
		"win_back out of order":       {"win_back:\n  steps:\n    - {name: a, day: 9, email: x}\n    - {name: b, day: 3, email: x}\n", "win_back.steps[1].day", "day order"},
		"renewal after the date":      {"renewal:\n  steps:\n    - {name: a, day: 1, email: x}\n", "renewal.steps[0].day", "from -365 to 0 (days before the renewal date), got 1"},
		"renewal over a year before":  {"renewal:\n  steps:\n    - {name: a, day: -366, email: x}\n", "renewal.steps[0].day", "from -365 to 0"},
		"dunning before the failure":  {"dunning:\n  steps:\n    - {name: a, day: -1, email: x}\n", "dunning.steps[0].day", "from 0 to suspend_after_days-1 (9), got -1"},
		"dunning at the suspension":   {"dunning:\n  suspend_after_days: 5\n  steps:\n    - {name: a, day: 5, email: x}\n", "dunning.steps[0].day", "from 0 to suspend_after_days-1 (4), got 5"},
		"win_back on the churn day":   {"win_back:\n  steps:\n    - {name: a, day: 0, email: x}\n", "win_back.steps[0].day", "from 1 to ends_after_days-1 (119), got 0"},
		"win_back ends before a step": {"win_back:\n  ends_after_days: 60\n", "win_back.steps[1].day", "from 1 to ends_after_days-1 (59), got 60"},
		"idle renewal step":           {"renewal:\n  steps:\n    - {name: a, day: -3}\n", "renewal.steps[0]", "does nothing"},
		"idle win_back step":          {"win_back:\n  steps:\n    - {name: a, day: 3, health_tier: at_risk}\n", "win_back.steps[0]", "does nothing"},
		"health tier in renewal":      {"renewal:\n  steps:\n    - {name: a, day: -3, email: x, health_tier: at_risk}\n", "renewal.steps[0].health_tier", "only onboarding steps"},
		"health tier in dunning":      {"dunning:\n  steps:\n    - {name: a, day: 0, email: x, health_tier: critical}\n", "dunning.steps[0].health_tier", "only onboarding steps"},
		"health tier in win_back":     {"win_back:\n  steps:\n    - {name: a, day: 3, email: x, health_tier: healthy}\n", "win_back.steps[0].health_tier", "only onboarding steps"},
		"unknown csm_alert_when":      {"renewal:\n  steps:\n    - {name: a, day: -3, csm_alert: x, csm_alert_when: always}\n", "renewal.steps[0].csm_alert_when", `must be empty (always) or not_healthy_or_high_value, got "always"`},
		"csm_alert_when no alert":     {"dunning:\n  steps:\n    - {name: a, day: 0, email: x, csm_alert_when: not_healthy_or_high_value}\n", "dunning.steps[0].csm_alert_when", "needs a csm_alert"},
		"onboarding csm_alert_when":   {"onboarding:\n  steps:\n    - {name: a, day: 1, email: x, csm_alert_when: later}\n", "onboarding.steps[0].csm_alert_when", "must be empty (always)"},
	})
}

func TestSectionRules(t *testing.T) {
	long := strings.Repeat("x", 301)
	assertFieldErrors(t, map[string]ruleCase{
		// adoption
		"no inactivity email":      {"adoption:\n  inactive_email_days: 0\n", "adoption.inactive_email_days", "at least 1, got 0"},
		"inactive email missing":   {"adoption:\n  inactive_email: ''\n", "adoption.inactive_email", "is required"},
		"alert before the email":   {"adoption:\n  inactive_alert_days: 14\n", "adoption.inactive_alert_days", "0 (no alert) or more than inactive_email_days (14), got 14"},
		"negative alert days":      {"adoption:\n  inactive_alert_days: -1\n", "adoption.inactive_alert_days", "0 (no alert) or more than"},
		"inactive alert missing":   {"adoption:\n  inactive_alert: ''\n", "adoption.inactive_alert", "required when inactive_alert_days is set"},
		"empty tip":                {"adoption:\n  tips: [ok, '  ']\n", "adoption.tips[1]", "is empty"},
		"long tip":                 {"adoption:\n  tips: [" + long + "]\n", "adoption.tips[0]", "301 bytes, more than 300"},
		"usage drop over 100":      {"adoption:\n  usage_drop_percent: 101\n", "adoption.usage_drop_percent", "0 (off) or from 1 to 100, got 101"},
		"negative usage drop":      {"adoption:\n  usage_drop_percent: -5\n", "adoption.usage_drop_percent", "0 (off) or from 1 to 100"},
		"usage drop email missing": {"adoption:\n  usage_drop_email: ''\n", "adoption.usage_drop_email", "required when usage_drop_percent is set"},
		"usage drop alert missing": {"adoption:\n  usage_drop_alert: ''\n", "adoption.usage_drop_alert", "required when usage_drop_percent is set"},
		// health
		"negative weight":        {"health:\n  weights: {nps: -1}\n", "health.weights.nps", "0 (ignored) or more, got -1"},
		"no weight":              {"health:\n  weights: {login_recency: 0, login_frequency: 0, milestones: 0, usage_trend: 0, nps: 0, support_tickets: 0, payment: 0}\n", "health.weights", "must not all be 0"},
		"no active days target":  {"health:\n  active_days_target: 0\n", "health.active_days_target", "from 1 to 30"},
		"active days over 30":    {"health:\n  active_days_target: 31\n", "health.active_days_target", "from 1 to 30"},
		"at_risk_from 0":         {"health:\n  at_risk_from: 0\n", "health.at_risk_from", "at least 1, got 0"},
		"healthy below at_risk":  {"health:\n  healthy_from: 40\n", "health.healthy_from", "more than at_risk_from (40), got 40"},
		"healthy over 100":       {"health:\n  healthy_from: 101\n", "health.healthy_from", "at most 100"},
		"critical alert missing": {"health:\n  critical_alert: ''\n", "health.critical_alert", "is required"},
		// nps
		"negative first day":        {"nps:\n  first_day: -1\n", "nps.first_day", "0 (no surveys) or at least 1"},
		"no survey interval":        {"nps:\n  every_days: 0\n", "nps.every_days", "at least 1 when first_day is set"},
		"detractor over 10":         {"nps:\n  detractor_max: 11\n", "nps.detractor_max", "from 0 to 10"},
		"negative detractor":        {"nps:\n  detractor_max: -1\n", "nps.detractor_max", "from 0 to 10"},
		"promoter over 10":          {"nps:\n  promoter_min: 11\n", "nps.promoter_min", "from 0 to 10"},
		"promoter not above":        {"nps:\n  promoter_min: 6\n", "nps.promoter_min", "more than detractor_max (6), got 6"},
		"promoter checked when off": {"nps:\n  first_day: 0\n  promoter_min: 3\n", "nps.promoter_min", "more than detractor_max"},
		"survey email missing":      {"nps:\n  survey_email: ''\n", "nps.survey_email", "required when first_day is set"},
		"detractor alert missing":   {"nps:\n  detractor_alert: ''\n", "nps.detractor_alert", "required when first_day is set"},
		"promoter email missing":    {"nps:\n  promoter_email: ''\n", "nps.promoter_email", "required when first_day is set"},
		// expansion
		"seats over 100":       {"expansion:\n  seats_used_percent: 101\n", "expansion.seats_used_percent", "0 (off) or from 1 to 100, got 101"},
		"negative seats":       {"expansion:\n  seats_used_percent: -1\n", "expansion.seats_used_percent", "0 (off) or from 1 to 100"},
		"upsell email missing": {"expansion:\n  upsell_email: ''\n", "expansion.upsell_email", "required when seats_used_percent is set"},
		"owner alert missing":  {"expansion:\n  owner_alert: ''\n", "expansion.owner_alert", "required when seats_used_percent and high_value_mrr are set"},
		// renewal
		"negative close": {"renewal:\n  close_after_days: -1\n", "renewal.close_after_days", "0 or more, got -1"},
		// dunning
		"no grace period":        {"dunning:\n  suspend_after_days: 0\n", "dunning.suspend_after_days", "at least 1, got 0"},
		"suspended email gone":   {"dunning:\n  suspended_email: ''\n", "dunning.suspended_email", "is required"},
		"recovered email gone":   {"dunning:\n  recovered_email: ''\n", "dunning.recovered_email", "is required"},
		"dunning steps too late": {"dunning:\n  suspend_after_days: 7\n", "dunning.steps[2].day", "from 0 to suspend_after_days-1 (6), got 7"},
		// cancellation
		"exit survey missing":   {"cancellation:\n  exit_survey_email: ''\n", "cancellation.exit_survey_email", "is required"},
		"unknown reason":        {"cancellation:\n  save_offers: {price: x, refund: y}\n", "cancellation.save_offers.refund", `"refund" is not a cancellation reason (price, missing_feature, not_using, switching, other)`},
		"offer without email":   {"cancellation:\n  save_offers: {switching: ''}\n", "cancellation.save_offers.switching", "needs an email template"},
		"high value alert gone": {"cancellation:\n  high_value_alert: ''\n", "cancellation.high_value_alert", "required when high_value_mrr is set"},
		// win_back
		"win_back never ends":    {"win_back:\n  ends_after_days: 0\n  steps: []\n", "win_back.ends_after_days", "at least 1, got 0"},
		"welcome back missing":   {"win_back:\n  welcome_back_email: ''\n", "win_back.welcome_back_email", "is required"},
		"reactivate to nowhere":  {"win_back:\n  reactivate_to: trial\n", "win_back.reactivate_to", `must be adoption or onboarding, got "trial"`},
		"reactivate to nothing":  {"win_back:\n  reactivate_to: ''\n", "win_back.reactivate_to", "must be adoption or onboarding"},
		"negative high value":    {"high_value_mrr: -1\n", "high_value_mrr", "0 (no account is high-value) or more cents, got -1"},
		"high value not a count": {"high_value_mrr: lots\n", "high_value_mrr", "must be int64"},
	})
}

// What a rule leaves allowed: features turned off need no templates, and
// an empty step list is no sequence.
func TestSectionsTurnedOff(t *testing.T) {
	for name, yaml := range map[string]string{
		"no inactivity alert": "adoption:\n  inactive_alert_days: 0\n  inactive_alert: ''\n",
		"no usage drop":       "adoption:\n  usage_drop_percent: 0\n  usage_drop_email: ''\n  usage_drop_alert: ''\n",
		"no tips":             "adoption:\n  tips: []\n",
		"no surveys":          "nps:\n  first_day: 0\n  every_days: 0\n  survey_email: ''\n  detractor_alert: ''\n  promoter_email: ''\n",
		"no expansion":        "expansion:\n  seats_used_percent: 0\n  upsell_email: ''\n  owner_alert: ''\n",
		"no high value":       "high_value_mrr: 0\nexpansion:\n  owner_alert: ''\ncancellation:\n  high_value_alert: ''\n",
		"no save offers":      "cancellation:\n  save_offers: {}\n",
		"no sequences":        "renewal:\n  steps: []\ndunning:\n  steps: []\n  suspend_after_days: 1\nwin_back:\n  steps: []\n  ends_after_days: 1\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := playbook.Parse([]byte(yaml), ".yaml")
			require.NoError(t, err)
		})
	}
}

// Steps anywhere may restrict their CSM alert; renewal day 0 is the renewal
// date itself and dunning day 0 the failure.
func TestStepEdgesAllowed(t *testing.T) {
	pb := playbook.Default()
	pb.Onboarding.Steps[2].CSMAlertWhen = playbook.AlertWhenNotHealthyOrHighValue
	pb.Renewal.Steps = append(pb.Renewal.Steps, playbook.Step{Name: "renewal_day", Day: 0, Email: "renewal_final_reminder"})
	pb.WinBack.Steps[2].Day = pb.WinBack.EndsAfterDays - 1
	pb.WinBack.ReactivateTo = playbook.ReactivateToOnboarding
	require.NoError(t, pb.Validate())
}

// Template existence is checked for the new sections' fields too, with
// each field's channel.
func TestMissingTemplatesNameTheField(t *testing.T) {
	assertFieldErrors(t, map[string]ruleCase{
		"alert named as email":  {"adoption:\n  inactive_email: not_activated\n", "adoption.inactive_email", `no email template "not_activated"`},
		"email named as alert":  {"health:\n  critical_alert: welcome\n", "health.critical_alert", `no alert template "welcome"`},
		"renewal step email":    {"renewal:\n  steps:\n    - {name: a, day: -3, email: no_such_email}\n", "renewal.steps[0].email", `no email template "no_such_email"`},
		"dunning step sms":      {"dunning:\n  steps:\n    - {name: a, day: 0, sms: no_such_sms}\n", "dunning.steps[0].sms", `no sms template "no_such_sms"`},
		"win_back step alert":   {"win_back:\n  steps:\n    - {name: a, day: 3, csm_alert: no_such_alert}\n", "win_back.steps[0].csm_alert", `no alert template "no_such_alert"`},
		"save offer":            {"cancellation:\n  save_offers: {other: no_such_offer}\n", "cancellation.save_offers.other", `no email template "no_such_offer"`},
		"welcome back template": {"win_back:\n  welcome_back_email: no_such_email\n", "win_back.welcome_back_email", `no email template "no_such_email"`},
	})
}

// The delivery policies' rules, and a step's class and goal.
func TestDeliveryRules(t *testing.T) {
	exp := func(body string) string {
		return "delivery:\n  experiments:\n    - " + body + "\n"
	}
	assertFieldErrors(t, map[string]ruleCase{
		"step class unknown":       {"dunning:\n  steps:\n    - {name: a, day: 0, email: x, class: urgent}\n", "dunning.steps[0].class", `must be one of transactional, lifecycle, marketing, got "urgent"`},
		"step goal not a type":     {"onboarding:\n  steps:\n    - {name: a, day: 1, email: x, goal: activated}\n", "onboarding.steps[0].goal", `"activated" is not an event type`},
		"step goal signed_up":      {"onboarding:\n  steps:\n    - {name: a, day: 1, email: x, goal: signed_up}\n", "onboarding.steps[0].goal", "signed_up cannot be a goal"},
		"step goal value on login": {"onboarding:\n  steps:\n    - {name: a, day: 1, email: x, goal: \"login:web\"}\n", "onboarding.steps[0].goal", "only milestone_reached and feature_used goals take a :value"},
		"step goal bad milestone":  {"onboarding:\n  steps:\n    - {name: a, day: 1, email: x, goal: \"milestone_reached:First\"}\n", "onboarding.steps[0].goal", `"First" must be lower_snake_case`},
		"timezone unknown":         {"delivery:\n  timezone: Mars/Olympus\n", "delivery.timezone", `"Mars/Olympus" is not an IANA time zone`},
		"cap on transactional":     {"delivery:\n  caps:\n    transactional: {per_day: 1}\n", "delivery.caps.transactional", "never capped"},
		"cap on unknown class":     {"delivery:\n  caps:\n    promo: {per_day: 1}\n", "delivery.caps.promo", `"promo" is not a message class`},
		"cap negative":             {"delivery:\n  caps:\n    marketing: {per_day: -1}\n", "delivery.caps.marketing", "0 (no bound) or more"},
		"cap week below day":       {"delivery:\n  caps:\n    marketing: {per_day: 3, per_week: 2}\n", "delivery.caps.marketing.per_week", "2 is less than per_day 3"},
		"capped unknown":           {"delivery:\n  capped: later\n", "delivery.capped", `must be defer or drop, got "later"`},
		"capped template unknown":  {"delivery:\n  capped_templates: {upsell: skip}\n", "delivery.capped_templates.upsell", "must be defer or drop"},
		"resume at bad":            {"delivery:\n  cap_resume_at: \"9am\"\n", "delivery.cap_resume_at", `local time like 09:00, got "9am"`},
		"window channel":           {"delivery:\n  windows:\n    alert: {from: \"09:00\", to: \"17:00\"}\n", "delivery.windows.alert", "want sms or email"},
		"window from bad":          {"delivery:\n  windows:\n    sms: {from: \"25:00\", to: \"20:00\"}\n", "delivery.windows.sms.from", "local time like 09:00"},
		"window overnight":         {"delivery:\n  windows:\n    sms: {from: \"20:00\", to: \"09:00\"}\n", "delivery.windows.sms.to", "must be after from 20:00"},
		"window class unknown":     {"delivery:\n  windows:\n    sms: {from: \"09:00\", to: \"20:00\", classes: [promo]}\n", "delivery.windows.sms.classes[0]", `"promo" is not a message class`},
		"holdout too big":          {"delivery:\n  holdout_percent: 60\n", "delivery.holdout_percent", "from 0 to 50, got 60"},
		"experiment name":          {exp("{name: A, step: onboarding.nudge, variants: [{name: a, weight: 1}, {name: b, weight: 1}]}"), "delivery.experiments[0].name", `"A" must be lower_snake_case`},
		"experiment sequence":      {exp("{name: e, step: adoption.nudge, variants: [{name: a, weight: 1}, {name: b, weight: 1}]}"), "delivery.experiments[0].step", "must be sequence.step"},
		"experiment step missing":  {exp("{name: e, step: onboarding.welcome, variants: [{name: a, weight: 1}, {name: b, weight: 1}]}"), "delivery.experiments[0].step", `onboarding has no step "welcome"`},
		"experiment one variant":   {exp("{name: e, step: onboarding.nudge, variants: [{name: a, weight: 1}]}"), "delivery.experiments[0].variants", "at least two variants"},
		"variant weight zero":      {exp("{name: e, step: onboarding.nudge, variants: [{name: a, weight: 0}, {name: b, weight: 1}]}"), "delivery.experiments[0].variants[0].weight", "from 1 to 10000, got 0"},
		"variant duplicate":        {exp("{name: e, step: onboarding.nudge, variants: [{name: a, weight: 1}, {name: a, weight: 1}]}"), "delivery.experiments[0].variants[1].name", `"a" is used by another variant`},
		"variant sms on email":     {exp("{name: e, step: onboarding.nudge, variants: [{name: a, weight: 1}, {name: b, weight: 1, sms: onboarding_nudge}]}"), "delivery.experiments[0].variants[1].sms", "sends no SMS to replace"},
		"variant renewal day":      {exp("{name: e, step: renewal.reminder, variants: [{name: a, weight: 1}, {name: b, weight: 1, day: 3}]}"), "delivery.experiments[0].variants[1].day", "must be negative, got 3"},
		"variant template missing": {exp("{name: e, step: onboarding.nudge, variants: [{name: a, weight: 1}, {name: b, weight: 1, email: nudge_b}]}"), "delivery.experiments[0].variants[1].email", `no email template "nudge_b"`},
		"unreachable template":     {"delivery:\n  unreachable_alert: nobody\n", "delivery.unreachable_alert", `no alert template "nobody"`},
	})
}

// A whole delivery section parses: docs/delivery.md's example.
func TestDeliveryExampleParses(t *testing.T) {
	p, err := playbook.Parse([]byte(`delivery:
  timezone: America/New_York
  caps: {marketing: {per_day: 1, per_week: 3}}
  capped: defer
  capped_templates: {nps_survey: drop}
  cap_resume_at: "09:00"
  windows:
    sms: {from: "09:00", to: "20:00"}
    email: {from: "08:00", to: "21:00", skip_weekends: true, classes: [marketing]}
  fallback: true
  unreachable_alert: customer_unreachable
  holdout_percent: 5
  experiments:
    - name: nudge_timing
      step: onboarding.nudge
      variants:
        - {name: day_3, weight: 50}
        - {name: day_5, weight: 50, day: 5}
`), ".yaml")
	require.NoError(t, err)
	assert.Equal(t, playbook.CappedDrop, p.Delivery.CappedAction("nps_survey"))
	assert.Equal(t, playbook.CappedDefer, p.Delivery.CappedAction("upsell"))
	e, ok := p.Delivery.Experiment("onboarding.nudge")
	require.True(t, ok)
	v, _ := e.Variant("day_5")
	assert.Equal(t, 5, v.Apply(p.Onboarding.Steps[1]).Day)
	assert.Equal(t, "onboarding_nudge", v.Apply(p.Onboarding.Steps[1]).Email, "what the variant leaves empty stays")
}

// A step named like one of the workflow's own sends in its sequence would
// share that send's idempotency key, and the vendor ledger would drop one
// of the two as a duplicate; validation refuses the name.
func TestReservedStepNamesAreRefused(t *testing.T) {
	steps := func(section, name string, day int) string {
		return fmt.Sprintf("%s:\n  steps:\n    - {name: %s, day: %d, email: x}\n", section, name, day)
	}
	assertFieldErrors(t, map[string]ruleCase{
		"onboarding welcome":        {steps("onboarding", "welcome", 1), "onboarding.steps[0].name", `"welcome" is reserved in onboarding`},
		"onboarding activated":      {steps("onboarding", "activated", 1), "onboarding.steps[0].name", `"activated" is reserved in onboarding`},
		"onboarding round prefix":   {steps("onboarding", "r2", 1), "onboarding.steps[0].name", `"r2" is reserved in onboarding`},
		"dunning suspend":           {steps("dunning", "suspend", 0), "dunning.steps[0].name", `"suspend" is reserved in dunning`},
		"dunning suspended":         {steps("dunning", "suspended", 0), "dunning.steps[0].name", `"suspended" is reserved in dunning`},
		"dunning recovered":         {steps("dunning", "recovered", 0), "dunning.steps[0].name", `"recovered" is reserved in dunning`},
		"dunning restore":           {steps("dunning", "restore", 0), "dunning.steps[0].name", `"restore" is reserved in dunning`},
		"win_back welcome_back":     {steps("win_back", "welcome_back", 3), "win_back.steps[0].name", `"welcome_back" is reserved in win_back`},
		"reserved after a good one": {"onboarding:\n  steps:\n    - {name: getting_started, day: 1, email: x}\n    - {name: activated, day: 2, email: x}\n", "onboarding.steps[1].name", "idempotency key"},
		// Names cannot hold a dot, which would make keys ambiguous.
		"dotted name": {steps("renewal", "reminder.crm", -3), "renewal.steps[0].name", `"reminder.crm" must be lower_snake_case`},
	})
}

// A name is reserved only in the sequence whose built-in sends use it: the
// keys of other sequences have another prefix.
func TestReservedStepNamesAreAllowedElsewhere(t *testing.T) {
	for name, yaml := range map[string]string{
		"welcome in dunning":       "dunning:\n  steps:\n    - {name: welcome, day: 0, email: payment_failed}\n",
		"suspend in onboarding":    "onboarding:\n  steps:\n    - {name: suspend, day: 1, email: getting_started}\n",
		"welcome_back in renewal":  "renewal:\n  steps:\n    - {name: welcome_back, day: -3, email: renewal_reminder}\n",
		"activated in win_back":    "win_back:\n  steps:\n    - {name: activated, day: 3, email: winback_offer}\n",
		"round-like in win_back":   "win_back:\n  steps:\n    - {name: r2, day: 3, email: winback_offer}\n",
		"round-like word onboard":  "onboarding:\n  steps:\n    - {name: r2d2, day: 1, email: getting_started}\n",
		"reserved word as a part":  "onboarding:\n  steps:\n    - {name: welcome_tour, day: 1, email: getting_started}\n",
		"restore word as a prefix": "dunning:\n  steps:\n    - {name: restore_access, day: 0, email: payment_failed}\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := playbook.Parse([]byte(yaml), ".yaml")
			require.NoError(t, err)
		})
	}
}

// Marketing email must show a postal address, so a playbook that can send
// one is refused without it; a playbook without marketing email is not.
func TestPostalAddressIsRequiredForMarketingEmail(t *testing.T) {
	assertFieldErrors(t, map[string]ruleCase{
		"blank with the default marketing email": {"postal_address: \" \"\n", "postal_address", "is required: the playbook sends marketing email"},
		"too long":                               {"postal_address: " + strings.Repeat("x", 301) + "\n", "postal_address", "at most 300 bytes"},
	})

	pb := playbook.Default()
	pb.PostalAddress = ""
	pb.Adoption.InactiveEmail, pb.Adoption.UsageDropEmail, pb.Expansion.UpsellEmail = "", "", ""
	pb.NPS.SurveyEmail, pb.NPS.PromoterEmail = "", ""
	pb.WinBack.Steps = nil
	assert.False(t, pb.SendsMarketingEmail())

	pb.Renewal.Steps = append(pb.Renewal.Steps, playbook.Step{Name: "promo", Day: -2, Email: "renewal_whats_new", Class: playbook.ClassMarketing})
	assert.True(t, pb.SendsMarketingEmail(), "a renewal step of class marketing")
	pb.Renewal.Steps[len(pb.Renewal.Steps)-1].Class = playbook.ClassLifecycle
	assert.False(t, pb.SendsMarketingEmail())

	pb.WinBack.Steps = []playbook.Step{{Name: "note", Day: 3, Email: "winback_last_note", Class: playbook.ClassLifecycle}}
	assert.False(t, pb.SendsMarketingEmail(), "a win-back step made lifecycle")
}
