// Package workflows holds CustomerJourney, the one durable workflow each
// customer has, and its contract: the task queue, the workflow ID, the input,
// the state query and the search attributes.
//
// This file is the contract: what crosses the workflow's boundary. The rest:
//
//	journey.go      the run loop: playbook, wake-ups, continue-as-new
//	waketimer.go    the journey's one re-arming timer
//	events.go       applying events, once each; consent.go the opt-outs,
//	                consentrecord.go the consent record
//	send.go         the one send path, from decision to scheduled activity
//	rules.go        the delivery rules: suppression, holdout, experiments,
//	                consent and fallback, caps, goals
//	windows.go      send windows, the number's zones, spread wake-ups
//	lifecycle.go    what the stages share: classes, step sequences, clock
//	onboarding.go, adoption.go, health.go, renewal.go, dunning.go, churn.go
//	                the stages, each with its state type
//	alerts.go       CSM alerts and their follow-up
//	data.go, crm.go template data and CRM records
//	searchattrs.go  the search attributes operators filter by
//	metrics.go, worker.go
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

// IdempotencyKeyPrefix starts the idempotency key of every message
// customerID's journeys send; customer IDs hold no '/', so it matches that
// customer's keys alone (erasure deletes their send-ledger rows by it).
func IdempotencyKeyPrefix(customerID string) string { return WorkflowID(customerID) + "/" }

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
	State State      `json:"state"`
	Seen  SeenEvents `json:"seen_events"`
}

// SeenEvents are the applied events a run remembers, oldest first: each
// event ID's 64-bit FNV-1a hash and when it was applied, in Unix seconds.
type SeenEvents struct {
	Hashes []uint64 `json:"hashes"`
	At     []int64  `json:"at"`
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
	// SMSUnusable says why SMS cannot reach the customer's number, as the
	// vendor answered: "invalid_number" or "unsubscribed" (21610, lifted by
	// a START), either until the phone changes.
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

	// HealthScore is 0-100; Health says what it is made of.
	HealthScore int          `json:"health_score"`
	Health      HealthDetail `json:"health"`
	// OnboardingRound counts onboardings after the first (a reactivated
	// customer sent back to onboarding); it keeps their send keys apart.
	OnboardingRound int `json:"onboarding_round,omitempty"`
	// Stages lists the stages visited, oldest first (at most StagesKept).
	Stages   []StageVisit  `json:"stages"`
	Usage    UsageState    `json:"usage"`
	Adoption AdoptionState `json:"adoption"`
	NPS      NPSState      `json:"nps"`
	Tickets  []Ticket      `json:"open_tickets"`
	Renewal  *RenewalState `json:"renewal,omitempty"`
	Dunning  *DunningState `json:"dunning,omitempty"`
	// PaidInvoices are the invoices paid most recently (at most
	// PaidInvoicesKept), oldest first.
	PaidInvoices []PaidInvoice `json:"paid_invoices,omitempty"`
	Suspended    bool          `json:"suspended,omitempty"`
	Cancellation *CancelState  `json:"cancellation,omitempty"`
	ChurnedAt    *time.Time    `json:"churned_at,omitempty"`
	// WinBackDone are the win-back steps run since the last churn.
	WinBackDone []string `json:"win_back_done,omitempty"`
	// Seq numbers the sequences a journey has run of each kind (renewals,
	// dunnings, quiet spells...), so each one's sends have their own keys.
	Seq map[string]int `json:"seq,omitempty"`
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
	// SeenEventsSize is how many applied event IDs a journey remembers at
	// least, to recognise redeliveries; it remembers every ID applied within
	// SeenEventsWindow too, up to SeenEventsMax.
	SeenEventsSize = 1000
	// SeenEventsWindow covers Stripe's retries (up to 3 days) with a margin.
	SeenEventsWindow = 4 * 24 * time.Hour
	// SeenEventsMax bounds the IDs remembered, and so the carried state.
	SeenEventsMax = 10_000
	// StagesKept is how many stage visits the state keeps.
	StagesKept = 40
	// FeaturesKept is how many distinct features the usage counts keep.
	FeaturesKept = 50
	// TicketsKept is how many open tickets the state tracks.
	TicketsKept = 50
	// MilestonesKept is how many distinct milestones the state keeps.
	MilestonesKept = 50
	// UnpaidKept is how many failed invoices one dunning tracks.
	UnpaidKept = 20
	// PaidInvoicesKept is how many paid invoices the state remembers, to
	// recognise a failure delivered after the payment (PaidInvoices).
	PaidInvoicesKept = 20
	// PendingKept is how many deferred messages wait at most.
	PendingKept = 50
)
