package signals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"reflect"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // time zones validate the same on every host
	"unicode"
)

// Limits on what the edge accepts.
const (
	// MaxEventBytes is the largest event body the edge reads.
	MaxEventBytes = 64 << 10
	// MaxPast and MaxFuture bound timestamps relative to the time of receipt:
	// older events are imports gone wrong, later ones are clock bugs.
	MaxPast   = 5 * 365 * 24 * time.Hour
	MaxFuture = time.Hour
)

// FieldError is the error for an event that fails validation. Field is the
// JSON path of the offending field ("data.email"), or "body" for the event
// as a whole.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

var (
	eventIDRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)
	customerIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	nameRE       = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	planRE       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	e164RE       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	slackUserRE  = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
)

// Decode reads one event from r strictly (unknown fields, trailing data or a
// body over MaxEventBytes are errors), fills a zero OccurredAt with now, and
// validates it. Every error it returns is a *FieldError.
func Decode(r io.Reader, now time.Time) (Event, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxEventBytes+1))
	if err != nil {
		return Event{}, &FieldError{Field: "body", Message: "could not be read: " + err.Error()}
	}
	if len(body) > MaxEventBytes {
		return Event{}, &FieldError{Field: "body", Message: fmt.Sprintf("is larger than %d bytes", MaxEventBytes)}
	}
	var ev Event
	if err := strictUnmarshal(body, &ev); err != nil {
		return Event{}, jsonFieldError("", err)
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = now.UTC()
	}
	if err := ev.Validate(now); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// ValidateCustomerID checks a customer ID as the edge accepts it; the error
// is a *FieldError.
func ValidateCustomerID(id string) error {
	v := &validator{}
	v.customerID("customer_id", id)
	return v.result()
}

// Validate checks every field of e, including its data, and returns the first
// problem as a *FieldError. now is the time of receipt.
func (e Event) Validate(now time.Time) error {
	v := &validator{now: now}
	switch {
	case e.EventID == "":
		v.fail("event_id", "is required")
	case !eventIDRE.MatchString(e.EventID):
		v.fail("event_id", "must be 1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit")
	}
	v.customerID("customer_id", e.CustomerID)
	switch {
	case e.Type == "":
		v.fail("type", "is required")
	case !e.Type.Known():
		v.fail("type", fmt.Sprintf("%q is not an event type; known types: %s", e.Type, joinTypes()))
	}
	if e.OccurredAt.IsZero() {
		v.fail("occurred_at", "is required")
	} else {
		v.timestamp("occurred_at", e.OccurredAt)
	}
	if v.err != nil {
		return v.result()
	}
	p, err := e.payload(true)
	if err != nil {
		return err
	}
	p.validate(v)
	return v.result()
}

