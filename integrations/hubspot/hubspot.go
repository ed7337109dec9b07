// Package hubspot is the CRM driver for HubSpot's CRM v3 objects API, on
// net/http alone. It implements activities.CRM.
//
// An update is one or two calls:
//
//  1. PATCH /crm/v3/objects/contacts/{email}?idProperty=email sets the
//     update's properties, each name prefixed with Config.PropertyPrefix
//     ("journeys_" by default: lifecycle_stage becomes
//     journeys_lifecycle_stage). HubSpot refuses properties that do not
//     exist, so those custom properties must be created in the HubSpot
//     account first (see Config.PropertyPrefix). The contact must exist
//     too: journeys record facts on customers, they do not create contacts.
//     An update with a note but no properties reads the contact instead
//     (GET, same path), only to learn its ID.
//  2. When the update has a note, POST /crm/v3/objects/notes creates it on
//     the contact's timeline, associated with the contact (type 202, note
//     to contact), with the journey step and idempotency key on its last
//     line so a person reading the timeline can trace it to the journey.
//
// The receipt ID is "contact/<id>", plus "/note/<id>" when a note was made.
//
// HubSpot takes no idempotency key. Setting properties is idempotent by
// nature: a retry writes the same values again. Creating a note is not: if
// HubSpot creates one but its answer is lost (timeout, reset), the activity
// is retried and the contact gets the note twice. That window is left to
// the activities' send ledger, which keeps a completed update from being
// sent again; this driver keeps no state of its own.
//
// Errors start with "hubspot: ", name the customer ID and the journey step,
// and never contain the contact's email address, not even where HubSpot's
// error message quotes it: errors end up in logs and in Temporal's history.
package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
	"github.com/journeyshq/journeys/messages"
)

// API paths, relative to Config.BaseURL.
const (
	ContactsPath = "/crm/v3/objects/contacts"
	NotesPath    = "/crm/v3/objects/notes"
)

// NoteToContact is HubSpot's association type ID for a note's link to a
// contact (category HUBSPOT_DEFINED).
const NoteToContact = 202

// RateLimitWait is the retry delay after a 429 that carries no Retry-After
// header, which is how HubSpot usually answers: its burst limit counts
// requests over a 10-second window.
const RateLimitWait = 10 * time.Second

const (
	errPrefix = "hubspot: "
	// maxMessageLen bounds how much of HubSpot's error message goes into
	// an error: enough to fix the request, not a screenful.
	maxMessageLen = 500
	// timestampLayout is RFC 3339 with milliseconds, as HubSpot writes
	// hs_timestamp itself.
	timestampLayout = "2006-01-02T15:04:05.000Z07:00"
)

// The calls an update makes, as errors name them.
const (
	opUpdateContact = "update contact"
	opFindContact   = "find contact"
	opCreateNote    = "create note"
)

