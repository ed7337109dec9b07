// Package workflows holds CustomerJourney, the one durable workflow each
// customer has, and its contract: the task queue, the workflow ID, the input,
// the state query and the search attributes.
//
// This file is the contract; journey.go runs the loop; events.go applies
// events; onboarding.go is the onboarding stage; actions.go calls activities.
package workflows

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names that cross process boundaries.
const (
	// TaskQueue is where journey workflows and their activities run.
	TaskQueue = "journeys"
	// WorkflowType is the registered name of CustomerJourney.
	WorkflowType = "CustomerJourney"
	// QueryState returns the journey's State.
	QueryState = "state"
	// UpdateAlertResponse answers a CSM alert (AlertResponse in, Alert out).
	UpdateAlertResponse = "alert_response"

	workflowIDPrefix = "customer:"
)

// RegisterOptions registers CustomerJourney under WorkflowType.
var RegisterOptions = workflow.RegisterOptions{Name: WorkflowType}

// WorkflowID is the ID of customerID's journey.
func WorkflowID(customerID string) string { return workflowIDPrefix + customerID }

// CustomerIDFromWorkflowID is the inverse of WorkflowID.
func CustomerIDFromWorkflowID(id string) (string, bool) {
	return strings.CutPrefix(id, workflowIDPrefix)
}

// Stage is where a customer is in their lifecycle; exactly one at a time.
type Stage string

// Stages.
const (
	// StageNew is a journey that has not received its signed_up event yet.
	StageNew        Stage = "new"
	StageOnboarding Stage = "onboarding"
	StageAdoption   Stage = "adoption"
	// StageRenewal is the window before a renewal date, from the renewal
	// sequence's first step until the renewal is paid.
	StageRenewal Stage = "renewal"
	// StageCancelling is from a cancellation request until the subscription
	// ends or the request is withdrawn.
	StageCancelling Stage = "cancelling"
	// StageChurned is after the subscription ended: the win-back sequence.
	StageChurned Stage = "churned"
)

// Search attributes journeys upsert, so operators can filter in the UI
// (JourneyStage = "onboarding").
var (
	SearchStage = temporal.NewSearchAttributeKeyKeyword("JourneyStage")
	SearchTier  = temporal.NewSearchAttributeKeyKeyword("HealthTier")
	SearchPlan  = temporal.NewSearchAttributeKeyKeyword("Plan")
	SearchCSM   = temporal.NewSearchAttributeKeyKeyword("CsmId")
	// SearchScore is the health score, 0-100 (HealthScore < 40).
	SearchScore = temporal.NewSearchAttributeKeyInt64("HealthScore")
	// SearchDunning is true while a failed payment is being recovered.
	SearchDunning = temporal.NewSearchAttributeKeyBool("InDunning")
	// SearchPhone is PhoneHash of the customer's phone number, so that an
	// inbound text (a STOP) finds its customer without the number itself
	// being readable in visibility. Set only by journeys whose worker has a
	// lookup key (Journeys.SetLookupKey).
	SearchPhone = temporal.NewSearchAttributeKeyKeyword("PhoneHash")
)

// PhoneHash is the SearchPhone value of an E.164 phone number under key:
// the hex of the first 16 bytes of HMAC-SHA256(key, phone). Keyed, because
// the space of phone numbers is small enough to reverse a plain hash.
func PhoneHash(key []byte, phone string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(phone))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// SearchAttributes is the one list of custom search attributes the code
// uses, by name and type, for registering them on a namespace.
func SearchAttributes() map[string]enums.IndexedValueType {
	out := map[string]enums.IndexedValueType{}
	for _, k := range []temporal.SearchAttributeKey{SearchStage, SearchTier, SearchPlan, SearchCSM, SearchScore, SearchDunning, SearchPhone} {
		out[k.GetName()] = k.GetValueType()
	}
	return out
}

// Input starts a journey run.
type Input struct {
	CustomerID string `json:"customer_id"`
	// Carry is set when a run continues as new; nil on a journey's first run.
	Carry *Carry `json:"carry,omitempty"`
}

// Carry is what one run hands the next across continue-as-new.
type Carry struct {
	State State `json:"state"`
	// SeenEventIDs are the most recent applied event IDs, oldest first.
	SeenEventIDs []string `json:"seen_event_ids"`
}

