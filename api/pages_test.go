package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/internal/metrics/metricstest"
	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// pageJourneys is a recorder whose State is state.
type pageJourneys struct {
	recorder
	state workflows.State
}

func (p *pageJourneys) State(_ context.Context, id string) (workflows.State, error) {
	st := p.state
	st.CustomerID = id
	return st, p.err
}

// testLinkKeys returns a one-key set named id.
func testLinkKeys(t *testing.T, id string, fill byte) links.Keys {
	t.Helper()
	ks, err := links.ParseKeys(id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32)))
	require.NoError(t, err)
	return ks
}

// pageClock is the handler's clock in these tests; each reading is 1ms
// later, as two clicks within a second would be.
type pageClock struct{ now time.Time }

func (c *pageClock) Now() time.Time {
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

func newPageHandler(t *testing.T, j api.Journeys, keys links.Keys, clock *pageClock) http.Handler {
	t.Helper()
	opts := api.Options{LinkKeys: keys, Brand: "Acme"}
	if clock != nil {
		opts.Now = clock.Now
	}
	return newHandler(t, j, opts)
}

func signLink(t *testing.T, keys links.Keys, purpose, class string) string {
	t.Helper()
	token, err := keys.Sign(links.Claims{CustomerID: "c-1", Channel: "email", Class: class, Purpose: purpose})
	require.NoError(t, err)
	return token
}

// page sends method to path with a form body, as a browser or a mailbox
// provider does: no cookies, no Authorization.
func page(t *testing.T, h http.Handler, method, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// pageConsent is a page's valid consent change for c-1.
func pageConsent(t *testing.T, ev signals.Event) signals.ConsentChangedData {
	t.Helper()
	assert.Equal(t, "c-1", ev.CustomerID)
	require.NoError(t, ev.Validate(ev.OccurredAt))
	return consentData(t, ev)
}

var oneClick = url.Values{"List-Unsubscribe": {"One-Click"}}

func TestLinkPagesRefuseTokensThatDoNotVerify(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	h := newPageHandler(t, untouchable{t}, keys, nil)
	good := signLink(t, keys, links.PurposeUnsubscribe, "marketing")
	swap := byte('A')
	if good[20] == swap {
		swap = 'B'
	}
	tampered := good[:20] + string(swap) + good[21:]
	cases := map[string]string{
		"malformed":          links.UnsubscribePath + "not-a-token",
		"tampered":           links.UnsubscribePath + tampered,
		"another key":        links.UnsubscribePath + signLink(t, testLinkKeys(t, "k1", 2), links.PurposeUnsubscribe, "marketing"),
		"preferences token":  links.UnsubscribePath + signLink(t, keys, links.PurposePreferences, "marketing"),
		"unsubscribe token":  links.PreferencesPath + good,
		"preferences broken": links.PreferencesPath + "x" + good,
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				rec := page(t, h, method, path, oneClick)
				assert.Equal(t, http.StatusNotFound, rec.Code, method)
				assert.Contains(t, rec.Body.String(), "This link is not valid")
				assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestLinkPagesWithoutKeysNameTheVariable(t *testing.T) {
	h := newPageHandler(t, untouchable{t}, links.Keys{}, nil)
	for _, path := range []string{links.UnsubscribePath + "abc", links.PreferencesPath + "abc"} {
		rec := page(t, h, http.MethodPost, path, oneClick)
		assert.Equal(t, http.StatusNotFound, rec.Code)
		assert.Contains(t, rec.Body.String(), links.EnvKeys)
	}
}

// Link scanners open every link: the GET asks and sends nothing.
func TestUnsubscribeGetOnlyAsks(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	path := links.UnsubscribePath + signLink(t, keys, links.PurposeUnsubscribe, "marketing")
	rec := page(t, newPageHandler(t, untouchable{t}, keys, nil), http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, "Unsubscribe from marketing email?")
	assert.Contains(t, body, `<form method="post" action="`+path+`">`)
	assert.Contains(t, body, `<input type="hidden" name="List-Unsubscribe" value="One-Click">`)
	assert.Contains(t, body, `<html lang="en">`)
	assert.Contains(t, body, "Acme")
	assert.Regexp(t, `href="/preferences/[A-Za-z0-9_-]+"`, body)
	hd := rec.Header()
	assert.Equal(t, "no-store", hd.Get("Cache-Control"))
	assert.Equal(t, "no-referrer", hd.Get("Referrer-Policy"))
	assert.Equal(t, "DENY", hd.Get("X-Frame-Options"))
	assert.Contains(t, hd.Get("Content-Security-Policy"), "default-src 'none'")
	assert.NotContains(t, hd.Get("Content-Security-Policy"), "script-src")
	assert.Empty(t, hd.Values("Set-Cookie"))
}

func TestOneClickPostUnsubscribes(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	for _, class := range []string{signals.ConsentClassMarketing, signals.ConsentClassLifecycle} {
		t.Run(class, func(t *testing.T) {
			rec := &recorder{}
			start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
			h := newPageHandler(t, rec, keys, &pageClock{now: start})
			res := page(t, h, http.MethodPost, links.UnsubscribePath+signLink(t, keys, links.PurposeUnsubscribe, class), oneClick)
			require.Equal(t, http.StatusOK, res.Code, res.Body.String())
			assert.Contains(t, res.Body.String(), "You are unsubscribed")
			assert.Contains(t, res.Body.String(), "You will get no more "+map[string]string{"marketing": "marketing email", "lifecycle": "product-update email"}[class]+" from Acme.")
			evs := rec.sent()
			require.Len(t, evs, 1)
			assert.Equal(t, signals.ConsentChangedData{Channel: "email", Status: "opted_out", Source: signals.SourceOneClick, Class: class}, pageConsent(t, evs[0]))
			assert.Equal(t, start.Add(time.Millisecond), evs[0].OccurredAt, "the handler's first reading")
		})
	}
}

// RFC 8058 lets a mailbox provider post multipart/form-data.
func TestOneClickPostAcceptsMultipart(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	rec := &recorder{}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("List-Unsubscribe", "One-Click"))
	require.NoError(t, mw.Close())
	req := httptest.NewRequest(http.MethodPost, links.UnsubscribePath+signLink(t, keys, links.PurposeUnsubscribe, "marketing"), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res := httptest.NewRecorder()
	newPageHandler(t, rec, keys, nil).ServeHTTP(res, req)
	assert.Equal(t, http.StatusOK, res.Code)
	require.Len(t, rec.sent(), 1)
	assert.Equal(t, "opted_out", consentData(t, rec.sent()[0]).Status)
}

func TestUnsubscribeUndoResubscribesAfterIt(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	rec := &recorder{}
	clock := &pageClock{now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	h := newPageHandler(t, rec, keys, clock)
	path := links.UnsubscribePath + signLink(t, keys, links.PurposeUnsubscribe, "marketing")
	res := page(t, h, http.MethodPost, path, oneClick)
	require.Equal(t, http.StatusOK, res.Code)
	assert.Contains(t, res.Body.String(), `<input type="hidden" name="action" value="undo">`)
	res = page(t, h, http.MethodPost, path, url.Values{"action": {"undo"}})
	require.Equal(t, http.StatusOK, res.Code)
	assert.Contains(t, res.Body.String(), "You are subscribed again")
	res = page(t, h, http.MethodPost, path, oneClick) // and unsubscribe again
	require.Equal(t, http.StatusOK, res.Code)

	evs := rec.sent()
	require.Len(t, evs, 3)
	assert.Equal(t, signals.ConsentChangedData{Channel: "email", Status: "opted_in", Source: signals.SourceOneClick, Class: "marketing"}, pageConsent(t, evs[1]))
	assert.Equal(t, "opted_out", pageConsent(t, evs[2]).Status)
	ids := map[string]bool{}
	for i, ev := range evs {
		ids[ev.EventID] = true
		if i > 0 {
			assert.True(t, ev.OccurredAt.After(evs[i-1].OccurredAt), "within one second, still in order")
		}
	}
	assert.Len(t, ids, 3, "no action is taken for a repeat of another")
}

func TestUnsubscribeRefusesOtherForms(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	h := newPageHandler(t, untouchable{t}, keys, nil)
	path := links.UnsubscribePath + signLink(t, keys, links.PurposeUnsubscribe, "marketing")
	for _, form := range []url.Values{{}, {"List-Unsubscribe": {"Two-Clicks"}}, {"action": {"delete"}}} {
		res := page(t, h, http.MethodPost, path, form)
		assert.Equal(t, http.StatusBadRequest, res.Code, form.Encode())
		assert.Contains(t, res.Body.String(), "nothing was changed")
	}
}

func TestLinkPagesForAnUnknownCustomer(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	j := &pageJourneys{recorder: recorder{err: fmt.Errorf("send: %w", sender.ErrUnknownCustomer)}}
	h := newPageHandler(t, j, keys, nil)
	res := page(t, h, http.MethodPost, links.UnsubscribePath+signLink(t, keys, links.PurposeUnsubscribe, "marketing"), oneClick)
	assert.Equal(t, http.StatusNotFound, res.Code)
	assert.Contains(t, res.Body.String(), "nothing to unsubscribe from")
	res = page(t, h, http.MethodGet, links.PreferencesPath+signLink(t, keys, links.PurposePreferences, "marketing"), nil)
	assert.Equal(t, http.StatusNotFound, res.Code)
	assert.Contains(t, res.Body.String(), "nothing to unsubscribe from")
}

func TestLinkPagesWhenTemporalIsDownAre503(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	h := newPageHandler(t, &pageJourneys{recorder: recorder{err: fmt.Errorf("send: %w", sender.ErrUnavailable)}}, keys, nil)
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, links.UnsubscribePath + signLink(t, keys, links.PurposeUnsubscribe, "marketing")},
		{http.MethodGet, links.PreferencesPath + signLink(t, keys, links.PurposePreferences, "marketing")},
	} {
		res := page(t, h, tc.method, tc.path, oneClick)
		assert.Equal(t, http.StatusServiceUnavailable, res.Code)
		assert.Equal(t, "5", res.Header().Get("Retry-After"))
		assert.Contains(t, res.Body.String(), "nothing was changed")
	}
}

// checked says whether the page has checkbox name, and whether it is ticked.
func checked(body, name string) (present, on bool) {
	m := regexp.MustCompile(`<input type="checkbox" id="` + name + `"[^>]*>`).FindString(body)
	return m != "", strings.Contains(m, " checked")
}

const (
	pageEmail = "ada@example.com"
	pagePhone = "+15551234567"
)

func subscribedState() workflows.State {
	return workflows.State{Profile: workflows.Profile{Name: "Ada Lovelace", Email: pageEmail, Phone: pagePhone, SMSConsent: true}}
}

func TestPreferencePageShowsTheJourneysConsent(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	path := links.PreferencesPath + signLink(t, keys, links.PurposePreferences, "marketing")
	st := subscribedState()
	st.Consent.EmailMarketingOptedOut = true
	res := page(t, newPageHandler(t, &pageJourneys{state: st}, keys, nil), http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, res.Code)
	body := res.Body.String()
	for name, want := range map[string]bool{"marketing": false, "lifecycle": true, "sms": true} {
		present, on := checked(body, name)
		assert.True(t, present, name)
		assert.Equal(t, want, on, name)
		assert.Contains(t, body, `<label for="`+name+`">`)
	}
	assert.Contains(t, body, "<title>Email preferences · Acme</title>")
	assert.Contains(t, body, "<h1>Acme email preferences</h1>")
	assert.Contains(t, body, "<legend>")
	assert.Contains(t, body, "Unsubscribe from all marketing")
	for _, pii := range []string{pageEmail, pagePhone, "Ada"} {
		assert.NotContains(t, body, pii)
	}
}

func TestPreferencePageHasNoSMSToggleWithoutAPhone(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	path := links.PreferencesPath + signLink(t, keys, links.PurposePreferences, "marketing")
	st := subscribedState()
	st.Profile.Phone = ""
	j := &pageJourneys{state: st}
	h := newPageHandler(t, j, keys, nil)
	present, _ := checked(page(t, h, http.MethodGet, path, nil).Body.String(), "sms")
	assert.False(t, present)
	// A posted SMS choice without a phone changes nothing.
	res := page(t, h, http.MethodPost, path, url.Values{"action": {"save"}, "marketing": {"on"}, "lifecycle": {"on"}, "sms": {"on"}})
	require.Equal(t, http.StatusOK, res.Code)
	present, _ = checked(res.Body.String(), "sms")
	assert.False(t, present)
	assert.Empty(t, j.sent())
}

func TestPreferencePageSendsOnlyTheChangedToggles(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	path := links.PreferencesPath + signLink(t, keys, links.PurposePreferences, "marketing")
	st := subscribedState()
	st.Consent.EmailLifecycleOptedOut = true
	j := &pageJourneys{state: st}
	res := page(t, newPageHandler(t, j, keys, nil), http.MethodPost, path, url.Values{"action": {"save"}, "lifecycle": {"on"}, "sms": {"on"}})
	require.Equal(t, http.StatusOK, res.Code)
	body := res.Body.String()
	assert.Regexp(t, `<p role="status" class="status">Your preferences are saved.</p>`, body)
	for name, want := range map[string]bool{"marketing": false, "lifecycle": true, "sms": true} {
		_, on := checked(body, name)
		assert.Equal(t, want, on, "the page shows the saved choice: %s", name)
	}
	evs := j.sent()
	require.Len(t, evs, 2)
	assert.Equal(t, signals.ConsentChangedData{Channel: "email", Status: "opted_out", Source: signals.SourcePreferences, Class: "marketing"}, pageConsent(t, evs[0]))
	assert.Equal(t, signals.ConsentChangedData{Channel: "email", Status: "opted_in", Source: signals.SourcePreferences, Class: "lifecycle"}, pageConsent(t, evs[1]))
	assert.NotEqual(t, evs[0].EventID, evs[1].EventID)
}

// An opt-out the page cannot lift (the app's, a STOP) shows why; ticking
// the box still records the recipient's word, and the page shows it off.
func TestPreferencePageSaysWhatElseKeepsAToggleOff(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	path := links.PreferencesPath + signLink(t, keys, links.PurposePreferences, "marketing")
	st := subscribedState()
	st.Consent.EmailMarketingOptedOut, st.Consent.SMSOptedOut = true, true
	st.Consent.Email = []workflows.ConsentWord{{Source: signals.SourceBackend, Status: signals.ConsentOptedOut}}
	st.Consent.SMS = []workflows.ConsentWord{{Source: signals.SourceTwilioInbound, Status: signals.ConsentOptedOut, Number: pagePhone}}
	j := &pageJourneys{state: st}
	h := newPageHandler(t, j, keys, nil)

	body := page(t, h, http.MethodGet, path, nil).Body.String()
	assert.Contains(t, body, "Off because of a setting in your account")
	assert.Contains(t, body, "Off because of a STOP you texted us: reply START")

	res := page(t, h, http.MethodPost, path, url.Values{"action": {"save"}, "marketing": {"on"}, "lifecycle": {"on"}, "sms": {"on"}})
	require.Equal(t, http.StatusOK, res.Code)
	for name, want := range map[string]bool{"marketing": false, "lifecycle": true, "sms": false} {
		_, on := checked(res.Body.String(), name)
		assert.Equal(t, want, on, "held off: %s", name)
	}
	require.Len(t, j.sent(), 2, "the recipient's words are recorded all the same")
	assert.Equal(t, signals.ConsentOptedIn, pageConsent(t, j.sent()[0]).Status)
}

func TestPreferencePageUnsubscribeFromAll(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	path := links.PreferencesPath + signLink(t, keys, links.PurposePreferences, "marketing")
	j := &pageJourneys{state: subscribedState()}
	// The ticked boxes do not matter: the button turns everything off.
	res := page(t, newPageHandler(t, j, keys, nil), http.MethodPost, path, url.Values{"action": {"unsubscribe_all"}, "marketing": {"on"}})
	require.Equal(t, http.StatusOK, res.Code)
	var got []signals.ConsentChangedData
	for _, ev := range j.sent() {
		got = append(got, pageConsent(t, ev))
	}
	assert.Equal(t, []signals.ConsentChangedData{
		{Channel: "email", Status: "opted_out", Source: "preferences", Class: "marketing"},
		{Channel: "email", Status: "opted_out", Source: "preferences", Class: "lifecycle"},
		{Channel: "sms", Status: "opted_out", Source: "preferences"},
	}, got)
}

func TestPreferencePageRefusesOtherForms(t *testing.T) {
	keys := testLinkKeys(t, "k1", 1)
	path := links.PreferencesPath + signLink(t, keys, links.PurposePreferences, "marketing")
	j := &pageJourneys{state: subscribedState()}
	h := newPageHandler(t, j, keys, nil)
	for _, form := range []url.Values{{}, {"action": {"erase"}}, {"action": {"save"}, "marketing": {"yes"}}, {"action": {"save"}, "sms": {"on", "on"}}} {
		res := page(t, h, http.MethodPost, path, form)
		assert.Equal(t, http.StatusBadRequest, res.Code, form.Encode())
	}
	assert.Empty(t, j.sent())
}

// The pages count their events under their own sources; a GET that only
// shows a page counts nothing.
func TestLinkPagesAreCounted(t *testing.T) {
	reg := metricstest.New(t)
	keys := testLinkKeys(t, "k1", 1)
	h := newHandler(t, &pageJourneys{state: subscribedState()}, api.Options{LinkKeys: keys, Metrics: reg.Handler()})
	unsubscribe := links.UnsubscribePath + signLink(t, keys, links.PurposeUnsubscribe, "marketing")
	prefs := links.PreferencesPath + signLink(t, keys, links.PurposePreferences, "marketing")
	for _, r := range []struct {
		method, path string
		form         url.Values
		want         int
	}{
		{http.MethodGet, unsubscribe, nil, http.StatusOK},
		{http.MethodPost, unsubscribe, oneClick, http.StatusOK},
		{http.MethodPost, links.UnsubscribePath + "forged", oneClick, http.StatusNotFound},
		{http.MethodPost, prefs, url.Values{"action": {"unsubscribe_all"}}, http.StatusOK},
		{http.MethodPost, prefs, url.Values{"action": {"bogus"}}, http.StatusBadRequest},
	} {
		require.Equal(t, r.want, page(t, h, r.method, r.path, r.form).Code, r.method+" "+r.path)
	}
	require.NoError(t, reg.Close())
	s := metricstest.Scrape(t, reg.HTTPHandler())
	assert.Equal(t, 1.0, s.Value("journeys_events_received_total", map[string]string{"source": api.SourceUnsubscribe, "type": "consent_changed"}))
	assert.Equal(t, 3.0, s.Value("journeys_events_received_total", map[string]string{"source": api.SourcePreferencesPage, "type": "consent_changed"}))
	assert.Equal(t, 1.0, s.Value("journeys_events_rejected_total", map[string]string{"source": api.SourceUnsubscribe, "reason": "bad_request"}))
	assert.Equal(t, 1.0, s.Value("journeys_events_rejected_total", map[string]string{"source": api.SourcePreferencesPage, "reason": "bad_request"}))
}
