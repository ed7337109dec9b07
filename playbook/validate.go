package playbook

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/signals"
)

// FieldError is a validation error that names the offending field by its
// JSON path, such as "dunning.steps[1].day".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func bad(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

const (
	// maxTipBytes bounds an adoption tip: it goes into an email as is.
	maxTipBytes = 300
	// maxPostalAddressBytes bounds the postal address every footer shows.
	maxPostalAddressBytes = 300
	// renewalFirstDay is the earliest renewal step: a year before the date.
	renewalFirstDay = -365
)

// Stages a win-back reactivation can return to (win_back.reactivate_to).
const (
	ReactivateToAdoption   = "adoption"
	ReactivateToOnboarding = "onboarding"
)

// cancellationReasons are the reasons save_offers may have an offer for.
var cancellationReasons = []string{
	signals.ReasonPrice, signals.ReasonMissingFeature, signals.ReasonNotUsing,
	signals.ReasonSwitching, signals.ReasonOther,
}

// Validate checks the playbook and returns the first problem as a *FieldError.
// The checks run in the order of the fields; template existence comes last.
func (p Playbook) Validate() error {
	if strings.TrimSpace(p.Name) == "" {
		return bad("name", "is required")
	}
	if strings.TrimSpace(p.Product) == "" {
		return bad("product", "is required")
	}
	if u, err := url.Parse(p.AppURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return bad("app_url", "must be an http(s) URL, got %q", p.AppURL)
	}
	if strings.TrimSpace(p.PostalAddress) == "" && p.SendsMarketingEmail() {
		return bad("postal_address", "is required: the playbook sends marketing email, whose footer must show the sender's postal address")
	}
	if len(p.PostalAddress) > maxPostalAddressBytes {
		return bad("postal_address", "must be at most %d bytes, got %d", maxPostalAddressBytes, len(p.PostalAddress))
	}
	if p.ContinueAsNewAfterEvents < 0 {
		return bad("continue_as_new_after_events", "must be 0 (when Temporal suggests) or more, got %d", p.ContinueAsNewAfterEvents)
	}
	if p.DayLength.D() < time.Second {
		return bad("day_length", "must be at least 1s, got %s", p.DayLength.D())
	}
	for _, check := range []func() error{
		p.Onboarding.validate,
		p.Adoption.validate,
		p.Health.validate,
		p.NPS.validate,
		func() error { return p.Expansion.validate(p.HighValueMRR) },
		p.Renewal.validate,
		p.Dunning.validate,
		func() error { return p.Cancellation.validate(p.HighValueMRR) },
		p.WinBack.validate,
		func() error {
			if p.HighValueMRR < 0 {
				return bad("high_value_mrr", "must be 0 (no account is high-value) or more cents, got %d", p.HighValueMRR)
			}
			return nil
		},
		p.Alerts.validate,
		func() error {
			return p.Delivery.validate(map[string][]Step{
				SequenceOnboarding: p.Onboarding.Steps, SequenceRenewal: p.Renewal.Steps,
				SequenceDunning: p.Dunning.Steps, SequenceWinBack: p.WinBack.Steps,
			})
		},
	} {
		if err := check(); err != nil {
			return err
		}
	}
	for _, r := range p.templateRefs() {
		if r.name != "" && !messages.Exists(r.channel, r.name) {
			return bad(r.field, "no %s template %q (have: %s)", r.channel, r.name, strings.Join(messages.Names(r.channel), ", "))
		}
	}
	return nil
}

func (o Onboarding) validate() error {
	if len(o.Milestones) == 0 {
		return bad("onboarding.milestones", "needs at least one activation milestone")
	}
	seen := map[string]bool{}
	for i, m := range o.Milestones {
		if !nameRE.MatchString(m) {
			return bad(fmt.Sprintf("onboarding.milestones[%d]", i), "%q must be lower_snake_case", m)
		}
		if seen[m] {
			return bad(fmt.Sprintf("onboarding.milestones[%d]", i), "%q is listed twice", m)
		}
		seen[m] = true
	}
	if o.WelcomeEmail == "" {
		return bad("onboarding.welcome_email", "is required")
	}
	if o.ActivatedEmail == "" {
		return bad("onboarding.activated_email", "is required")
	}
	if o.EndsAfterDays < 1 {
		return bad("onboarding.ends_after_days", "must be at least 1, got %d", o.EndsAfterDays)
	}
	return stepList{
		field:  "onboarding.steps",
		minDay: 0, maxDay: o.EndsAfterDays - 1,
		dayRange:    fmt.Sprintf("from 0 to ends_after_days-1 (%d)", o.EndsAfterDays-1),
		healthTiers: true,
		sequence:    SequenceOnboarding,
		reserved:    []string{"welcome", "activated"},
		reservedRE:  onboardingRoundRE,
	}.validate(o.Steps)
}

