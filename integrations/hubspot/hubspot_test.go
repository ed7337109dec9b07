package hubspot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/hubspot"
	"github.com/journeyshq/journeys/integrations/internal/vendortest"
	"github.com/journeyshq/journeys/messages"
)

// The worker plugs a *Client in where activities want a CRM.
var _ activities.CRM = (*hubspot.Client)(nil)

const (
	testToken     = "pat-na1-11111111-2222-3333-4444-555555555555"
	testEmail     = "ana@example.com"
	testContactID = "51201"
	testNoteID    = "90017"
	correlationID = "a43683b0-5717-4ceb-80b4-104d02915d8c"
)

// testNow is the pinned clock: notes must carry it as hs_timestamp.
var testNow = time.Date(2024, 5, 1, 12, 30, 45, 123_000_000, time.FixedZone("CEST", 2*60*60))

// received is one request as the fake saw it.
type received struct {
	Method string
	// Path is decoded, RawPath as sent (empty when no escaping was needed).
	Path, RawPath, Query string
	Body                 string
}

// reply is what the fake answers to one request.
type reply = vendortest.Reply

func contactOK(id string) reply {
	return reply{Status: http.StatusOK, Body: fmt.Sprintf(`{
		"id": %q,
		"properties": {"createdate": "2024-03-02T09:15:00.000Z", "email": %q, "hs_object_id": %q, "lastmodifieddate": "2024-05-01T10:30:45.500Z"},
		"createdAt": "2024-03-02T09:15:00.000Z",
		"updatedAt": "2024-05-01T10:30:45.500Z",
		"archived": false
	}`, id, testEmail, id)}
}

func noteCreated(id string) reply {
	return reply{Status: http.StatusCreated, Body: fmt.Sprintf(`{
		"id": %q,
		"properties": {"hs_createdate": "2024-05-01T10:30:45.600Z", "hs_lastmodifieddate": "2024-05-01T10:30:45.600Z", "hs_object_id": %q},
		"createdAt": "2024-05-01T10:30:45.600Z",
		"updatedAt": "2024-05-01T10:30:45.600Z",
		"archived": false
	}`, id, id)}
}

// hubspotError answers like HubSpot does for a failed request.
func hubspotError(status int, category, message string) reply {
	body, _ := json.Marshal(map[string]any{
		"status": "error", "message": message, "correlationId": correlationID, "category": category,
	})
	return reply{Status: status, Body: string(body)}
}

// fake stands in for HubSpot's contacts and notes endpoints. It answers
// requests with its replies in order, and fails the test on any request it
// was not told to expect or that is not shaped like HubSpot wants.
type fake struct {
	srv *vendortest.Server[received]
}

func newFake(t *testing.T, replies ...reply) *fake {
	t.Helper()
	f := &fake{}
	f.srv = vendortest.Start[received](t, "hubspot", "application/json;charset=utf-8", f.serve, replies...)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(why string) {
		f.srv.Fail(w, r, hubspotError(http.StatusBadRequest, "VALIDATION_ERROR", "fake: "+why), why)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail("read body: " + err.Error())
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		// Not a test failure by itself: the unauthorized case sends a
		// wrong token on purpose.
		f.srv.Answer(w, r, hubspotError(http.StatusUnauthorized, "INVALID_AUTHENTICATION",
			"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"))
		return
	}
	if why := check(r, body); why != "" {
		fail(why)
		return
	}
	f.srv.Record(received{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, Query: r.URL.RawQuery, Body: string(body)})
	rep, ok := f.srv.Next()
	if !ok {
		fail("unexpected request")
		return
	}
	f.srv.Answer(w, r, rep)
}

// check says why a request is not shaped like HubSpot wants; "" when it is.
func check(r *http.Request, body []byte) string {
	switch {
	case strings.HasPrefix(r.URL.Path, hubspot.ContactsPath+"/") && (r.Method == http.MethodPatch || r.Method == http.MethodGet):
		if r.URL.RawQuery != "idProperty=email" {
			return "query " + r.URL.RawQuery + ", want idProperty=email"
		}
	case strings.HasPrefix(r.URL.Path, hubspot.ContactsPath+"/") && r.Method == http.MethodDelete:
		if r.URL.RawQuery != "" || len(body) > 0 {
			return "archive takes the contact ID alone"
		}
		return ""
	case r.URL.Path == hubspot.NotesPath && r.Method == http.MethodPost:
		if r.URL.RawQuery != "" {
			return "unexpected query " + r.URL.RawQuery
		}
	default:
		return "no such endpoint"
	}
	if r.Method == http.MethodGet {
		return ""
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return "content type " + ct
	}
	if !json.Valid(body) {
		return "body is not JSON"
	}
	return ""
}

