package vendorhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/journeyshq/journeys/messages"
)

const (
	// maxAnswer and maxErrorAnswer bound how much of an answer is read: a
	// vendor's object or error is a few kilobytes; a misbehaving proxy's
	// answer could be anything.
	maxAnswer      = 1 << 20
	maxErrorAnswer = 64 << 10
)

// bearerToken is what can go in an Authorization header unchanged:
// printable ASCII without spaces.
var bearerToken = regexp.MustCompile(`^[\x21-\x7e]+$`)

// ValidToken reports whether token can be sent as a bearer token. Anything
// else would be refused by net/http at send time, which would look like a
// network failure and be retried forever, so a driver refuses it at
// start-up instead.
func ValidToken(token string) bool { return bearerToken.MatchString(token) }

// Client calls a vendor's JSON API with a bearer token. It is safe for
// concurrent use.
type Client struct {
	base    *url.URL
	token   string
	timeout time.Duration
	http    *http.Client
	now     func() time.Time
}

// Option changes how New builds a Client.
type Option func(*Client)

// WithHTTPClient sends every call through hc, whose own Timeout and
// redirect policy then apply instead of the Client's. A nil hc is ignored.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithClock sets the clock that reads date-valued Retry-After headers;
// tests pin it. A nil now is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// New is a Client for the API at base (checked by ParseURL, whose error it
// returns) whose every call ends within timeout.
func New(base, token string, timeout time.Duration, opts ...Option) (*Client, error) {
	u, err := ParseURL(base)
	if err != nil {
		return nil, err
	}
	c := &Client{base: u, token: token, timeout: timeout, now: time.Now}
	c.http = NewClient(Transport(), timeout)
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Now is the Client's clock, so a driver stamps what it sends with the
// same time tests pin.
func (c *Client) Now() time.Time { return c.now() }

// URL is the base URL with path and then segments appended, each segment
// escaped as one path segment (EscapeSegment), and query set.
func (c *Client) URL(path, query string, segments ...string) *url.URL {
	raw := path
	for _, s := range segments {
		path += "/" + s
		raw += "/" + EscapeSegment(s)
	}
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + path
	u.RawPath = strings.TrimSuffix(c.base.EscapedPath(), "/") + raw
	u.RawQuery = query
	return &u
}

// Request is one call to a vendor's API.
type Request struct {
	Method string
	URL    *url.URL
	// Header holds headers besides Authorization, Accept and Content-Type,
	// such as an Idempotency-Key.
	Header map[string]string
	// Body is sent as JSON; nil sends no body.
	Body any
}

// Answer is what the vendor said to one call.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	// ReadErr is set when the body broke off.
	ReadErr error
}

// Policy sorts a vendor's answers into done, Transient and Permanent.
type Policy struct {
	// Done lists statuses besides 2xx that mean the call did what it was
	// for, such as a 409 for an account already in the asked state.
	Done []int
	// Passing lists statuses besides 408, 429 and 5xx that a retry can
	// outlast, such as HubSpot's 423 for a record locked by other writes.
	Passing []int
	// RateLimitWait is the delay after a 429 that carries no Retry-After.
	RateLimitWait time.Duration
	// Reasons maps statuses to Permanent reasons; any other is "rejected".
	Reasons map[int]string
	// Parse reads an error answer as the vendor's error type, which the
	// kinds wrap so callers can errors.As it.
	Parse func(status int, body []byte) error
	// Wrap gives every error its context: the call and whom it was for.
	Wrap func(error) error
}

// Call sends r and reads the answer. An answer p takes as done is
// returned; any other answer, and no answer, is an error of the
// activities' kinds, *messages.TransientError or *messages.PermanentError,
// around p.Wrap of the cause.
func (c *Client) Call(ctx context.Context, r Request, p Policy) (Answer, error) {
	a, err := c.send(ctx, r)
	if err != nil {
		return Answer{}, messages.Transient(p.Wrap(TransportError(ctx, err, c.timeout)), 0)
	}
	if (a.Status >= 200 && a.Status < 300) || slices.Contains(p.Done, a.Status) {
		return a, nil
	}
	return Answer{}, p.classify(a, c.now())
}

// send makes the request. Its error means no answer arrived; an answer of
// any status is returned for Call to judge.
func (c *Client) send(ctx context.Context, r Request) (Answer, error) {
	var rd io.Reader
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return Answer{}, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL.String(), rd)
	if err != nil {
		// The error would quote the URL, which may hold customer data.
		return Answer{}, errors.New("request could not be built")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	limit := int64(maxAnswer)
	if resp.StatusCode >= 300 {
		limit = maxErrorAnswer
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	// Draining what is left (within reason) lets the connection be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorAnswer))
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: b, ReadErr: err}, nil
}

// classify turns an answer that is not done into the messages error kinds.
func (p Policy) classify(a Answer, now time.Time) error {
	var cause error = fmt.Errorf("http %d", a.Status)
	if p.Parse != nil {
		cause = p.Parse(a.Status, a.Body)
	}
	err := p.Wrap(cause)
	switch s := a.Status; {
	case s == http.StatusTooManyRequests:
		d := RetryAfter(a.Header.Get("Retry-After"), now)
		if d == 0 {
			d = p.RateLimitWait
		}
		return messages.Transient(err, d)
	case s >= http.StatusInternalServerError, s == http.StatusRequestTimeout, slices.Contains(p.Passing, s):
		// An outage, a timeout waiting for our request, or the vendor's
		// own passing trouble: a retry can outlast it, and the vendor may
		// say when.
		return messages.Transient(err, RetryAfter(a.Header.Get("Retry-After"), now))
	}
	if reason, ok := p.Reasons[a.Status]; ok {
		return messages.Permanent(reason, err)
	}
	// Validation errors, a revoked token, a redirect: a retry would be
	// refused the same way.
	return messages.Permanent("rejected", err)
}