func (a Adoption) validate() error {
	if a.InactiveEmailDays < 1 {
		return bad("adoption.inactive_email_days", "must be at least 1, got %d", a.InactiveEmailDays)
	}
	if a.InactiveEmail == "" {
		return bad("adoption.inactive_email", "is required")
	}
	if a.InactiveAlertDays != 0 && a.InactiveAlertDays <= a.InactiveEmailDays {
		return bad("adoption.inactive_alert_days", "must be 0 (no alert) or more than inactive_email_days (%d), got %d", a.InactiveEmailDays, a.InactiveAlertDays)
	}
	if a.InactiveAlertDays > 0 && a.InactiveAlert == "" {
		return bad("adoption.inactive_alert", "is required when inactive_alert_days is set")
	}
	for i, tip := range a.Tips {
		at := fmt.Sprintf("adoption.tips[%d]", i)
		if strings.TrimSpace(tip) == "" {
			return bad(at, "is empty")
		}
		if len(tip) > maxTipBytes {
			return bad(at, "is %d bytes, more than %d", len(tip), maxTipBytes)
		}
	}
	if a.UsageDropPercent < 0 || a.UsageDropPercent > 100 {
		return bad("adoption.usage_drop_percent", "must be 0 (off) or from 1 to 100, got %d", a.UsageDropPercent)
	}
	if a.UsageDropPercent > 0 {
		if a.UsageDropEmail == "" {
			return bad("adoption.usage_drop_email", "is required when usage_drop_percent is set")
		}
		if a.UsageDropAlert == "" {
			return bad("adoption.usage_drop_alert", "is required when usage_drop_percent is set")
		}
	}
	return nil
}

func (h Health) validate() error {
	w := h.Weights
	weights := []struct {
		name  string
		value int
	}{
		{"login_recency", w.LoginRecency}, {"login_frequency", w.LoginFrequency},
		{"milestones", w.Milestones}, {"usage_trend", w.UsageTrend}, {"nps", w.NPS},
		{"support_tickets", w.SupportTickets}, {"payment", w.Payment},
	}
	sum := 0
	for _, f := range weights {
		if f.value < 0 {
			return bad("health.weights."+f.name, "must be 0 (ignored) or more, got %d", f.value)
		}
		sum += f.value
	}
	if sum == 0 {
		return bad("health.weights", "must not all be 0: give at least one factor a weight")
	}
	if h.ActiveDaysTarget < 1 || h.ActiveDaysTarget > 30 {
		return bad("health.active_days_target", "must be from 1 to 30 (days with a login in 30 days), got %d", h.ActiveDaysTarget)
	}
	if h.AtRiskFrom < 1 {
		return bad("health.at_risk_from", "must be at least 1, got %d", h.AtRiskFrom)
	}
	if h.HealthyFrom <= h.AtRiskFrom {
		return bad("health.healthy_from", "must be more than at_risk_from (%d), got %d", h.AtRiskFrom, h.HealthyFrom)
	}
	if h.HealthyFrom > 100 {
		return bad("health.healthy_from", "must be at most 100, got %d", h.HealthyFrom)
	}
	if h.CriticalAlert == "" {
		return bad("health.critical_alert", "is required")
	}
	return nil
}

