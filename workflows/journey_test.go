package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/sim"
	"github.com/journeyshq/journeys/workflows"
)

var start = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// call is one activity started, as the test environment saw it.
type call struct {
	At       time.Duration // since the journey started
	Activity string
	Step     string
	Template string
	To       string
	Queue    string // the activity's task queue
}

func (c call) String() string {
	return fmt.Sprintf("%s %s %s %s→%s", c.At, c.Activity, c.Step, c.Template, c.To)
}

// harness runs one customer's journey in the time-skipping test
// environment with the real activities on the outbox driver, recording every
// activity start. The simulator's engine (package sim) runs the journey: a
// journey that continues as new goes on in a fresh environment from the
// moment it handed over, with the carried input, so a test sees the whole
// journey across runs.
type harness struct {
	t       *testing.T
	eng     *sim.Engine
	journey *workflows.Journeys
	acts    *activities.Activities
	// customer is the journey's customer ID, c-1 unless forCustomer.
	customer string
	outbox   string
	// env is the current run's environment, for actions that signal, query
	// or update the journey themselves.
	env *testsuite.TestWorkflowEnvironment

	// onEnv, when set, is called with each run's environment before the
	// run starts, to set mocks.
	onEnv func(*testsuite.TestWorkflowEnvironment)

	mu     sync.Mutex
	calls  []call
	state  workflows.State
	result *workflows.Result
	runs   []runStats
	cur    *runStats
}

// runStats describes one run of the journey and counts what its history
// holds, as an upper bound (see historyBound).
type runStats struct {
	*sim.RunInfo
	Updates                                   int
	TimersStarted, TimersFired, TimersCancels int
	Activities                                int
}

// historyBound is an upper bound on the number of events in the run's
// history: the start, every signal and update with its own workflow task,
// every timer started and fired or canceled, every activity scheduled,
// started and completed with its own workflow task, and at every workflow
// task a search-attribute upsert and a marker (the playbook fingerprint), plus
// the closing event. The test environment keeps no history to count, so
// the bound is what the journey is held to.
func (s runStats) historyBound() int {
	const task = 3 // scheduled, started, completed
	tasks := 1 + s.Signals + s.Updates + s.TimersFired + s.Activities
	return 1 + s.Signals*1 + s.Updates*2 + s.TimersStarted + s.TimersFired + s.TimersCancels +
		s.Activities*3 + tasks*(task+2) + 1
}

func newHarness(t *testing.T, pb playbook.Playbook, drivers ...func(*activities.Activities)) *harness {
	t.Helper()
	h := &harness{t: t, journey: workflows.NewJourneys(pb), customer: "c-1"}
	h.outbox = filepath.Join(t.TempDir(), "outbox.jsonl")
	ob, err := outbox.Open(h.outbox, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ob.Close() })
	h.acts = &activities.Activities{Email: ob, SMS: ob, Alerts: ob, CRM: ob, Billing: ob}
	for _, d := range drivers {
		d(h.acts)
	}
	h.eng = sim.NewEngine(sim.EngineConfig{
		Journeys: h.journey, Activities: h.acts, CustomerID: h.customer, Origin: start, OnRun: h.onRun,
	})
	return h
}

// forCustomer makes h run customer id's journey; call it before
// scheduling anything.
func (h *harness) forCustomer(id string) *harness {
	h.customer = id
	h.eng = sim.NewEngine(sim.EngineConfig{
		Journeys: h.journey, Activities: h.acts, CustomerID: id, Origin: start, OnRun: h.onRun,
	})
	return h
}