// APIError is an error answer from HubSpot: the HTTP status and the fields
// of HubSpot's JSON error body. Transient and Permanent errors from
// UpdateContact wrap it when HubSpot answered, so callers can errors.As it.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Category is HubSpot's error category, such as VALIDATION_ERROR,
	// OBJECT_NOT_FOUND or RATE_LIMITS; empty when the body was not
	// HubSpot's JSON (a proxy's error page, say).
	Category string
	// Message is HubSpot's explanation, with the contact's email address
	// replaced by "[contact]" and shortened to a few hundred bytes.
	Message string
	// CorrelationID identifies the request to HubSpot's support.
	CorrelationID string
	// PolicyName is the rate limit a 429 hit, such as SECONDLY or DAILY.
	PolicyName string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "http %d", e.Status)
	if e.Category != "" {
		b.WriteString(" " + e.Category)
	}
	if e.PolicyName != "" {
		b.WriteString(" (" + e.PolicyName + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.CorrelationID != "" {
		b.WriteString(" (correlation id " + e.CorrelationID + ")")
	}
	return b.String()
}

// Client records journey facts on HubSpot contacts. It is safe for
// concurrent use.
type Client struct {
	api    *vendorhttp.Client
	prefix string
}

// Option changes how New builds a Client.
type Option = vendorhttp.Option

// WithHTTPClient sends every call through hc, whose own Timeout and
// redirect policy then apply instead of Config.Timeout and the driver's.
// A nil hc is ignored.
func WithHTTPClient(hc *http.Client) Option { return vendorhttp.WithHTTPClient(hc) }

// WithClock sets the clock that stamps notes (hs_timestamp) and reads
// date-valued Retry-After headers; tests pin it. A nil now is ignored.
func WithClock(now func() time.Time) Option { return vendorhttp.WithClock(now) }

// New checks cfg, fills its defaults and returns a Client. It makes no
// request: the token is proven by the first update.
func New(cfg Config, opts ...Option) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	api, err := vendorhttp.New(cfg.BaseURL, cfg.AccessToken, cfg.Timeout, opts...)
	if err != nil { // validate parsed it already
		return nil, fmt.Errorf("%s%s %w", errPrefix, EnvBaseURL, err)
	}
	return &Client{api: api, prefix: cfg.PropertyPrefix}, nil
}

// UpdateContact sets u.Properties on the HubSpot contact whose email is
// u.Email and, when u.Note is not blank, adds the note to the contact's
// timeline. It answers with "contact/<id>" or "contact/<id>/note/<id>".
//
// An update without an email, or with neither properties nor a note, or
// with an empty property name, is refused before any request as Permanent
// "invalid_request". HubSpot's answers are classified: 429 → Transient with
// the Retry-After delay, or RateLimitWait without one; 5xx, 408 and 423
// (record locked by concurrent writes) → Transient; transport failures and
// timeouts → Transient; 404 from the contact call → Permanent
// "contact_not_found"; 400 (PROPERTY_DOESNT_EXIST, VALIDATION_ERROR…) →
// Permanent "invalid_request" with HubSpot's message and category; 401/403
// → Permanent "unauthorized"; any other status → Permanent "rejected". A
// note HubSpot accepted but whose answer was unreadable is Permanent
// "unconfirmed": a retry would add it twice.
//
// When the note fails after the properties were set, the whole update
// fails; its retry sets the same properties again, which changes nothing,
// and then adds the note.
func (c *Client) UpdateContact(ctx context.Context, u messages.CRMUpdate) (messages.Receipt, error) {
	tgt := target{who: "customer " + u.CustomerID, email: strings.TrimSpace(u.Email)}
	if u.Step != "" {
		tgt.who += " step " + u.Step
	}
	props, err := c.properties(u, tgt)
	if err != nil {
		return messages.Receipt{}, err
	}
	if err := ctx.Err(); err != nil {
		return messages.Receipt{}, messages.Transient(tgt.wrap(opUpdateContact, fmt.Errorf("not sent: %w", err)), 0)
	}
	contactID, err := c.contact(ctx, tgt, props)
	if err != nil {
		return messages.Receipt{}, err
	}
	rcpt := messages.Receipt{ID: "contact/" + contactID}
	if strings.TrimSpace(u.Note) == "" {
		return rcpt, nil
	}
	noteID, err := c.addNote(ctx, tgt, contactID, noteBody(u.Note, u.Meta))
	if err != nil {
		return messages.Receipt{}, err
	}
	rcpt.ID += "/note/" + noteID
	return rcpt, nil
}

// target is whom one UpdateContact is for: the customer and step its
// errors name, and the email address they must not quote.
type target struct {
	who, email string
}

// wrap gives an error of the call op its context.
func (tgt target) wrap(op string, err error) error {
	return fmt.Errorf("%s%s for %s: %w", errPrefix, op, tgt.who, err)
}