func (f *fake) requests() []received { return f.srv.Received() }

func (f *fake) client(t *testing.T, edit ...func(*hubspot.Config)) *hubspot.Client {
	t.Helper()
	cfg := hubspot.Config{AccessToken: testToken, BaseURL: f.srv.URL, Timeout: 2 * time.Second}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := hubspot.New(cfg, hubspot.WithClock(func() time.Time { return testNow }))
	require.NoError(t, err)
	return c
}

func update(note string) messages.CRMUpdate {
	return messages.CRMUpdate{
		Meta:       messages.Meta{CustomerID: "cus_42", Step: "onboarding.activated", Template: "activated", IdempotencyKey: "jrn-cus_42-onboarding.activated-1"},
		Email:      testEmail,
		Properties: map[string]string{"lifecycle_stage": "activated", "health_tier": "green", "plan": "pro"},
		Note:       note,
	}
}

const wantProperties = `{"properties": {
	"journeys_lifecycle_stage": "activated",
	"journeys_health_tier": "green",
	"journeys_plan": "pro"
}}`

func TestUpdateWithoutNoteIsOnePatchByEmail(t *testing.T) {
	f := newFake(t, contactOK(testContactID))
	rcpt, err := f.client(t).UpdateContact(context.Background(), update(""))
	require.NoError(t, err)
	assert.Equal(t, messages.Receipt{ID: "contact/" + testContactID}, rcpt)

	got := f.requests()
	require.Len(t, got, 1)
	assert.Equal(t, http.MethodPatch, got[0].Method)
	assert.Equal(t, "/crm/v3/objects/contacts/ana@example.com", got[0].Path)
	assert.Equal(t, "idProperty=email", got[0].Query)
	assert.JSONEq(t, wantProperties, got[0].Body)
}

func TestUpdateWithNoteCreatesNoteAssociatedWithTheContact(t *testing.T) {
	f := newFake(t, contactOK(testContactID), noteCreated(testNoteID))
	rcpt, err := f.client(t).UpdateContact(context.Background(), update("Ana's team finished setup & invited 3 <admins>.\nNext: first report."))
	require.NoError(t, err)
	assert.Equal(t, messages.Receipt{ID: "contact/51201/note/90017"}, rcpt)

	got := f.requests()
	require.Len(t, got, 2)
	assert.Equal(t, http.MethodPatch, got[0].Method)
	assert.JSONEq(t, wantProperties, got[0].Body)

	assert.Equal(t, http.MethodPost, got[1].Method)
	assert.Equal(t, "/crm/v3/objects/notes", got[1].Path)
	assert.JSONEq(t, `{
		"properties": {
			"hs_note_body": "Ana's team finished setup &amp; invited 3 &lt;admins&gt;.<br>Next: first report.<br><br>journeys: step onboarding.activated, idempotency key jrn-cus_42-onboarding.activated-1",
			"hs_timestamp": "2024-05-01T10:30:45.123Z"
		},
		"associations": [{
			"to": {"id": "51201"},
			"types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]
		}]
	}`, got[1].Body)
}

// With only a note, the contact is read, not written, to learn its ID.
func TestNoteWithoutPropertiesLooksTheContactUp(t *testing.T) {
	f := newFake(t, contactOK("777"), noteCreated("888"))
	u := update("Renewal call booked.")
	u.Properties = nil
	rcpt, err := f.client(t).UpdateContact(context.Background(), u)
	require.NoError(t, err)
	assert.Equal(t, "contact/777/note/888", rcpt.ID)

	got := f.requests()
	require.Len(t, got, 2)
	assert.Equal(t, http.MethodGet, got[0].Method)
	assert.Equal(t, "/crm/v3/objects/contacts/ana@example.com", got[0].Path)
	assert.Empty(t, got[0].Body)
	var note struct {
		Associations []struct {
			To struct{ ID string } `json:"to"`
		} `json:"associations"`
	}
	require.NoError(t, json.Unmarshal([]byte(got[1].Body), &note))
	require.Len(t, note.Associations, 1)
	assert.Equal(t, "777", note.Associations[0].To.ID)
}

