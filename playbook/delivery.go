package playbook

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/signals"
)

// Message classes. Every message to the customer has one: the step's Class
// when the playbook sets it, else its sequence's (dunning transactional;
// onboarding, renewal and cancellation lifecycle; nudges, NPS, upsell and
// win-back marketing). Caps and send windows are configured per class.
const (
	ClassTransactional = "transactional"
	ClassLifecycle     = "lifecycle"
	ClassMarketing     = "marketing"
)

// Classes lists the message classes.
var Classes = []string{ClassTransactional, ClassLifecycle, ClassMarketing}

// What happens to a message a frequency cap holds back (Delivery.Capped).
const (
	// CappedDefer sends it at the next slot the cap allows.
	CappedDefer = "defer"
	// CappedDrop does not send it.
	CappedDrop = "drop"
)

// Delivery holds the rules every message to the customer passes before it
// goes: frequency caps, send windows, consent fallback, experiments and
// the holdout. They are decided inside the customer's one workflow, so two
// messages never race past a cap.
type Delivery struct {
	// Timezone is the IANA zone of customers whose own zone is unknown;
	// caps count days and windows open in the customer's zone.
	Timezone string `json:"timezone"`
	// Caps bound how many messages of a class (lifecycle, marketing) one
	// customer gets, across channels. A class without a cap is not
	// capped; transactional messages never are.
	Caps map[string]Cap `json:"caps"`
	// Capped is what happens to a message a cap holds back: defer (to the
	// next slot the cap allows, at CapResumeAt local time) or drop.
	Capped string `json:"capped"`
	// CappedTemplates overrides Capped by message template, such as
	// {"nps_survey": "drop"}.
	CappedTemplates map[string]string `json:"capped_templates,omitempty"`
	// CapResumeAt is the local time of day ("09:00") a message deferred by
	// a cap goes on its new day, unless a send window says later.
	CapResumeAt string `json:"cap_resume_at"`
	// Windows are the local hours each channel (sms, email) may send in. A
	// message due outside waits for the window to open, and is checked
	// again when it does. Only on a 24-hour journey day.
	Windows map[string]Window `json:"windows"`
	// Fallback sends a message on the other channel when its own cannot
	// reach the customer: email instead of an SMS without phone, consent
	// or a valid number; SMS (when allowed) instead of an email to an
	// unusable address. The other channel needs a template of the same
	// name, and a step that sends on both channels falls back to neither.
	Fallback bool `json:"fallback"`
	// UnreachableAlert tells the CSM, once until a channel opens again,
	// that a transactional or lifecycle message had no channel left. Empty
	// tells nobody.
	UnreachableAlert string `json:"unreachable_alert,omitempty"`
	// HoldoutPercent of customers (0-50), picked by customer ID, get no
	// marketing message at all; their journeys record what they would
	// have got, so the journeys' effect can be measured against them.
	HoldoutPercent float64 `json:"holdout_percent"`
	// Experiments split customers between variants of a step.
	Experiments []Experiment `json:"experiments,omitempty"`
}

// Cap bounds the messages of one class per customer.
type Cap struct {
	// PerDay is the most per local calendar day; 0 is no daily bound.
	PerDay int `json:"per_day"`
	// PerWeek is the most in any 7 local days (today and the 6 before);
	// 0 is no weekly bound.
	PerWeek int `json:"per_week"`
}

// Window is when a channel may send, in the customer's local time.
type Window struct {
	// From and To are "HH:MM", From before To: the window is [From, To).
	From string `json:"from"`
	To   string `json:"to"`
	// SkipWeekends sends nothing on Saturdays and Sundays.
	SkipWeekends bool `json:"skip_weekends,omitempty"`
	// Classes the window holds; empty is every class.
	Classes []string `json:"classes,omitempty"`
}

// Experiment splits customers between variants of one step.
type Experiment struct {
	// Name is lower_snake_case and stable: it picks each customer's
	// variant (with the customer ID), and is recorded on the journey, in
	// the CRM and on each send.
	Name string `json:"name"`
	// Step is the step it varies, as sequence.step: onboarding.nudge,
	// renewal.reminder, dunning.reminder or win_back.offer.
	Step string `json:"step"`
	// Variants, with their weights; a variant changes nothing it leaves
	// empty, so a control is a variant with only a name and a weight.
	Variants []Variant `json:"variants"`
}