// Result is returned when a journey ends: after its win-back sequence ran
// out without a reactivation, or when it is canceled.
type Result struct {
	State State `json:"state"`
	// Summary sums the lifecycle up; set when the journey completes.
	Summary *Summary `json:"summary,omitempty"`
}

// Summary is a finished journey in a few numbers.
type Summary struct {
	CustomerID  string     `json:"customer_id"`
	SignedUpAt  time.Time  `json:"signed_up_at"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	ChurnedAt   *time.Time `json:"churned_at,omitempty"`
	EndedAt     time.Time  `json:"ended_at"`
	// CustomerDays counts the days from signup to the last churn.
	CustomerDays int `json:"customer_days"`
	// ChurnReason is the last cancellation's reason, if one was given.
	ChurnReason string `json:"churn_reason,omitempty"`
	// Stages lists the stages visited, oldest first.
	Stages   []StageVisit `json:"stages"`
	Counters Counters     `json:"counters"`
	// FinalHealthScore is the score when the journey ended.
	FinalHealthScore int `json:"final_health_score"`
}

// StageVisit is one stay in a stage.
type StageVisit struct {
	Stage Stage     `json:"stage"`
	Since time.Time `json:"since"`
	Why   string    `json:"why"`
}

// State is everything a journey knows, as the state query returns it.
type State struct {
	CustomerID string `json:"customer_id"`
	// JourneyID is the journey's first run ID; it makes idempotency keys
	// differ between a customer's journeys (after a churn and a re-signup).
	JourneyID  string    `json:"journey_id"`
	Stage      Stage     `json:"stage"`
	StageSince time.Time `json:"stage_since"`
	Profile    Profile   `json:"profile"`
	// StartedAt is day 0 of the journey clock: when signed_up was applied.
	StartedAt time.Time `json:"started_at"`
	// Milestones are the milestones reached, in the order they arrived.
	Milestones  []string   `json:"milestones"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	LastLogin   *time.Time `json:"last_login,omitempty"`
	HealthTier  string     `json:"health_tier,omitempty"`
	// SMSUnusable says why SMS cannot reach the customer, as the vendor
	// answered: "invalid_number" (until the phone changes) or "unsubscribed".
	SMSUnusable string `json:"sms_unusable,omitempty"`
	// Consent is what the customer opted out of and which channels cannot
	// reach them, from consent_changed events and vendor answers.
	Consent ConsentState `json:"consent"`
	// Delivery is the state of the delivery policies: the holdout,
	// experiment variants, recent sends for the caps and messages waiting
	// for a send window or a cap.
	Delivery DeliveryState `json:"delivery"`
	// StepsDone are the onboarding steps that have run (or were skipped).
	StepsDone []string `json:"steps_done"`
	Counters  Counters `json:"counters"`
	// Timeline holds the most recent decisions, events and sends, oldest first.
	Timeline []TimelineEntry `json:"timeline"`
	// Alerts are the CSM alerts raised, newest last (at most AlertsKept).
	Alerts []Alert `json:"alerts"`
	// Playbook is the name and fingerprint of the playbook in force.
	Playbook string `json:"playbook"`

	// The lifecycle beyond onboarding; zero in journeys started before it.

	// Lifecycle is the version of the lifecycle rules this journey runs
	// under; 0 for journeys started before them (onboarding only).
	Lifecycle int `json:"lifecycle,omitempty"`
	// HealthScore is 0-100; Health says what it is made of.
	HealthScore int          `json:"health_score"`
	Health      HealthDetail `json:"health"`
	// OnboardingRound counts onboardings after the first (a reactivated
	// customer sent back to onboarding); it keeps their send keys apart.
	OnboardingRound int `json:"onboarding_round,omitempty"`
	// Stages lists the stages visited, oldest first (at most StagesKept).
	Stages       []StageVisit  `json:"stages"`
	Usage        UsageState    `json:"usage"`
	Adoption     AdoptionState `json:"adoption"`
	NPS          NPSState      `json:"nps"`
	Tickets      []Ticket      `json:"open_tickets"`
	Renewal      *RenewalState `json:"renewal,omitempty"`
	Dunning      *DunningState `json:"dunning,omitempty"`
	Suspended    bool          `json:"suspended,omitempty"`
	Cancellation *CancelState  `json:"cancellation,omitempty"`
	ChurnedAt    *time.Time    `json:"churned_at,omitempty"`
	// WinBackDone are the win-back steps run since the last churn.
	WinBackDone []string `json:"win_back_done,omitempty"`
	// Seq numbers the sequences a journey has run of each kind (renewals,
	// dunnings, quiet spells...), so each one's sends have their own keys.
	Seq map[string]int `json:"seq,omitempty"`
}