// payload decodes Data into the type's struct; strict rejects unknown fields.
func (e Event) payload(strict bool) (Payload, error) {
	t, ok := payloadTypes[e.Type]
	if !ok {
		return nil, &FieldError{Field: "type", Message: fmt.Sprintf("%q is not an event type", e.Type)}
	}
	ptr := reflect.New(t)
	data := bytes.TrimSpace(e.Data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		data = []byte("{}")
	}
	var err error
	if strict {
		err = strictUnmarshal(data, ptr.Interface())
	} else {
		err = json.Unmarshal(data, ptr.Interface())
	}
	if err != nil {
		return nil, jsonFieldError("data", err)
	}
	return ptr.Elem().Interface().(Payload), nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// jsonFieldError turns a decoding error into a *FieldError under prefix.
func jsonFieldError(prefix string, err error) *FieldError {
	join := func(field string) string {
		switch {
		case prefix == "":
			return field
		case field == "":
			return prefix
		}
		return prefix + "." + field
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" && prefix == "" {
			return &FieldError{Field: "body", Message: "must be a JSON object"}
		}
		return &FieldError{Field: join(typeErr.Field), Message: fmt.Sprintf("must be a JSON %s, got %s", jsonKind(typeErr.Type), typeErr.Value)}
	case errors.As(err, &syntaxErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &FieldError{Field: join("body"), Message: "is not valid JSON: " + err.Error()}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &FieldError{Field: join(strings.Trim(name, `"`)), Message: "is not a known field"}
	}
	if strings.Contains(err.Error(), "parsing time") {
		// time.Time's own error; the field is not reported by encoding/json.
		return &FieldError{Field: join("body"), Message: "has a timestamp that is not RFC 3339 (2026-01-02T15:04:05Z): " + err.Error()}
	}
	return &FieldError{Field: join("body"), Message: err.Error()}
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	case reflect.Struct, reflect.Map:
		if t == reflect.TypeFor[time.Time]() {
			return "RFC 3339 timestamp string"
		}
		return "object"
	case reflect.Slice:
		return "array"
	case reflect.Bool:
		return "boolean"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}

func joinTypes() string {
	names := make([]string, 0, len(payloadTypes))
	for _, t := range Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// validator records the first validation failure.
type validator struct {
	now time.Time
	err *FieldError
}

func (v *validator) fail(field, msg string) {
	if v.err == nil {
		v.err = &FieldError{Field: field, Message: msg}
	}
}

// result is the first failure as an error, or a true nil: returning v.err
// itself would make a nil *FieldError into a non-nil error.
func (v *validator) result() error {
	if v.err == nil {
		return nil
	}
	return v.err
}

func (v *validator) customerID(field, id string) {
	switch {
	case id == "":
		v.fail(field, "is required")
	case !customerIDRE.MatchString(id):
		v.fail(field, "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
}

func (v *validator) timestamp(field string, t time.Time) {
	switch {
	case t.Before(v.now.Add(-MaxPast)):
		v.fail(field, fmt.Sprintf("%s is more than 5 years in the past", t.Format(time.RFC3339)))
	case t.After(v.now.Add(MaxFuture)):
		v.fail(field, fmt.Sprintf("%s is in the future", t.Format(time.RFC3339)))
	}
}

func (v *validator) email(field, s string) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndex(s, "@")+1:], ".") {
		v.fail(field, "must be a plain email address like ana@example.com")
	}
}

func (v *validator) phone(field, s string) {
	if !e164RE.MatchString(s) {
		v.fail(field, "must be an E.164 phone number like +15551234567")
	}
}

func (v *validator) timezone(field, s string) {
	if s == "" || s == "Local" {
		v.fail(field, "must be an IANA time zone name like America/New_York")
		return
	}
	if _, err := time.LoadLocation(s); err != nil {
		v.fail(field, fmt.Sprintf("%q is not an IANA time zone name (like America/New_York)", s))
	}
}

func (v *validator) plan(field, s string) {
	if !planRE.MatchString(s) {
		v.fail(field, "must be 1-64 letters, digits, '_', '.' or '-'")
	}
}

func (v *validator) seats(field string, n int) {
	if n < 0 || n > 1_000_000 {
		v.fail(field, fmt.Sprintf("must be from 0 to 1000000, got %d", n))
	}
}

func (v *validator) csm(field, s string) {
	if slackUserRE.MatchString(s) {
		return
	}
	if strings.Contains(s, "@") {
		v.email(field, s)
		return
	}
	v.fail(field, "must be a Slack user ID like U0123ABCD or an email address")
}

func (v *validator) personName(field, s string) {
	if len(s) > 200 {
		v.fail(field, "must be at most 200 bytes")
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			v.fail(field, "must not contain control characters")
			return
		}
	}
}

func (d SignedUpData) validate(v *validator) {
	v.personName("data.name", d.Name)
	if d.Email == "" {
		v.fail("data.email", "is required")
	} else {
		v.email("data.email", d.Email)
	}
	if d.Phone != "" {
		v.phone("data.phone", d.Phone)
	}
	if d.Timezone != "" {
		v.timezone("data.timezone", d.Timezone)
	}
	if d.Plan != "" {
		v.plan("data.plan", d.Plan)
	}
	v.seats("data.seats", d.Seats)
	if d.CSM != "" {
		v.csm("data.csm", d.CSM)
	}
	if !d.SignedUpAt.IsZero() {
		v.timestamp("data.signed_up_at", d.SignedUpAt)
	}
}

func (LoginData) validate(*validator) {}

func (d MilestoneReachedData) validate(v *validator) {
	switch {
	case d.Milestone == "":
		v.fail("data.milestone", "is required")
	case !nameRE.MatchString(d.Milestone):
		v.fail("data.milestone", "must be lower_snake_case, 1-64 characters")
	}
}

func (d ProfileUpdatedData) validate(v *validator) {
	if d == (ProfileUpdatedData{}) {
		v.fail("data", "must change at least one of name, email, phone, timezone, plan, seats, csm")
		return
	}
	if d.Name != nil {
		v.personName("data.name", *d.Name)
	}
	if d.Email != nil {
		v.email("data.email", *d.Email)
	}
	if d.Phone != nil && *d.Phone != "" {
		v.phone("data.phone", *d.Phone)
	}
	if d.Timezone != nil {
		v.timezone("data.timezone", *d.Timezone)
	}
	if d.Plan != nil {
		v.plan("data.plan", *d.Plan)
	}
	if d.Seats != nil {
		v.seats("data.seats", *d.Seats)
	}
	if d.CSM != nil && *d.CSM != "" {
		v.csm("data.csm", *d.CSM)
	}
}

// Validation of the lifecycle events. Stubs until the rules are filled in;
// see docs/events.md for what each accepts.
func (FeatureUsedData) validate(*validator)           {}
func (UsageSnapshotData) validate(*validator)         {}
func (NPSResponseData) validate(*validator)           {}
func (SupportTicketData) validate(*validator)         {}
func (PaymentFailedData) validate(*validator)         {}
func (PaymentSucceededData) validate(*validator)      {}
func (PlanChangedData) validate(*validator)           {}
func (RenewalScheduledData) validate(*validator)      {}
func (CancellationRequestedData) validate(*validator) {}
func (CancellationWithdrawnData) validate(*validator) {}
func (SubscriptionCanceledData) validate(*validator)  {}
func (ReactivatedData) validate(*validator)           {}
