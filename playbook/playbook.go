// Package playbook holds every delay, threshold, milestone name and template
// name a journey uses. The workflow code decides what to do; the playbook
// decides when and with which words.
//
// A playbook has defaults (Default), can be loaded from YAML or JSON (Load),
// and is validated at load time with errors that name the offending field.
//
// How a changed playbook reaches running journeys: the workflow reads the
// worker's playbook through workflow.MutableSideEffect each time it wakes up.
// Temporal records the playbook in the journey's history only when it differs
// from the one recorded before, and replays use the recorded value, so a
// deploy with a new playbook is deterministic: each journey switches at its
// next wake-up, steps already done stay done, and pending steps are re-timed
// against the new values.
package playbook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Playbook configures every journey a worker runs.
type Playbook struct {
	// Name identifies the playbook in logs and in the journey's state.
	Name string `json:"name"`
	// Product and AppURL are the product's name and address, used in messages.
	Product string `json:"product"`
	AppURL  string `json:"app_url"`
	// PostalAddress is the sender's postal address, shown in the footer of
	// marketing and lifecycle email; required when the playbook can send
	// marketing email (CAN-SPAM asks for a valid physical address).
	PostalAddress string `json:"postal_address,omitempty"`
	// DayLength is how long a "day" lasts on the journey clock: 24h in
	// production, seconds in a demo. Every *_day field counts in these days.
	DayLength Duration `json:"day_length"`
	// Onboarding is the first stage of every journey.
	Onboarding Onboarding `json:"onboarding"`
	// Adoption watches an active customer: inactivity and usage drops.
	Adoption Adoption `json:"adoption"`
	// Health configures the health score and its tiers.
	Health Health `json:"health"`
	// NPS configures the NPS survey loop.
	NPS NPS `json:"nps"`
	// Expansion configures upsell when seats run out.
	Expansion Expansion `json:"expansion"`
	// Renewal is the sequence before each renewal date.
	Renewal Renewal `json:"renewal"`
	// Dunning is the sequence after a failed payment.
	Dunning Dunning `json:"dunning"`
	// Cancellation is what a cancellation request sets off.
	Cancellation Cancellation `json:"cancellation"`
	// WinBack is the sequence after a customer churns.
	WinBack WinBack `json:"win_back"`
	// HighValueMRR is the MRR, in the currency's minor unit (cents), from
	// which an account is high-value: its expansion goes to the account
	// owner instead of an upsell email, and its renewal and cancellation
	// alert the CSM. 0 makes no account high-value.
	HighValueMRR int64 `json:"high_value_mrr"`
	// Alerts configures how CSM alerts are followed up.
	Alerts Alerts `json:"alerts"`
	// Delivery holds the rules every message to the customer passes:
	// frequency caps, send windows, fallback, experiments and the holdout.
	Delivery Delivery `json:"delivery"`
	// ContinueAsNewAfterEvents, when above zero, starts a fresh run of a
	// journey after that many events in one run, even before Temporal
	// suggests it (at about 4,096 history events). It lives in the playbook
	// because the playbook is recorded in history, so changing it is safe
	// for journeys in flight.
	ContinueAsNewAfterEvents int `json:"continue_as_new_after_events,omitempty"`
}

// Onboarding configures the onboarding stage: from signup until the customer
// reaches every activation milestone or EndsAfterDays pass.
type Onboarding struct {
	// Milestones are the activation milestones; reaching all of them is activation.
	Milestones []string `json:"milestones"`
	// WelcomeEmail is the template sent at signup.
	WelcomeEmail string `json:"welcome_email"`
	// ActivatedEmail is the template sent when the customer activates.
	ActivatedEmail string `json:"activated_email"`
	// Steps run in day order while the customer is still onboarding, that is,
	// not yet activated.
	Steps []Step `json:"steps"`
	// EndsAfterDays ends onboarding (stage adoption) even without activation.
	EndsAfterDays int `json:"ends_after_days"`
}

