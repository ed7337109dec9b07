// Package sendgrid is the email delivery driver for SendGrid's v3 Mail Send
// API, built on the official sendgrid-go SDK.
//
// Each email is built with the SDK's mail helpers and posted with a
// rest.Client of the driver's own, whose http.Client has Config.Timeout: the
// SDK's package-level DefaultClient has no timeout, and changing it would
// change every other user of the SDK in the process.
//
// Every email carries custom_args customer_id, journey_step and
// idempotency_key (and experiment, on an experiment's variant), which SendGrid repeats in its event webhooks (delivered,
// bounce, open…), and the categories "journeys", the journey stage and the
// template name, which SendGrid's statistics group by.
//
// SendGrid has no idempotency key for Mail Send: a send whose answer is lost
// (timeout, reset) is reported as transient and its retry may deliver a
// second email. The activities' ledger keeps completed sends from repeating.
//
// Errors never quote the recipient's address, the subject or the body, and
// the recipient's address and the subject are scrubbed from SendGrid's error
// messages: errors end up in logs and in Temporal's history.
package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	sdk "github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
	"github.com/journeyshq/journeys/messages"
)

// MailSendPath is the Mail Send endpoint, relative to Config.BaseURL.
const MailSendPath = "/v3/mail/send"

// Custom args set on every email; SendGrid's event webhooks carry them back.
const (
	ArgCustomerID     = "customer_id"
	ArgJourneyStep    = "journey_step"
	ArgIdempotencyKey = "idempotency_key"
	// ArgExperiment is "experiment=variant" on an email an experiment's
	// variant planned, so opens and clicks can be told apart by arm.
	ArgExperiment = "experiment"
)

// CategoryJourneys is the category every email from journeys carries.
const CategoryJourneys = "journeys"

const (
	errPrefix = "sendgrid: "
	// maxErrors and maxMessageLen bound how much of SendGrid's answer goes
	// into an error: enough to fix the request, not a log line's worth of
	// a misbehaving proxy.
	maxErrors     = 5
	maxMessageLen = 300
)

// APIError is an error answer from SendGrid: the HTTP status and the
// entries of the answer's "errors" list. Transient and Permanent errors from
// SendEmail wrap it when SendGrid answered, so callers can errors.As it.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Errors are SendGrid's messages, scrubbed of the recipient's address
	// and the subject; empty when the body was not SendGrid's JSON (a
	// proxy's error page, say).
	Errors []FieldError
}

// FieldError is one entry of SendGrid's error list.
type FieldError struct {
	// Field is the request field at fault, such as
	// "personalizations.0.to.0.email"; empty for errors about the whole
	// request.
	Field string
	// Message is SendGrid's explanation.
	Message string
}

// Error gives the status and SendGrid's messages with their fields, such as
// "http 400: Does not contain a valid address. (field
// personalizations.0.to.0.email)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "http %d", e.Status)
	for i, fe := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(fe.Message)
		if fe.Field != "" {
			fmt.Fprintf(&b, " (field %s)", fe.Field)
		}
	}
	return b.String()
}

// Client sends email through SendGrid. It is safe for concurrent use.
type Client struct {
	cfg     Config
	from    *mail.Email
	replyTo *mail.Email
	rest    *rest.Client
}

// New checks cfg, fills its defaults and returns a Client. It makes no
// request: the key is proven by the first send.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	from, err := parseAddress(cfg.From)
	if err != nil { // validate parsed it already
		return nil, fmt.Errorf("%s%s %w", errPrefix, EnvFrom, err)
	}
	name := cfg.FromName
	if name == "" {
		name = from.Name
	}
	c := &Client{cfg: cfg, from: mail.NewEmail(name, from.Address)}
	if cfg.ReplyTo != "" {
		rt, err := parseAddress(cfg.ReplyTo)
		if err != nil {
			return nil, fmt.Errorf("%s%s %w", errPrefix, EnvReplyTo, err)
		}
		c.replyTo = mail.NewEmail(rt.Name, rt.Address)
	}
	// A redirect is an answer, not something to follow: net/http would turn
	// the POST into a GET, and send the key to another host.
	c.rest = &rest.Client{HTTPClient: vendorhttp.NewClient(vendorhttp.Transport(), cfg.Timeout)}
	return c, nil
}