// ConsentState is the customer's opt-outs and unusable channels. Consent
// to texts itself is Profile.SMSConsent.
type ConsentState struct {
	// SMSOptedOut: the customer texted STOP (or Twilio refused a send with
	// 21610): no SMS of any class until they text START.
	SMSOptedOut bool `json:"sms_opted_out,omitempty"`
	// EmailMarketingOptedOut: the customer unsubscribed or reported spam:
	// no marketing email; transactional and lifecycle email still go.
	EmailMarketingOptedOut bool `json:"email_marketing_opted_out,omitempty"`
	// EmailUnusable says why no email can reach the customer (a permanent
	// bounce), until a profile update changes the address.
	EmailUnusable string `json:"email_unusable,omitempty"`
	// UnreachableAlerted is set when the CSM was told that a message had
	// no channel left, and cleared when a channel opens again.
	UnreachableAlerted bool `json:"unreachable_alerted,omitempty"`
}

// DeliveryState is what the delivery policies remember.
type DeliveryState struct {
	// Assigned is set once the holdout and the experiments were decided.
	Assigned bool `json:"assigned,omitempty"`
	// Holdout: the customer gets no marketing message (Delivery.HoldoutPercent).
	Holdout bool `json:"holdout,omitempty"`
	// Variants are the experiment variants, by experiment name; a
	// customer keeps theirs for life.
	Variants map[string]string `json:"variants,omitempty"`
	// Sent are the sends of capped classes over the last 8 days, oldest
	// first, for the frequency caps.
	Sent []SentMark `json:"sent,omitempty"`
	// Pending are messages waiting for a send window or a cap, in the
	// order they are due.
	Pending []PendingSend `json:"pending,omitempty"`
}

// SentMark is one send counted by the frequency caps.
type SentMark struct {
	At    time.Time `json:"at"`
	Class string    `json:"class"`
}

// PendingSend is a message to the customer that waits, for a send window
// or a frequency cap. When it is due it passes every rule again: it is
// dropped if its sequence ended, its goal was reached or its class is
// suppressed meanwhile.
type PendingSend struct {
	Step     string `json:"step"`
	Template string `json:"template"`
	// Channel is the channel the journey planned; the channel it goes on
	// is decided again when it is due.
	Channel string `json:"channel"`
	Class   string `json:"class"`
	// DueAt is when it is checked again; Why says what it waits for.
	DueAt time.Time `json:"due_at"`
	Why   string    `json:"why"`
	// Goal is the goal of the step that planned it.
	Goal string `json:"goal,omitempty"`
	// Experiment is "experiment=variant" when a variant planned it.
	Experiment string `json:"experiment,omitempty"`
	// Tip and Offer are the message's data beyond the state.
	Tip   string `json:"tip,omitempty"`
	Offer string `json:"offer,omitempty"`
	// Both: the step sends on both channels, so neither falls back.
	Both bool `json:"both,omitempty"`
}

// HealthDetail is the health score's factors, each 0-100, and whether the
// drop into critical has been alerted.
type HealthDetail struct {
	LoginRecency   int `json:"login_recency"`
	LoginFrequency int `json:"login_frequency"`
	Milestones     int `json:"milestones"`
	UsageTrend     int `json:"usage_trend"`
	NPS            int `json:"nps"`
	SupportTickets int `json:"support_tickets"`
	Payment        int `json:"payment"`
	// TierFloor is the worst tier onboarding's steps set; the score cannot
	// make the tier better than it while onboarding lasts.
	TierFloor string `json:"tier_floor,omitempty"`
	// CriticalAlerted is set when a drop into critical alerted the CSM, and
	// cleared when the score recovers out of critical.
	CriticalAlerted bool `json:"critical_alerted,omitempty"`
}