// Step is one scheduled touch of onboarding. Every action is optional; a step
// does all of those it names.
type Step struct {
	// Name is unique within onboarding and stable: it is part of the send's
	// idempotency key and of the journey's record of steps done.
	Name string `json:"name"`
	// Day is the journey day, counted from signup, on which the step runs.
	Day int `json:"day"`
	// Email is the email template to send.
	Email string `json:"email,omitempty"`
	// SMS is the SMS template to send; skipped when the customer has no phone.
	SMS string `json:"sms,omitempty"`
	// CSMAlert is the Slack alert template for the customer's CSM.
	CSMAlert string `json:"csm_alert,omitempty"`
	// HealthTier, when set, is the tier the customer is in once this step
	// has run without activation (for example at_risk after the nudge).
	// Onboarding only; the health score can only make the tier worse.
	HealthTier string `json:"health_tier,omitempty"`
	// CSMAlertWhen restricts CSMAlert: "" (always) or
	// AlertWhenNotHealthyOrHighValue.
	CSMAlertWhen string `json:"csm_alert_when,omitempty"`
	// Class overrides the class of the step's messages (transactional,
	// lifecycle or marketing); empty is the sequence's class.
	Class string `json:"class,omitempty"`
	// Goal names the event this step works towards, such as
	// "milestone_reached:first_project" or "login". When it arrives, every
	// step of the journey not yet run that names the same goal is
	// skipped, at once, even in the middle of a wait.
	Goal string `json:"goal,omitempty"`
}

// AlertWhenNotHealthyOrHighValue sends a step's CSM alert only when the
// customer's tier is not healthy or the account is high-value.
const AlertWhenNotHealthyOrHighValue = "not_healthy_or_high_value"

// Adoption configures the watch on an active customer (stages adoption and
// renewal).
type Adoption struct {
	// InactiveEmailDays: no login for this many days sends InactiveEmail,
	// once per quiet spell; a login starts a new spell.
	InactiveEmailDays int    `json:"inactive_email_days"`
	InactiveEmail     string `json:"inactive_email"`
	// InactiveAlertDays: no login for this many days alerts the CSM.
	InactiveAlertDays int    `json:"inactive_alert_days"`
	InactiveAlert     string `json:"inactive_alert"`
	// Tips are product tips for re-engagement emails, used in turn.
	Tips []string `json:"tips"`
	// UsageDropPercent: key actions falling this much or more from one
	// usage snapshot to the next sends UsageDropEmail and UsageDropAlert,
	// once until usage stops falling.
	UsageDropPercent int    `json:"usage_drop_percent"`
	UsageDropEmail   string `json:"usage_drop_email"`
	UsageDropAlert   string `json:"usage_drop_alert"`
}

// Health configures the health score: a weighted mean of factors, each from
// 0 to 1, scaled to 0-100.
type Health struct {
	Weights HealthWeights `json:"weights"`
	// ActiveDaysTarget is how many days with a login in 30 days count as
	// fully active (login frequency 1.0).
	ActiveDaysTarget int `json:"active_days_target"`
	// HealthyFrom and AtRiskFrom are the lowest scores of the healthy and
	// at_risk tiers; below AtRiskFrom is critical.
	HealthyFrom int `json:"healthy_from"`
	AtRiskFrom  int `json:"at_risk_from"`
	// CriticalAlert alerts the CSM when the customer drops into critical,
	// once until the score recovers out of it.
	CriticalAlert string `json:"critical_alert"`
}

// HealthWeights weighs the health factors; only their ratios matter.
type HealthWeights struct {
	LoginRecency   int `json:"login_recency"`
	LoginFrequency int `json:"login_frequency"`
	Milestones     int `json:"milestones"`
	UsageTrend     int `json:"usage_trend"`
	NPS            int `json:"nps"`
	SupportTickets int `json:"support_tickets"`
	Payment        int `json:"payment"`
}

// NPS configures the survey loop.
type NPS struct {
	// FirstDay is the journey day of the first survey; 0 turns surveys off.
	FirstDay int `json:"first_day"`
	// EveryDays is the interval between surveys.
	EveryDays   int    `json:"every_days"`
	SurveyEmail string `json:"survey_email"`
	// DetractorMax: a score at or below it alerts the CSM with the comment.
	DetractorMax   int    `json:"detractor_max"`
	DetractorAlert string `json:"detractor_alert"`
	// PromoterMin: a score at or above it sends the referral/review ask.
	PromoterMin   int    `json:"promoter_min"`
	PromoterEmail string `json:"promoter_email"`
}