// SendEmail sends e as a plain-text email and answers with SendGrid's
// message ID (the X-Message-Id header).
//
// An unparsable recipient or an empty subject or text is refused before any
// request as Permanent "invalid_request". SendGrid's answers are classified:
// 2xx → sent; 429 → Transient with the Retry-After delay, or the time until
// X-RateLimit-Reset; 5xx → Transient (with Retry-After when given); transport
// failures and timeouts → Transient; 400 → Permanent "invalid_request";
// 401/403 → Permanent "unauthorized"; 413 → Permanent "too_large"; any other
// status → Permanent "rejected".
func (c *Client) SendEmail(ctx context.Context, e messages.Email) (messages.Receipt, error) {
	wrap := func(err error) error {
		return fmt.Errorf("%semail %s for customer %s: %w", errPrefix, e.Step, e.CustomerID, err)
	}
	// The parse error is dropped: all it could add is what is wrong with
	// the address, and the address must stay out of logs.
	to, err := netmail.ParseAddress(e.To)
	if err != nil {
		return messages.Receipt{}, messages.Permanent("invalid_request", wrap(errors.New("recipient is not a valid email address")))
	}
	if strings.TrimSpace(e.Subject) == "" {
		return messages.Receipt{}, messages.Permanent("invalid_request", wrap(errors.New("subject is empty")))
	}
	if strings.TrimSpace(e.Text) == "" {
		return messages.Receipt{}, messages.Permanent("invalid_request", wrap(errors.New("text is empty")))
	}
	if err := ctx.Err(); err != nil {
		return messages.Receipt{}, messages.Transient(wrap(fmt.Errorf("not sent: %w", err)), 0)
	}

	req := sdk.GetRequest(c.cfg.APIKey, MailSendPath, c.cfg.BaseURL)
	req.Method = rest.Post
	req.Body = mail.GetRequestBody(c.message(e, mail.NewEmail(to.Name, to.Address)))
	if len(req.Body) == 0 {
		// GetRequestBody logs and returns nil when marshalling fails; with
		// only strings inside, that is a bug here, and retrying cannot help.
		return messages.Receipt{}, messages.Permanent("invalid_request", wrap(errors.New("request body could not be encoded")))
	}

	resp, err := c.rest.SendWithContext(ctx, req)
	switch {
	case resp != nil && resp.StatusCode >= 200 && resp.StatusCode < 300:
		// Accepted. err can only be a failure reading the (empty) body,
		// and reporting it would make Temporal send the email again.
		return messages.Receipt{ID: http.Header(resp.Headers).Get("X-Message-Id")}, nil
	case resp != nil:
		return messages.Receipt{}, classify(resp, wrap, time.Now(), to.Address, e.Subject)
	default:
		return messages.Receipt{}, messages.Transient(wrap(vendorhttp.TransportError(ctx, err, c.cfg.Timeout)), 0)
	}
}

// message builds the SendGrid mail for e, addressed to to.
func (c *Client) message(e messages.Email, to *mail.Email) *mail.SGMailV3 {
	m := mail.NewV3Mail()
	m.SetFrom(c.from)
	if c.replyTo != nil {
		m.SetReplyTo(c.replyTo)
	}
	m.Subject = e.Subject
	p := mail.NewPersonalization()
	p.AddTos(to)
	m.AddPersonalizations(p)
	m.AddContent(mail.NewContent("text/plain", e.Text))
	if e.HTML != "" {
		// text/plain must come first: SendGrid rejects other orders.
		m.AddContent(mail.NewContent("text/html", e.HTML))
	}
	// An empty value would say nothing in a webhook, so it is left out.
	for _, arg := range [][2]string{
		{ArgCustomerID, e.CustomerID},
		{ArgJourneyStep, e.Step},
		{ArgIdempotencyKey, e.IdempotencyKey},
		{ArgExperiment, e.Experiment},
	} {
		if arg[1] != "" {
			m.SetCustomArg(arg[0], arg[1])
		}
	}
	m.AddCategories(Categories(e.Meta)...)
	for k, v := range e.Headers {
		m.SetHeader(k, v)
	}
	if id := c.cfg.UnsubscribeGroups.Of(e.Class); id != 0 {
		// SendGrid's own unsubscribe links then name the class's group.
		m.SetASM(mail.NewASM().SetGroupID(id))
	}
	return m
}

