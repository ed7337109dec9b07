package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/journeyshq/journeys/integrations/internal/vendortest"
	"github.com/journeyshq/journeys/integrations/twilio"
	"github.com/journeyshq/journeys/messages"
)

const (
	testSID     = "AC0123456789abcdef0123456789abcdef"
	testToken   = "t0kenfedcba9876543210fedcba98765"
	testService = "MG0123456789abcdef0123456789abcdef"
	testFrom    = "+14155550100"
	testTo      = "+447700900123"
	testText    = "Hi Ada, your trial ends in 3 days."
	testSMSID   = "SM0123456789abcdef0123456789abcdef"
)

// answer is what the fake says to the next request.
type answer = vendortest.Reply

func created(sid string) answer {
	return answer{Status: http.StatusCreated, Body: fmt.Sprintf(`{"sid":%q,"status":"queued","account_sid":%q}`, sid, testSID)}
}

// twilioError answers like Twilio does for a failed request; the message
// quotes the number, as Twilio's real messages do, so tests can check it
// stays out of our errors.
func twilioError(status, code int) answer {
	msg := fmt.Sprintf("The 'To' number %s is not a valid phone number.", testTo)
	body, _ := json.Marshal(map[string]any{
		"code": code, "message": msg, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
	return answer{Status: status, Body: string(body)}
}

// fake is a stand-in for POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
// which gives every request the same answer.
type fake struct {
	srv    *vendortest.Server[url.Values]
	answer answer
}

func newFake(t *testing.T, a answer) *fake {
	t.Helper()
	f := &fake{answer: a}
	f.srv = vendortest.Start[url.Values](t, "twilio", "application/json", f.serve)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	// Errors go to the test as well as to the client, so a request the
	// fake did not expect cannot pass unnoticed.
	fail := func(status, code int, why string) {
		f.srv.Fail(w, r, answer{Status: status, Body: fmt.Sprintf(`{"code":%d,"message":%q,"status":%d}`, code, why, status)}, why)
	}
	if want := "/2010-04-01/Accounts/" + testSID + "/Messages.json"; r.Method != http.MethodPost || r.URL.Path != want {
		fail(http.StatusNotFound, 20404, fmt.Sprintf("got %s %s, want POST %s", r.Method, r.URL.Path, want))
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != testSID || pass != testToken {
		// Not a test failure by itself: the unauthorized case sends a
		// wrong token on purpose.
		f.srv.Answer(w, r, answer{Status: http.StatusUnauthorized,
			Body: `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		fail(http.StatusBadRequest, 20001, "content type "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, 20001, "parse form: "+err.Error())
		return
	}
	f.srv.Record(r.PostForm)
	f.srv.Answer(w, r, f.answer)
}

func (f *fake) forms() []url.Values { return f.srv.Received() }

func (f *fake) config() twilio.Config {
	return twilio.Config{
		AccountSID:          testSID,
		AuthToken:           testToken,
		MessagingServiceSID: testService,
		BaseURL:             f.srv.URL,
		Timeout:             5 * time.Second,
	}
}

func newClient(t *testing.T, cfg twilio.Config) *twilio.Client {
	t.Helper()
	c, err := twilio.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func sms(to string) messages.SMS {
	return messages.SMS{
		Meta: messages.Meta{CustomerID: "cus_1", Step: "trial.ending", Template: "trial_ending", IdempotencyKey: "cus_1/trial.ending/1"},
		To:   to,
		Text: testText,
	}
}

// checkClean fails if err's text carries the recipient's number or the text.
func checkClean(t *testing.T, err error) {
	t.Helper()
	for _, pii := range []string{testTo, strings.TrimPrefix(testTo, "+"), testText} {
		if strings.Contains(err.Error(), pii) {
			t.Errorf("error %q contains %q", err, pii)
		}
	}
	if !strings.Contains(err.Error(), "twilio: ") {
		t.Errorf("error %q lacks the twilio: prefix", err)
	}
}

func permanent(t *testing.T, err error, reason string) *messages.PermanentError {
	t.Helper()
	var perm *messages.PermanentError
	if !errors.As(err, &perm) {
		t.Fatalf("error %v (%T) is not a *messages.PermanentError", err, err)
	}
	if perm.Reason != reason {
		t.Errorf("reason = %q, want %q (error %v)", perm.Reason, reason, err)
	}
	var transient *messages.TransientError
	if errors.As(err, &transient) {
		t.Errorf("error %v is both permanent and transient", err)
	}
	checkClean(t, err)
	return perm
}

func transient(t *testing.T, err error) *messages.TransientError {
	t.Helper()
	var tr *messages.TransientError
	if !errors.As(err, &tr) {
		t.Fatalf("error %v (%T) is not a *messages.TransientError", err, err)
	}
	var perm *messages.PermanentError
	if errors.As(err, &perm) {
		t.Errorf("error %v is both transient and permanent", err)
	}
	checkClean(t, err)
	return tr
}

func checkCode(t *testing.T, err error, code, status int) {
	t.Helper()
	var api *twilio.APIError
	if !errors.As(err, &api) {
		t.Fatalf("error %v wraps no *twilio.APIError", err)
	}
	if api.Code != code || api.Status != status {
		t.Errorf("APIError = code %d status %d, want %d %d", api.Code, api.Status, code, status)
	}
	if code != 0 && !strings.Contains(err.Error(), fmt.Sprint(code)) {
		t.Errorf("error %q does not name code %d", err, code)
	}
}

func TestSendSMSWithMessagingService(t *testing.T) {
	f := newFake(t, created(testSMSID))
	cfg := f.config()
	cfg.StatusCallbackURL = "https://hooks.example.com/twilio/status?src=journeys"
	rcpt, err := newClient(t, cfg).SendSMS(context.Background(), sms(testTo))
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if rcpt.ID != testSMSID || rcpt.Duplicate {
		t.Errorf("receipt = %+v, want ID %s", rcpt, testSMSID)
	}
	want := []url.Values{{
		"To":                  {testTo},
		"Body":                {testText},
		"MessagingServiceSid": {testService},
		"StatusCallback":      {cfg.StatusCallbackURL},
	}}
	if got := f.forms(); !reflect.DeepEqual(got, want) {
		t.Errorf("fake received %v, want %v", got, want)
	}
}

func TestSendSMSWithFromNumber(t *testing.T) {
	f := newFake(t, created(testSMSID))
	cfg := f.config()
	cfg.MessagingServiceSID = ""
	cfg.FromNumber = testFrom
	rcpt, err := newClient(t, cfg).SendSMS(context.Background(), sms(testTo))
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if rcpt.ID != testSMSID {
		t.Errorf("receipt ID = %q, want %q", rcpt.ID, testSMSID)
	}
	// No StatusCallback configured, so none is sent.
	want := []url.Values{{"To": {testTo}, "Body": {testText}, "From": {testFrom}}}
	if got := f.forms(); !reflect.DeepEqual(got, want) {
		t.Errorf("fake received %v, want %v", got, want)
	}
}

func TestSendSMSRefusesBadInputWithoutRequest(t *testing.T) {
	for _, tc := range []struct {
		name, to, text, reason string
	}{
		{"no plus", "447700900123", testText, "invalid_number"},
		{"spaces", "+44 7700 900123", testText, "invalid_number"},
		{"leading zero", "+0447700900123", testText, "invalid_number"},
		{"too short", "+123456", testText, "invalid_number"},
		{"too long", "+1234567890123456", testText, "invalid_number"},
		{"empty", "", testText, "invalid_number"},
		{"empty text", testTo, "  ", "empty_body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, created(testSMSID))
			s := sms(tc.to)
			s.Text = tc.text
			_, err := newClient(t, f.config()).SendSMS(context.Background(), s)
			perm := permanent(t, err, tc.reason)
			if tc.to != "" && strings.Contains(perm.Error(), tc.to) {
				t.Errorf("error %q quotes the number", perm)
			}
			if got := f.forms(); len(got) != 0 {
				t.Errorf("fake received %d requests, want none", len(got))
			}
		})
	}
}

func TestSendSMSPermanentAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer answer
		reason string
		code   int
		status int
	}{
		{"invalid number", twilioError(400, 21211), "invalid_number", 21211, 400},
		{"not mobile", twilioError(400, 21614), "invalid_number", 21614, 400},
		{"unsubscribed", twilioError(400, 21610), "unsubscribed", 21610, 400},
		{"other 4xx", twilioError(400, 21606), "rejected", 21606, 400},
		{"forbidden", twilioError(403, 20403), "rejected", 20403, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.answer)
			_, err := newClient(t, f.config()).SendSMS(context.Background(), sms(testTo))
			permanent(t, err, tc.reason)
			checkCode(t, err, tc.code, tc.status)
			if got := len(f.forms()); got != 1 {
				t.Errorf("fake received %d requests, want 1", got)
			}
		})
	}
}

func TestSendSMSUnauthorized(t *testing.T) {
	f := newFake(t, created(testSMSID))
	cfg := f.config()
	cfg.AuthToken = "wrongtoken"
	_, err := newClient(t, cfg).SendSMS(context.Background(), sms(testTo))
	permanent(t, err, "unauthorized")
	checkCode(t, err, 20003, 401)
	if strings.Contains(err.Error(), "wrongtoken") {
		t.Errorf("error %q contains the auth token", err)
	}
}

func TestSendSMSRateLimitedCarriesRetryAfter(t *testing.T) {
	a := twilioError(http.StatusTooManyRequests, 20429)
	a.Header = map[string]string{"Retry-After": "3"}
	f := newFake(t, a)
	_, err := newClient(t, f.config()).SendSMS(context.Background(), sms(testTo))
	tr := transient(t, err)
	if tr.RetryAfter != 3*time.Second {
		t.Errorf("RetryAfter = %s, want 3s", tr.RetryAfter)
	}
	checkCode(t, err, 20429, 429)
}

func TestSendSMSRateLimitedWithoutRetryAfter(t *testing.T) {
	f := newFake(t, twilioError(http.StatusTooManyRequests, 20429))
	_, err := newClient(t, f.config()).SendSMS(context.Background(), sms(testTo))
	if tr := transient(t, err); tr.RetryAfter != 0 {
		t.Errorf("RetryAfter = %s, want 0 (policy backoff)", tr.RetryAfter)
	}
}

func TestSendSMSServerErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer answer
		code   int
		status int
	}{
		{"500 with twilio body", twilioError(500, 20500), 20500, 500},
		// A proxy's HTML page: the SDK cannot decode it, the status decides.
		{"502 html", answer{Status: 502, Body: "<html>bad gateway</html>", Header: map[string]string{"Content-Type": "text/html"}}, 0, 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.answer)
			_, err := newClient(t, f.config()).SendSMS(context.Background(), sms(testTo))
			transient(t, err)
			checkCode(t, err, tc.code, tc.status)
		})
	}
}

func TestSendSMSTimeoutIsTransient(t *testing.T) {
	a := created(testSMSID)
	a.Delay = vendortest.Hang
	f := newFake(t, a)
	cfg := f.config()
	cfg.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := newClient(t, cfg).SendSMS(context.Background(), sms(testTo))
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("SendSMS took %s with a 200ms timeout", elapsed)
	}
	if tr := transient(t, err); tr.RetryAfter != 0 {
		t.Errorf("RetryAfter = %s, want 0", tr.RetryAfter)
	}
	if got := len(f.forms()); got != 1 {
		t.Errorf("fake received %d requests, want 1", got)
	}
}

// The SDK takes no context; the driver still stops when the caller's does.
func TestSendSMSRespectsContext(t *testing.T) {
	a := created(testSMSID)
	a.Delay = vendortest.Hang
	f := newFake(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newClient(t, f.config()).SendSMS(ctx, sms(testTo)) // client timeout 5s
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("SendSMS took %s after its context ended at 200ms", elapsed)
	}
	transient(t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v is not context.DeadlineExceeded", err)
	}
}

func TestSendSMSUnreachableIsTransient(t *testing.T) {
	f := newFake(t, created(testSMSID))
	cfg := f.config()
	f.srv.Close() // nothing listens on the port any more
	_, err := newClient(t, cfg).SendSMS(context.Background(), sms(testTo))
	transient(t, err)
	if strings.Contains(err.Error(), testSID) {
		t.Errorf("error %q names the account SID", err)
	}
}

// A 2xx means Twilio created the message; an unreadable answer must not
// lead to a retry that texts the customer again.
func TestSendSMSUnreadableSuccessIsNotRetried(t *testing.T) {
	f := newFake(t, answer{Status: http.StatusCreated, Body: "not json"})
	_, err := newClient(t, f.config()).SendSMS(context.Background(), sms(testTo))
	permanent(t, err, "unconfirmed")
}

func TestSendSMSConcurrent(t *testing.T) {
	f := newFake(t, created(testSMSID))
	c := newClient(t, f.config())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.SendSMS(context.Background(), sms(testTo)); err != nil {
				t.Errorf("SendSMS: %v", err)
			}
		})
	}
	wg.Wait()
	if got := len(f.forms()); got != 8 {
		t.Errorf("fake received %d requests, want 8", got)
	}
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnv(t *testing.T) {
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{"TWILIO_ACCOUNT_SID": testSID, "TWILIO_AUTH_TOKEN": testToken}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		ok      bool
		want    twilio.Config
		errWant []string // substrings the error must contain
	}{
		{name: "absent", vars: map[string]string{}},
		{name: "absent but sender set", vars: map[string]string{"TWILIO_FROM_NUMBER": testFrom}},
		{
			name: "messaging service", ok: true,
			vars: base(map[string]string{"TWILIO_MESSAGING_SERVICE_SID": testService}),
			want: twilio.Config{AccountSID: testSID, AuthToken: testToken, MessagingServiceSID: testService},
		},
		{
			name: "from number with callback and base URL", ok: true,
			vars: base(map[string]string{
				"TWILIO_FROM_NUMBER":         " " + testFrom + " ",
				"TWILIO_STATUS_CALLBACK_URL": "https://hooks.example.com/twilio",
				"TWILIO_BASE_URL":            "http://127.0.0.1:8089",
			}),
			want: twilio.Config{AccountSID: testSID, AuthToken: testToken, FromNumber: testFrom,
				StatusCallbackURL: "https://hooks.example.com/twilio", BaseURL: "http://127.0.0.1:8089"},
		},
		{
			name:    "sid without token",
			vars:    map[string]string{"TWILIO_ACCOUNT_SID": testSID, "TWILIO_MESSAGING_SERVICE_SID": testService},
			errWant: []string{"TWILIO_AUTH_TOKEN"},
		},
		{
			name:    "token without sid",
			vars:    map[string]string{"TWILIO_AUTH_TOKEN": testToken, "TWILIO_MESSAGING_SERVICE_SID": testService},
			errWant: []string{"TWILIO_ACCOUNT_SID"},
		},
		{
			name:    "both senders",
			vars:    base(map[string]string{"TWILIO_MESSAGING_SERVICE_SID": testService, "TWILIO_FROM_NUMBER": testFrom}),
			errWant: []string{"TWILIO_MESSAGING_SERVICE_SID", "TWILIO_FROM_NUMBER"},
		},
		{
			name:    "no sender",
			vars:    base(nil),
			errWant: []string{"TWILIO_MESSAGING_SERVICE_SID", "TWILIO_FROM_NUMBER"},
		},
		{
			name:    "bad from number",
			vars:    base(map[string]string{"TWILIO_FROM_NUMBER": "415-555-0100"}),
			errWant: []string{"TWILIO_FROM_NUMBER"},
		},
		{
			name:    "non-alphanumeric token",
			vars:    map[string]string{"TWILIO_ACCOUNT_SID": testSID, "TWILIO_AUTH_TOKEN": "se-cret!", "TWILIO_FROM_NUMBER": testFrom},
			errWant: []string{"TWILIO_AUTH_TOKEN"},
		},
		{
			name:    "callback not http",
			vars:    base(map[string]string{"TWILIO_FROM_NUMBER": testFrom, "TWILIO_STATUS_CALLBACK_URL": "ftp://hooks.example.com/x"}),
			errWant: []string{"TWILIO_STATUS_CALLBACK_URL"},
		},
		{
			name:    "base URL without host",
			vars:    base(map[string]string{"TWILIO_FROM_NUMBER": testFrom, "TWILIO_BASE_URL": "127.0.0.1:8089"}),
			errWant: []string{"TWILIO_BASE_URL"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ok, err := twilio.ConfigFromEnv(env(tc.vars))
			if tc.errWant != nil {
				if err == nil {
					t.Fatalf("ConfigFromEnv = %+v, %v, nil; want an error", cfg, ok)
				}
				if ok {
					t.Errorf("ok = true alongside error %v", err)
				}
				for _, s := range tc.errWant {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %s", err, s)
					}
				}
				for _, secret := range []string{testToken, "se-cret!"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains the auth token", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ConfigFromEnv: %v", err)
			}
			if ok != tc.ok || cfg != tc.want {
				t.Errorf("ConfigFromEnv = %+v, %v; want %+v, %v", cfg, ok, tc.want, tc.ok)
			}
			if ok {
				if _, err := twilio.New(cfg); err != nil {
					t.Errorf("New(ConfigFromEnv()) = %v", err)
				}
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := twilio.Config{AccountSID: testSID, AuthToken: testToken, FromNumber: testFrom}
	if _, err := twilio.New(good); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	for name, mutate := range map[string]func(*twilio.Config){
		"no sid":           func(c *twilio.Config) { c.AccountSID = "" },
		"no token":         func(c *twilio.Config) { c.AuthToken = "" },
		"negative timeout": func(c *twilio.Config) { c.Timeout = -time.Second },
		"base with query":  func(c *twilio.Config) { c.BaseURL = "http://127.0.0.1:1/?x=1" },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := twilio.New(cfg); err == nil {
			t.Errorf("%s: New accepted %v", name, cfg)
		}
	}
}

func TestConfigStringRedactsToken(t *testing.T) {
	cfg := twilio.Config{AccountSID: testSID, AuthToken: testToken, FromNumber: testFrom}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), cfg.String()} {
		if strings.Contains(s, testToken) {
			t.Errorf("%q shows the auth token", s)
		}
		if !strings.Contains(s, testSID) {
			t.Errorf("%q lacks the account SID", s)
		}
	}
}