// Expansion configures upsell when seats run out.
type Expansion struct {
	// SeatsUsedPercent: seats used at or above this share of the plan's
	// seats is an expansion opportunity, taken once per seat count.
	SeatsUsedPercent int    `json:"seats_used_percent"`
	UpsellEmail      string `json:"upsell_email"`
	// OwnerAlert goes to the account owner (the CSM) instead of the email
	// for high-value accounts.
	OwnerAlert string `json:"owner_alert"`
}

// Renewal is the sequence before a renewal date. A step's Day counts from
// the renewal date, so it is negative: -90 is 90 days before. The stage is
// renewal from the first step's day until the renewal is paid.
type Renewal struct {
	Steps []Step `json:"steps"`
	// CloseAfterDays closes a window whose renewal date passed this many
	// days ago without a renewal payment.
	CloseAfterDays int `json:"close_after_days"`
}

// Dunning is the sequence after a failed payment; a step's Day counts from
// the first failure. Dunning runs alongside any stage, and while it runs
// marketing sends are suppressed.
type Dunning struct {
	Steps []Step `json:"steps"`
	// SuspendAfterDays ends the grace period: the account is suspended.
	SuspendAfterDays int    `json:"suspend_after_days"`
	SuspendedEmail   string `json:"suspended_email"`
	// RecoveredEmail is sent when the payment goes through.
	RecoveredEmail string `json:"recovered_email"`
}

// Cancellation configures what a cancellation request sets off.
type Cancellation struct {
	ExitSurveyEmail string `json:"exit_survey_email"`
	// SaveOffers maps a cancellation reason (price, missing_feature,
	// not_using, switching, other) to the email template of its save offer.
	SaveOffers map[string]string `json:"save_offers"`
	// DiscountOffer is the offer's text, for templates ({{.Offer}}).
	DiscountOffer string `json:"discount_offer"`
	// HighValueAlert alerts the CSM of a high-value account.
	HighValueAlert string `json:"high_value_alert"`
}

// WinBack is the sequence after a churn; a step's Day counts from the churn.
type WinBack struct {
	Steps []Step `json:"steps"`
	// Offer is the win-back offer's text, for templates ({{.Offer}}).
	Offer string `json:"offer"`
	// EndsAfterDays completes the journey when no reactivation came.
	EndsAfterDays    int    `json:"ends_after_days"`
	WelcomeBackEmail string `json:"welcome_back_email"`
	// ReactivateTo is the stage a reactivated customer returns to:
	// adoption or onboarding (a fresh onboarding, milestones and all).
	ReactivateTo string `json:"reactivate_to"`
}

// Alerts configures the follow-up of CSM alerts.
type Alerts struct {
	// SLADays: an alert nobody acknowledges within this many days escalates,
	// once, to the team channel. 0 turns escalation off.
	SLADays int `json:"sla_days"`
	// BusinessDays counts SLADays on weekdays only (UTC), when a journey day
	// lasts 24h; on a demo clock every day counts.
	BusinessDays bool `json:"business_days"`
	// SnoozeDays is how long "Snooze" quiets an alert; its SLA restarts after.
	SnoozeDays int `json:"snooze_days"`
	// EscalationAlert is the alert template sent to the team channel.
	EscalationAlert string `json:"escalation_alert"`
}

// Health tiers, shared with the HealthTier search attribute.
const (
	TierHealthy  = "healthy"
	TierAtRisk   = "at_risk"
	TierCritical = "critical"
)

