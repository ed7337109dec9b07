// Package signals is the contract between the backends that report what a
// customer did and the journeys that react: the event envelope, the event
// type names, one payload struct per type, and the validation every event
// passes at the edge before it may reach a workflow.
//
// Every event travels to the customer's workflow on one signal channel
// (SignalName), so events of different types keep their order. To add an
// event type: a Type constant, a payload struct with a validate method, and
// an entry in payloadTypes.
package signals

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"time"
)

// SignalName is the signal every event is delivered on.
const SignalName = "event"

// Type names an event type.
type Type string

// Event types.
const (
	// SignedUp starts a customer's journey (and is the only type that may).
	SignedUp Type = "signed_up"
	// Login records that the customer used the product.
	Login Type = "login"
	// MilestoneReached records an activation milestone such as first_project.
	MilestoneReached Type = "milestone_reached"
	// ProfileUpdated changes profile fields; absent fields stay as they are.
	ProfileUpdated Type = "profile_updated"

	// FeatureUsed records use of a product feature.
	FeatureUsed Type = "feature_used"
	// UsageSnapshot reports the account's usage over the last 7 days;
	// backends send one a week (or a month).
	UsageSnapshot Type = "usage_snapshot"
	// NPSResponse is the customer's answer to an NPS survey.
	NPSResponse Type = "nps_response"
	// SupportTicket records a support ticket being opened or resolved.
	SupportTicket Type = "support_ticket"
	// PaymentFailed starts dunning (or records another failed attempt).
	PaymentFailed Type = "payment_failed"
	// PaymentSucceeded ends dunning and may close a renewal.
	PaymentSucceeded Type = "payment_succeeded"
	// PlanChanged records a new plan, seat count or MRR.
	PlanChanged Type = "plan_changed"
	// RenewalScheduled opens the renewal sequence for the next renewal date.
	RenewalScheduled Type = "renewal_scheduled"
	// CancellationRequested: the customer asked to cancel (stage cancelling).
	CancellationRequested Type = "cancellation_requested"
	// CancellationWithdrawn: the customer took the cancellation back.
	CancellationWithdrawn Type = "cancellation_withdrawn"
	// SubscriptionCanceled: the subscription ended (stage churned).
	SubscriptionCanceled Type = "subscription_canceled"
	// Reactivated: a churned customer subscribed again.
	Reactivated Type = "reactivated"

	// ConsentChanged: the customer opted out of or back into a channel, or
	// the channel cannot reach them (a hard bounce). The webhooks of Twilio
	// (STOP/START) and SendGrid (unsubscribe, spam report, bounce) send it;
	// backends may too. It applies before the journey's next send.
	ConsentChanged Type = "consent_changed"
)

// Channels of ConsentChangedData.
const (
	ConsentSMS   = "sms"
	ConsentEmail = "email"
)

// Statuses of ConsentChangedData.
const (
	// ConsentOptedOut: for SMS, no text of any class (STOP); for email, no
	// marketing email, while transactional and lifecycle email still go.
	ConsentOptedOut = "opted_out"
	// ConsentOptedIn takes an opt-out back (START, a resubscribe). For SMS
	// it is also explicit consent to texts.
	ConsentOptedIn = "opted_in"
	// ConsentUnusable: the address or number cannot receive anything (a
	// permanent bounce, an invalid number), until the profile changes it.
	ConsentUnusable = "unusable"
)

// Classes of ConsentChangedData: the email a change is about. They are
// playbook.ClassMarketing and ClassLifecycle.
const (
	ConsentClassMarketing = "marketing"
	ConsentClassLifecycle = "lifecycle"
)