func (n NPS) validate() error {
	if n.FirstDay < 0 {
		return bad("nps.first_day", "must be 0 (no surveys) or at least 1, got %d", n.FirstDay)
	}
	if n.DetractorMax < 0 || n.DetractorMax > 10 {
		return bad("nps.detractor_max", "must be from 0 to 10, got %d", n.DetractorMax)
	}
	if n.PromoterMin < 0 || n.PromoterMin > 10 {
		return bad("nps.promoter_min", "must be from 0 to 10, got %d", n.PromoterMin)
	}
	if n.PromoterMin <= n.DetractorMax {
		return bad("nps.promoter_min", "must be more than detractor_max (%d), got %d", n.DetractorMax, n.PromoterMin)
	}
	if n.FirstDay == 0 {
		return nil
	}
	if n.EveryDays < 1 {
		return bad("nps.every_days", "must be at least 1 when first_day is set, got %d", n.EveryDays)
	}
	if n.SurveyEmail == "" {
		return bad("nps.survey_email", "is required when first_day is set")
	}
	if n.DetractorAlert == "" {
		return bad("nps.detractor_alert", "is required when first_day is set")
	}
	if n.PromoterEmail == "" {
		return bad("nps.promoter_email", "is required when first_day is set")
	}
	return nil
}

func (e Expansion) validate(highValueMRR int64) error {
	if e.SeatsUsedPercent < 0 || e.SeatsUsedPercent > 100 {
		return bad("expansion.seats_used_percent", "must be 0 (off) or from 1 to 100, got %d", e.SeatsUsedPercent)
	}
	if e.SeatsUsedPercent == 0 {
		return nil
	}
	if e.UpsellEmail == "" {
		return bad("expansion.upsell_email", "is required when seats_used_percent is set")
	}
	if highValueMRR > 0 && e.OwnerAlert == "" {
		return bad("expansion.owner_alert", "is required when seats_used_percent and high_value_mrr are set")
	}
	return nil
}

func (r Renewal) validate() error {
	if r.CloseAfterDays < 0 {
		return bad("renewal.close_after_days", "must be 0 or more, got %d", r.CloseAfterDays)
	}
	return stepList{
		field:  "renewal.steps",
		minDay: renewalFirstDay, maxDay: 0,
		dayRange: fmt.Sprintf("from %d to 0 (days before the renewal date)", renewalFirstDay),
	}.validate(r.Steps)
}

func (d Dunning) validate() error {
	if d.SuspendAfterDays < 1 {
		return bad("dunning.suspend_after_days", "must be at least 1, got %d", d.SuspendAfterDays)
	}
	if err := (stepList{
		field:  "dunning.steps",
		minDay: 0, maxDay: d.SuspendAfterDays - 1,
		dayRange: fmt.Sprintf("from 0 to suspend_after_days-1 (%d)", d.SuspendAfterDays-1),
		sequence: SequenceDunning,
		reserved: []string{"suspend", "suspended", "recovered", "restore"},
	}.validate(d.Steps)); err != nil {
		return err
	}
	if d.SuspendedEmail == "" {
		return bad("dunning.suspended_email", "is required")
	}
	if d.RecoveredEmail == "" {
		return bad("dunning.recovered_email", "is required")
	}
	return nil
}

func (c Cancellation) validate(highValueMRR int64) error {
	if c.ExitSurveyEmail == "" {
		return bad("cancellation.exit_survey_email", "is required")
	}
	for _, reason := range slices.Sorted(maps.Keys(c.SaveOffers)) {
		at := "cancellation.save_offers." + reason
		if !slices.Contains(cancellationReasons, reason) {
			return bad(at, "%q is not a cancellation reason (%s)", reason, strings.Join(cancellationReasons, ", "))
		}
		if c.SaveOffers[reason] == "" {
			return bad(at, "needs an email template (leave the reason out for no offer)")
		}
	}
	if highValueMRR > 0 && c.HighValueAlert == "" {
		return bad("cancellation.high_value_alert", "is required when high_value_mrr is set")
	}
	return nil
}

func (w WinBack) validate() error {
	if w.EndsAfterDays < 1 {
		return bad("win_back.ends_after_days", "must be at least 1, got %d", w.EndsAfterDays)
	}
	if err := (stepList{
		field:  "win_back.steps",
		minDay: 1, maxDay: w.EndsAfterDays - 1,
		dayRange: fmt.Sprintf("from 1 to ends_after_days-1 (%d)", w.EndsAfterDays-1),
		sequence: SequenceWinBack,
		reserved: []string{"welcome_back"},
	}.validate(w.Steps)); err != nil {
		return err
	}
	if w.WelcomeBackEmail == "" {
		return bad("win_back.welcome_back_email", "is required")
	}
	switch w.ReactivateTo {
	case ReactivateToAdoption, ReactivateToOnboarding:
	default:
		return bad("win_back.reactivate_to", "must be %s or %s, got %q", ReactivateToAdoption, ReactivateToOnboarding, w.ReactivateTo)
	}
	return nil
}

