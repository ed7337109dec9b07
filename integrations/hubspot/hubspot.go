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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// maxAnswer and maxErrorAnswer bound how much of an answer is read: a
	// contact or note is a few kilobytes, an error less; a misbehaving
	// proxy's could be anything.
	maxAnswer      = 1 << 20
	maxErrorAnswer = 64 << 10
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
	base    *url.URL
	token   string
	prefix  string
	timeout time.Duration
	http    *http.Client
	now     func() time.Time
}

// Option changes how New builds a Client.
type Option func(*Client)

// WithHTTPClient sends every call through hc, whose own Timeout and
// redirect policy then apply instead of Config.Timeout and the driver's.
// A nil hc is ignored.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithClock sets the clock that stamps notes (hs_timestamp) and reads
// date-valued Retry-After headers; tests pin it. A nil now is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// New checks cfg, fills its defaults and returns a Client. It makes no
// request: the token is proven by the first update.
func New(cfg Config, opts ...Option) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base, err := vendorhttp.ParseURL(cfg.BaseURL)
	if err != nil { // validate parsed it already
		return nil, fmt.Errorf("%s%s %w", errPrefix, EnvBaseURL, err)
	}
	c := &Client{base: base, token: cfg.AccessToken, prefix: cfg.PropertyPrefix, timeout: cfg.Timeout, now: time.Now}
	c.http = vendorhttp.NewClient(vendorhttp.Transport(), cfg.Timeout)
	for _, o := range opts {
		o(c)
	}
	return c, nil
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
	who := "customer " + u.CustomerID
	if u.Step != "" {
		who += " step " + u.Step
	}
	wrap := func(op string, err error) error {
		return fmt.Errorf("%s%s for %s: %w", errPrefix, op, who, err)
	}
	invalid := func(why string) (messages.Receipt, error) {
		return messages.Receipt{}, messages.Permanent("invalid_request", wrap(opUpdateContact, errors.New(why)))
	}
	email := strings.TrimSpace(u.Email)
	if email == "" {
		return invalid("contact has no email address")
	}
	props := make(map[string]string, len(u.Properties))
	for k, v := range u.Properties {
		if strings.TrimSpace(k) == "" {
			return invalid("a property has an empty name")
		}
		props[c.prefix+k] = v
	}
	hasNote := strings.TrimSpace(u.Note) != ""
	if len(props) == 0 && !hasNote {
		return invalid("update has neither properties nor a note")
	}
	if err := ctx.Err(); err != nil {
		return messages.Receipt{}, messages.Transient(wrap(opUpdateContact, fmt.Errorf("not sent: %w", err)), 0)
	}

	// 1. The contact: set the properties, or just look it up when there
	// are none, to learn the ID the note is associated with.
	op, method := opUpdateContact, http.MethodPatch
	var body any = map[string]any{"properties": props}
	if len(props) == 0 {
		op, method, body = opFindContact, http.MethodGet, nil
	}
	ans, err := c.call(ctx, method, c.contactURL(email), body)
	if err != nil {
		return messages.Receipt{}, messages.Transient(wrap(op, vendorhttp.TransportError(ctx, err, c.timeout)), 0)
	}
	if !ans.ok() {
		return messages.Receipt{}, c.classify(ans, op, email, wrap)
	}
	if ans.readErr != nil {
		// The answer broke off; setting the same properties again is
		// harmless, so a retry is the way to learn the ID.
		return messages.Receipt{}, messages.Transient(wrap(op, fmt.Errorf("http %d answer unreadable: %w", ans.status, ans.readErr)), 0)
	}
	contactID, err := objectID(ans.body)
	if err != nil {
		return messages.Receipt{}, messages.Permanent("unexpected_response", wrap(op, fmt.Errorf("http %d: %w", ans.status, err)))
	}
	rcpt := messages.Receipt{ID: "contact/" + contactID}
	if !hasNote {
		return rcpt, nil
	}

	// 2. The note, on the contact's timeline.
	note := map[string]any{
		"properties": map[string]string{
			"hs_note_body": noteBody(u.Note, u.Meta),
			"hs_timestamp": c.now().UTC().Format(timestampLayout),
		},
		"associations": []any{map[string]any{
			"to": map[string]string{"id": contactID},
			"types": []any{map[string]any{
				"associationCategory": "HUBSPOT_DEFINED",
				"associationTypeId":   NoteToContact,
			}},
		}},
	}
	ans, err = c.call(ctx, http.MethodPost, c.apiURL(NotesPath, NotesPath, ""), note)
	if err != nil {
		return messages.Receipt{}, messages.Transient(wrap(opCreateNote, vendorhttp.TransportError(ctx, err, c.timeout)), 0)
	}
	if !ans.ok() {
		return messages.Receipt{}, c.classify(ans, opCreateNote, email, wrap)
	}
	noteID, err := objectID(ans.body)
	if ans.readErr != nil {
		err = ans.readErr
	}
	if err != nil {
		// HubSpot accepted the note, so it exists; retrying would add it
		// a second time.
		return messages.Receipt{}, messages.Permanent("unconfirmed",
			wrap(opCreateNote, fmt.Errorf("http %d accepted the note but the answer was unreadable: %w", ans.status, err)))
	}
	rcpt.ID += "/note/" + noteID
	return rcpt, nil
}