func TestPropertyPrefixAndEscapedEmail(t *testing.T) {
	f := newFake(t, contactOK(testContactID))
	u := update("")
	u.Email = "ana+trial@example.com"
	u.Properties = map[string]string{"plan": "team"}
	_, err := f.client(t, func(c *hubspot.Config) { c.PropertyPrefix = "acme_" }).UpdateContact(context.Background(), u)
	require.NoError(t, err)

	got := f.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "/crm/v3/objects/contacts/ana+trial@example.com", got[0].Path)
	// '+' travels escaped, so no server can read it as a space.
	assert.Equal(t, "/crm/v3/objects/contacts/ana%2Btrial@example.com", got[0].RawPath)
	assert.JSONEq(t, `{"properties": {"acme_plan": "team"}}`, got[0].Body)
}

func TestBaseURLPathPrefixIsKept(t *testing.T) {
	f := newFake(t, contactOK(testContactID))
	mux := http.NewServeMux()
	mux.Handle("/proxy/", http.StripPrefix("/proxy", http.HandlerFunc(f.serve)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	c, err := hubspot.New(hubspot.Config{AccessToken: testToken, BaseURL: srv.URL + "/proxy/"})
	require.NoError(t, err)
	_, err = c.UpdateContact(context.Background(), update(""))
	require.NoError(t, err)
	require.Len(t, f.requests(), 1)
	assert.Equal(t, "/crm/v3/objects/contacts/ana@example.com", f.requests()[0].Path)
}

// assertNoEmail checks err keeps the contact's address out of logs.
func assertNoEmail(t *testing.T, err error, email string) {
	t.Helper()
	assert.NotContains(t, strings.ToLower(err.Error()), strings.ToLower(email))
	assert.NotContains(t, strings.ToLower(err.Error()), "ana%40example.com")
}

func requireTransient(t *testing.T, err error) *messages.TransientError {
	t.Helper()
	var tr *messages.TransientError
	require.True(t, errors.As(err, &tr), "want a TransientError, got %T: %v", err, err)
	var perm *messages.PermanentError
	assert.False(t, errors.As(err, &perm), "a transient error must not also be permanent")
	return tr
}

func requirePermanent(t *testing.T, err error, reason string) *messages.PermanentError {
	t.Helper()
	var perm *messages.PermanentError
	require.True(t, errors.As(err, &perm), "want a PermanentError, got %T: %v", err, err)
	assert.Equal(t, reason, perm.Reason)
	return perm
}

func TestRateLimitedWithRetryAfter(t *testing.T) {
	rep := hubspotError(http.StatusTooManyRequests, "RATE_LIMITS", "You have reached your secondly limit.")
	rep.Header = map[string]string{"Retry-After": "2", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Remaining": "0"}
	f := newFake(t, rep)
	_, err := f.client(t).UpdateContact(context.Background(), update(""))
	tr := requireTransient(t, err)
	assert.Equal(t, 2*time.Second, tr.RetryAfter)
	assert.True(t, strings.HasPrefix(tr.Err.Error(), "hubspot: "), tr.Err.Error())
	assert.Contains(t, err.Error(), "RATE_LIMITS")
	assert.Contains(t, err.Error(), "cus_42")
	assertNoEmail(t, err, testEmail)
}

// HubSpot's 429s usually carry no Retry-After; its burst window is 10s.
func TestRateLimitedWithoutRetryAfterWaitsTheWindow(t *testing.T) {
	body := `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"` + correlationID + `","policyName":"TEN_SECONDLY_ROLLING","groupName":"publicapi:private-app:12345"}`
	f := newFake(t, reply{Status: http.StatusTooManyRequests, Body: body})
	_, err := f.client(t).UpdateContact(context.Background(), update(""))
	tr := requireTransient(t, err)
	assert.Equal(t, hubspot.RateLimitWait, tr.RetryAfter)
	assert.Equal(t, 10*time.Second, tr.RetryAfter)
	assert.Contains(t, err.Error(), "TEN_SECONDLY_ROLLING")
}

func TestServerErrorIsTransient(t *testing.T) {
	f := newFake(t, hubspotError(http.StatusInternalServerError, "", "internal error"))
	_, err := f.client(t).UpdateContact(context.Background(), update(""))
	tr := requireTransient(t, err)
	assert.Zero(t, tr.RetryAfter)
	var apiErr *hubspot.APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, http.StatusInternalServerError, apiErr.Status)
	assert.Equal(t, correlationID, apiErr.CorrelationID)
}

// A proxy's HTML page in front of HubSpot is classified by its status.
func TestBadGatewayPageIsTransient(t *testing.T) {
	f := newFake(t, reply{Status: http.StatusBadGateway, Body: "<html><body>502 Bad Gateway</body></html>"})
	_, err := f.client(t).UpdateContact(context.Background(), update(""))
	requireTransient(t, err)
	assert.Contains(t, err.Error(), "http 502")
}

func TestUnknownContactIsPermanent(t *testing.T) {
	// HubSpot's message quotes the ID it looked up: the email address.
	f := newFake(t, hubspotError(http.StatusNotFound, "OBJECT_NOT_FOUND",
		"Object not found. objectId are usually numeric. Could not find contact ANA@example.com (ana%40example.com)"))
	_, err := f.client(t).UpdateContact(context.Background(), update("not sent"))
	perm := requirePermanent(t, err, "contact_not_found")
	assert.True(t, strings.HasPrefix(perm.Err.Error(), "hubspot: update contact for customer cus_42 step onboarding.activated: "), perm.Err.Error())
	assert.Contains(t, err.Error(), "OBJECT_NOT_FOUND")
	assert.Contains(t, err.Error(), "[contact]")
	assertNoEmail(t, err, testEmail)
	assert.Len(t, f.requests(), 1, "no note for a contact that does not exist")
}

func TestMissingPropertyIsInvalidRequest(t *testing.T) {
	msg := `Property values were not valid: [{"isValid":false,"message":"Property \"journeys_health_tier\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"journeys_health_tier","localizedErrorMessage":"Property \"journeys_health_tier\" does not exist","portalId":4512345}]`
	f := newFake(t, hubspotError(http.StatusBadRequest, "VALIDATION_ERROR", msg))
	_, err := f.client(t).UpdateContact(context.Background(), update(""))
	requirePermanent(t, err, "invalid_request")
	assert.Contains(t, err.Error(), "VALIDATION_ERROR")
	assert.Contains(t, err.Error(), `Property \"journeys_health_tier\" does not exist`)
	assert.Contains(t, err.Error(), "PROPERTY_DOESNT_EXIST")
	assert.Contains(t, err.Error(), correlationID)

	var apiErr *hubspot.APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, hubspot.APIError{Status: 400, Category: "VALIDATION_ERROR", Message: msg, CorrelationID: correlationID}, *apiErr)
}

func TestOtherAnswersAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reply  reply
		reason string        // empty: transient
		wait   time.Duration // a transient error's RetryAfter
	}{
		{"forbidden", hubspotError(http.StatusForbidden, "MISSING_SCOPES", "This app hasn't been granted all required scopes to make this call."), "unauthorized", 0},
		{"conflict", hubspotError(http.StatusConflict, "CONFLICT", "Contact already exists."), "rejected", 0},
		{"unprocessable", hubspotError(http.StatusUnprocessableEntity, "VALIDATION_ERROR", "Unprocessable."), "rejected", 0},
		{"redirect", reply{Status: http.StatusMovedPermanently, Header: map[string]string{"Location": "https://example.com/"}}, "rejected", 0},
		{"locked", hubspotError(http.StatusLocked, "LOCKED", "Record is locked."), "", 0},
		{"unavailable", reply{Status: http.StatusServiceUnavailable, Body: "{}", Header: map[string]string{"Retry-After": "30"}}, "", 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.reply)
			_, err := f.client(t).UpdateContact(context.Background(), update(""))
			if tc.reason == "" {
				assert.Equal(t, tc.wait, requireTransient(t, err).RetryAfter)
				return
			}
			requirePermanent(t, err, tc.reason)
		})
	}
}