// Sources of ConsentChangedData. Each source's latest word counts on its
// own, except the recipient's two (preferences and one_click), which are
// one: the latest of either counts (docs/events.md). To add one, add its
// constant to ConsentSources.
const (
	SourceBackend       = "backend"
	SourceTwilioInbound = "twilio_inbound"
	SourceSendGrid      = "sendgrid"
	// SourcePreferences is the recipient's own word on the preference page;
	// its opt-in to SMS is consent to texts.
	SourcePreferences = "preferences"
	// SourceOneClick is the recipient's one-click unsubscribe (RFC 8058)
	// or an unsubscribe link's confirmation page.
	SourceOneClick = "one_click"
)

// ConsentSources lists every source a consent_changed may name, in the
// order errors and state list them.
var ConsentSources = []string{SourceBackend, SourceTwilioInbound, SourceSendGrid, SourcePreferences, SourceOneClick}

// Ticket statuses of SupportTicketData.
const (
	TicketOpened   = "opened"
	TicketResolved = "resolved"
)

// Ticket priorities of SupportTicketData.
const (
	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// Cancellation reasons of CancellationRequestedData; the playbook picks a
// save offer by reason.
const (
	ReasonPrice          = "price"
	ReasonMissingFeature = "missing_feature"
	ReasonNotUsing       = "not_using"
	ReasonSwitching      = "switching"
	ReasonOther          = "other"
)

// Event is what backends send: one thing that happened to one customer.
type Event struct {
	// EventID identifies the event; an event redelivered with the same ID is
	// applied once. Backends should derive it from their own record (a
	// payment ID, a login session ID) so a retry reuses it.
	EventID string `json:"event_id"`
	// CustomerID is the backend's customer ID; the journey's workflow ID is
	// "customer:" + CustomerID.
	CustomerID string `json:"customer_id"`
	Type       Type   `json:"type"`
	// OccurredAt is when it happened at the source. When zero, the edge sets
	// it to the time it received the event.
	OccurredAt time.Time `json:"occurred_at"`
	// Data is the type's payload (SignedUpData, LoginData, ...).
	Data json.RawMessage `json:"data,omitempty"`
}

// SignedUpData is the payload of SignedUp: the customer's profile.
type SignedUpData struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
	// Phone is optional, in E.164 form (+15551234567).
	Phone string `json:"phone,omitempty"`
	// Timezone is an IANA zone name such as America/New_York; default the
	// playbook's delivery.timezone.
	Timezone string `json:"timezone,omitempty"`
	Plan     string `json:"plan,omitempty"`
	Seats    int    `json:"seats,omitempty"`
	// CSM is the customer-success manager's Slack user ID (U0123ABCD) or email.
	CSM string `json:"csm,omitempty"`
	// SignedUpAt is when the account was created; default OccurredAt.
	SignedUpAt time.Time `json:"signed_up_at,omitzero"`
	// SMSConsent is the customer's explicit consent to texts; without it no
	// SMS is sent, even with a phone number.
	SMSConsent bool `json:"sms_consent,omitempty"`
	// EmailMarketingConsent false means no marketing email (where it needs
	// opt-in); absent or true allows it. Transactional and lifecycle email
	// go either way.
	EmailMarketingConsent *bool `json:"email_marketing_consent,omitempty"`
	// MRR is the monthly recurring revenue in the currency's minor unit
	// (cents), and Currency its ISO 4217 code (default USD).
	MRR      int64  `json:"mrr,omitempty"`
	Currency string `json:"currency,omitempty"`
}

// LoginData is the payload of Login.
type LoginData struct {
	// Count is how many logins the event stands for; default 1. The edge
	// forwards one login per customer per coalescing interval and counts
	// the ones it held back into the next one it forwards.
	Count int `json:"count,omitempty"`
}

// MilestoneReachedData is the payload of MilestoneReached.
type MilestoneReachedData struct {
	Milestone string `json:"milestone"`
}