// onRun records the activities and timers of the run whose environment env
// is about to start.
func (h *harness) onRun(env *testsuite.TestWorkflowEnvironment, run *sim.RunInfo) {
	h.env = env
	h.runs = append(h.runs, runStats{RunInfo: run})
	h.cur = &h.runs[len(h.runs)-1]
	cur := h.cur
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		var in struct {
			messages.Meta
			To     string                  `json:"to"`
			CSM    string                  `json:"csm"`
			Update *messages.CRMUpdate     `json:"update"`
			Action *messages.AccountAction `json:"action"`
		}
		require.NoError(h.t, args.Get(&in))
		c := call{At: env.Now().Sub(start), Activity: info.ActivityType.Name, Step: in.Step, Template: in.Template, To: in.To + in.CSM, Queue: info.TaskQueue}
		if in.Update != nil {
			c.Step, c.To = in.Update.Step, in.Update.Properties["lifecycle_stage"]
		}
		if in.Action != nil {
			c.Step, c.To = in.Action.Step, in.Action.InvoiceID
		}
		h.mu.Lock()
		h.calls = append(h.calls, c)
		cur.Activities++
		h.mu.Unlock()
	})
	if h.onEnv != nil {
		h.onEnv(env)
	}
	env.SetOnTimerScheduledListener(func(string, time.Duration) { cur.TimersStarted++ })
	env.SetOnTimerFiredListener(func(string) { cur.TimersFired++ })
	env.SetOnTimerCanceledListener(func(string) { cur.TimersCancels++ })
}

// setStart moves the journey's first run to origin.
func (h *harness) setStart(origin time.Time) { h.eng.SetOrigin(origin) }

// at schedules fn at offset d from the start of the journey.
func (h *harness) at(d time.Duration, fn func()) { h.eng.At(d, fn) }

// signal sends ev at offset d.
func (h *harness) signal(d time.Duration, ev signals.Event) { h.eng.Signal(d, ev) }

func (h *harness) event(d time.Duration, id string, typ signals.Type, p signals.Payload) {
	ev, err := signals.NewEvent(id, h.customer, typ, h.eng.Origin().Add(d), p)
	require.NoError(h.t, err)
	h.signal(d, ev)
}

// query reads the journey's state.
func (h *harness) query() workflows.State {
	st, err := h.eng.Query()
	require.NoError(h.t, err)
	return st
}

// run runs the journey, across continue-as-new, until until: there it
// queries the state and cancels the journey. A journey that completes
// earlier ends the run with its result (h.result).
func (h *harness) run(until time.Duration) workflows.State {
	out, err := h.eng.Run(until)
	require.NoError(h.t, err, "the journey should only end because the test canceled it")
	h.result, h.state = out.Result, out.State
	return h.state
}

// sends lists the calls as "offset activity step template→to", by time;
// activities started at the same instant run concurrently, so they are
// listed in name order.
func (h *harness) sends() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	cs := slices.Clone(h.calls)
	slices.SortStableFunc(cs, func(a, b call) int {
		if a.At != b.At {
			return int(a.At - b.At)
		}
		return strings.Compare(a.String(), b.String())
	})
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

