// Package billingapi is the billing driver for the billing system's account
// endpoints, on net/http alone. It implements activities.Billing.
//
// Each action is one call:
//
//	POST {base}/accounts/{customer_id}/suspend
//	POST {base}/accounts/{customer_id}/restore
//
// with the JSON body {"customer_id", "invoice_id", "reason"} and the headers
// Authorization: Bearer <token>, Idempotency-Key: <Meta.IdempotencyKey> and
// Content-Type: application/json. The method called decides the endpoint,
// whatever AccountAction.Action says.
//
// The idempotency key is the same on every retry of one action, so the
// billing system can answer a retry with its first answer instead of acting
// twice; this driver keeps no state of its own.
//
// Answers: 2xx is done, and the receipt ID is the "id" of the JSON answer,
// or the idempotency key when there is none. 409 means the account is
// already in the asked state, which is what the journey wanted: done too,
// with the idempotency key as the receipt ID. 404 is Permanent
// "unknown_account"; any other 4xx (and a redirect) is Permanent "rejected"
// with the API's error message; 408, 429 and 5xx are Transient with the
// Retry-After delay, as are transport failures and timeouts.
//
// Errors start with "billingapi: " and name the action, the customer ID and
// the journey step; they never contain the token.
package billingapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
	"github.com/journeyshq/journeys/messages"
)

// AccountsPath is the API path of accounts, relative to Config.BaseURL.
const AccountsPath = "/accounts"

const (
	errPrefix = "billingapi: "
	// maxMessageLen bounds how much of the API's error message goes into an
	// error: enough to fix the request, not a screenful.
	maxMessageLen = 300
	// maxIDLen bounds a receipt ID taken from an answer.
	maxIDLen = 200
)

// APIError is an error answer from the billing API: the HTTP status and
// what its JSON error body said. Transient and Permanent errors wrap it when
// the API answered, so callers can errors.As it.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Code is the API's machine-readable error code or type, if it sent one.
	Code string
	// Message is the API's explanation, on one line and shortened to a few
	// hundred bytes; empty when the body was not JSON (a proxy's error page,
	// say).
	Message string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "http %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Client suspends and restores accounts through the billing API. It is safe
// for concurrent use.
type Client struct {
	api *vendorhttp.Client
}

// Option changes how New builds a Client.
type Option = vendorhttp.Option

// WithHTTPClient sends every call through hc, whose own Timeout and
// redirect policy then apply instead of Config.Timeout and the driver's.
// A nil hc is ignored.
func WithHTTPClient(hc *http.Client) Option { return vendorhttp.WithHTTPClient(hc) }

// WithClock sets the clock that reads date-valued Retry-After headers;
// tests pin it. A nil now is ignored.
func WithClock(now func() time.Time) Option { return vendorhttp.WithClock(now) }

// New checks cfg, fills its defaults and returns a Client. It makes no
// request: the token is proven by the first action.
func New(cfg Config, opts ...Option) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	api, err := vendorhttp.New(cfg.BaseURL, cfg.Token, cfg.Timeout, opts...)
	if err != nil { // validate parsed it already
		return nil, fmt.Errorf("%s%s %w", errPrefix, EnvURL, err)
	}
	return &Client{api: api}, nil
}

// SuspendAccount suspends the account of a.CustomerID.
func (c *Client) SuspendAccount(ctx context.Context, a messages.AccountAction) (messages.Receipt, error) {
	return c.act(ctx, messages.AccountSuspend, a)
}

// RestoreAccount restores the account of a.CustomerID.
func (c *Client) RestoreAccount(ctx context.Context, a messages.AccountAction) (messages.Receipt, error) {
	return c.act(ctx, messages.AccountRestore, a)
}

// request is the JSON body of an account action.
type request struct {
	CustomerID string `json:"customer_id"`
	InvoiceID  string `json:"invoice_id"`
	Reason     string `json:"reason"`
}