// ProfileUpdatedData is the payload of ProfileUpdated. A nil field is left as
// it is; an empty Phone or CSM removes it.
type ProfileUpdatedData struct {
	Name     *string `json:"name,omitempty"`
	Email    *string `json:"email,omitempty"`
	Phone    *string `json:"phone,omitempty"`
	Timezone *string `json:"timezone,omitempty"`
	Plan     *string `json:"plan,omitempty"`
	Seats    *int    `json:"seats,omitempty"`
	CSM      *string `json:"csm,omitempty"`
	// SMSConsent grants (true) or withdraws (false) consent to texts.
	SMSConsent *bool `json:"sms_consent,omitempty"`
	// EmailMarketingConsent allows (true) or stops (false) marketing email.
	EmailMarketingConsent *bool `json:"email_marketing_consent,omitempty"`
}

// FeatureUsedData is the payload of FeatureUsed.
type FeatureUsedData struct {
	// Feature is lower_snake_case, such as "export_csv".
	Feature string `json:"feature"`
	// Count is how many uses this event stands for; default 1.
	Count int `json:"count,omitempty"`
}

// UsageSnapshotData is the payload of UsageSnapshot: the account's usage
// over the 7 days before OccurredAt.
type UsageSnapshotData struct {
	ActiveUsers int `json:"active_users"`
	// KeyActions counts the product's value actions (reports run, messages
	// sent...) over the last 7 days; a fall week over week is a usage drop.
	KeyActions int `json:"key_actions"`
	SeatsUsed  int `json:"seats_used"`
}

// NPSResponseData is the payload of NPSResponse.
type NPSResponseData struct {
	// Score is 0-10; required (a pointer so that a missing score is an
	// error rather than a 0).
	Score   *int   `json:"score"`
	Comment string `json:"comment,omitempty"`
}

// SupportTicketData is the payload of SupportTicket.
type SupportTicketData struct {
	TicketID string `json:"ticket_id"`
	// Status is TicketOpened or TicketResolved.
	Status string `json:"status"`
	// Priority is low, normal (default), high or urgent.
	Priority string `json:"priority,omitempty"`
}

// PaymentFailedData is the payload of PaymentFailed.
type PaymentFailedData struct {
	InvoiceID string `json:"invoice_id"`
	// Amount is in the currency's minor unit (cents).
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	// Attempt is the billing system's attempt number, from 1.
	Attempt int `json:"attempt,omitempty"`
	// Reason is the processor's decline reason, such as "card_declined".
	Reason string `json:"reason,omitempty"`
	// UpdateURL is where the customer updates the payment method.
	UpdateURL string `json:"update_url"`
}

// PaymentSucceededData is the payload of PaymentSucceeded.
type PaymentSucceededData struct {
	InvoiceID string `json:"invoice_id"`
	Amount    int64  `json:"amount,omitempty"`
	Currency  string `json:"currency,omitempty"`
	// Renewal marks the payment of a renewal (Stripe: billing_reason
	// "subscription_cycle"); it closes the renewal window.
	Renewal bool `json:"renewal,omitempty"`
}

// PlanChangedData is the payload of PlanChanged.
type PlanChangedData struct {
	Plan  string `json:"plan"`
	Seats int    `json:"seats"`
	// MRR is in the currency's minor unit (cents).
	MRR      int64  `json:"mrr"`
	Currency string `json:"currency,omitempty"`
}

// RenewalScheduledData is the payload of RenewalScheduled.
type RenewalScheduledData struct {
	RenewsAt time.Time `json:"renews_at"`
	// Amount is in the currency's minor unit (cents).
	Amount   int64  `json:"amount"`
	Currency string `json:"currency,omitempty"`
}

// CancellationRequestedData is the payload of CancellationRequested.
type CancellationRequestedData struct {
	// Reason is one of price, missing_feature, not_using, switching, other.
	Reason  string `json:"reason"`
	Comment string `json:"comment,omitempty"`
	// EffectiveAt is when the subscription ends; zero for "at period end".
	EffectiveAt time.Time `json:"effective_at,omitzero"`
}

// CancellationWithdrawnData is the payload of CancellationWithdrawn.
type CancellationWithdrawnData struct{}

