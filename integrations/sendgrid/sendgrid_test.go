package sendgrid_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/internal/vendortest"
	"github.com/journeyshq/journeys/integrations/sendgrid"
	"github.com/journeyshq/journeys/messages"
)

const (
	testKey     = "SG.dGVzdGtleQ.c2VjcmV0LXBhcnQtb2YtdGhlLWtleQ"
	testFrom    = "hello@journeys.example.com"
	testName    = "Journeys Team"
	testReplyTo = "Support <support@journeys.example.com>"
	testTo      = "ada@lovelace.example.org"
	testSubject = "Welcome aboard, Ada"
	testText    = "Hi Ada,\n\nyour workspace is ready."
	testMsgID   = "W-yk0ZqNRb2XSmrBJx5m3A"
)

// The worker plugs a *Client in as the email driver.
var _ activities.EmailSender = (*sendgrid.Client)(nil)

// email is a typical message from the onboarding stage.
func email() messages.Email {
	return messages.Email{
		Meta: messages.Meta{
			CustomerID:     "cus_42",
			Step:           "onboarding.welcome",
			Template:       "welcome",
			IdempotencyKey: "journey-cus_42/onboarding.welcome/1",
		},
		To:      testTo,
		Subject: testSubject,
		Text:    testText,
	}
}

// answer is what the fake says to the next request.
type answer = vendortest.Reply

func accepted() answer {
	return answer{Status: http.StatusAccepted, Header: map[string]string{"X-Message-Id": testMsgID}}
}

// sgError answers like SendGrid does for a failed request: a JSON list of
// errors with field (null for request-wide errors), message and help.
func sgError(status int, field, message string) answer {
	var f any
	if field != "" {
		f = field
	}
	body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"field": f, "message": message, "help": nil}}})
	return answer{Status: status, Body: string(body)}
}

// rateLimited answers like SendGrid's rate limiter, with the X-RateLimit
// headers and optionally a Retry-After.
func rateLimited(reset time.Time, retryAfter string) answer {
	a := sgError(http.StatusTooManyRequests, "", "too many requests")
	a.Header = map[string]string{
		"X-RateLimit-Limit":     "600",
		"X-RateLimit-Remaining": "0",
		"X-RateLimit-Reset":     strconv.FormatInt(reset.Unix(), 10),
	}
	if retryAfter != "" {
		a.Header["Retry-After"] = retryAfter
	}
	return a
}

// Wire types of the v3 Mail Send body, written out here rather than taken
// from the SDK so the test checks the JSON SendGrid would receive.
type (
	wireAddress struct {
		Email string `json:"email"`
		Name  string `json:"name,omitempty"`
	}
	wirePersonalization struct {
		To []wireAddress `json:"to"`
	}
	wireContent struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	wireMail struct {
		From             wireAddress           `json:"from"`
		ReplyTo          *wireAddress          `json:"reply_to,omitempty"`
		Subject          string                `json:"subject"`
		Personalizations []wirePersonalization `json:"personalizations"`
		Content          []wireContent         `json:"content"`
		CustomArgs       map[string]string     `json:"custom_args"`
		Categories       []string              `json:"categories"`
	}
)

// fake is a stand-in for SendGrid's POST /v3/mail/send, which gives every
// request the same answer.
type fake struct {
	srv    *vendortest.Server[wireMail]
	answer answer
}

func newFake(t *testing.T, a answer) *fake {
	t.Helper()
	f := &fake{answer: a}
	f.srv = vendortest.Start[wireMail](t, "sendgrid", "application/json", f.serve)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	// Errors go to the test as well as to the client, so a request the
	// fake did not expect cannot pass unnoticed.
	switch {
	case r.URL.Path != "/v3/mail/send":
		f.srv.Fail(w, r, sgError(http.StatusNotFound, "", "not found"), "path "+r.URL.Path)
		return
	case r.Method != http.MethodPost:
		f.srv.Fail(w, r, sgError(http.StatusMethodNotAllowed, "", "method not allowed"), "method "+r.Method)
		return
	case r.Header.Get("Authorization") != "Bearer "+testKey:
		f.srv.Fail(w, r, sgError(http.StatusUnauthorized, "", "The provided authorization grant is invalid, expired, or revoked"), "bad Authorization header")
		return
	case r.Header.Get("Content-Type") != "application/json":
		f.srv.Fail(w, r, sgError(http.StatusUnsupportedMediaType, "", "Content-Type should be application/json."), "content type "+r.Header.Get("Content-Type"))
		return
	}
	var m wireMail
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		f.srv.Fail(w, r, sgError(http.StatusBadRequest, "", "Bad Request"), "body is not JSON: "+err.Error())
		return
	}
	f.srv.Record(m)
	f.srv.Answer(w, r, f.answer)
}