func (a Alerts) validate() error {
	if a.SLADays < 0 {
		return bad("alerts.sla_days", "must be 0 (no escalation) or more, got %d", a.SLADays)
	}
	if a.SnoozeDays < 1 {
		return bad("alerts.snooze_days", "must be at least 1, got %d", a.SnoozeDays)
	}
	if a.SLADays > 0 && a.EscalationAlert == "" {
		return bad("alerts.escalation_alert", "is required when sla_days is set")
	}
	return nil
}

// stepList describes one list of steps (onboarding, renewal, dunning,
// win-back) for the checks every list shares.
type stepList struct {
	// field is the list's JSON path, such as "dunning.steps".
	field string
	// minDay and maxDay bound a step's day, both included; dayRange says
	// the bounds in words for the error.
	minDay, maxDay int
	dayRange       string
	// healthTiers allows health_tier (onboarding only).
	healthTiers bool
	// sequence names the list in errors, such as "dunning".
	sequence string
	// reserved are the names of the workflow's own sends in this sequence:
	// a step of that name would share their idempotency key.
	reserved []string
	// reservedRE matches further reserved names (onboarding's round prefixes).
	reservedRE *regexp.Regexp
}

// onboardingRoundRE matches the prefix of a later onboarding round's keys
// (onboarding.r2.welcome).
var onboardingRoundRE = regexp.MustCompile(`^r[0-9]+$`)

// isReserved reports whether a step may not be called name.
func (l stepList) isReserved(name string) bool {
	return slices.Contains(l.reserved, name) || (l.reservedRE != nil && l.reservedRE.MatchString(name))
}

func (l stepList) validate(steps []Step) error {
	names := map[string]bool{}
	for i, s := range steps {
		at := fmt.Sprintf("%s[%d]", l.field, i)
		if !nameRE.MatchString(s.Name) {
			return bad(at+".name", "%q must be lower_snake_case", s.Name)
		}
		if l.isReserved(s.Name) {
			return bad(at+".name", "%q is reserved in %s: the workflow's own send uses its idempotency key", s.Name, l.sequence)
		}
		if names[s.Name] {
			return bad(at+".name", "%q is used by another step", s.Name)
		}
		names[s.Name] = true
		if s.Day < l.minDay || s.Day > l.maxDay {
			return bad(at+".day", "must be %s, got %d", l.dayRange, s.Day)
		}
		if i > 0 && s.Day < steps[i-1].Day {
			return bad(at+".day", "steps must be in day order: day %d comes after day %d", s.Day, steps[i-1].Day)
		}
		if s.Email == "" && s.SMS == "" && s.CSMAlert == "" {
			return bad(at, "does nothing: set email, sms or csm_alert")
		}
		if err := validateStepPolicy(at, s); err != nil {
			return err
		}
		switch {
		case s.HealthTier == "":
		case !l.healthTiers:
			return bad(at+".health_tier", "only onboarding steps set a health tier")
		case s.HealthTier != TierHealthy && s.HealthTier != TierAtRisk && s.HealthTier != TierCritical:
			return bad(at+".health_tier", "must be %s, %s or %s, got %q", TierHealthy, TierAtRisk, TierCritical, s.HealthTier)
		}
		switch s.CSMAlertWhen {
		case "":
		case AlertWhenNotHealthyOrHighValue:
			if s.CSMAlert == "" {
				return bad(at+".csm_alert_when", "needs a csm_alert to restrict")
			}
		default:
			return bad(at+".csm_alert_when", "must be empty (always) or %s, got %q", AlertWhenNotHealthyOrHighValue, s.CSMAlertWhen)
		}
	}
	return nil
}