// Variant is one arm of an experiment.
type Variant struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
	// Email and SMS replace the step's templates.
	Email string `json:"email,omitempty"`
	SMS   string `json:"sms,omitempty"`
	// Day, when set, replaces the step's day.
	Day *int `json:"day,omitempty"`
}

// Sequences whose steps an experiment can name, as in Experiment.Step.
const (
	SequenceOnboarding = "onboarding"
	SequenceRenewal    = "renewal"
	SequenceDunning    = "dunning"
	SequenceWinBack    = "win_back"
)

// DefaultDelivery is the production delivery policy.
func DefaultDelivery() Delivery {
	return Delivery{
		Timezone:         "UTC",
		Caps:             map[string]Cap{ClassMarketing: {PerDay: 1, PerWeek: 3}},
		Capped:           CappedDefer,
		CappedTemplates:  map[string]string{},
		CapResumeAt:      "09:00",
		Windows:          map[string]Window{string(messages.ChannelSMS): {From: "09:00", To: "20:00"}},
		Fallback:         true,
		UnreachableAlert: "customer_unreachable",
		Experiments:      []Experiment{},
	}
}

// ClockOf parses "HH:MM" as a duration since midnight.
func ClockOf(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("must be a local time like 09:00, got %q", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// CappedAction is what happens to template when a cap holds it back.
func (d Delivery) CappedAction(template string) string {
	if a, ok := d.CappedTemplates[template]; ok {
		return a
	}
	return d.Capped
}

// Experiment returns the experiment on step (sequence.step), if any.
func (d Delivery) Experiment(step string) (Experiment, bool) {
	for _, e := range d.Experiments {
		if e.Step == step {
			return e, true
		}
	}
	return Experiment{}, false
}

// Variant returns the variant named name.
func (e Experiment) Variant(name string) (Variant, bool) {
	for _, v := range e.Variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// Apply returns s as the variant changes it.
func (v Variant) Apply(s Step) Step {
	if v.Email != "" {
		s.Email = v.Email
	}
	if v.SMS != "" {
		s.SMS = v.SMS
	}
	if v.Day != nil {
		s.Day = *v.Day
	}
	return s
}

// Goal is a step's goal event: a type, and for milestone_reached and
// feature_used optionally the milestone or feature ("milestone_reached:
// first_project").
type Goal struct {
	Type  signals.Type
	Value string
}

// ParseGoal parses a Step.Goal.
func ParseGoal(s string) (Goal, error) {
	typ, value, _ := strings.Cut(s, ":")
	g := Goal{Type: signals.Type(typ), Value: value}
	switch {
	case !g.Type.Known():
		return g, fmt.Errorf("%q is not an event type (want one of %s, optionally :value for milestone_reached and feature_used)", typ, eventTypes)
	case g.Type == signals.SignedUp:
		return g, fmt.Errorf("signed_up cannot be a goal: it starts the journey")
	case value != "" && g.Type != signals.MilestoneReached && g.Type != signals.FeatureUsed:
		return g, fmt.Errorf("only milestone_reached and feature_used goals take a :value, got %q", s)
	case value != "" && !nameRE.MatchString(value):
		return g, fmt.Errorf("%q must be lower_snake_case", value)
	}
	return g, nil
}

// eventTypes lists the event types, once: ParseGoal runs in workflow
// code, where the map behind signals.Types must not be ranged over.
var eventTypes = func() string {
	var names []string
	for _, t := range signals.Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}()

// validate checks the delivery policy section by section, in the order of
// its fields, and returns the first problem; steps are the steps an
// experiment may vary, by sequence.
func (d Delivery) validate(steps map[string][]Step) error {
	for _, check := range []func() error{
		d.validateTimezone,
		d.validateCaps,
		d.validateCapped,
		d.validateWindows,
		func() error {
			if d.HoldoutPercent < 0 || d.HoldoutPercent > 50 {
				return bad("delivery.holdout_percent", "must be from 0 to 50, got %g", d.HoldoutPercent)
			}
			return nil
		},
		func() error { return d.validateExperiments(steps) },
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateTimezone checks the zone of customers whose own is unknown: caps
// and windows count in it.
func (d Delivery) validateTimezone() error {
	if d.Timezone == "" {
		return bad("delivery.timezone", "is required (an IANA zone such as America/New_York)")
	}
	if _, err := time.LoadLocation(d.Timezone); err != nil {
		return bad("delivery.timezone", "%q is not an IANA time zone", d.Timezone)
	}
	return nil
}

// validateCaps checks each class's cap, in the classes' order so the same
// playbook always reports the same problem first.
func (d Delivery) validateCaps() error {
	for _, c := range slices.Sorted(maps.Keys(d.Caps)) {
		at := "delivery.caps." + c
		cp := d.Caps[c]
		switch {
		case c == ClassTransactional:
			return bad(at, "transactional messages are never capped")
		case !slices.Contains(Classes, c):
			return bad(at, "%q is not a message class; caps are for %s or %s", c, ClassLifecycle, ClassMarketing)
		case cp.PerDay < 0 || cp.PerWeek < 0:
			return bad(at, "per_day and per_week must be 0 (no bound) or more")
		case cp.PerDay > 0 && cp.PerWeek > 0 && cp.PerWeek < cp.PerDay:
			return bad(at+".per_week", "%d is less than per_day %d", cp.PerWeek, cp.PerDay)
		}
	}
	return nil
}

// validateCapped checks what happens to a capped message: the action, its
// per-template overrides and the time a deferred one resumes.
func (d Delivery) validateCapped() error {
	if d.Capped != CappedDefer && d.Capped != CappedDrop {
		return bad("delivery.capped", "must be %s or %s, got %q", CappedDefer, CappedDrop, d.Capped)
	}
	for _, t := range slices.Sorted(maps.Keys(d.CappedTemplates)) {
		if a := d.CappedTemplates[t]; a != CappedDefer && a != CappedDrop {
			return bad("delivery.capped_templates."+t, "must be %s or %s, got %q", CappedDefer, CappedDrop, a)
		}
	}
	if _, err := ClockOf(d.CapResumeAt); err != nil {
		return bad("delivery.cap_resume_at", "%v", err)
	}
	return nil
}

// validateWindows checks each channel's send window, in the channels'
// order so the same playbook always reports the same problem first.
func (d Delivery) validateWindows() error {
	for _, ch := range slices.Sorted(maps.Keys(d.Windows)) {
		if err := validateWindow("delivery.windows."+ch, ch, d.Windows[ch]); err != nil {
			return err
		}
	}
	return nil
}

// validateWindow checks the send window w of channel ch, at field at: a
// window within one day, of known classes.
func validateWindow(at, ch string, w Window) error {
	if ch != string(messages.ChannelSMS) && ch != string(messages.ChannelEmail) {
		return bad(at, "%q is not a channel with a send window; want sms or email", ch)
	}
	from, err := ClockOf(w.From)
	if err != nil {
		return bad(at+".from", "%v", err)
	}
	to, err := ClockOf(w.To)
	if err != nil {
		return bad(at+".to", "%v", err)
	}
	if to <= from {
		return bad(at+".to", "%s must be after from %s (a window within one day)", w.To, w.From)
	}
	for i, c := range w.Classes {
		if !slices.Contains(Classes, c) {
			return bad(fmt.Sprintf("%s.classes[%d]", at, i), "%q is not a message class (%s)", c, strings.Join(Classes, ", "))
		}
	}
	return nil
}

// validateExperiments checks each experiment, and that no two share a name
// (it picks the variants) or vary the same step (a send has one variant).
func (d Delivery) validateExperiments(steps map[string][]Step) error {
	names := map[string]bool{}
	stepsVaried := map[string]bool{}
	for i, e := range d.Experiments {
		at := fmt.Sprintf("delivery.experiments[%d]", i)
		if !nameRE.MatchString(e.Name) {
			return bad(at+".name", "%q must be lower_snake_case", e.Name)
		}
		if names[e.Name] {
			return bad(at+".name", "%q is used by another experiment", e.Name)
		}
		names[e.Name] = true
		seq, step, err := experimentStep(at, e.Step, steps)
		if err != nil {
			return err
		}
		if stepsVaried[e.Step] {
			return bad(at+".step", "%s is varied by another experiment", e.Step)
		}
		stepsVaried[e.Step] = true
		if err := validateVariants(at, e.Variants, seq, step); err != nil {
			return err
		}
	}
	return nil
}

// experimentStep finds the step ref (sequence.step) of the experiment at
// at, so its variants can be checked against what the step sends.
func experimentStep(at, ref string, steps map[string][]Step) (seq string, step Step, err error) {
	seq, name, _ := strings.Cut(ref, ".")
	list, ok := steps[seq]
	if !ok {
		return "", Step{}, bad(at+".step", "%q must be sequence.step, the sequence one of %s, %s, %s or %s", ref, SequenceOnboarding, SequenceRenewal, SequenceDunning, SequenceWinBack)
	}
	idx := slices.IndexFunc(list, func(s Step) bool { return s.Name == name })
	if idx < 0 {
		return "", Step{}, bad(at+".step", "%s has no step %q", seq, name)
	}
	return seq, list[idx], nil
}

// validateVariants checks the variants of the experiment at at on step of
// sequence seq: at least two, each named once.
func validateVariants(at string, vs []Variant, seq string, step Step) error {
	if len(vs) < 2 {
		return bad(at+".variants", "needs at least two variants")
	}
	vnames := map[string]bool{}
	for j, v := range vs {
		vat := fmt.Sprintf("%s.variants[%d]", at, j)
		if !nameRE.MatchString(v.Name) {
			return bad(vat+".name", "%q must be lower_snake_case", v.Name)
		}
		if vnames[v.Name] {
			return bad(vat+".name", "%q is used by another variant", v.Name)
		}
		vnames[v.Name] = true
		if err := v.validate(vat, seq, step); err != nil {
			return err
		}
	}
	return nil
}

// validate checks, at field at, that the variant changes only what step
// (of sequence seq) has: a template it sends, a day on its side of zero.
func (v Variant) validate(at, seq string, step Step) error {
	if v.Weight < 1 || v.Weight > 10000 {
		return bad(at+".weight", "must be from 1 to 10000, got %d", v.Weight)
	}
	if v.Email != "" && step.Email == "" {
		return bad(at+".email", "the step sends no email to replace")
	}
	if v.SMS != "" && step.SMS == "" {
		return bad(at+".sms", "the step sends no SMS to replace")
	}
	if v.Day != nil && seq == SequenceRenewal && *v.Day >= 0 {
		return bad(at+".day", "renewal days count before the renewal date: must be negative, got %d", *v.Day)
	}
	if v.Day != nil && seq != SequenceRenewal && *v.Day < 0 {
		return bad(at+".day", "must be 0 or more, got %d", *v.Day)
	}
	return nil
}

// validateStepPolicy checks a step's class and goal.
func validateStepPolicy(at string, s Step) error {
	if s.Class != "" && !slices.Contains(Classes, s.Class) {
		return bad(at+".class", "must be one of %s, got %q", strings.Join(Classes, ", "), s.Class)
	}
	if s.Goal != "" {
		if _, err := ParseGoal(s.Goal); err != nil {
			return bad(at+".goal", "%v", err)
		}
	}
	return nil
}

// deliveryTemplateRefs lists the templates the delivery policy names.
func (d Delivery) templateRefs() []templateRef {
	refs := []templateRef{{"delivery.unreachable_alert", messages.ChannelAlert, d.UnreachableAlert}}
	for i, e := range d.Experiments {
		for j, v := range e.Variants {
			at := fmt.Sprintf("delivery.experiments[%d].variants[%d].", i, j)
			refs = append(refs,
				templateRef{at + "email", messages.ChannelEmail, v.Email},
				templateRef{at + "sms", messages.ChannelSMS, v.SMS})
		}
	}
	return refs
}