// Default is the production playbook.
func Default() Playbook {
	return Playbook{
		Name:          "default",
		Product:       "Acme",
		AppURL:        "https://app.example.com",
		PostalAddress: "Example Inc., 548 Market St, San Francisco, CA 94104",
		DayLength:     Duration(24 * time.Hour),
		Onboarding: Onboarding{
			Milestones:     []string{"first_project", "invited_teammate", "connected_integration"},
			WelcomeEmail:   "welcome",
			ActivatedEmail: "activated",
			Steps: []Step{
				{Name: "getting_started", Day: 1, Email: "getting_started"},
				{Name: "nudge", Day: 3, Email: "onboarding_nudge", HealthTier: TierAtRisk},
				{Name: "escalate", Day: 7, SMS: "onboarding_nudge", CSMAlert: "not_activated", HealthTier: TierCritical},
			},
			EndsAfterDays: 30,
		},
		Adoption: Adoption{
			InactiveEmailDays: 14, InactiveEmail: "re_engagement",
			InactiveAlertDays: 21, InactiveAlert: "inactive_customer",
			Tips: []string{
				"Saved views keep the reports you check every week one click away.",
				"Invite a teammate: accounts with two active users get twice the value.",
				"Connect your calendar and we'll remind you before each review.",
			},
			UsageDropPercent: 30, UsageDropEmail: "usage_drop", UsageDropAlert: "usage_drop",
		},
		Health: Health{
			Weights:          HealthWeights{LoginRecency: 25, LoginFrequency: 15, Milestones: 15, UsageTrend: 15, NPS: 10, SupportTickets: 10, Payment: 10},
			ActiveDaysTarget: 12, HealthyFrom: 70, AtRiskFrom: 40, CriticalAlert: "health_critical",
		},
		NPS: NPS{
			FirstDay: 30, EveryDays: 90, SurveyEmail: "nps_survey",
			DetractorMax: 6, DetractorAlert: "nps_detractor",
			PromoterMin: 9, PromoterEmail: "referral_ask",
		},
		Expansion: Expansion{SeatsUsedPercent: 90, UpsellEmail: "upsell", OwnerAlert: "expansion_opportunity"},
		Renewal: Renewal{
			Steps: []Step{
				{Name: "value_recap", Day: -90, Email: "renewal_value_recap"},
				{Name: "whats_new", Day: -60, Email: "renewal_whats_new"},
				{Name: "reminder", Day: -30, Email: "renewal_reminder", CSMAlert: "renewal_at_risk", CSMAlertWhen: AlertWhenNotHealthyOrHighValue},
				{Name: "final_reminder", Day: -7, Email: "renewal_final_reminder"},
			},
			CloseAfterDays: 3,
		},
		Dunning: Dunning{
			Steps: []Step{
				{Name: "failed", Day: 0, Email: "payment_failed"},
				{Name: "reminder", Day: 3, Email: "payment_reminder", SMS: "payment_reminder"},
				{Name: "final_reminder", Day: 7, Email: "payment_final_reminder", SMS: "payment_reminder", CSMAlert: "payment_failing"},
			},
			SuspendAfterDays: 10, SuspendedEmail: "account_suspended", RecoveredEmail: "payment_recovered",
		},
		Cancellation: Cancellation{
			ExitSurveyEmail: "exit_survey",
			SaveOffers: map[string]string{
				"price":           "save_offer_discount",
				"missing_feature": "save_offer_roadmap",
				"not_using":       "save_offer_onboarding_help",
			},
			DiscountOffer:  "30% off your next three months",
			HighValueAlert: "cancellation_high_value",
		},
		WinBack: WinBack{
			Steps: []Step{
				{Name: "whats_new", Day: 30, Email: "winback_whats_new"},
				{Name: "offer", Day: 60, Email: "winback_offer"},
				{Name: "last_note", Day: 90, Email: "winback_last_note"},
			},
			Offer:            "your first two months back at half price",
			EndsAfterDays:    120,
			WelcomeBackEmail: "welcome_back",
			ReactivateTo:     "adoption",
		},
		HighValueMRR:             200000, // $2,000 a month
		ContinueAsNewAfterEvents: 500,
		Alerts:                   Alerts{SLADays: 2, BusinessDays: true, SnoozeDays: 3, EscalationAlert: "escalation"},
		Delivery:                 DefaultDelivery(),
	}
}

// Day returns the duration of n journey days.
func (p Playbook) Day(n int) time.Duration { return time.Duration(n) * p.DayLength.D() }