// policy sorts HubSpot's answers to the call op.
func (tgt target) policy(op string) vendorhttp.Policy {
	reasons := contactReasons
	if op == opCreateNote {
		reasons = noteReasons
	}
	return vendorhttp.Policy{
		// HubSpot answers 423 while a record is locked by concurrent
		// writes; like an outage, it passes.
		Passing:       []int{http.StatusLocked},
		RateLimitWait: RateLimitWait,
		Reasons:       reasons,
		Parse:         func(status int, body []byte) error { return parseAPIError(status, body, tgt.email) },
		Wrap:          func(err error) error { return tgt.wrap(op, err) },
	}
}

// noteReasons are the Permanent reasons of the notes endpoint's statuses;
// a revoked token or one without the contacts scopes is for an operator to
// fix, not a retry.
var noteReasons = map[int]string{
	http.StatusBadRequest:   "invalid_request",
	http.StatusUnauthorized: "unauthorized",
	http.StatusForbidden:    "unauthorized",
}

// contactReasons adds to noteReasons the contact call's 404: no contact
// has that email, and only a person (or a signup sync) can create it.
var contactReasons = func() map[int]string {
	m := maps.Clone(noteReasons)
	m[http.StatusNotFound] = "contact_not_found"
	return m
}()

// properties checks u and names its properties with the prefix. An update
// it refuses is Permanent "invalid_request".
func (c *Client) properties(u messages.CRMUpdate, tgt target) (map[string]string, error) {
	invalid := func(why string) error {
		return messages.Permanent("invalid_request", tgt.wrap(opUpdateContact, errors.New(why)))
	}
	if tgt.email == "" {
		return nil, invalid("contact has no email address")
	}
	props := make(map[string]string, len(u.Properties))
	for k, v := range u.Properties {
		if strings.TrimSpace(k) == "" {
			return nil, invalid("a property has an empty name")
		}
		props[c.prefix+k] = v
	}
	if len(props) == 0 && strings.TrimSpace(u.Note) == "" {
		return nil, invalid("update has neither properties nor a note")
	}
	return props, nil
}

// contact sets props on the contact, or just looks it up when there are
// none, and answers with its ID, which a note is associated with.
func (c *Client) contact(ctx context.Context, tgt target, props map[string]string) (string, error) {
	op, req := opUpdateContact, vendorhttp.Request{
		Method: http.MethodPatch,
		URL:    c.api.URL(ContactsPath, "idProperty=email", tgt.email),
		Body:   map[string]any{"properties": props},
	}
	if len(props) == 0 {
		op, req.Method, req.Body = opFindContact, http.MethodGet, nil
	}
	ans, err := c.api.Call(ctx, req, tgt.policy(op))
	if err != nil {
		return "", err
	}
	if ans.ReadErr != nil {
		// The answer broke off; setting the same properties again is
		// harmless, so a retry is the way to learn the ID.
		return "", messages.Transient(tgt.wrap(op, fmt.Errorf("http %d answer unreadable: %w", ans.Status, ans.ReadErr)), 0)
	}
	id, err := objectID(ans.Body)
	if err != nil {
		return "", messages.Permanent("unexpected_response", tgt.wrap(op, fmt.Errorf("http %d: %w", ans.Status, err)))
	}
	return id, nil
}

// addNote creates a note with body on the contact's timeline and answers
// with its ID.
func (c *Client) addNote(ctx context.Context, tgt target, contactID, body string) (string, error) {
	note := map[string]any{
		"properties": map[string]string{
			"hs_note_body": body,
			"hs_timestamp": c.api.Now().UTC().Format(timestampLayout),
		},
		"associations": []any{map[string]any{
			"to": map[string]string{"id": contactID},
			"types": []any{map[string]any{
				"associationCategory": "HUBSPOT_DEFINED",
				"associationTypeId":   NoteToContact,
			}},
		}},
	}
	req := vendorhttp.Request{Method: http.MethodPost, URL: c.api.URL(NotesPath, ""), Body: note}
	ans, err := c.api.Call(ctx, req, tgt.policy(opCreateNote))
	if err != nil {
		return "", err
	}
	id, err := objectID(ans.Body)
	if ans.ReadErr != nil {
		err = ans.ReadErr
	}
	if err != nil {
		// HubSpot accepted the note, so it exists; retrying would add it
		// a second time.
		return "", messages.Permanent("unconfirmed",
			tgt.wrap(opCreateNote, fmt.Errorf("http %d accepted the note but the answer was unreadable: %w", ans.Status, err)))
	}
	return id, nil
}