// outboxRecord is the one record the outbox holds for step on channel.
func outboxRecord(t *testing.T, h *harness, step string, ch messages.Channel) outbox.Record {
	t.Helper()
	records, err := outbox.ReadFile(h.outbox)
	require.NoError(t, err)
	var found []outbox.Record
	for _, r := range records {
		if r.Step == step && r.Channel == ch {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "outbox records for %s %s", ch, step)
	return found[0]
}

func signup(phone string) signals.SignedUpData {
	return signals.SignedUpData{Name: "Ana Lima", Email: "ana@example.com", Phone: phone, SMSConsent: phone != "", Timezone: "America/New_York", Plan: "pro", Seats: 5, CSM: "U0CSM01", MRR: 49900}
}

func milestone(m string) signals.MilestoneReachedData {
	return signals.MilestoneReachedData{Milestone: m}
}

func timelineHas(st workflows.State, kind, substr string) bool {
	for _, e := range st.Timeline {
		if e.Kind == kind && strings.Contains(e.Text, substr) {
			return true
		}
	}
	return false
}

func TestActivatedOnDay2(t *testing.T) {
	h := newHarness(t, playbook.Default())
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	h.event(2*time.Hour, "e-m1", signals.MilestoneReached, milestone("first_project"))
	h.event(30*time.Hour, "e-m2", signals.MilestoneReached, milestone("invited_teammate"))
	h.event(2*day, "e-m3", signals.MilestoneReached, milestone("connected_integration"))
	st := h.run(3 * day)

	assert.Equal(t, []string{
		"0s SendEmail onboarding.welcome welcome→ana@example.com",
		"0s UpdateCRM stage.1.onboarding →onboarding",
		"24h0m0s SendEmail onboarding.getting_started getting_started→ana@example.com",
		"48h0m0s SendEmail onboarding.activated activated→ana@example.com",
		"48h0m0s UpdateCRM stage.2.adoption →adoption",
	}, h.sends(), "no day-3 nudge, no SMS, no CSM alert once activated")
	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.Equal(t, start.Add(2*day), st.StageSince)
	require.NotNil(t, st.ActivatedAt)
	assert.Equal(t, start.Add(2*day), *st.ActivatedAt)
	assert.Equal(t, playbook.TierHealthy, st.HealthTier)
	assert.Equal(t, []string{"getting_started"}, st.StepsDone)
	assert.Equal(t, 3, st.Counters.EmailsSent)
	assert.Equal(t, 2, st.Counters.CRMUpdates)

	welcome := outboxRecord(t, h, "onboarding.welcome", messages.ChannelEmail)
	assert.Equal(t, "Welcome to Acme, Ana", welcome.Subject)
	assert.Equal(t, "customer:c-1/default-test-run-id/onboarding.welcome/email", welcome.IdempotencyKey)
}

func TestNeverActivated(t *testing.T) {
	h := newHarness(t, playbook.Default())
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	h.event(5*time.Hour, "e-m1", signals.MilestoneReached, milestone("first_project"))
	st := h.run(31 * day)

	assert.Equal(t, []string{
		"0s SendEmail onboarding.welcome welcome→ana@example.com",
		"0s UpdateCRM stage.1.onboarding →onboarding",
		"24h0m0s SendEmail onboarding.getting_started getting_started→ana@example.com",
		"72h0m0s SendEmail onboarding.nudge onboarding_nudge→ana@example.com",
		"168h0m0s AlertCSM onboarding.escalate not_activated→U0CSM01",
		"168h0m0s SendSMS onboarding.escalate onboarding_nudge→+15551234567",
		"168h0m0s UpdateCRM onboarding.escalate.crm →",                 // the alert on the CRM contact
		"216h0m0s AlertCSM onboarding.escalate.escalation escalation→", // nobody acknowledged: to the team, 2 business days later
		"720h0m0s SendEmail nps.survey.1 nps_survey→ana@example.com",   // the day-30 survey
		"720h0m0s UpdateCRM stage.2.adoption →adoption",
	}, h.sends(), "no health alert in adoption: the onboarding escalation was the critical alert")
	assert.Equal(t, workflows.StageAdoption, st.Stage)
	assert.Equal(t, start.Add(30*day), st.StageSince)
	assert.Nil(t, st.ActivatedAt)
	assert.Equal(t, playbook.TierCritical, st.HealthTier)
	assert.True(t, timelineHas(st, workflows.KindDecision, "onboarding ended after 30 days without activation (1 of 3 milestones)"))

	nudge := outboxRecord(t, h, "onboarding.nudge", messages.ChannelEmail)
	alert := outboxRecord(t, h, "onboarding.escalate", messages.ChannelAlert)
	assert.Equal(t, "Ana, you're 2 steps from a working Acme setup", nudge.Subject)
	assert.Contains(t, nudge.Body, "You've done 1 of 3 setup steps")
	assert.Contains(t, alert.Body, "Ana Lima (c-1, pro, 5 seats) has not activated after 7 days")
	assert.Contains(t, alert.Body, "still missing invited teammate, connected integration")
}

func TestNoPhoneNoSMS(t *testing.T) {
	pb := playbook.Default()
	pb.Delivery.Fallback = false // delivery_test.go: the text goes by email
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	st := h.run(8 * day)

	sends := h.sends()
	assert.Contains(t, sends, "168h0m0s AlertCSM onboarding.escalate not_activated→U0CSM01")
	for _, s := range sends {
		assert.NotContains(t, s, "SendSMS")
	}
	assert.True(t, timelineHas(st, workflows.KindSkip, "onboarding.escalate: onboarding_nudge sms not sent, the customer has no phone number"))
	assert.Equal(t, 0, st.Counters.SMSSent)
	assert.Equal(t, 1, st.Counters.CSMAlerts)
}

func TestDuplicateEventIDChangesNothing(t *testing.T) {
	h := newHarness(t, playbook.Default())
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	h.event(time.Minute, "e-signup", signals.SignedUp, signup("")) // redelivered signup
	h.event(time.Hour, "e-login", signals.Login, signals.LoginData{})
	h.event(2*time.Hour, "e-login", signals.Login, signals.LoginData{})
	for _, m := range []string{"first_project", "invited_teammate", "connected_integration"} {
		h.event(3*time.Hour, "e-m", signals.MilestoneReached, milestone(m)) // one ID, three events
	}
	st := h.run(2 * day)

	// One welcome, no activation: the three milestones shared one event ID,
	// so only the first was applied.
	assert.Equal(t, []string{
		"0s SendEmail onboarding.welcome welcome→ana@example.com",
		"0s UpdateCRM stage.1.onboarding →onboarding",
		"24h0m0s SendEmail onboarding.getting_started getting_started→ana@example.com",
	}, h.sends())
	assert.Equal(t, 1, st.Counters.Logins)
	assert.Equal(t, []string{"first_project"}, st.Milestones)
	assert.Equal(t, 4, st.Counters.EventsDuplicate)
	assert.Equal(t, 3, st.Counters.EventsApplied)
	assert.Equal(t, workflows.StageOnboarding, st.Stage)
}

func TestBadPayloadsAreRecordedAndTheJourneyCarriesOn(t *testing.T) {
	h := newHarness(t, playbook.Default())
	h.at(0, func() { h.env.SignalWorkflow(signals.SignalName, "not an event") })
	h.signal(time.Minute, signals.Event{EventID: "e-bad", CustomerID: "c-1", Type: signals.MilestoneReached, OccurredAt: start, Data: json.RawMessage(`{"milestone": 42}`)})
	h.event(2*time.Minute, "e-early", signals.Login, signals.LoginData{})
	h.event(time.Hour, "e-signup", signals.SignedUp, signup(""))
	st := h.run(2 * time.Hour)

	assert.Equal(t, 3, st.Counters.EventsRejected)
	assert.True(t, timelineHas(st, workflows.KindError, "rejected undecodable event payload"))
	assert.True(t, timelineHas(st, workflows.KindError, "rejected milestone_reached event e-bad"))
	assert.True(t, timelineHas(st, workflows.KindError, "rejected login event e-early before signed_up"))
	assert.Equal(t, workflows.StageOnboarding, st.Stage, "a valid signup after bad events still starts the journey")
	assert.Contains(t, h.sends(), "1h0m0s SendEmail onboarding.welcome welcome→ana@example.com")
}

// An event refused for coming before signed_up is not remembered as
// applied: its redelivery after the signup applies it.
func TestAnEventBeforeSignupAppliesWhenRedelivered(t *testing.T) {
	h := newHarness(t, playbook.Default())
	h.event(time.Minute, "e-early", signals.MilestoneReached, signals.MilestoneReachedData{Milestone: "first_project"})
	h.event(time.Hour, "e-signup", signals.SignedUp, signup(""))
	h.event(2*time.Hour, "e-early", signals.MilestoneReached, signals.MilestoneReachedData{Milestone: "first_project"})
	st := h.run(3 * time.Hour)

	assert.Equal(t, []string{"first_project"}, st.Milestones)
	assert.Equal(t, 0, st.Counters.EventsDuplicate)
	assert.Equal(t, 1, st.Counters.EventsRejected)
}

func TestProfileUpdate(t *testing.T) {
	h := newHarness(t, playbook.Default())
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	plan, seats, phone, consent := "enterprise", 40, "+15557654321", true
	h.event(time.Hour, "e-p1", signals.ProfileUpdated, signals.ProfileUpdatedData{Plan: &plan, Seats: &seats, Phone: &phone, SMSConsent: &consent})
	st := h.run(8 * day)

	assert.Equal(t, "enterprise", st.Profile.Plan)
	assert.Equal(t, 40, st.Profile.Seats)
	assert.Contains(t, h.sends(), "168h0m0s SendSMS onboarding.escalate onboarding_nudge→+15557654321", "the day-7 SMS goes to the number added later")
	assert.True(t, timelineHas(st, workflows.KindEvent, "profile updated: phone, plan, seats, sms_consent"))
}

func TestChangedPlaybookReachesARunningJourney(t *testing.T) {
	pb := playbook.Default()
	h := newHarness(t, pb)
	h.event(0, "e-signup", signals.SignedUp, signup(""))
	// A deploy on day 2 moves the nudge from day 3 to day 5.
	h.at(2*day, func() {
		next := playbook.Default()
		next.Onboarding.Steps[1].Day = 5
		h.journey.SetPlaybook(next)
	})
	h.event(2*day+time.Minute, "e-login", signals.Login, signals.LoginData{}) // a wake-up after the deploy
	st := h.run(6 * day)

	assert.Contains(t, h.sends(), "120h0m0s SendEmail onboarding.nudge onboarding_nudge→ana@example.com")
	assert.NotContains(t, h.sends(), "72h0m0s SendEmail onboarding.nudge onboarding_nudge→ana@example.com")
	assert.True(t, timelineHas(st, workflows.KindDecision, "playbook changed from default@"))
}

// permanentSMS is an SMS driver whose every number is invalid, the way a
// vendor answers for a landline.
type permanentSMS struct{}

func (permanentSMS) SendSMS(context.Context, messages.SMS) (messages.Receipt, error) {
	return messages.Receipt{}, messages.Permanent("invalid_number", errors.New("the 'To' number is not a valid mobile number"))
}

func TestPermanentSendErrorIsRecordedNotRetried(t *testing.T) {
	h := newHarness(t, playbook.Default(), func(a *activities.Activities) { a.SMS = permanentSMS{} })
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	st := h.run(31 * day)

	smsAttempts := 0
	for _, s := range h.sends() {
		if strings.Contains(s, "SendSMS") {
			smsAttempts++
		}
	}
	assert.Equal(t, 1, smsAttempts, "a permanent error is not retried")
	assert.Equal(t, 1, st.Counters.SendsFailed)
	assert.True(t, timelineHas(st, workflows.KindError, "sms onboarding.escalate failed: permanent:"))
	assert.Equal(t, workflows.StageAdoption, st.Stage, "the journey goes on")
}

func TestInvalidNumberStopsLaterSMSUntilThePhoneChanges(t *testing.T) {
	pb := playbook.Default()
	pb.Onboarding.Steps = append([]playbook.Step{{Name: "early_sms", Day: 2, SMS: "onboarding_nudge"}}, pb.Onboarding.Steps...)
	pb.Onboarding.Steps[0], pb.Onboarding.Steps[1] = pb.Onboarding.Steps[1], pb.Onboarding.Steps[0] // keep day order
	h := newHarness(t, pb, func(a *activities.Activities) { a.SMS = permanentSMS{} })
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	var mid workflows.State
	h.at(3*day, func() {
		v, err := h.env.QueryWorkflow(workflows.QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&mid))
	})
	phone := "+15557654321"
	h.event(4*day, "e-phone", signals.ProfileUpdated, signals.ProfileUpdatedData{Phone: &phone})
	st := h.run(8 * day)

	assert.Equal(t, "invalid_number", mid.SMSUnusable)
	assert.True(t, timelineHas(mid, workflows.KindDecision, "no more SMS to this customer: the number was found invalid"))
	assert.Equal(t, "invalid_number", st.SMSUnusable, "the new number failed too")
	var attempts []string
	for _, s := range h.sends() {
		if strings.Contains(s, "SendSMS") {
			attempts = append(attempts, s)
		}
	}
	assert.Equal(t, []string{
		"48h0m0s SendSMS onboarding.early_sms onboarding_nudge→+15551234567",
		"168h0m0s SendSMS onboarding.escalate onboarding_nudge→+15557654321",
	}, attempts, "after the first failure SMS waits for a new number")
}

func TestUnusableNumberSkipsSMS(t *testing.T) {
	pb := playbook.Default()
	pb.Onboarding.Steps = append([]playbook.Step{{Name: "early_sms", Day: 2, SMS: "onboarding_nudge"}}, pb.Onboarding.Steps...)
	pb.Onboarding.Steps[0], pb.Onboarding.Steps[1] = pb.Onboarding.Steps[1], pb.Onboarding.Steps[0]
	pb.Delivery.Fallback = false
	h := newHarness(t, pb, func(a *activities.Activities) { a.SMS = permanentSMS{} })
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	st := h.run(8 * day)

	n := 0
	for _, s := range h.sends() {
		if strings.Contains(s, "SendSMS") {
			n++
		}
	}
	assert.Equal(t, 1, n, "the day-7 SMS is not attempted after the number proved invalid")
	assert.True(t, timelineHas(st, workflows.KindSkip, "onboarding.escalate: onboarding_nudge sms not sent, the number was found invalid"))
}
