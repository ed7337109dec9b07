package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/internal/webhooktest"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

const (
	twilioToken     = "twilio-auth-token-5b1e9c0d7a"
	twilioPublicURL = "https://journeys.acme.example"
	twilioSID       = "SM0123456789abcdef0123456789abcdef"
	testPhone       = "+15551234567"
)

var testLookupKey = []byte("lookup-key-for-tests-0123456789ab")

// phoneCustomers are the journeys byCustomer finds by phone hash.
var phoneCustomers = map[string][]string{workflows.PhoneHash(testLookupKey, testPhone): {"c-1"}}

// twilioSign computes X-Twilio-Signature as Twilio documents it.
func twilioSign(token, fullURL string, form url.Values) string {
	return webhooktest.TwilioSignature(token, fullURL, form)
}

// inboundText is the form Twilio posts for a text from testPhone.
func inboundText(body string, extra ...string) url.Values {
	form := url.Values{
		"MessageSid": {twilioSID}, "SmsSid": {twilioSID}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"},
		"From": {testPhone}, "To": {"+15550001111"}, "Body": {body}, "NumMedia": {"0"}, "FromCountry": {"US"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return form
}

func twilioOptions() api.Options {
	return api.Options{TwilioAuthToken: twilioToken, PublicURL: twilioPublicURL, LookupKey: testLookupKey}
}

// postTwilio posts form, signed as Twilio would for the public URL, to a
// request URL of the edge's own (as behind a proxy).
func postTwilio(t *testing.T, h http.Handler, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return postTwilioSigned(t, h, form.Encode(), twilioSign(twilioToken, twilioPublicURL+api.TwilioInboundPath, form))
}

func postTwilioSigned(t *testing.T, h http.Handler, body, signature string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://10.0.0.7:8080"+api.TwilioInboundPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	rec, _ := serve(t, h, req)
	return rec
}

func requireTwiML(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "text/xml", rec.Header().Get("Content-Type"))
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`, rec.Body.String())
}

func consentData(t *testing.T, ev signals.Event) signals.ConsentChangedData {
	t.Helper()
	require.Equal(t, signals.ConsentChanged, ev.Type)
	p, err := ev.Payload()
	require.NoError(t, err)
	d, ok := p.(signals.ConsentChangedData)
	require.True(t, ok, "payload %T", p)
	return d
}

func TestTwilioStopOptsOutEveryJourneyWithThePhone(t *testing.T) {
	var logs bytes.Buffer
	rec := &recorder{phones: map[string][]string{workflows.PhoneHash(testLookupKey, testPhone): {"c-1", "c-7"}}}
	opts := twilioOptions()
	opts.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHandler(t, rec, opts)

	requireTwiML(t, postTwilio(t, h, inboundText(" stop\n")))
	sent := rec.sent()
	require.Len(t, sent, 2, "one event per journey with the phone")
	for i, customer := range []string{"c-1", "c-7"} {
		ev := sent[i]
		assert.Equal(t, customer, ev.CustomerID)
		assert.Equal(t, "twilio-"+twilioSID, ev.EventID, "derived from MessageSid, so a retry applies once")
		assert.Equal(t, signals.ConsentChangedData{Channel: signals.ConsentSMS, Status: signals.ConsentOptedOut, Source: signals.SourceTwilioInbound, Reason: "STOP", Address: testPhone}, consentData(t, ev), "about the number that texted")
		assert.NoError(t, ev.Validate(time.Now()), "stamped with the time of receipt")
	}
	assert.Contains(t, logs.String(), "consent change accepted")
	assert.NotContains(t, logs.String(), "5551234567", "no phone number in the logs")

	// Twilio's retry of the same message sends the same event IDs.
	requireTwiML(t, postTwilio(t, h, inboundText("STOP")))
	require.Len(t, rec.sent(), 4)
	assert.Equal(t, sent[0].EventID, rec.sent()[2].EventID)
}

// A From that is not an E.164 number is not carried: the change applies to
// the journey's current number, as before addresses were carried.
func TestTwilioFromNotE164IsNotCarried(t *testing.T) {
	from := "whatsapp:" + testPhone
	rec := &recorder{phones: map[string][]string{workflows.PhoneHash(testLookupKey, from): {"c-1"}}}
	requireTwiML(t, postTwilio(t, newHandler(t, rec, twilioOptions()), inboundText("STOP", "From", from)))
	require.Len(t, rec.sent(), 1)
	d := consentData(t, rec.sent()[0])
	assert.Equal(t, signals.ConsentOptedOut, d.Status)
	assert.Empty(t, d.Address)
}

func TestTwilioKeywords(t *testing.T) {
	for _, tc := range []struct {
		name         string
		form         url.Values
		status, want string // want is the reason; status "" means ignored
	}{
		{"STOP", inboundText("STOP"), signals.ConsentOptedOut, "STOP"},
		{"stopall", inboundText("stopall"), signals.ConsentOptedOut, "STOPALL"},
		{"Unsubscribe", inboundText("Unsubscribe"), signals.ConsentOptedOut, "UNSUBSCRIBE"},
		{"cancel", inboundText("cancel "), signals.ConsentOptedOut, "CANCEL"},
		{"END", inboundText("END"), signals.ConsentOptedOut, "END"},
		{"Quit", inboundText("\tQuit"), signals.ConsentOptedOut, "QUIT"},
		{"START", inboundText("START"), signals.ConsentOptedIn, "START"},
		{"unstop", inboundText("unstop"), signals.ConsentOptedIn, "UNSTOP"},
		{"OptOutType STOP, custom keyword", inboundText("ARRET", "OptOutType", "STOP"), signals.ConsentOptedOut, "STOP"},
		{"OptOutType START, custom keyword", inboundText("YES", "OptOutType", "START"), signals.ConsentOptedIn, "START"},
		{"OptOutType STOP with a default keyword", inboundText("quit", "OptOutType", "STOP"), signals.ConsentOptedOut, "QUIT"},
		{"HELP", inboundText("HELP"), "", ""},
		{"OptOutType HELP", inboundText("INFO", "OptOutType", "HELP"), "", ""},
		{"OptOutType HELP wins over a default keyword", inboundText("END", "OptOutType", "HELP"), "", ""},
		{"OptOutType STOP with an opt-in keyword", inboundText("START", "OptOutType", "STOP"), signals.ConsentOptedOut, "STOP"},
		{"keyword in a sentence", inboundText("please stop texting me"), "", ""},
		{"two keywords", inboundText("STOP STOP"), "", ""},
		{"free text", inboundText("Thanks, see you Monday"), "", ""},
		{"empty", inboundText(""), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{phones: map[string][]string{workflows.PhoneHash(testLookupKey, testPhone): {"c-1"}}}
			requireTwiML(t, postTwilio(t, newHandler(t, rec, twilioOptions()), tc.form))
			if tc.status == "" {
				assert.Empty(t, rec.sent(), "not a consent change")
				return
			}
			require.Len(t, rec.sent(), 1)
			d := consentData(t, rec.sent()[0])
			assert.Equal(t, tc.status, d.Status)
			assert.Equal(t, tc.want, d.Reason)
		})
	}
}

func TestTwilioStopFromUnknownPhoneIsAcknowledged(t *testing.T) {
	rec := &recorder{phones: map[string][]string{workflows.PhoneHash(testLookupKey, "+15559999999"): {"c-9"}}}
	h := newHandler(t, rec, twilioOptions())
	requireTwiML(t, postTwilio(t, h, inboundText("STOP")))
	assert.Empty(t, rec.sent())

	// A journey that ended between the lookup and the send.
	rec = &recorder{phones: map[string][]string{workflows.PhoneHash(testLookupKey, testPhone): {"c-1"}}, err: fmt.Errorf("send: %w", sender.ErrUnknownCustomer)}
	requireTwiML(t, postTwilio(t, newHandler(t, rec, twilioOptions()), inboundText("STOP")))
}

// A signed text without a MessageSid is refused: its event ID would be
// the same as every other such text's.
func TestTwilioNeedsAMessageSid(t *testing.T) {
	form := inboundText("STOP")
	form.Del("MessageSid")
	rec := postTwilio(t, newHandler(t, untouchable{t}, twilioOptions()), form)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "MessageSid: is required")
}

func TestTwilioRefusesBadSignatures(t *testing.T) {
	h := newHandler(t, untouchable{t}, twilioOptions())
	form := inboundText("STOP")
	for name, sig := range map[string]string{
		"none":                          "",
		"wrong token":                   twilioSign("another-auth-token-0000000", twilioPublicURL+api.TwilioInboundPath, form),
		"over the request's own URL":    twilioSign(twilioToken, "http://10.0.0.7:8080"+api.TwilioInboundPath, form),
		"over another form":             twilioSign(twilioToken, twilioPublicURL+api.TwilioInboundPath, inboundText("START")),
		"over another route of the URL": twilioSign(twilioToken, twilioPublicURL+"/webhooks/stripe", form),
		"garbage":                       "bm90IGEgc2lnbmF0dXJl",
	} {
		t.Run(name, func(t *testing.T) {
			rec := postTwilioSigned(t, h, form.Encode(), sig)
			assert.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
		})
	}
}

// Twilio's SDK accepts the signature with or without the default port.
func TestTwilioSignatureWithDefaultPort(t *testing.T) {
	rec := &recorder{phones: phoneCustomers}
	h := newHandler(t, rec, twilioOptions())
	form := inboundText("STOP")
	requireTwiML(t, postTwilioSigned(t, h, form.Encode(), twilioSign(twilioToken, "https://journeys.acme.example:443"+api.TwilioInboundPath, form)))
	assert.Len(t, rec.sent(), 1)
}

func TestTwilioNotConfigured(t *testing.T) {
	full := twilioOptions()
	for _, tc := range []struct {
		name string
		opts api.Options
		want string
	}{
		{"no auth token", api.Options{PublicURL: full.PublicURL, LookupKey: full.LookupKey}, "set TWILIO_AUTH_TOKEN"},
		{"no public URL", api.Options{TwilioAuthToken: twilioToken, LookupKey: full.LookupKey}, "set JOURNEYS_PUBLIC_URL"},
		{"no lookup key", api.Options{TwilioAuthToken: twilioToken, PublicURL: full.PublicURL}, "set JOURNEYS_LOOKUP_KEY"},
		{"nothing", api.Options{}, "set TWILIO_AUTH_TOKEN, JOURNEYS_PUBLIC_URL, JOURNEYS_LOOKUP_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(t, untouchable{t}, tc.opts)
			form := inboundText("STOP")
			req := httptest.NewRequest(http.MethodPost, api.TwilioInboundPath, strings.NewReader(form.Encode()))
			req.Header.Set("X-Twilio-Signature", twilioSign(twilioToken, twilioPublicURL+api.TwilioInboundPath, form))
			rec, e := serve(t, h, req)
			assert.Equal(t, http.StatusNotFound, rec.Code)
			assert.Contains(t, e.Error, tc.want)
		})
	}
}

func TestTwilioTemporalUnavailableIs503(t *testing.T) {
	unavailable := fmt.Errorf("list: %w", sender.ErrUnavailable)
	for name, rec := range map[string]*recorder{
		"lookup": {lookupErr: unavailable},
		"send":   {phones: phoneCustomers, err: unavailable},
	} {
		t.Run(name, func(t *testing.T) {
			res := postTwilio(t, newHandler(t, rec, twilioOptions()), inboundText("STOP"))
			assert.Equal(t, http.StatusServiceUnavailable, res.Code)
			assert.NotEmpty(t, res.Header().Get("Retry-After"), "Twilio retries")
		})
	}
}

func TestTwilioBodyTooLarge(t *testing.T) {
	h := newHandler(t, untouchable{t}, twilioOptions())
	form := inboundText(strings.Repeat("x", api.MaxWebhookBody))
	rec := postTwilio(t, h, form)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
}

func TestParsePublicURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://journeys.acme.com":       "https://journeys.acme.com",
		"https://journeys.acme.com/":      "https://journeys.acme.com",
		"http://127.0.0.1:8080":           "http://127.0.0.1:8080",
		"https://journeys.acme.com:8443/": "https://journeys.acme.com:8443",
	} {
		got, err := api.ParsePublicURL(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got)
		}
	}
	for _, bad := range []string{
		"journeys.acme.com", "ftp://journeys.acme.com", "https://", "https://journeys.acme.com/edge",
		"https://journeys.acme.com?x=1", "https://journeys.acme.com/#frag", "https://user:pw@journeys.acme.com", "mailto:a@b.co",
	} {
		_, err := api.ParsePublicURL(bad)
		if assert.Error(t, err, bad) {
			assert.Contains(t, err.Error(), "JOURNEYS_PUBLIC_URL")
		}
	}
	_, err := api.New(untouchable{t}, api.Options{Tokens: []string{testToken}, PublicURL: "journeys.acme.com"})
	assert.ErrorContains(t, err, "JOURNEYS_PUBLIC_URL", "New refuses it too")
	_, err = api.New(untouchable{t}, api.Options{Tokens: []string{testToken}, LookupKey: []byte("short")})
	assert.ErrorContains(t, err, "lookup key")
}

func TestParseLookupKey(t *testing.T) {
	key, err := api.ParseLookupKey(base64.StdEncoding.EncodeToString(testLookupKey))
	require.NoError(t, err)
	assert.Equal(t, testLookupKey, key)
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("31 bytes are too few, see?....."))} {
		_, err := api.ParseLookupKey(bad)
		assert.ErrorContains(t, err, "JOURNEYS_LOOKUP_KEY", bad)
	}
}

const testHelpText = `Acme <SMS> & "alerts": help at https://app.example.com. Msg&data rates may apply. Reply STOP to opt out.`

// requireTwiMLMessage checks a TwiML answer that replies one text, message.
func requireTwiMLMessage(t *testing.T, rec *httptest.ResponseRecorder, message string) {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "text/xml", rec.Header().Get("Content-Type"))
	var doc struct {
		XMLName  xml.Name `xml:"Response"`
		Messages []string `xml:"Message"`
	}
	require.NoError(t, xml.Unmarshal(rec.Body.Bytes(), &doc), rec.Body.String())
	assert.Equal(t, []string{message}, doc.Messages, "one reply per request")
	assert.True(t, strings.HasPrefix(rec.Body.String(), `<?xml version="1.0" encoding="UTF-8"?><Response><Message>`), rec.Body.String())
}

// HELP and INFO, as carriers define them, get the program's help text and
// change no journey.
func TestTwilioHelpRepliesTheHelpText(t *testing.T) {
	for _, body := range []string{"HELP", " help\n", "Info", "INFO"} {
		t.Run(body, func(t *testing.T) {
			rec := &recorder{phones: phoneCustomers}
			opts := twilioOptions()
			opts.SMSHelpText = testHelpText
			rr := postTwilio(t, newHandler(t, rec, opts), inboundText(body))
			requireTwiMLMessage(t, rr, testHelpText)
			assert.Contains(t, rr.Body.String(), "Acme &lt;SMS&gt; &amp; &#34;alerts&#34;", "escaped")
			assert.Empty(t, rec.sent(), "no event")
		})
	}
	// A sentence with HELP in it is not the keyword.
	rec := &recorder{phones: phoneCustomers}
	opts := twilioOptions()
	opts.SMSHelpText = testHelpText
	requireTwiML(t, postTwilio(t, newHandler(t, rec, opts), inboundText("help me log in")))
	// With Advanced Opt-Out on (OptOutType sent), Twilio answered HELP itself.
	requireTwiML(t, postTwilio(t, newHandler(t, rec, opts), inboundText("HELP", "OptOutType", "HELP")))
	assert.Empty(t, rec.sent())
}

// Journeys answers STOP and START only when told Twilio does not.
func TestTwilioStopConfirmationOnlyWhenJourneysReplies(t *testing.T) {
	opts := twilioOptions()
	opts.SMSProgram = "Acme & Co"
	rec := &recorder{phones: phoneCustomers}
	requireTwiML(t, postTwilio(t, newHandler(t, rec, opts), inboundText("STOP")))
	require.Len(t, rec.sent(), 1, "applied either way")

	opts.SMSReplyKeywords = true
	rec = &recorder{phones: phoneCustomers}
	h := newHandler(t, rec, opts)
	requireTwiMLMessage(t, postTwilio(t, h, inboundText("stop")), api.SMSStopConfirmation("Acme & Co"))
	requireTwiMLMessage(t, postTwilio(t, h, inboundText("START")), api.SMSStartConfirmation("Acme & Co"))
	assert.Len(t, rec.sent(), 2, "applied as before")
	assert.Contains(t, api.SMSStopConfirmation("Acme & Co"), "Acme & Co: ")
	// A number without a journey is still confirmed: the opt-out is the number's.
	requireTwiMLMessage(t, postTwilio(t, h, inboundText("STOP", "From", "+15550009999")), api.SMSStopConfirmation("Acme & Co"))
	// OptOutType means Advanced Opt-Out is on after all: Twilio confirmed.
	requireTwiML(t, postTwilio(t, h, inboundText("STOP", "OptOutType", "STOP")))
}

func TestSMSHelpTextFromThePlaybook(t *testing.T) {
	assert.Equal(t, "Acme: help at https://app.example.com. Msg&data rates may apply. Reply STOP to opt out.", api.SMSHelpText("Acme", "https://app.example.com"))
	assert.Equal(t, "Acme: Msg&data rates may apply. Reply STOP to opt out.", api.SMSHelpText("Acme", ""))
}

func TestSMSReplyKeywordsFromEnv(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "true": true} {
		got, err := api.SMSReplyKeywordsFromEnv(func(string) string { return v })
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	_, err := api.SMSReplyKeywordsFromEnv(func(string) string { return "1" })
	assert.ErrorContains(t, err, `JOURNEYS_SMS_REPLY_KEYWORDS "1": want true`)
}
