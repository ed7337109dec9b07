// Package twilio is the SMS delivery driver for Twilio's Messages API, built
// on the official twilio-go SDK.
//
// The SDK has no base-URL option and no context-aware methods: it builds each
// request itself with context.Background(). So every send gets its own small
// SDK client whose http.Client has a transport that
//
//   - points requests at Config.BaseURL (a local fake in tests),
//   - ties the request to the caller's ctx, so a cancelled activity stops
//     waiting on Twilio at once rather than when the timeout fires,
//   - records the response status and Retry-After header, which the SDK
//     does not expose, so rate limits carry Twilio's requested delay,
//   - buffers error bodies, because the SDK never closes them and the
//     connection would otherwise leak.
//
// The http.Client's Timeout (Config.Timeout) bounds every call.
//
// Twilio has no idempotency key for Messages: a send whose response is lost
// (timeout, reset) is reported as transient and its retry may deliver a
// second text. The activities' ledger keeps completed sends from repeating.
//
// Errors never quote Twilio's message text, which often repeats the
// recipient's number, nor the number or the body: errors end up in logs and
// in Temporal's history.
package twilio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
	"github.com/journeyshq/journeys/messages"
)

// Twilio error codes the driver tells apart.
const (
	CodeAuthenticate       = 20003 // bad account SID or auth token
	CodeTooManyRequests    = 20429 // rate limited; safe to retry
	CodeInvalidTo          = 21211 // 'To' is not a valid phone number
	CodeUnsubscribed       = 21610 // recipient replied STOP
	CodeNotMobileReachable = 21614 // 'To' is not a valid mobile number
)

const (
	errPrefix = "twilio: "
	// maxErrorBody caps how much of an error answer is kept: Twilio's are
	// a few hundred bytes, a misbehaving proxy's could be anything.
	maxErrorBody = 64 << 10
)

// APIError is an error answer from Twilio. It keeps the Twilio code and the
// HTTP status but not Twilio's message, which often quotes the recipient's
// phone number. It is what Transient and Permanent errors from SendSMS wrap
// when Twilio answered, so callers can errors.As it for the code.
type APIError struct {
	// Code is Twilio's error code, such as 21211; zero when the answer had
	// no readable code (a proxy's HTML error page, say).
	Code int
	// Status is the HTTP status.
	Status int
	// MoreInfo is Twilio's documentation link for the code.
	MoreInfo string
}

func (e *APIError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("%shttp %d", errPrefix, e.Status)
	}
	return fmt.Sprintf("%serror %d (http %d)", errPrefix, e.Code, e.Status)
}

// Client sends text messages through Twilio. It is safe for concurrent use.
type Client struct {
	cfg     Config
	timeout time.Duration
	// target is Config.BaseURL parsed; nil leaves the SDK's URLs alone.
	target *url.URL
	// base is shared by every send so connections are pooled.
	base http.RoundTripper
}

// New checks cfg and returns a Client. It makes no request: credentials are
// proven by the first send.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, timeout: cfg.Timeout}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil { // validate parsed it already
			return nil, fmt.Errorf("%s%s is not a valid URL", errPrefix, EnvBaseURL)
		}
		c.target = u
	}
	c.base = vendorhttp.Transport()
	return c, nil
}

// SendSMS sends s.Text to s.To and answers with the message SID.
//
// A number that is not E.164 or an empty text is refused before any request
// as a permanent error. Twilio's answers are classified: invalid number
// (21211, 21614) → Permanent "invalid_number"; STOP (21610) → Permanent
// "unsubscribed"; rate limit (20429 or HTTP 429) → Transient with the
// Retry-After delay; 5xx and transport failures or timeouts → Transient;
// 401/20003 → Permanent "unauthorized"; other 4xx → Permanent "rejected".
func (c *Client) SendSMS(ctx context.Context, s messages.SMS) (messages.Receipt, error) {
	if !e164.MatchString(s.To) {
		return messages.Receipt{}, messages.Permanent("invalid_number",
			errors.New(errPrefix+"recipient number is not in E.164 format"))
	}
	if strings.TrimSpace(s.Text) == "" {
		return messages.Receipt{}, messages.Permanent("empty_body",
			errors.New(errPrefix+"message text is empty"))
	}
	if err := ctx.Err(); err != nil {
		return messages.Receipt{}, messages.Transient(fmt.Errorf("%snot sent: %w", errPrefix, err), 0)
	}

	rt := &callTransport{base: c.base, target: c.target, ctx: ctx}
	sdk := &twclient.Client{
		Credentials: twclient.NewCredentials(c.cfg.AccountSID, c.cfg.AuthToken),
		// As the SDK's default client: a redirect is an answer, not
		// something to follow with our credentials.
		HTTPClient: vendorhttp.NewClient(rt, c.timeout),
	}
	sdk.SetAccountSid(c.cfg.AccountSID)
	// One SDK service per call keeps the transport's records to this call;
	// building it is a few allocations next to an HTTPS round trip.
	api := openapi.NewApiServiceWithClient(sdk)

	params := &openapi.CreateMessageParams{}
	params.SetTo(s.To)
	params.SetBody(s.Text)
	if c.cfg.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(c.cfg.MessagingServiceSID)
	} else {
		params.SetFrom(c.cfg.FromNumber)
	}
	if c.cfg.StatusCallbackURL != "" {
		params.SetStatusCallback(c.cfg.StatusCallbackURL)
	}

	msg, err := api.CreateMessage(params)
	if err != nil {
		return messages.Receipt{}, classify(ctx, err, rt.status, rt.retryAfter)
	}
	if msg == nil || msg.Sid == nil || *msg.Sid == "" {
		return messages.Receipt{}, unconfirmed(rt.status, errors.New("answer has no message sid"))
	}
	return messages.Receipt{ID: *msg.Sid}, nil
}