// parseAPIError reads HubSpot's {"status":"error","message":…,
// "correlationId":…,"category":…} body. Anything else (a proxy's HTML page)
// leaves only the status: its text could be anything.
func parseAPIError(status int, body []byte, email string) *APIError {
	e := &APIError{Status: status}
	var doc struct {
		Message       string `json:"message"`
		CorrelationID string `json:"correlationId"`
		Category      string `json:"category"`
		PolicyName    string `json:"policyName"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return e
	}
	e.Message = scrub(strings.Join(strings.Fields(doc.Message), " "), email)
	e.Category = vendorhttp.Shorten(strings.TrimSpace(doc.Category), 64)
	e.CorrelationID = vendorhttp.Shorten(strings.TrimSpace(doc.CorrelationID), 64)
	e.PolicyName = vendorhttp.Shorten(strings.TrimSpace(doc.PolicyName), 64)
	return e
}

// objectID reads the "id" of a CRM object answer.
func objectID(body []byte) (string, error) {
	var obj struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		return "", errors.New("answer is not a JSON object")
	}
	// HubSpot sends IDs as strings; a number is accepted all the same.
	var id string
	if json.Unmarshal(obj.ID, &id) != nil {
		var n json.Number
		if json.Unmarshal(obj.ID, &n) != nil {
			return "", errors.New("answer has no object id")
		}
		id = n.String()
	}
	if id = strings.TrimSpace(id); id == "" || strings.ContainsAny(id, "/ \t\r\n") {
		return "", errors.New("answer has no usable object id")
	}
	return id, nil
}

// noteBody is the note as HubSpot's hs_note_body, which HubSpot shows as
// rich text: the note's lines HTML-escaped and joined with <br> (plain
// newlines would run together), then a blank line and a last line with the
// journey step and idempotency key, for tracing the note to the journey.
func noteBody(note string, m messages.Meta) string {
	note = strings.TrimSpace(strings.ReplaceAll(note, "\r\n", "\n"))
	lines := strings.Split(note, "\n")
	for i, l := range lines {
		lines[i] = escapeHTML(l)
	}
	body := strings.Join(lines, "<br>")
	var trace []string
	if m.Step != "" {
		trace = append(trace, "step "+m.Step)
	}
	if m.IdempotencyKey != "" {
		trace = append(trace, "idempotency key "+m.IdempotencyKey)
	}
	if len(trace) > 0 {
		body += "<br><br>" + escapeHTML("journeys: "+strings.Join(trace, ", "))
	}
	return body
}

// escapeHTML escapes what would change the meaning of text in HTML.
// Quotes need no escaping outside attributes, and leaving them keeps the
// note readable where HubSpot shows the raw body.
var escapeHTML = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// scrub replaces the contact's email address in s, ignoring case and in
// its escaped forms too, and shortens s to maxMessageLen bytes.
func scrub(s, email string) string {
	olds := []string{email, url.PathEscape(email), vendorhttp.EscapeSegment(email), url.QueryEscape(email)}
	// Longest first, so a form that contains another is replaced whole.
	sort.Slice(olds, func(i, j int) bool { return len(olds[i]) > len(olds[j]) })
	for _, old := range olds {
		s = vendorhttp.ReplaceFold(s, old, "[contact]")
	}
	return vendorhttp.Shorten(s, maxMessageLen)
}