// UsageState is what the journey knows of the customer's use.
type UsageState struct {
	// LoginDays are the starts of the days with a login, within the last
	// 30 days, oldest first.
	LoginDays []time.Time `json:"login_days"`
	Latest    *Snapshot   `json:"latest,omitempty"`
	Previous  *Snapshot   `json:"previous,omitempty"`
	// Features counts feature use by feature (at most FeaturesKept).
	Features map[string]int `json:"features,omitempty"`
}

// Snapshot is one usage_snapshot.
type Snapshot struct {
	At          time.Time `json:"at"`
	ActiveUsers int       `json:"active_users"`
	KeyActions  int       `json:"key_actions"`
	SeatsUsed   int       `json:"seats_used"`
}

// AdoptionState tracks the adoption rules.
type AdoptionState struct {
	// WatchFrom is when the inactivity clock started: entering adoption.
	WatchFrom time.Time `json:"watch_from"`
	// QuietSince is the start of the quiet spell whose sends went out, and
	// InactiveEmailed / InactiveAlerted say which.
	QuietSince      time.Time `json:"quiet_since"`
	InactiveEmailed bool      `json:"inactive_emailed,omitempty"`
	InactiveAlerted bool      `json:"inactive_alerted,omitempty"`
	// UsageDropOpen is set by a usage drop and cleared by a snapshot that
	// does not fall, so one drop is reported once.
	UsageDropOpen bool `json:"usage_drop_open,omitempty"`
	// ExpansionSeats is the seat count whose expansion was offered.
	ExpansionSeats int `json:"expansion_seats,omitempty"`
	// Spell numbers the quiet spell QuietSince started, for send keys.
	Spell int `json:"spell,omitempty"`
}

// NPSState tracks the survey loop.
type NPSState struct {
	NextSurveyAt *time.Time `json:"next_survey_at,omitempty"`
	LastScore    *int       `json:"last_score,omitempty"`
	LastComment  string     `json:"last_comment,omitempty"`
	AnsweredAt   *time.Time `json:"answered_at,omitempty"`
}

// Ticket is an open support ticket.
type Ticket struct {
	ID       string    `json:"id"`
	Priority string    `json:"priority"`
	OpenedAt time.Time `json:"opened_at"`
}

// RenewalState is the renewal being prepared.
type RenewalState struct {
	RenewsAt  time.Time `json:"renews_at"`
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	StepsDone []string  `json:"steps_done"`
}

// DunningState is a failed payment being recovered.
type DunningState struct {
	Since     time.Time `json:"since"`
	InvoiceID string    `json:"invoice_id"`
	// Unpaid are the failed invoices; dunning ends when all are paid.
	Unpaid    []string `json:"unpaid"`
	Amount    int64    `json:"amount"`
	Currency  string   `json:"currency"`
	Attempt   int      `json:"attempt"`
	Reason    string   `json:"reason,omitempty"`
	UpdateURL string   `json:"update_url"`
	StepsDone []string `json:"steps_done"`
}

// CancelState is a cancellation request.
type CancelState struct {
	RequestedAt time.Time  `json:"requested_at"`
	Reason      string     `json:"reason"`
	Comment     string     `json:"comment,omitempty"`
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	// From is the stage the customer was in, for a withdrawal.
	From Stage `json:"from"`
}

// AlertStatus is where a CSM alert stands.
type AlertStatus string

// Alert statuses.
const (
	AlertOpen         AlertStatus = "open"
	AlertAcknowledged AlertStatus = "acknowledged"
	AlertSnoozed      AlertStatus = "snoozed"
	AlertEscalated    AlertStatus = "escalated"
)