// templateRefs lists every template the playbook names, with its field.
func (p Playbook) templateRefs() []templateRef {
	const (
		email = messages.ChannelEmail
		sms   = messages.ChannelSMS
		alert = messages.ChannelAlert
	)
	refs := []templateRef{
		{"onboarding.welcome_email", email, p.Onboarding.WelcomeEmail},
		{"onboarding.activated_email", email, p.Onboarding.ActivatedEmail},
	}
	refs = appendStepRefs(refs, "onboarding.steps", p.Onboarding.Steps)
	a := p.Adoption
	refs = append(refs,
		templateRef{"adoption.inactive_email", email, a.InactiveEmail},
		templateRef{"adoption.inactive_alert", alert, a.InactiveAlert},
		templateRef{"adoption.usage_drop_email", email, a.UsageDropEmail},
		templateRef{"adoption.usage_drop_alert", alert, a.UsageDropAlert},
		templateRef{"health.critical_alert", alert, p.Health.CriticalAlert},
		templateRef{"nps.survey_email", email, p.NPS.SurveyEmail},
		templateRef{"nps.detractor_alert", alert, p.NPS.DetractorAlert},
		templateRef{"nps.promoter_email", email, p.NPS.PromoterEmail},
		templateRef{"expansion.upsell_email", email, p.Expansion.UpsellEmail},
		templateRef{"expansion.owner_alert", alert, p.Expansion.OwnerAlert},
	)
	refs = appendStepRefs(refs, "renewal.steps", p.Renewal.Steps)
	refs = appendStepRefs(refs, "dunning.steps", p.Dunning.Steps)
	refs = append(refs,
		templateRef{"dunning.suspended_email", email, p.Dunning.SuspendedEmail},
		templateRef{"dunning.recovered_email", email, p.Dunning.RecoveredEmail},
		templateRef{"cancellation.exit_survey_email", email, p.Cancellation.ExitSurveyEmail},
	)
	for _, reason := range slices.Sorted(maps.Keys(p.Cancellation.SaveOffers)) {
		refs = append(refs, templateRef{"cancellation.save_offers." + reason, email, p.Cancellation.SaveOffers[reason]})
	}
	refs = append(refs, templateRef{"cancellation.high_value_alert", alert, p.Cancellation.HighValueAlert})
	refs = appendStepRefs(refs, "win_back.steps", p.WinBack.Steps)
	refs = append(refs,
		templateRef{"win_back.welcome_back_email", email, p.WinBack.WelcomeBackEmail},
		templateRef{"alerts.escalation_alert", alert, p.Alerts.EscalationAlert},
	)
	return append(refs, p.Delivery.templateRefs()...)
}

func appendStepRefs(refs []templateRef, field string, steps []Step) []templateRef {
	for i, s := range steps {
		at := fmt.Sprintf("%s[%d].", field, i)
		refs = append(refs,
			templateRef{at + "email", messages.ChannelEmail, s.Email},
			templateRef{at + "sms", messages.ChannelSMS, s.SMS},
			templateRef{at + "csm_alert", messages.ChannelAlert, s.CSMAlert})
	}
	return refs
}

type templateRef struct {
	field   string
	channel messages.Channel
	name    string
}

// SendsMarketingEmail reports whether any message the playbook names can go
// as marketing email: the marketing messages (nudges, usage drop, upsell,
// NPS, win-back) and any step whose class is marketing, by email or by an
// SMS the channel fallback may turn into one.
func (p Playbook) SendsMarketingEmail() bool {
	for _, t := range []string{p.Adoption.InactiveEmail, p.Adoption.UsageDropEmail, p.Expansion.UpsellEmail, p.NPS.SurveyEmail, p.NPS.PromoterEmail} {
		if t != "" {
			return true
		}
	}
	for _, seq := range []struct {
		steps []Step
		class string
	}{
		{p.Onboarding.Steps, ClassLifecycle}, {p.Renewal.Steps, ClassLifecycle},
		{p.Dunning.Steps, ClassTransactional}, {p.WinBack.Steps, ClassMarketing},
	} {
		for _, s := range seq.steps {
			class := cmp.Or(s.Class, seq.class)
			if class == ClassMarketing && (s.Email != "" || s.SMS != "") {
				return true
			}
		}
	}
	return false
}