func (f *fake) requests() []wireMail { return f.srv.Received() }

func (f *fake) client(t *testing.T, timeout time.Duration) *sendgrid.Client {
	t.Helper()
	c, err := sendgrid.New(sendgrid.Config{
		APIKey:   testKey,
		From:     testFrom,
		FromName: testName,
		ReplyTo:  testReplyTo,
		BaseURL:  f.srv.URL,
		Timeout:  timeout,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// checkNoPII fails if err's text quotes the recipient, the subject or the body.
func checkNoPII(t *testing.T, err error) {
	t.Helper()
	msg := strings.ToLower(err.Error())
	for _, secret := range []string{testTo, testSubject, testText, "ada@", testKey} {
		if strings.Contains(msg, strings.ToLower(secret)) {
			t.Errorf("error %q quotes %q", err, secret)
		}
	}
	if !strings.HasPrefix(err.Error(), "sendgrid: ") && !strings.Contains(err.Error(), ": sendgrid: ") {
		t.Errorf("error %q is not prefixed sendgrid:", err)
	}
}

func TestSendEmailSendsTheMessage(t *testing.T) {
	f := newFake(t, accepted())
	c := f.client(t, 0)

	got, err := c.SendEmail(context.Background(), email())
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	if want := (messages.Receipt{ID: testMsgID}); got != want {
		t.Errorf("receipt = %+v, want %+v", got, want)
	}

	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("fake got %d requests, want 1", len(reqs))
	}
	want := wireMail{
		From:             wireAddress{Email: testFrom, Name: testName},
		ReplyTo:          &wireAddress{Email: "support@journeys.example.com", Name: "Support"},
		Subject:          testSubject,
		Personalizations: []wirePersonalization{{To: []wireAddress{{Email: testTo}}}},
		Content:          []wireContent{{Type: "text/plain", Value: testText}},
		CustomArgs: map[string]string{
			"customer_id":     "cus_42",
			"journey_step":    "onboarding.welcome",
			"idempotency_key": "journey-cus_42/onboarding.welcome/1",
		},
		Categories: []string{"journeys", "onboarding", "welcome"},
	}
	if !reflect.DeepEqual(reqs[0], want) {
		g, _ := json.MarshalIndent(reqs[0], "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("request body:\n%s\nwant:\n%s", g, w)
	}
}

func TestSendEmailWithoutReplyToAndNameInFrom(t *testing.T) {
	f := newFake(t, accepted())
	c, err := sendgrid.New(sendgrid.Config{APIKey: testKey, From: "Ada Team <team@journeys.example.com>", BaseURL: f.srv.URL + "/"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e := email()
	e.Step = "retention" // a step without a stage suffix is its own stage
	e.Template = ""
	if _, err := c.SendEmail(context.Background(), e); err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("fake got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if want := (wireAddress{Email: "team@journeys.example.com", Name: "Ada Team"}); got.From != want {
		t.Errorf("from = %+v, want %+v", got.From, want)
	}
	if got.ReplyTo != nil {
		t.Errorf("reply_to = %+v, want none", got.ReplyTo)
	}
	if want := []string{"journeys", "retention"}; !reflect.DeepEqual(got.Categories, want) {
		t.Errorf("categories = %q, want %q", got.Categories, want)
	}
}

func TestSendEmailErrors(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		answer answer
		// Exactly one of reason and transient is set.
		reason    string
		transient bool
		// retryMin and retryMax bound RetryAfter for transient errors.
		retryMin, retryMax time.Duration
		// contains are substrings the error must have.
		contains []string
	}{
		{
			name:      "429 with Retry-After",
			answer:    rateLimited(now.Add(40*time.Second), "7"),
			transient: true, retryMin: 7 * time.Second, retryMax: 7 * time.Second,
			contains: []string{"http 429", "too many requests"},
		},
		{
			name:      "429 with only X-RateLimit-Reset",
			answer:    rateLimited(now.Add(30*time.Second), ""),
			transient: true, retryMin: 28 * time.Second, retryMax: 30 * time.Second,
		},
		{
			name:      "429 with a reset in the past",
			answer:    rateLimited(now.Add(-time.Minute), ""),
			transient: true, retryMin: 0, retryMax: 0,
		},
		{
			name:      "429 with a reset days away is capped at an hour",
			answer:    rateLimited(now.Add(72*time.Hour), ""),
			transient: true, retryMin: time.Hour, retryMax: time.Hour,
		},
		{
			name:      "500",
			answer:    sgError(http.StatusInternalServerError, "", "internal server error"),
			transient: true,
			contains:  []string{"http 500"},
		},
		{
			name: "503 with Retry-After",
			answer: answer{Status: http.StatusServiceUnavailable, Body: "<html>Service Unavailable</html>",
				Header: map[string]string{"Retry-After": "3"}},
			transient: true, retryMin: 3 * time.Second, retryMax: 3 * time.Second,
			contains: []string{"http 503"},
		},
		{
			name:     "400 invalid email",
			answer:   sgError(http.StatusBadRequest, "personalizations.0.to.0.email", "Does not contain a valid address."),
			reason:   "invalid_request",
			contains: []string{"http 400", "Does not contain a valid address.", "personalizations.0.to.0.email", "cus_42"},
		},
		{
			// Hypothetical wording that quotes the recipient and the
			// subject: the driver must scrub them, whatever SendGrid says.
			name:     "400 quoting the recipient",
			answer:   sgError(http.StatusBadRequest, "personalizations.0.to.0.email", "The address "+strings.ToUpper(testTo)+" in '"+testSubject+"' is invalid."),
			reason:   "invalid_request",
			contains: []string{"The address [recipient] in '[subject]' is invalid."},
		},
		{
			name:     "401",
			answer:   sgError(http.StatusUnauthorized, "", "The provided authorization grant is invalid, expired, or revoked"),
			reason:   "unauthorized",
			contains: []string{"http 401", "authorization grant is invalid"},
		},
		{
			name:     "403",
			answer:   sgError(http.StatusForbidden, "", "access forbidden"),
			reason:   "unauthorized",
			contains: []string{"http 403"},
		},
		{
			name:     "413",
			answer:   sgError(http.StatusRequestEntityTooLarge, "", "Payload Too Large"),
			reason:   "too_large",
			contains: []string{"http 413"},
		},
		{
			name:     "404",
			answer:   sgError(http.StatusNotFound, "", "not found"),
			reason:   "rejected",
			contains: []string{"http 404"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.answer)
			c := f.client(t, 0)
			rcpt, err := c.SendEmail(context.Background(), email())
			if err == nil {
				t.Fatalf("SendEmail succeeded with %+v, want an error", rcpt)
			}
			checkNoPII(t, err)
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			var apiErr *sendgrid.APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tt.answer.Status {
				t.Errorf("error %q: want an *APIError with status %d", err, tt.answer.Status)
			}

			var perm *messages.PermanentError
			var trans *messages.TransientError
			isPerm, isTrans := errors.As(err, &perm), errors.As(err, &trans)
			if tt.transient {
				if !isTrans || isPerm {
					t.Fatalf("error %q (%T): want transient only", err, err)
				}
				if trans.RetryAfter < tt.retryMin || trans.RetryAfter > tt.retryMax {
					t.Errorf("RetryAfter = %s, want between %s and %s", trans.RetryAfter, tt.retryMin, tt.retryMax)
				}
				return
			}
			if !isPerm || isTrans {
				t.Fatalf("error %q (%T): want permanent only", err, err)
			}
			if perm.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", perm.Reason, tt.reason)
			}
		})
	}
}

func TestSendEmailTimeoutIsTransient(t *testing.T) {
	a := accepted()
	a.Delay = vendortest.Hang
	f := newFake(t, a)
	c := f.client(t, 150*time.Millisecond)

	start := time.Now()
	_, err := c.SendEmail(context.Background(), email())
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("SendEmail took %s with a 150ms timeout", elapsed)
	}
	var trans *messages.TransientError
	if !errors.As(err, &trans) {
		t.Fatalf("error %v (%T): want *messages.TransientError", err, err)
	}
	if trans.RetryAfter != 0 {
		t.Errorf("RetryAfter = %s, want 0", trans.RetryAfter)
	}
	checkNoPII(t, err)
	if len(f.requests()) != 1 {
		t.Errorf("fake got %d requests, want 1", len(f.requests()))
	}
}

func TestSendEmailContextDeadlineIsTransient(t *testing.T) {
	a := accepted()
	a.Delay = vendortest.Hang
	f := newFake(t, a)
	c := f.client(t, 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := c.SendEmail(ctx, email())
	var trans *messages.TransientError
	if !errors.As(err, &trans) {
		t.Fatalf("error %v (%T): want *messages.TransientError", err, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	checkNoPII(t, err)
}

func TestSendEmailUnreachableIsTransient(t *testing.T) {
	f := newFake(t, accepted())
	c := f.client(t, time.Second)
	f.srv.Close() // nothing listens on the port any more

	_, err := c.SendEmail(context.Background(), email())
	var trans *messages.TransientError
	if !errors.As(err, &trans) {
		t.Fatalf("error %v (%T): want *messages.TransientError", err, err)
	}
	checkNoPII(t, err)
}

func TestSendEmailRefusesBadMessagesWithoutCalling(t *testing.T) {
	for name, edit := range map[string]func(*messages.Email){
		"bad recipient": func(e *messages.Email) { e.To = "ada at lovelace" },
		"no subject":    func(e *messages.Email) { e.Subject = " " },
		"no text":       func(e *messages.Email) { e.Text = "" },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, accepted())
			c := f.client(t, 0)
			e := email()
			edit(&e)
			_, err := c.SendEmail(context.Background(), e)
			var perm *messages.PermanentError
			if !errors.As(err, &perm) || perm.Reason != "invalid_request" {
				t.Fatalf("error %v: want permanent invalid_request", err)
			}
			if strings.Contains(err.Error(), "ada at lovelace") {
				t.Errorf("error %q quotes the recipient", err)
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("fake got %d requests, want none", n)
			}
		})
	}
}

func TestCategories(t *testing.T) {
	tests := []struct {
		meta messages.Meta
		want []string
	}{
		{messages.Meta{Step: "onboarding.nudge", Template: "nudge_day3"}, []string{"journeys", "onboarding", "nudge_day3"}},
		{messages.Meta{Step: "trial.ending.soon", Template: "trial"}, []string{"journeys", "trial"}},
		{messages.Meta{Step: "", Template: "welcome"}, []string{"journeys", "welcome"}},
		{messages.Meta{}, []string{"journeys"}},
	}
	for _, tt := range tests {
		if got := sendgrid.Categories(tt.meta); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Categories(%+v) = %q, want %q", tt.meta, got, tt.want)
		}
	}
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnv(t *testing.T) {
	t.Run("absent key keeps the outbox", func(t *testing.T) {
		cfg, ok, err := sendgrid.ConfigFromEnv(env(map[string]string{"SENDGRID_FROM": testFrom}))
		if ok || err != nil || cfg != (sendgrid.Config{}) {
			t.Errorf("ConfigFromEnv = %v, %v, %v; want zero config, false, nil", cfg, ok, err)
		}
	})

	t.Run("defaults", func(t *testing.T) {
		cfg, ok, err := sendgrid.ConfigFromEnv(env(map[string]string{
			"SENDGRID_API_KEY": " " + testKey + "\n",
			"SENDGRID_FROM":    testName + " <" + testFrom + ">",
		}))
		if err != nil || !ok {
			t.Fatalf("ConfigFromEnv = %v, %v", ok, err)
		}
		want := sendgrid.Config{APIKey: testKey, From: testFrom, FromName: testName,
			BaseURL: "https://api.sendgrid.com", Timeout: 10 * time.Second}
		if cfg != want {
			t.Errorf("config = %+v, want %+v", cfg, want)
		}
		if s := cfg.String(); strings.Contains(s, testKey) || !strings.Contains(s, "[redacted]") {
			t.Errorf("String() = %q, want the key redacted", s)
		}
		if s := fmt.Sprint(cfg); strings.Contains(s, testKey) {
			t.Errorf("fmt.Sprint(cfg) = %q leaks the key", s)
		}
	})

	t.Run("unsubscribe groups", func(t *testing.T) {
		cfg, ok, err := sendgrid.ConfigFromEnv(env(map[string]string{
			"SENDGRID_API_KEY": testKey, "SENDGRID_FROM": testFrom,
			"SENDGRID_UNSUBSCRIBE_GROUPS": " marketing:123, lifecycle:456 ",
		}))
		if err != nil || !ok {
			t.Fatalf("ConfigFromEnv = %v, %v", ok, err)
		}
		g := cfg.UnsubscribeGroups
		if g.Of("marketing") != 123 || g.Of("lifecycle") != 456 || g.Of("transactional") != 0 || g.Of("") != 0 {
			t.Errorf("groups = %+v", g)
		}
	})

	t.Run("EU base URL and reply-to", func(t *testing.T) {
		cfg, ok, err := sendgrid.ConfigFromEnv(env(map[string]string{
			"SENDGRID_API_KEY":  testKey,
			"SENDGRID_FROM":     testFrom,
			"SENDGRID_REPLY_TO": testReplyTo,
			"SENDGRID_BASE_URL": "https://api.eu.sendgrid.com/",
		}))
		if err != nil || !ok {
			t.Fatalf("ConfigFromEnv = %v, %v", ok, err)
		}
		if cfg.BaseURL != "https://api.eu.sendgrid.com" || cfg.ReplyTo != testReplyTo || cfg.FromName != "" {
			t.Errorf("config = %+v", cfg)
		}
		if _, err := sendgrid.New(cfg); err != nil {
			t.Errorf("New: %v", err)
		}
	})

	bad := []struct {
		name string
		vars map[string]string
		// naming is the variable the error must name.
		naming string
	}{
		{"key without from", map[string]string{"SENDGRID_API_KEY": testKey}, "SENDGRID_FROM"},
		{"from not an address", map[string]string{"SENDGRID_API_KEY": testKey, "SENDGRID_FROM": "journeys team"}, "SENDGRID_FROM"},
		{"reply-to not an address", map[string]string{"SENDGRID_API_KEY": testKey, "SENDGRID_FROM": testFrom, "SENDGRID_REPLY_TO": "support@"}, "SENDGRID_REPLY_TO"},
		{"base URL not http", map[string]string{"SENDGRID_API_KEY": testKey, "SENDGRID_FROM": testFrom, "SENDGRID_BASE_URL": "ftp://api.sendgrid.com"}, "SENDGRID_BASE_URL"},
		{"base URL without scheme", map[string]string{"SENDGRID_API_KEY": testKey, "SENDGRID_FROM": testFrom, "SENDGRID_BASE_URL": "api.eu.sendgrid.com"}, "SENDGRID_BASE_URL"},
		{"base URL with query", map[string]string{"SENDGRID_API_KEY": testKey, "SENDGRID_FROM": testFrom, "SENDGRID_BASE_URL": "https://api.sendgrid.com?x=1"}, "SENDGRID_BASE_URL"},
		{"base URL unparsable", map[string]string{"SENDGRID_API_KEY": testKey, "SENDGRID_FROM": testFrom, "SENDGRID_BASE_URL": "http://[::1"}, "SENDGRID_BASE_URL"},
		{"key with a space", map[string]string{"SENDGRID_API_KEY": "SG.abc def", "SENDGRID_FROM": testFrom}, "SENDGRID_API_KEY"},
		{"group not a number", map[string]string{"SENDGRID_API_KEY": testKey, "SENDGRID_FROM": testFrom, "SENDGRID_UNSUBSCRIBE_GROUPS": "marketing:x"}, "SENDGRID_UNSUBSCRIBE_GROUPS"},
		{"group for transactional", map[string]string{"SENDGRID_API_KEY": testKey, "SENDGRID_FROM": testFrom, "SENDGRID_UNSUBSCRIBE_GROUPS": "transactional:5"}, "SENDGRID_UNSUBSCRIBE_GROUPS"},
		{"one group for two classes", map[string]string{"SENDGRID_API_KEY": testKey, "SENDGRID_FROM": testFrom, "SENDGRID_UNSUBSCRIBE_GROUPS": "marketing:5,lifecycle:5"}, "SENDGRID_UNSUBSCRIBE_GROUPS"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok, err := sendgrid.ConfigFromEnv(env(tt.vars))
			if err == nil || ok {
				t.Fatalf("ConfigFromEnv = %+v, %v, %v; want an error", cfg, ok, err)
			}
			if !strings.Contains(err.Error(), tt.naming) {
				t.Errorf("error %q does not name %s", err, tt.naming)
			}
			if !strings.HasPrefix(err.Error(), "sendgrid: ") {
				t.Errorf("error %q is not prefixed sendgrid:", err)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error %q quotes the key", err)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]sendgrid.Config{
		"no key":           {From: testFrom},
		"no from":          {APIKey: testKey},
		"negative timeout": {APIKey: testKey, From: testFrom, Timeout: -time.Second},
		"bad base URL":     {APIKey: testKey, From: testFrom, BaseURL: "mailto:x@example.com"},
	} {
		if _, err := sendgrid.New(cfg); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
}
