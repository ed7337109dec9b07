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
	// Timezone is an IANA zone name such as America/New_York; default UTC.
	Timezone string `json:"timezone,omitempty"`
	Plan     string `json:"plan,omitempty"`
	Seats    int    `json:"seats,omitempty"`
	// CSM is the customer-success manager's Slack user ID (U0123ABCD) or email.
	CSM string `json:"csm,omitempty"`
	// SignedUpAt is when the account was created; default OccurredAt.
	SignedUpAt time.Time `json:"signed_up_at,omitzero"`
}

// LoginData is the payload of Login.
type LoginData struct{}

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