func TestWrongTokenIsUnauthorized(t *testing.T) {
	f := newFake(t)
	c, err := hubspot.New(hubspot.Config{AccessToken: "pat-na1-revoked", BaseURL: f.srv.URL})
	require.NoError(t, err)
	_, err = c.UpdateContact(context.Background(), update(""))
	requirePermanent(t, err, "unauthorized")
	assert.Contains(t, err.Error(), "INVALID_AUTHENTICATION")
	assert.NotContains(t, err.Error(), "pat-na1-revoked")
}

// The properties were set, the note failed: the retry sets them again
// (harmless) and then adds the note.
func TestNoteFailureFailsTheUpdateAndItsRetryCompletes(t *testing.T) {
	f := newFake(t, contactOK(testContactID), hubspotError(http.StatusBadGateway, "", "Bad gateway"),
		contactOK(testContactID), noteCreated(testNoteID))
	c := f.client(t)
	_, err := c.UpdateContact(context.Background(), update("Activated."))
	requireTransient(t, err)
	assert.Contains(t, err.Error(), "hubspot: create note for customer cus_42")

	rcpt, err := c.UpdateContact(context.Background(), update("Activated."))
	require.NoError(t, err)
	assert.Equal(t, "contact/51201/note/90017", rcpt.ID)
	got := f.requests()
	require.Len(t, got, 4)
	assert.Equal(t, got[1].Body, got[3].Body, "the retry sends the same note")
}

