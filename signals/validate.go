package signals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
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

// Limits on payload fields.
const (
	// maxMoney bounds amounts and MRR, in the currency's minor unit (cents):
	// ten billion dollars.
	maxMoney = 1_000_000_000_000
	// maxSeats bounds seat counts.
	maxSeats = 1_000_000
	// maxCommentBytes bounds free-text comments (NPS, cancellation).
	maxCommentBytes = 2000
	// day and year are the units of the payload time windows; a year is 365
	// days, as in MaxPast.
	day  = 24 * time.Hour
	year = 365 * day
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
		return Event{}, &FieldError{Field: "body", Message: tooLargeMessage}
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
	v.id("event_id", e.EventID)
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
		if name = strings.Trim(name, `"`); name == "" {
			// {"": 1}: there is no field to name but the object holding it.
			return &FieldError{Field: join("body"), Message: `has a field with an empty name ("")`}
		}
		return &FieldError{Field: join(name), Message: "is not a known field"}
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

// id checks a required ID in the event_id form: an event ID, a ticket ID,
// an invoice ID.
func (v *validator) id(field, s string) {
	switch {
	case s == "":
		v.fail(field, "is required")
	case !eventIDRE.MatchString(s):
		v.fail(field, "must be 1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit")
	}
}

func (v *validator) timestamp(field string, t time.Time) {
	v.window(field, t, MaxPast, "more than 5 years in the past", MaxFuture, "in the future")
}

// window checks that t is at most past before v.now and at most future
// after it; the texts complete "<t> is ..." when it is not.
func (v *validator) window(field string, t time.Time, past time.Duration, pastText string, future time.Duration, futureText string) {
	switch {
	case t.Before(v.now.Add(-past)):
		v.fail(field, fmt.Sprintf("%s is %s", t.Format(time.RFC3339), pastText))
	case t.After(v.now.Add(future)):
		v.fail(field, fmt.Sprintf("%s is %s", t.Format(time.RFC3339), futureText))
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

// count checks a count from 0 to maxN.
func (v *validator) count(field string, n, maxN int) {
	if n < 0 || n > maxN {
		v.fail(field, fmt.Sprintf("must be from 0 to %d, got %d", maxN, n))
	}
}

func (v *validator) seats(field string, n int) {
	v.count(field, n, maxSeats)
}

// money checks an amount in the currency's minor unit (cents).
func (v *validator) money(field string, n int64) {
	if n < 0 || n > maxMoney {
		v.fail(field, fmt.Sprintf("must be from 0 to %d in the currency's minor unit (cents), got %d", int64(maxMoney), n))
	}
}

// currency checks an ISO 4217 code: three ASCII letters, either case.
func (v *validator) currency(field, s string) {
	ok := len(s) == 3
	for i := 0; ok && i < len(s); i++ {
		c := s[i] | 0x20 // ASCII lower case
		ok = c >= 'a' && c <= 'z'
	}
	if !ok {
		v.fail(field, "must be a 3-letter ISO 4217 currency code like USD")
	}
}

// webURL checks an absolute http or https URL with a host, such as a link
// put in an email. A space (which breaks the link in a message) or user info
// (https://bank.example@evil.example/, a phishing look-alike) is refused.
func (v *validator) webURL(field, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		v.fail(field, "must be an absolute http or https URL like https://billing.example.com/update")
	case u.User != nil:
		v.fail(field, "must not carry user info (user@ before the host)")
	case strings.ContainsAny(s, " "):
		v.fail(field, "must not contain spaces; encode them as %20")
	}
}

// oneOf checks that s is one of allowed; what names the kind of value.
func (v *validator) oneOf(field, what, s string, allowed ...string) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.fail(field, fmt.Sprintf("%q is not a %s; must be one of %s", s, what, strings.Join(allowed, ", ")))
}

// comment checks free text from the customer: at most maxCommentBytes, and
// no control characters but newline and tab.
func (v *validator) comment(field, s string) {
	v.text(field, s, maxCommentBytes, true)
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
	v.text(field, s, 200, false)
}

// text checks a one-line string of at most maxBytes, or with multiline a
// text that may also hold newlines and tabs.
func (v *validator) text(field, s string, maxBytes int, multiline bool) {
	if len(s) > maxBytes {
		v.fail(field, fmt.Sprintf("must be at most %d bytes", maxBytes))
		return
	}
	for _, r := range s {
		if !unicode.IsControl(r) || (multiline && (r == '\n' || r == '\t')) {
			continue
		}
		if multiline {
			v.fail(field, "must not contain control characters other than newline and tab")
		} else {
			v.fail(field, "must not contain control characters")
		}
		return
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
	v.money("data.mrr", d.MRR)
	if d.Currency != "" {
		v.currency("data.currency", d.Currency)
	}
}

func (d LoginData) validate(v *validator) {
	v.count("data.count", d.Count, MaxLoginCount)
}

// MaxLoginCount bounds the logins one login event stands for; the edge
// forwards coalesced logins in counts up to it.
const MaxLoginCount = 100_000

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
		v.fail("data", "must change at least one of name, email, phone, timezone, plan, seats, csm, sms_consent, email_marketing_consent")
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

func (d FeatureUsedData) validate(v *validator) {
	switch {
	case d.Feature == "":
		v.fail("data.feature", "is required")
	case !nameRE.MatchString(d.Feature):
		v.fail("data.feature", "must be lower_snake_case, 1-64 characters")
	}
	v.count("data.count", d.Count, 1_000_000)
}

func (d UsageSnapshotData) validate(v *validator) {
	v.count("data.active_users", d.ActiveUsers, 100_000_000)
	v.count("data.key_actions", d.KeyActions, 100_000_000)
	v.seats("data.seats_used", d.SeatsUsed)
}

func (d NPSResponseData) validate(v *validator) {
	if d.Score == nil {
		v.fail("data.score", "is required")
	} else {
		v.count("data.score", *d.Score, 10)
	}
	v.comment("data.comment", d.Comment)
}

func (d SupportTicketData) validate(v *validator) {
	v.id("data.ticket_id", d.TicketID)
	if d.Status == "" {
		v.fail("data.status", "is required")
	} else {
		v.oneOf("data.status", "ticket status", d.Status, TicketOpened, TicketResolved)
	}
	if d.Priority != "" {
		v.oneOf("data.priority", "priority", d.Priority, PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent)
	}
}

func (d PaymentFailedData) validate(v *validator) {
	v.id("data.invoice_id", d.InvoiceID)
	v.money("data.amount", d.Amount)
	if d.Currency == "" {
		v.fail("data.currency", "is required")
	} else {
		v.currency("data.currency", d.Currency)
	}
	v.count("data.attempt", d.Attempt, 100)
	v.text("data.reason", d.Reason, 200, false)
	if d.UpdateURL == "" {
		v.fail("data.update_url", "is required")
	} else {
		v.webURL("data.update_url", d.UpdateURL)
	}
}

func (d PaymentSucceededData) validate(v *validator) {
	v.id("data.invoice_id", d.InvoiceID)
	v.money("data.amount", d.Amount)
	if d.Currency != "" {
		v.currency("data.currency", d.Currency)
	}
}

func (d PlanChangedData) validate(v *validator) {
	if d.Plan == "" {
		v.fail("data.plan", "is required")
	} else {
		v.plan("data.plan", d.Plan)
	}
	v.seats("data.seats", d.Seats)
	v.money("data.mrr", d.MRR)
	if d.Currency != "" {
		v.currency("data.currency", d.Currency)
	}
}

func (d RenewalScheduledData) validate(v *validator) {
	if d.RenewsAt.IsZero() {
		v.fail("data.renews_at", "is required")
	} else {
		v.window("data.renews_at", d.RenewsAt, day, "more than 1 day in the past", 3*year, "more than 3 years in the future")
	}
	v.money("data.amount", d.Amount)
	if d.Currency != "" {
		v.currency("data.currency", d.Currency)
	}
}

func (d CancellationRequestedData) validate(v *validator) {
	if d.Reason == "" {
		v.fail("data.reason", "is required")
	} else {
		v.oneOf("data.reason", "cancellation reason", d.Reason,
			ReasonPrice, ReasonMissingFeature, ReasonNotUsing, ReasonSwitching, ReasonOther)
	}
	v.comment("data.comment", d.Comment)
	if !d.EffectiveAt.IsZero() {
		v.window("data.effective_at", d.EffectiveAt, MaxPast, "more than 5 years in the past", 3*year, "more than 3 years in the future")
	}
}

// CancellationWithdrawn and SubscriptionCanceled carry no data; the strict
// decoder already rejects any field.
func (CancellationWithdrawnData) validate(*validator) {}
func (SubscriptionCanceledData) validate(*validator)  {}

func (d ReactivatedData) validate(v *validator) {
	if d.Plan != "" {
		v.plan("data.plan", d.Plan)
	}
	v.seats("data.seats", d.Seats)
	v.money("data.mrr", d.MRR)
}

// tooLargeMessage is Decode's answer to a body over MaxEventBytes.
var tooLargeMessage = fmt.Sprintf("is larger than %d bytes", MaxEventBytes)

// IsTooLarge reports whether err is Decode's answer to a body over
// MaxEventBytes.
func IsTooLarge(err error) bool {
	var field *FieldError
	return errors.As(err, &field) && field.Field == "body" && field.Message == tooLargeMessage
}

// ValidConsentAddress says whether s is what ConsentChangedData.Address
// may hold on channel: an email address, or an E.164 number for SMS. The
// webhooks use it to leave out an address they cannot vouch for rather
// than lose the change.
func ValidConsentAddress(channel, s string) bool {
	v := &validator{}
	ConsentChangedData{Channel: channel, Status: ConsentOptedOut, Address: s}.validate(v)
	return s != "" && v.err == nil
}

func (d ConsentChangedData) validate(v *validator) {
	if d.Channel == "" {
		v.fail("data.channel", "is required")
	} else {
		v.oneOf("data.channel", "consent channel", d.Channel, ConsentSMS, ConsentEmail)
	}
	if d.Status == "" {
		v.fail("data.status", "is required")
	} else {
		v.oneOf("data.status", "consent status", d.Status, ConsentOptedOut, ConsentOptedIn, ConsentUnusable)
	}
	if d.Source != "" {
		v.oneOf("data.source", "consent source", d.Source, ConsentSources...)
	}
	if d.Class != "" {
		v.oneOf("data.class", "consent class", d.Class, ConsentClassMarketing, ConsentClassLifecycle)
		if d.Channel == ConsentSMS {
			v.fail("data.class", "applies to email only: SMS has one consent for every class")
		}
	}
	v.text("data.reason", d.Reason, 200, false)
	switch {
	case d.Address == "":
	case d.Channel == ConsentSMS:
		v.phone("data.address", d.Address)
	case d.Channel == ConsentEmail:
		v.email("data.address", d.Address)
	}
}
