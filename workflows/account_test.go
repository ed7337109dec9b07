package workflows_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/billingapi"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// Account states in the fake billing system.
const (
	accountActive    = "active"
	accountSuspended = "suspended"
)

const billingToken = "bk_test_journeys_account_order"

// fakeBilling is the billing system's account endpoints on 127.0.0.1, for
// the real billingapi client: one account, which starts active. A repeated
// idempotency key gets its first successful answer, as the API does. The
// next fails[action] attempts of an action fail: 503 with Retry-After, or,
// with hang, no answer before the client gives up; with applyFirst each is
// applied before its answer is lost.
type fakeBilling struct {
	t   *testing.T
	url string

	mu         sync.Mutex
	state      string
	fails      map[string]int
	applyFirst bool
	hang       bool
	answered   map[string]string // idempotency key -> first successful answer
	// applied are the actions that changed the account, in order; accepted
	// the ones answered as done (200 or 409).
	applied, accepted []string
}

func newFakeBilling(t *testing.T, fails map[string]int, applyFirst, hang bool) *fakeBilling {
	f := &fakeBilling{t: t, state: accountActive, fails: fails, applyFirst: applyFirst, hang: hang, answered: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /accounts/{id}/{action}", f.serve)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), "fake billing listens on %s", srv.URL)
	f.url = srv.URL
	return f
}

func (f *fakeBilling) serve(w http.ResponseWriter, r *http.Request) {
	action, key := r.PathValue("action"), r.Header.Get("Idempotency-Key")
	if r.Header.Get("Authorization") != "Bearer "+billingToken || key == "" || (action != "suspend" && action != "restore") {
		f.t.Errorf("fake billing: unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, `{"error": "bad request"}`, http.StatusBadRequest)
		return
	}
	status, body := f.act(action, key)
	if status == 0 { // the answer is lost: held past the client's timeout
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
		return
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "600")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, body)
}

// act applies action and says how to answer; status 0 is no answer.
func (f *fakeBilling) act(action, key string) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[string]string{"suspend": accountSuspended, "restore": accountActive}[action]
	if body, ok := f.answered[key]; ok {
		f.accepted = append(f.accepted, action)
		return http.StatusOK, body
	}
	if f.fails[action] > 0 {
		f.fails[action]--
		if f.applyFirst && f.state != want {
			f.state = want
			f.applied = append(f.applied, action)
		}
		if f.hang {
			return 0, ""
		}
		return http.StatusServiceUnavailable, `{"error": {"code": "unavailable", "message": "Try again later."}}`
	}
	f.accepted = append(f.accepted, action)
	if f.state == want {
		return http.StatusConflict, `{"error": {"code": "account_already_` + want + `"}}`
	}
	f.state = want
	f.applied = append(f.applied, action)
	body := fmt.Sprintf(`{"id": "acta_%d", "status": %q}`, len(f.applied), want)
	f.answered[key] = body
	return http.StatusOK, body
}

// account is the account's state and what the fake did, in order.
func (f *fakeBilling) account() (state string, applied, accepted []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, append([]string(nil), f.applied...), append([]string(nil), f.accepted...)
}

func (f *fakeBilling) driver(t *testing.T) func(*activities.Activities) {
	c, err := billingapi.New(billingapi.Config{BaseURL: f.url, Token: billingToken, Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	return func(a *activities.Activities) { a.Billing = c }
}

// A payment that arrives while the day-10 suspend is still retrying stops
// the suspend, and the restore goes only once it has stopped: the billing
// system ends active, as the journey says, whether or not the failed
// attempt had suspended the account before its answer was lost.
func TestAPaymentDuringARetryingSuspendEndsActive(t *testing.T) {
	for name, tc := range map[string]struct {
		applyFirst, hang bool
		applied          []string
	}{
		"503 before acting":           {applied: nil},
		"acted, then 503":             {applyFirst: true, applied: []string{"suspend", "restore"}},
		"acted, then the answer lost": {applyFirst: true, hang: true, applied: []string{"suspend", "restore"}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeBilling(t, map[string]int{"suspend": 2}, tc.applyFirst, tc.hang)
			h := newHarness(t, quiet(), f.driver(t))
			activeCustomer(h, "", 14*day)
			h.event(2*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
			h.event(12*day+2*time.Second, "e-paid", signals.PaymentSucceeded, paid("in_1"))
			st := h.run(14 * day)

			state, applied, accepted := f.account()
			assert.Equal(t, accountActive, state, "the billing system's last word is the restore")
			assert.False(t, st.Suspended)
			assert.Nil(t, st.Dunning)
			assert.Equal(t, tc.applied, applied)
			if assert.NotEmpty(t, accepted) {
				assert.Equal(t, "restore", accepted[len(accepted)-1], "accepted calls: %v", accepted)
			}
			assert.Equal(t, 1, countSends(h.sends(), "RestoreAccount dunning.1.restore"))
		})
	}
}

// A second dunning's suspend decided while the first one's restore is
// still retrying waits for it: the billing system ends suspended, as the
// journey says, instead of the late restore having the last word. Days
// last a minute here, so the restore's hour of retries spans the next
// grace period.
func TestASuspendWaitsForARestoreStillRetrying(t *testing.T) {
	pb := quiet()
	pb.DayLength = playbook.Duration(time.Minute)
	f := newFakeBilling(t, map[string]int{"restore": 6}, false, false)
	h := newHarness(t, pb, f.driver(t))
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	h.event(2*time.Minute, "e-pf1", signals.PaymentFailed, paymentFailed("in_1"))
	h.event(13*time.Minute, "e-paid1", signals.PaymentSucceeded, paid("in_1"))
	h.event(14*time.Minute, "e-pf2", signals.PaymentFailed, paymentFailed("in_2"))
	st := h.run(100 * time.Minute)

	state, applied, accepted := f.account()
	assert.Equal(t, accountSuspended, state, "the billing system's last word is the second suspend")
	assert.True(t, st.Suspended)
	assert.Equal(t, []string{"suspend", "restore", "suspend"}, applied)
	assert.Equal(t, []string{"suspend", "restore", "suspend"}, accepted)
	want := []string{at(12*time.Minute) + "SuspendAccount dunning.1.suspend →in_1"}
	for m := 13; m <= 73; m += 10 { // six 503s with Retry-After: 600, then done
		want = append(want, at(time.Duration(m)*time.Minute)+"RestoreAccount dunning.1.restore →in_1")
	}
	want = append(want, at(73*time.Minute)+"SuspendAccount dunning.2.suspend →in_2")
	assert.Equal(t, want, h.only("Account dunning"), "the second suspend starts when the restore is done")
}