// SubscriptionCanceledData is the payload of SubscriptionCanceled.
type SubscriptionCanceledData struct{}

// ReactivatedData is the payload of Reactivated.
type ReactivatedData struct {
	// Plan, Seats and MRR are the new subscription's, when they changed.
	Plan  string `json:"plan,omitempty"`
	Seats int    `json:"seats,omitempty"`
	MRR   int64  `json:"mrr,omitempty"`
}

// ConsentChangedData is the payload of ConsentChanged.
type ConsentChangedData struct {
	// Channel is sms or email.
	Channel string `json:"channel"`
	// Status is opted_out, opted_in or unusable.
	Status string `json:"status"`
	// Source says who reported it: backend (default), twilio_inbound,
	// sendgrid, preferences or one_click.
	Source string `json:"source,omitempty"`
	// Class is the class of email the change is about: marketing
	// (default) or lifecycle (product updates and tips), each opted out of
	// and back into on its own. Transactional email needs no consent; SMS
	// has one consent for every class.
	Class string `json:"class,omitempty"`
	// Reason is what the source said, such as "STOP", "spamreport" or
	// "bounce 5.1.1"; for the timeline.
	Reason string `json:"reason,omitempty"`
	// Address is the email address (channel email) or E.164 number
	// (channel sms) the change is about; a change about another address
	// than the profile's current one changes nothing. Empty: the current
	// one. Personal data: never logged nor shown on the timeline.
	Address string `json:"address,omitempty"`
}

// Payload is implemented by every event payload struct.
type Payload interface {
	validate(v *validator)
}

// payloadTypes maps each event type to its payload struct.
var payloadTypes = map[Type]reflect.Type{
	SignedUp:         reflect.TypeFor[SignedUpData](),
	Login:            reflect.TypeFor[LoginData](),
	MilestoneReached: reflect.TypeFor[MilestoneReachedData](),
	ProfileUpdated:   reflect.TypeFor[ProfileUpdatedData](),

	FeatureUsed:           reflect.TypeFor[FeatureUsedData](),
	UsageSnapshot:         reflect.TypeFor[UsageSnapshotData](),
	NPSResponse:           reflect.TypeFor[NPSResponseData](),
	SupportTicket:         reflect.TypeFor[SupportTicketData](),
	PaymentFailed:         reflect.TypeFor[PaymentFailedData](),
	PaymentSucceeded:      reflect.TypeFor[PaymentSucceededData](),
	PlanChanged:           reflect.TypeFor[PlanChangedData](),
	RenewalScheduled:      reflect.TypeFor[RenewalScheduledData](),
	CancellationRequested: reflect.TypeFor[CancellationRequestedData](),
	CancellationWithdrawn: reflect.TypeFor[CancellationWithdrawnData](),
	SubscriptionCanceled:  reflect.TypeFor[SubscriptionCanceledData](),
	Reactivated:           reflect.TypeFor[ReactivatedData](),
	ConsentChanged:        reflect.TypeFor[ConsentChangedData](),
}

// Types lists the known event types in name order.
func Types() []Type {
	out := make([]Type, 0, len(payloadTypes))
	for t := range payloadTypes {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Known reports whether t is an event type this version understands.
func (t Type) Known() bool { _, ok := payloadTypes[t]; return ok }

// Payload decodes the event's data into its type's payload struct. Unknown
// fields are ignored here, so that a journey keeps working on an event a
// newer edge enriched; the edge's Decode is the strict gate.
func (e Event) Payload() (Payload, error) {
	return e.payload(false)
}

// NewEvent builds an event whose Data is payload encoded as JSON.
func NewEvent(eventID, customerID string, typ Type, occurredAt time.Time, payload Payload) (Event, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return Event{}, fmt.Errorf("signals: encode %s payload: %w", typ, err)
	}
	return Event{EventID: eventID, CustomerID: customerID, Type: typ, OccurredAt: occurredAt, Data: data}, nil
}