// contactURL addresses the contact with email, by its email property.
func (c *Client) contactURL(email string) *url.URL {
	return c.apiURL(ContactsPath+"/"+email, ContactsPath+"/"+vendorhttp.EscapeSegment(email), "idProperty=email")
}

// apiURL is c.base with path (rawPath escaped) appended and query set.
func (c *Client) apiURL(path, rawPath, query string) *url.URL {
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + path
	u.RawPath = strings.TrimSuffix(c.base.EscapedPath(), "/") + rawPath
	u.RawQuery = query
	return &u
}

// answer is what HubSpot said to one call.
type answer struct {
	status int
	header http.Header
	body   []byte
	// readErr is set when the body broke off.
	readErr error
}

func (a answer) ok() bool { return a.status >= 200 && a.status < 300 }

// call sends one request with body, if any, as JSON. Its error means no
// answer arrived; an answer of any status is returned for the caller to
// judge.
func (c *Client) call(ctx context.Context, method string, u *url.URL, body any) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		// The error would quote the URL, which holds the email address.
		return answer{}, errors.New("request could not be built")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	limit := int64(maxAnswer)
	if resp.StatusCode >= 300 {
		limit = maxErrorAnswer
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	// Draining what is left (within reason) lets the connection be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorAnswer))
	return answer{status: resp.StatusCode, header: resp.Header, body: b, readErr: err}, nil
}

// classify turns a non-2xx answer to op into the messages error kinds.
func (c *Client) classify(a answer, op, email string, wrap func(string, error) error) error {
	apiErr := parseAPIError(a.status, a.body, email)
	err := wrap(op, apiErr)
	switch s := a.status; {
	case s == http.StatusTooManyRequests:
		d := vendorhttp.RetryAfter(a.header.Get("Retry-After"), c.now())
		if d == 0 {
			d = RateLimitWait
		}
		return messages.Transient(err, d)
	case s >= http.StatusInternalServerError, s == http.StatusRequestTimeout, s == http.StatusLocked:
		// HubSpot answers 423 while a record is locked by concurrent
		// writes; like an outage, it passes. Either may say when.
		return messages.Transient(err, vendorhttp.RetryAfter(a.header.Get("Retry-After"), c.now()))
	case s == http.StatusNotFound && op != opCreateNote:
		// No contact has that email. Only a person (or a signup sync)
		// can create it; retrying cannot.
		return messages.Permanent("contact_not_found", err)
	case s == http.StatusBadRequest:
		return messages.Permanent("invalid_request", err)
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		// A revoked token or one without the contacts scopes: an operator
		// fixes that, not a retry.
		return messages.Permanent("unauthorized", err)
	default:
		return messages.Permanent("rejected", err)
	}
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