// Alert is a CSM alert and its follow-up.
type Alert struct {
	// Key is the alert's idempotency key; answers (Slack buttons) carry it.
	Key      string      `json:"key"`
	Step     string      `json:"step"`
	Template string      `json:"template"`
	RaisedAt time.Time   `json:"raised_at"`
	Status   AlertStatus `json:"status"`
	// EscalateAt is when an open alert escalates; nil when it never will.
	EscalateAt   *time.Time `json:"escalate_at,omitempty"`
	SnoozedUntil *time.Time `json:"snoozed_until,omitempty"`
	EscalatedAt  *time.Time `json:"escalated_at,omitempty"`
	// AnsweredBy and AnsweredAt record the last acknowledge or snooze.
	AnsweredBy string     `json:"answered_by,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// AlertAction is a CSM's answer to an alert.
type AlertAction string

// Alert actions.
const (
	AlertActionAcknowledge AlertAction = "acknowledge"
	AlertActionSnooze      AlertAction = "snooze"
)

// AlertResponse is the input of UpdateAlertResponse.
type AlertResponse struct {
	// AlertKey is the Key of the alert answered.
	AlertKey string      `json:"alert_key"`
	Action   AlertAction `json:"action"`
	// By names who answered, such as a Slack user.
	By string `json:"by"`
}

// Profile is who the customer is.
type Profile struct {
	Name       string    `json:"name,omitempty"`
	Email      string    `json:"email"`
	Phone      string    `json:"phone,omitempty"`
	Timezone   string    `json:"timezone"`
	Plan       string    `json:"plan,omitempty"`
	Seats      int       `json:"seats,omitempty"`
	CSM        string    `json:"csm,omitempty"`
	SignedUpAt time.Time `json:"signed_up_at"`
	SMSConsent bool      `json:"sms_consent,omitempty"`
	// MRR is in Currency's minor unit (cents).
	MRR      int64  `json:"mrr,omitempty"`
	Currency string `json:"currency,omitempty"`
}

// Counters count what happened over the whole journey.
type Counters struct {
	EventsApplied   int `json:"events_applied"`
	EventsDuplicate int `json:"events_duplicate"`
	EventsRejected  int `json:"events_rejected"`
	Logins          int `json:"logins"`
	EmailsSent      int `json:"emails_sent"`
	SMSSent         int `json:"sms_sent"`
	CSMAlerts       int `json:"csm_alerts"`
	CRMUpdates      int `json:"crm_updates"`
	SendsFailed     int `json:"sends_failed"`
	AlertsAnswered  int `json:"alerts_answered"`
	Escalations     int `json:"escalations"`
	StageChanges    int `json:"stage_changes"`
	// The lifecycle's outcomes.
	SendsSuppressed  int `json:"sends_suppressed,omitempty"`
	Renewals         int `json:"renewals,omitempty"`
	Dunnings         int `json:"dunnings,omitempty"`
	DunningRecovered int `json:"dunning_recovered,omitempty"`
	Suspensions      int `json:"suspensions,omitempty"`
	Cancellations    int `json:"cancellations,omitempty"`
	Saves            int `json:"saves,omitempty"`
	Churns           int `json:"churns,omitempty"`
	Reactivations    int `json:"reactivations,omitempty"`
	NPSResponses     int `json:"nps_responses,omitempty"`
	Runs             int `json:"runs,omitempty"`
	// The delivery policies' decisions.
	DeferredQuietHours int `json:"deferred_quiet_hours,omitempty"`
	DeferredCap        int `json:"deferred_cap,omitempty"`
	DroppedCap         int `json:"dropped_cap,omitempty"`
	HeldOut            int `json:"held_out,omitempty"`
	FellBack           int `json:"fell_back,omitempty"`
	GoalExits          int `json:"goal_exits,omitempty"`
}

// TimelineEntry is one line of a journey's recent history.
type TimelineEntry struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	Text string    `json:"text"`
}

// Timeline entry kinds.
const (
	KindEvent    = "event"
	KindDecision = "decision"
	KindSend     = "send"
	KindSkip     = "skip"
	KindError    = "error"
)

// Limits that keep a journey's state, and so its history, bounded.
const (
	// TimelineSize is how many timeline entries the state keeps.
	TimelineSize = 50
	// AlertsKept is how many alerts the state keeps.
	AlertsKept = 20
	// SeenEventsSize is how many applied event IDs a journey remembers to
	// recognise redeliveries. A redelivery older than this many later events
	// would be applied again; backends retry within minutes, far inside it.
	SeenEventsSize = 1000
	// StagesKept is how many stage visits the state keeps.
	StagesKept = 40
	// FeaturesKept is how many distinct features the usage counts keep.
	FeaturesKept = 50
	// TicketsKept is how many open tickets the state tracks.
	TicketsKept = 50
)
