// Package workflows holds CustomerJourney, the one durable workflow each
// customer has, and its contract: the task queue, the workflow ID, the input,
// the state query and the search attributes.
//
// This file is the contract; journey.go runs the loop; events.go applies
// events; onboarding.go is the onboarding stage; actions.go calls activities.
package workflows

import (
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
)

// Search attributes journeys upsert, so operators can filter in the UI
// (JourneyStage = "onboarding").
var (
	SearchStage = temporal.NewSearchAttributeKeyKeyword("JourneyStage")
	SearchTier  = temporal.NewSearchAttributeKeyKeyword("HealthTier")
	SearchPlan  = temporal.NewSearchAttributeKeyKeyword("Plan")
	SearchCSM   = temporal.NewSearchAttributeKeyKeyword("CsmId")
)

// SearchAttributes is the one list of custom search attributes the code
// uses, by name and type, for registering them on a namespace.
func SearchAttributes() map[string]enums.IndexedValueType {
	out := map[string]enums.IndexedValueType{}
	for _, k := range []temporal.SearchAttributeKeyKeyword{SearchStage, SearchTier, SearchPlan, SearchCSM} {
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

// Result is returned when a journey ends.
type Result struct {
	State State `json:"state"`
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
	// StepsDone are the onboarding steps that have run (or were skipped).
	StepsDone []string `json:"steps_done"`
	Counters  Counters `json:"counters"`
	// Timeline holds the most recent decisions, events and sends, oldest first.
	Timeline []TimelineEntry `json:"timeline"`
	// Alerts are the CSM alerts raised, newest last (at most AlertsKept).
	Alerts []Alert `json:"alerts"`
	// Playbook is the name and fingerprint of the playbook in force.
	Playbook string `json:"playbook"`
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
)