// Categories lists the SendGrid categories of an email with meta m:
// CategoryJourneys, the journey stage (the part of m.Step before the first
// ".", such as "onboarding") and the template name, without empty or
// repeated entries, since Mail Send requires categories to be unique.
func Categories(m messages.Meta) []string {
	stage, _, _ := strings.Cut(m.Step, ".")
	var out []string
	for _, c := range []string{CategoryJourneys, stage, m.Template} {
		c = strings.TrimSpace(c)
		if c == "" || contains(out, c) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// classify turns a non-2xx answer into the messages error kinds. recipient
// and subject are scrubbed from SendGrid's messages.
func classify(resp *rest.Response, wrap func(error) error, now time.Time, recipient, subject string) error {
	h := http.Header(resp.Headers)
	apiErr := &APIError{Status: resp.StatusCode, Errors: parseErrors(resp.Body, recipient, subject)}
	err := wrap(apiErr)
	switch status := resp.StatusCode; {
	case status == http.StatusTooManyRequests:
		d := vendorhttp.RetryAfter(h.Get("Retry-After"), now)
		if d == 0 {
			d = untilReset(h.Get("X-RateLimit-Reset"), now)
		}
		return messages.Transient(err, d)
	case status >= http.StatusInternalServerError:
		// X-RateLimit-Reset is on every answer and says nothing about an
		// outage, so only an explicit Retry-After counts here.
		return messages.Transient(err, vendorhttp.RetryAfter(h.Get("Retry-After"), now))
	case status == http.StatusBadRequest:
		return messages.Permanent("invalid_request", err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// A revoked key or one without Mail Send permission: no retry
		// fixes that, an operator does.
		return messages.Permanent("unauthorized", err)
	case status == http.StatusRequestEntityTooLarge:
		return messages.Permanent("too_large", err)
	default:
		return messages.Permanent("rejected", err)
	}
}

// parseErrors reads SendGrid's {"errors":[{"field":…,"message":…}]} body,
// keeping at most maxErrors entries of at most maxMessageLen bytes each,
// with the recipient's address and the subject replaced wherever SendGrid
// quoted them. Anything else (a proxy's HTML page) gives no entries: its
// text could be anything, and the status says enough.
func parseErrors(body, recipient, subject string) []FieldError {
	var doc struct {
		Errors []struct {
			Field   *string `json:"field"`
			Message string  `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &doc) != nil {
		return nil
	}
	var out []FieldError
	for _, e := range doc.Errors {
		if len(out) == maxErrors {
			break
		}
		fe := FieldError{Message: scrub(strings.TrimSpace(e.Message), recipient, subject)}
		if e.Field != nil {
			fe.Field = scrub(strings.TrimSpace(*e.Field), recipient, subject)
		}
		if fe.Message == "" && fe.Field == "" {
			continue
		}
		if fe.Message == "" {
			fe.Message = "invalid value"
		}
		out = append(out, fe)
	}
	return out
}

// scrub replaces the recipient's address and the subject in s, ignoring
// case, and shortens s to maxMessageLen bytes on a rune boundary. A subject
// under four characters is left alone: it would blank out ordinary words.
func scrub(s, recipient, subject string) string {
	s = vendorhttp.ReplaceFold(s, recipient, "[recipient]")
	if len(strings.TrimSpace(subject)) >= 4 {
		s = vendorhttp.ReplaceFold(s, strings.TrimSpace(subject), "[subject]")
	}
	return vendorhttp.Shorten(s, maxMessageLen)
}

// untilReset reads X-RateLimit-Reset, the unix time at which SendGrid's rate
// limit window reopens, as a delay from now.
func untilReset(v string, now time.Time) time.Duration {
	secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || secs <= 0 {
		return 0
	}
	// Compared in seconds first, so a far-future value cannot overflow a
	// Duration.
	if secs-now.Unix() > int64(vendorhttp.MaxRetryAfter/time.Second) {
		return vendorhttp.MaxRetryAfter
	}
	return vendorhttp.Cap(time.Unix(secs, 0).Sub(now))
}