// Fingerprint is a short, stable hash of the playbook's content, shown in a
// journey's state so an operator can tell which version it runs.
func (p Playbook) Fingerprint() string {
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// Load reads a playbook from a .yaml, .yml or .json file. Fields the file
// leaves out keep their Default values; unknown fields are errors.
func Load(path string) (Playbook, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Playbook{}, fmt.Errorf("playbook: %w", err)
	}
	p, err := Parse(raw, filepath.Ext(path))
	if err != nil {
		return Playbook{}, fmt.Errorf("playbook %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes a playbook from YAML (ext ".yaml" or ".yml") or JSON (any
// other ext) over the defaults, then validates it. A list or map the file
// sets replaces the default one whole; fields the file leaves out keep
// their defaults.
func Parse(raw []byte, ext string) (Playbook, error) {
	p, err := decode(raw, ext)
	if err != nil {
		return Playbook{}, err
	}
	if err := p.Validate(); err != nil {
		return Playbook{}, err
	}
	return p, nil
}

// decode is Parse without the validation.
func decode(raw []byte, ext string) (Playbook, error) {
	if ext == ".yaml" || ext == ".yml" {
		// YAML goes through JSON so that one set of field names (the json
		// tags) and one strict decoder serve both formats.
		var doc any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return Playbook{}, err
		}
		var err error
		if raw, err = json.Marshal(doc); err != nil {
			return Playbook{}, err
		}
	}
	p := Default()
	// encoding/json decodes into what the value already holds: array
	// elements into the slice's existing elements, so a step given in the
	// file would inherit the fields of the default step at its index, and
	// map entries into the existing map, so the default's keys would stay.
	// Every list and map the file sets starts empty instead.
	var doc any
	if json.Unmarshal(raw, &doc) == nil { // errors surface in the strict decode below
		if err := clearSetCollections(reflect.ValueOf(&p).Elem(), doc, ""); err != nil {
			return Playbook{}, err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Playbook{}, describeDecodeError(err)
	}
	return p, nil
}

func describeDecodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Type == durationType {
			return &FieldError{Field: typeErr.Field, Message: fmt.Sprintf("must be a duration like \"24h\" or \"10s\", got %s", typeErr.Value)}
		}
		return &FieldError{Field: typeErr.Field, Message: fmt.Sprintf("must be %s, got %s", typeErr.Type, typeErr.Value)}
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &FieldError{Field: strings.Trim(msg, `"`), Message: "is not a playbook field"}
	}
	return err
}

// clearSetCollections walks doc, the file's decoded document, alongside v
// (the struct, list or map it decodes into) and zeroes every slice and map
// field the document sets, so that the strict decode fills them from the
// file alone. It also names the full path of a key that is not a playbook
// field, where the decoder's error would name the key alone, and rejects a
// key that matches a field only when case is ignored: encoding/json would
// accept "Steps" for "steps", and the file's name would then not be the
// field's name.
func clearSetCollections(v reflect.Value, doc any, path string) error {
	switch v.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return nil // the strict decode reports the type
		}
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			at := key
			if path != "" {
				at = path + "." + key
			}
			i, exact := fieldByJSONName(v.Type(), key)
			if i < 0 {
				return &FieldError{Field: at, Message: "is not a playbook field"}
			}
			if !exact {
				return &FieldError{Field: at, Message: fmt.Sprintf("is not a playbook field (did you mean %q?)", jsonName(v.Type().Field(i)))}
			}
			f := v.Field(i)
			if f.Kind() == reflect.Slice || f.Kind() == reflect.Map {
				f.SetZero()
			}
			if err := clearSetCollections(f, obj[key], at); err != nil {
				return err
			}
		}
	case reflect.Slice:
		items, _ := doc.([]any)
		for i, item := range items {
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := clearSetCollections(elem, item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, _ := doc.(map[string]any)
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := clearSetCollections(elem, obj[key], path+"."+key); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldByJSONName returns the index of t's field named key in JSON, and
// whether the name matched exactly or only when case is ignored; -1 when no
// field matches.
func fieldByJSONName(t reflect.Type, key string) (index int, exact bool) {
	index = -1
	for i := range t.NumField() {
		name := jsonName(t.Field(i))
		switch {
		case name == "":
		case name == key:
			return i, true
		case index < 0 && strings.EqualFold(name, key):
			index = i
		}
	}
	return index, false
}

// jsonName is f's name in JSON, "" for a field JSON leaves out.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	if name, _, _ := strings.Cut(tag, ","); name != "" {
		return name
	}
	return f.Name
}

var durationType = reflect.TypeFor[Duration]()

// Duration is a time.Duration written as "24h" or "10s" in playbooks.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string such as "24h" or "10s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	// An *json.UnmarshalTypeError gets the field's path filled in by the
	// decoder, so the caller's error can name the field.
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: durationType}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: strconv.Quote(s), Type: durationType}
	}
	*d = Duration(v)
	return nil
}