// classify turns a CreateMessage error into the messages error kinds, using
// what the transport saw since the SDK hides status and headers.
func classify(ctx context.Context, err error, status int, retryAfterHeader string) error {
	var restErr *twclient.TwilioRestError
	switch {
	case errors.As(err, &restErr):
		if status == 0 {
			// Refused inside the SDK before any request (credential
			// check); the body's status is all there is.
			status = restErr.Status
		}
		return classifyAPI(&APIError{Code: restErr.Code, Status: status, MoreInfo: restErr.MoreInfo}, retryAfterHeader)
	case status >= http.StatusMultipleChoices:
		// Twilio (or a proxy in front of it) answered with an error body
		// the SDK could not decode: the status still says what happened.
		return classifyAPI(&APIError{Status: status}, retryAfterHeader)
	case status >= http.StatusOK:
		// A 2xx arrived, so Twilio created the message, but its answer
		// could not be read. Retrying would text the customer twice.
		return unconfirmed(status, err)
	case ctx.Err() != nil:
		return messages.Transient(fmt.Errorf("%srequest abandoned: %w", errPrefix, ctx.Err()), 0)
	default:
		// No answer: refused connection, reset, or the client timeout.
		// The URL in a *url.Error names the account; the cause is enough.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return messages.Transient(fmt.Errorf("%srequest failed: %w", errPrefix, err), 0)
	}
}

// classifyAPI sorts an answer Twilio gave by its code first (the codes are
// specific) and its HTTP status second.
func classifyAPI(e *APIError, retryAfterHeader string) error {
	switch {
	case e.Code == CodeInvalidTo || e.Code == CodeNotMobileReachable:
		return messages.Permanent("invalid_number", e)
	case e.Code == CodeUnsubscribed:
		// Sending again cannot succeed until the customer texts START, and
		// trying is what carriers penalise.
		return messages.Permanent("unsubscribed", e)
	case e.Code == CodeTooManyRequests || e.Status == http.StatusTooManyRequests:
		return messages.Transient(e, vendorhttp.RetryAfter(retryAfterHeader, time.Now()))
	case e.Status >= http.StatusInternalServerError:
		// A 503 may say when to come back, too.
		return messages.Transient(e, vendorhttp.RetryAfter(retryAfterHeader, time.Now()))
	case e.Code == CodeAuthenticate || e.Status == http.StatusUnauthorized:
		return messages.Permanent("unauthorized", e)
	default:
		return messages.Permanent("rejected", e)
	}
}

// unconfirmed reports a send Twilio accepted but whose answer was unreadable.
// It is permanent so Temporal does not send the text again.
func unconfirmed(status int, err error) error {
	return messages.Permanent("unconfirmed",
		fmt.Errorf("%shttp %d accepted the message but the answer was unreadable: %w", errPrefix, status, err))
}

// callTransport serves one SendSMS call. The SDK calls it synchronously
// inside CreateMessage, so its fields are read after CreateMessage returns
// without locking.
type callTransport struct {
	base   http.RoundTripper
	target *url.URL
	// ctx is the caller's context, which the SDK does not pass on.
	ctx context.Context

	// status and retryAfter describe the last response; status is zero
	// when no usable response arrived.
	status     int
	retryAfter string
}

// RoundTrip rewrites the request's origin, binds it to both the caller's
// context and the http.Client's deadline, and records the answer.
func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.status, t.retryAfter = 0, ""

	// req's context carries the http.Client's Timeout; replacing it with
	// the caller's ctx would drop that, so the request gets a context that
	// ends when either does.
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	release := func() {
		stop()
		cancel(nil)
	}

	out := req.Clone(ctx)
	if t.target != nil {
		out.URL.Scheme = t.target.Scheme
		out.URL.Host = t.target.Host
		out.URL.Path = strings.TrimSuffix(t.target.Path, "/") + req.URL.Path
		out.URL.RawPath = ""
		out.Host = "" // the Host header follows the rewritten URL
	}

	resp, err := t.base.RoundTrip(out)
	if err != nil {
		release()
		return nil, err
	}
	if resp.StatusCode >= http.StatusMultipleChoices {
		// The SDK decodes error bodies but never closes them. Reading the
		// body here and closing it hands the connection back to the pool.
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		release()
		if err != nil {
			return nil, fmt.Errorf("read error answer: %w", err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		// The SDK reads and closes a success body; the contexts stay live
		// until then.
		resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	}
	t.status, t.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	return resp, nil
}

// releasingBody frees a request's context when its body is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
