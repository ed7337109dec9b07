package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
)

// A customer's logins reach the journey once per interval; the edge answers
// the rest 202 with the Journeys-Coalesced header and counts them into the
// next one it forwards. Other event types are never coalesced.
func TestLoginsAreCoalescedAtTheEdge(t *testing.T) {
	now := time.Now().UTC()
	j := &recorder{}
	h := newHandler(t, j, api.Options{CoalesceLogins: time.Hour, Now: func() time.Time { return now }})
	post := func(id, typ, data string) *httptest.ResponseRecorder {
		body := fmt.Sprintf(`{"event_id":%q,"customer_id":"c-1","type":%q%s}`, id, typ, data)
		req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		return rec
	}

	assert.Empty(t, post("l-1", "login", "").Header().Get(api.CoalescedHeader))
	for i := 2; i <= 4; i++ {
		now = now.Add(10 * time.Minute)
		rec := post(fmt.Sprintf("l-%d", i), "login", "")
		assert.Equal(t, "true", rec.Header().Get(api.CoalescedHeader))
		assert.Contains(t, rec.Body.String(), `"coalesced"`)
	}
	post("m-1", "milestone_reached", `,"data":{"milestone":"first_project"}`)
	now = now.Add(31 * time.Minute)
	post("l-5", "login", "")

	sent := j.sent()
	require.Len(t, sent, 3, "the first login, the milestone and the login after the hour")
	assert.Equal(t, signals.MilestoneReached, sent[1].Type)
	var d signals.LoginData
	require.NoError(t, json.Unmarshal(sent[2].Data, &d))
	assert.Equal(t, 4, d.Count, "its own and the three held back")
	assert.NoError(t, sent[2].Validate(now))
}

// A forward that fails gives its count back: nothing is lost, and the next
// login goes at once.
func TestAFailedLoginForwardIsNotLost(t *testing.T) {
	now := time.Now().UTC()
	j := &recorder{}
	h := newHandler(t, j, api.Options{CoalesceLogins: time.Hour, Now: func() time.Time { return now }})
	send := func(id string) int {
		req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(fmt.Sprintf(`{"event_id":%q,"customer_id":"c-1","type":"login"}`, id)))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	j.mu.Lock()
	j.err = fmt.Errorf("send: %w", sender.ErrUnavailable)
	j.mu.Unlock()
	assert.Equal(t, http.StatusServiceUnavailable, send("l-1"))
	j.mu.Lock()
	j.err = nil
	j.mu.Unlock()
	now = now.Add(time.Minute)
	assert.Equal(t, http.StatusAccepted, send("l-2"))
	sent := j.sent()
	var d signals.LoginData
	require.NoError(t, json.Unmarshal(sent[len(sent)-1].Data, &d))
	assert.Equal(t, 2, d.Count)
}

// Whatever the failure, short of the customer having no journey, the
// logins a failed forward carried are given back to the next one.
func TestALoginForwardFailingAnyWayIsNotLost(t *testing.T) {
	for _, failure := range []error{
		fmt.Errorf("send: %w", context.DeadlineExceeded),
		errors.New("send: the server answered something unexpected"),
	} {
		now := time.Now().UTC()
		j := &recorder{}
		h := newHandler(t, j, api.Options{CoalesceLogins: time.Hour, Now: func() time.Time { return now }})
		send := func(id string) int {
			req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(fmt.Sprintf(`{"event_id":%q,"customer_id":"c-1","type":"login"}`, id)))
			req.Header.Set("Authorization", "Bearer "+testToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		j.mu.Lock()
		j.err = failure
		j.mu.Unlock()
		assert.NotEqual(t, http.StatusAccepted, send("l-1"), "%v", failure)
		j.mu.Lock()
		j.err = nil
		j.mu.Unlock()
		now = now.Add(time.Minute)
		assert.Equal(t, http.StatusAccepted, send("l-2"), "%v: the next login goes at once", failure)
		sent := j.sent()
		require.Equal(t, "l-2", sent[len(sent)-1].EventID, "%v: the next login is forwarded, not held", failure)
		var d signals.LoginData
		require.NoError(t, json.Unmarshal(sent[len(sent)-1].Data, &d))
		assert.Equal(t, 2, d.Count, "%v: the failed login is counted in the next", failure)
	}
}
