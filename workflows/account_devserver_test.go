package workflows_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/billingapi"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/internal/devserver"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// heldBilling is the billing system's account endpoints on 127.0.0.1, for
// the real billingapi client: one account, which starts active, whose
// suspend requests are held until the test releases them, then applied and
// answered with status. It logs when each request starts and ends, in order.
type heldBilling struct {
	url     string
	status  int           // the answer to a released suspend: 200 or 503
	arrived chan struct{} // closed when the first suspend request arrives
	release chan struct{} // closed by the test to let suspends go on
	once    sync.Once

	mu    sync.Mutex
	state string
	log   []string // "start suspend", "end suspend", ...
}

func newHeldBilling(t *testing.T, status int) *heldBilling {
	f := &heldBilling{status: status, state: accountActive, arrived: make(chan struct{}), release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /accounts/{id}/{action}", f.serve)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(f.releaseHeld) // before srv.Close: a held request must not block it
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), "fake billing listens on %s", srv.URL)
	f.url = srv.URL
	return f
}

func (f *heldBilling) serve(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if r.Header.Get("Authorization") != "Bearer "+billingToken || (action != "suspend" && action != "restore") {
		http.Error(w, `{"error": "bad request"}`, http.StatusBadRequest)
		return
	}
	f.record("start " + action)
	defer f.record("end " + action) // before net/http sends the buffered answer
	status := http.StatusOK
	if action == "suspend" {
		f.once.Do(func() { close(f.arrived) })
		<-f.release
		status = f.status
	}
	want := map[string]string{"suspend": accountSuspended, "restore": accountActive}[action]
	f.mu.Lock()
	already := f.state == want
	f.state = want
	f.mu.Unlock()
	if status == http.StatusOK && already {
		status = http.StatusConflict
	}
	body := fmt.Sprintf(`{"id": "acta_%s", "status": %q}`, action, want)
	switch status {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
		body = `{"error": {"code": "unavailable", "message": "Try again later."}}`
	case http.StatusConflict:
		body = `{"error": {"code": "account_already_` + want + `"}}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, body)
}

func (f *heldBilling) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, s)
}

func (f *heldBilling) releaseHeld() {
	select {
	case <-f.release:
	default:
		close(f.release)
	}
}

// account is the account's state and the requests' log.
func (f *heldBilling) account() (string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, append([]string(nil), f.log...)
}

// startDevServer runs the embedded Temporal server with the journeys'
// search attributes and returns a client of it.
func startDevServer(t *testing.T) client.Client {
	t.Helper()
	addr, err := devserver.FreeAddr("127.0.0.1")
	require.NoError(t, err)
	srv, err := devserver.Start(context.Background(), devserver.Options{
		DataDir: t.TempDir(), FrontendAddr: addr, UIAddr: "off", SearchAttributes: workflows.SearchAttributes(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	c, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// startHeldJourneys runs the real journeys on days of 200 ms against c,
// the billing system through the real client on f, the rest into an outbox.
func startHeldJourneys(t *testing.T, c client.Client, f *heldBilling) {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.jsonl"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { ob.Close() })
	billing, err := billingapi.New(billingapi.Config{BaseURL: f.url, Token: billingToken, Timeout: 10 * time.Second})
	require.NoError(t, err)
	pb := quiet()
	pb.DayLength = playbook.Duration(200 * time.Millisecond)
	acts := &activities.Activities{Email: ob, SMS: ob, Alerts: ob, CRM: ob, Billing: billing}
	ws := workflows.NewWorkers(c, workflows.NewJourneys(pb), acts, nil, workflows.WorkerOptions())
	require.NoError(t, ws.Start())
	t.Cleanup(ws.Stop)
}

// pollState reads customerID's state until ok holds or 10 seconds have
// passed, and returns the last state read.
func pollState(t *testing.T, s *sender.Sender, customerID string, ok func(workflows.State) bool) workflows.State {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := s.State(context.Background(), customerID)
		if err == nil && ok(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// On a real Temporal server a canceled activity keeps running until it
// stops (the time-skipping environment answers a cancel at once): a
// payment that arrives while the day-10 suspend's request is held by the
// billing system cancels it, and the restore reaches the billing system
// only once that request has ended, so the account ends active, as the
// journey says, whether the held suspend was answered 200 or 503.
func TestARestoreWaitsForAHeldSuspendOnTemporal(t *testing.T) {
	c := startDevServer(t)
	for name, status := range map[string]int{"200": http.StatusOK, "503": http.StatusServiceUnavailable} {
		t.Run("suspend applied, then "+name, func(t *testing.T) {
			f := newHeldBilling(t, status)
			startHeldJourneys(t, c, f)
			s, customer := sender.New(c), "c-held-"+name
			send := func(id string, typ signals.Type, p signals.Payload) {
				ev, err := signals.NewEvent(id, customer, typ, time.Now().UTC(), p)
				require.NoError(t, err)
				require.NoError(t, s.Send(context.Background(), ev))
			}
			t.Cleanup(func() { // the next case's workers would run it on
				_ = c.TerminateWorkflow(context.Background(), workflows.WorkflowID(customer), "", "test over")
			})
			send("e-signup", signals.SignedUp, signup(""))
			send("e-pf", signals.PaymentFailed, paymentFailed("in_1"))
			select {
			case <-f.arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the day-10 suspend never reached the billing system")
			}

			send("e-paid", signals.PaymentSucceeded, paid("in_1"))
			st := pollState(t, s, customer, func(st workflows.State) bool { return !st.Suspended && st.Dunning == nil })
			require.False(t, st.Suspended, "the payment is applied while the suspend is held")
			time.Sleep(2 * time.Second) // room for a restore that would overtake the held suspend
			f.releaseHeld()

			deadline := time.Now().Add(10 * time.Second)
			for _, log := f.account(); len(log) < 4 && time.Now().Before(deadline); _, log = f.account() {
				time.Sleep(50 * time.Millisecond)
			}
			state, log := f.account()
			assert.Equal(t, []string{"start suspend", "end suspend", "start restore", "end restore"}, log,
				"the restore reaches the billing system only after the held suspend has ended")
			assert.Equal(t, accountActive, state, "the billing system's last word is the restore")
			final := pollState(t, s, customer, func(st workflows.State) bool {
				return timelineHas(st, workflows.KindSend, "billing dunning.1.restore")
			})
			assert.False(t, final.Suspended)
			assert.Zero(t, final.Counters.SendsFailed, "a suspend stopped by its restore neither went nor failed")
		})
	}
}