func (c *Client) act(ctx context.Context, action string, a messages.AccountAction) (messages.Receipt, error) {
	who := "customer " + a.CustomerID
	if a.Step != "" {
		who += " step " + a.Step
	}
	wrap := func(err error) error {
		return fmt.Errorf("%s%s account for %s: %w", errPrefix, action, who, err)
	}
	invalid := func(why string) (messages.Receipt, error) {
		return messages.Receipt{}, messages.Permanent("invalid_request", wrap(errors.New(why)))
	}
	switch id := a.CustomerID; {
	case strings.TrimSpace(id) == "":
		return invalid("no customer ID")
	case id == "." || id == "..":
		// Escaping leaves dots alone; a server that cleans the path would
		// act on another resource.
		return invalid("customer ID is not a path segment")
	}
	key := a.IdempotencyKey
	switch {
	case strings.TrimSpace(key) == "":
		// Without a key a retry could act twice, and the billing system
		// could not tell.
		return invalid("no idempotency key")
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		// net/http would refuse the header at send time, which would look
		// like a network failure and be retried forever.
		return invalid("idempotency key holds control characters")
	}
	if err := ctx.Err(); err != nil {
		return messages.Receipt{}, messages.Transient(wrap(fmt.Errorf("not sent: %w", err)), 0)
	}

	ans, err := c.api.Call(ctx, vendorhttp.Request{
		Method: http.MethodPost,
		URL:    c.api.URL(AccountsPath, "", a.CustomerID, action),
		Header: map[string]string{"Idempotency-Key": key},
		Body:   request{CustomerID: a.CustomerID, InvoiceID: a.InvoiceID, Reason: a.Reason},
	}, policy(wrap))
	switch {
	case err != nil:
		return messages.Receipt{}, err
	case ans.Status == http.StatusConflict:
		// Already suspended (or already active): the state the journey
		// asked for.
		return messages.Receipt{ID: key}, nil
	}
	// The action is done. An answer that broke off or carries no ID
	// changes nothing about that; the key identifies it as well.
	if id := answerID(ans.Body); id != "" && ans.ReadErr == nil {
		return messages.Receipt{ID: id}, nil
	}
	return messages.Receipt{ID: key}, nil
}

// policy sorts the API's answers to an action, whose errors wrap gives
// their context.
func policy(wrap func(error) error) vendorhttp.Policy {
	return vendorhttp.Policy{
		Done: []int{http.StatusConflict},
		// The billing system has no such account; only a person can fix
		// that. Any other 4xx is "rejected".
		Reasons: map[int]string{http.StatusNotFound: "unknown_account"},
		Parse:   func(status int, body []byte) error { return parseAPIError(status, body) },
		Wrap:    wrap,
	}
}

// parseAPIError reads the API's JSON error body, in the shapes APIs use:
// {"error": "…"}, {"error": {"code" or "type": …, "message": …}},
// {"code": …, "message": …} or RFC 9457's {"title": …, "detail": …}.
// Anything else (a proxy's HTML page) leaves only the status: its text
// could be anything.
func parseAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var doc struct {
		Error   json.RawMessage `json:"error"`
		Code    json.RawMessage `json:"code"`
		Message json.RawMessage `json:"message"`
		Title   json.RawMessage `json:"title"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return e
	}
	var nested struct {
		Code    json.RawMessage `json:"code"`
		Type    json.RawMessage `json:"type"`
		Message json.RawMessage `json:"message"`
	}
	msg := scalar(doc.Error)
	if msg == "" && json.Unmarshal(doc.Error, &nested) == nil {
		msg = scalar(nested.Message)
		e.Code = first(scalar(nested.Code), scalar(nested.Type))
	}
	msg = first(msg, scalar(doc.Message), scalar(doc.Detail), scalar(doc.Title))
	if e.Code == "" {
		// Not RFC 9457's type: a URI, too long to be a code.
		e.Code = scalar(doc.Code)
	}
	e.Code = vendorhttp.Shorten(strings.Join(strings.Fields(e.Code), "_"), 64)
	e.Message = vendorhttp.Shorten(strings.Join(strings.Fields(msg), " "), maxMessageLen)
	return e
}

// scalar is a JSON string or number as text; "" for anything else.
func scalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// first is the first of ss that is not blank.
func first(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// answerID reads the "id" of a JSON answer, a string or a number; "" when
// there is none.
func answerID(body []byte) string {
	var obj struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &obj) != nil {
		return ""
	}
	id := strings.TrimSpace(scalar(obj.ID))
	if strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	return vendorhttp.Shorten(id, maxIDLen)
}