// A 404 from the notes endpoint is not about the contact.
func TestNoteNotFoundIsRejected(t *testing.T) {
	f := newFake(t, contactOK(testContactID), hubspotError(http.StatusNotFound, "OBJECT_NOT_FOUND", "Not found."))
	_, err := f.client(t).UpdateContact(context.Background(), update("Activated."))
	requirePermanent(t, err, "rejected")
}

// HubSpot created the note but its answer is unreadable: retrying would
// add it twice.
func TestUnreadableNoteAnswerIsUnconfirmed(t *testing.T) {
	f := newFake(t, contactOK(testContactID), reply{Status: http.StatusCreated, Body: "<html>ok</html>"})
	_, err := f.client(t).UpdateContact(context.Background(), update("Activated."))
	requirePermanent(t, err, "unconfirmed")
}

func TestTimeoutIsTransient(t *testing.T) {
	f := newFake(t, reply{Delay: vendortest.Hang})
	c := f.client(t, func(c *hubspot.Config) { c.Timeout = 100 * time.Millisecond })
	start := time.Now()
	_, err := c.UpdateContact(context.Background(), update(""))
	requireTransient(t, err)
	assert.Less(t, time.Since(start), 3*time.Second, "the client's timeout, not the fake's, ended the call")
	assert.Contains(t, err.Error(), "no answer within 100ms")
	assertNoEmail(t, err, testEmail)
}

func TestUnreachableIsTransient(t *testing.T) {
	f := newFake(t)
	c := f.client(t)
	f.srv.Close()
	_, err := c.UpdateContact(context.Background(), update(""))
	requireTransient(t, err)
	assertNoEmail(t, err, testEmail)
}

func TestCancelledContextIsTransientAndSendsNothing(t *testing.T) {
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client(t).UpdateContact(ctx, update(""))
	requireTransient(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, f.requests())
}

func TestRefusedBeforeAnyRequest(t *testing.T) {
	for name, edit := range map[string]func(*messages.CRMUpdate){
		"no email":   func(u *messages.CRMUpdate) { u.Email = " " },
		"nothing":    func(u *messages.CRMUpdate) { u.Properties, u.Note = nil, " \n" },
		"empty name": func(u *messages.CRMUpdate) { u.Properties[""] = "x" },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			u := update("")
			edit(&u)
			_, err := f.client(t).UpdateContact(context.Background(), u)
			requirePermanent(t, err, "invalid_request")
			assert.Empty(t, f.requests())
		})
	}
}

func TestNewChecksConfig(t *testing.T) {
	for name, cfg := range map[string]hubspot.Config{
		"no token":         {},
		"token with space": {AccessToken: "pat na1"},
		"bad base url":     {AccessToken: testToken, BaseURL: "ftp://api.hubapi.com"},
		"negative timeout": {AccessToken: testToken, Timeout: -time.Second},
		"bad prefix":       {AccessToken: testToken, PropertyPrefix: "Journeys-"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := hubspot.New(cfg)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "hubspot: "), err.Error())
		})
	}
	_, err := hubspot.New(hubspot.Config{AccessToken: testToken})
	assert.NoError(t, err)
}
