package workflows_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/integrations/twilio"
	"github.com/journeyshq/journeys/internal/metrics/metricstest"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// heldQueue makes every text wait hold on the test clock before it starts,
// as it does behind the SMS queue's fleet-wide rate limit, and then fare as
// the server has it fare: a text canceled meanwhile never starts, one past
// its ScheduleToClose times out, the rest run the real activity.
func heldQueue(h *harness, hold time.Duration) {
	h.onEnv = func(env *testsuite.TestWorkflowEnvironment) {
		var mu sync.Mutex
		canceled := map[string]bool{}
		env.SetOnActivityCanceledListener(func(info *activity.Info) {
			mu.Lock()
			defer mu.Unlock()
			canceled[info.ActivityID] = true
		})
		env.OnActivity("SendSMS", mock.Anything, mock.Anything).After(hold).Return(
			func(ctx context.Context, in activities.SendSMSInput) (activities.Result, error) {
				info := activity.GetInfo(ctx)
				mu.Lock()
				gone := canceled[info.ActivityID]
				mu.Unlock()
				switch {
				case gone:
					return activities.Result{}, temporal.NewCanceledError()
				case hold > info.ScheduleToCloseTimeout:
					return activities.Result{}, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, nil)
				}
				return h.acts.SendSMS(ctx, in)
			})
	}
	h.onEnv(h.env) // the first run's environment exists already
}

// textsSent are the texts the outbox received, by step.
func textsSent(t *testing.T, h *harness) []string {
	t.Helper()
	records, err := outbox.ReadFile(h.outbox)
	require.NoError(t, err)
	var out []string
	for _, r := range records {
		if r.Channel == messages.ChannelSMS {
			out = append(out, r.Step)
		}
	}
	return out
}

// A STOP that arrives while the day-7 text waits behind the rate limit
// calls it back: it never goes, and the timeline says why.
func TestStopWhileATextWaitsInTheQueueCallsItBack(t *testing.T) {
	h := newHarness(t, quiet())
	heldQueue(h, 2*time.Hour)
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	h.event(7*day+30*time.Minute, "e-stop", signals.ConsentChanged,
		signals.ConsentChangedData{Channel: signals.ConsentSMS, Status: signals.ConsentOptedOut, Source: signals.SourceTwilioInbound, Reason: "STOP"})
	st := h.run(8 * day)

	assert.Equal(t, []string{(7 * day).String()}, h.sentAt("SendSMS", "onboarding.escalate"), "queued at 09:00 New York")
	assert.Empty(t, textsSent(t, h), "no text after the STOP")
	assert.True(t, timelineHas(st, workflows.KindSkip, "onboarding.escalate: onboarding_nudge sms not sent, the customer opted out of texts while it waited to go"))
	assert.Zero(t, st.Counters.SMSSent)
	assert.Zero(t, st.Counters.SendsFailed)
}

// A text queued at 19:30 that the queue would start at 20:15 is not sent
// then: its window shut, so it waits for the next morning and goes then.
func TestAWindowThatShutsBeforeAQueuedTextStartsDefersIt(t *testing.T) {
	origin := time.Date(2026, 1, 13, 0, 30, 0, 0, time.UTC) // day 7 is Mon Jan 19 19:30 EST
	h := newHarness(t, quiet())
	h.setStart(origin)
	heldQueue(h, 45*time.Minute)
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	st := h.run(9 * day)

	next := time.Date(2026, 1, 20, 9, 0, 0, 0, newYork).Add(c1Spread)
	assert.Equal(t, []string{offset(origin.Add(7 * day)), offset(next)}, h.sentAt("SendSMS", "onboarding.escalate"))
	assert.Equal(t, []string{"onboarding.escalate"}, textsSent(t, h), "sent once, in the morning")
	assert.True(t, timelineHas(st, workflows.KindDecision, "onboarding.escalate: onboarding_nudge sms deferred, the sms window shut at Mon Jan 19 20:00 EST before it could go: sms may go from "+next.In(newYork).Format("Mon Jan 2 15:04 MST")))
	assert.Equal(t, 1, st.Counters.SMSSent)
	assert.Zero(t, st.Counters.SendsFailed)
}

// fakeTwilio answers every message with a 503, the way Twilio does in an
// outage, and counts the requests.
func fakeTwilio(t *testing.T) (*twilio.Client, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Messages.json") {
			n.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"code":20500,"message":"Service Unavailable","status":503}`))
	}))
	t.Cleanup(srv.Close)
	c, err := twilio.New(twilio.Config{
		AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "t0kenfedcba9876543210fedcba98765",
		MessagingServiceSID: "MG0123456789abcdef0123456789abcdef", BaseURL: srv.URL, Timeout: 2 * time.Second,
	})
	require.NoError(t, err)
	return c, &n
}

// A text retried through a Twilio outage stops at 20:00 local, when its
// window shuts, not an hour after it was first tried; it is deferred to
// the next morning.
func TestRetriesStopWhenTheWindowShuts(t *testing.T) {
	origin := time.Date(2026, 1, 13, 0, 30, 0, 0, time.UTC) // day 7 is Mon Jan 19 19:30 EST
	tw, requests := fakeTwilio(t)
	h := newHarness(t, quiet(), func(a *activities.Activities) { a.SMS = tw })
	h.setStart(origin)
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	st := h.run(7*day + 12*time.Hour) // until 07:30 the next morning

	attempts := h.sentAt("SendSMS", "onboarding.escalate")
	require.NotEmpty(t, attempts)
	assert.Equal(t, int(requests.Load()), len(attempts), "each attempt reached the fake Twilio")
	shut := time.Date(2026, 1, 19, 20, 0, 0, 0, newYork)
	for _, a := range attempts {
		d, err := time.ParseDuration(a)
		require.NoError(t, err)
		assert.True(t, start.Add(d).Before(shut), "attempt at %s, after the window shut", start.Add(d).In(newYork))
	}
	assert.True(t, timelineHas(st, workflows.KindDecision, "onboarding.escalate: onboarding_nudge sms deferred, the sms window shut at Mon Jan 19 20:00 EST before it could go"))
	require.Len(t, st.Delivery.Pending, 1, "waiting for the morning")
	assert.Zero(t, st.Counters.SendsFailed)
}

// A text to a customer without a time zone goes only at hours inside the
// window in every zone of their number, not at 09:00 UTC (the playbook's).
func TestATextWithoutATimeZoneWaitsForEveryZoneOfTheNumber(t *testing.T) {
	for _, tc := range []struct {
		name, phone string
		stepAt      time.Time // day 7
		opens       time.Time // when the window opens in all the number's zones
		shuts       time.Time
	}{
		{"New York: not at 04:00 Eastern", "+12125551234", utc(2026, 1, 20, 9, 0), utc(2026, 1, 20, 14, 0), utc(2026, 1, 21, 1, 0)},
		{"Hawaii: not at 08:00 HST", "+18085551234", utc(2026, 1, 20, 18, 0), utc(2026, 1, 20, 19, 0), utc(2026, 1, 21, 6, 0)},
		// Alaska spans Anchorage (UTC-9) and Adak (UTC-10): open from 09:00
		// in Adak until 20:00 in Anchorage.
		{"Alaska: not at 20:30 Anchorage", "+19075551234", utc(2026, 1, 20, 5, 30), utc(2026, 1, 20, 19, 0), utc(2026, 1, 21, 5, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, quiet()) // delivery.timezone: UTC
			h.setStart(tc.stepAt.Add(-7 * day))
			s := signup(tc.phone)
			s.Timezone = ""
			h.event(0, "e-signup", signals.SignedUp, s)
			h.run(9 * day)

			want := tc.opens.Add(workflows.SpreadOffset("c-1", tc.shuts.Sub(tc.opens)/workflows.SpreadShare))
			assert.Equal(t, []string{offset(want)}, h.sentAt("SendSMS", "onboarding.escalate"))
		})
	}
}

func utc(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
}

// Customers whose texts wait for the same morning wake at different
// times over its first quarter, so they do not all meet the SMS rate limit
// at 09:00.
func TestTextsDeferredToOneMorningAreSpread(t *testing.T) {
	origin := time.Date(2026, 1, 13, 7, 0, 0, 0, time.UTC) // day 7 is 02:00 in New York
	opens := time.Date(2026, 1, 20, 9, 0, 0, 0, newYork)
	seen := map[string]bool{}
	for _, id := range []string{"c-1", "c-2", "c-3", "c-4", "c-5", "c-6"} {
		h := newHarness(t, quiet()).forCustomer(id)
		h.setStart(origin)
		h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
		h.run(8 * day)

		sent := h.sentAt("SendSMS", "onboarding.escalate")
		require.Len(t, sent, 1, id)
		d, err := time.ParseDuration(sent[0])
		require.NoError(t, err)
		wake := start.Add(d)
		assert.False(t, wake.Before(opens), "%s woke at %s", id, wake)
		assert.True(t, wake.Before(opens.Add(11*time.Hour/workflows.SpreadShare)), "%s woke at %s", id, wake.In(newYork))
		assert.False(t, seen[sent[0]], "%s woke with another customer at %s", id, wake.In(newYork))
		seen[sent[0]] = true
	}
}

// priorities records the priority key of every text the journey
// schedules, by step, as the ScheduleActivityTask command carries it (the
// test environment drops it from the activity's info).
type priorities struct {
	interceptor.WorkerInterceptorBase
	mu  sync.Mutex
	got map[string]int
}

func (p *priorities) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &prioritiesIn{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, p: p}
}

type prioritiesIn struct {
	interceptor.WorkflowInboundInterceptorBase
	p *priorities
}

func (i *prioritiesIn) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&prioritiesOut{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}, p: i.p})
}

type prioritiesOut struct {
	interceptor.WorkflowOutboundInterceptorBase
	p *priorities
}

func (o *prioritiesOut) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	if in, ok := args[0].(activities.SendSMSInput); ok {
		o.p.mu.Lock()
		o.p.got[in.Step] = workflow.GetActivityOptions(ctx).Priority.PriorityKey
		o.p.mu.Unlock()
	}
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

// On the SMS queue transactional texts carry a higher priority than
// lifecycle ones and those than marketing, so a backlog behind the rate
// limit lets a payment notice overtake an upsell (the server's matcher
// orders a backlog by priority key; matching.useNewMatcher is on by
// default since server 1.29).
func TestTransactionalTextsGoAheadOfMarketing(t *testing.T) {
	pb := quiet()
	pb.Onboarding.Steps = []playbook.Step{
		{Name: "ask", Day: 1, SMS: "onboarding_nudge", Class: playbook.ClassMarketing},
		{Name: "notice", Day: 1, SMS: "payment_reminder", Class: playbook.ClassTransactional},
		{Name: "tip", Day: 1, SMS: "onboarding_nudge", Class: playbook.ClassLifecycle},
	}
	h := newHarness(t, pb)
	p := &priorities{got: map[string]int{}}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{p}})
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	h.run(2 * day)

	p.mu.Lock()
	defer p.mu.Unlock()
	assert.Equal(t, map[string]int{
		"onboarding.notice": workflows.PriorityTransactional,
		"onboarding.tip":    workflows.PriorityLifecycle,
		"onboarding.ask":    workflows.PriorityMarketing,
	}, p.got)
	assert.Less(t, workflows.PriorityTransactional, workflows.PriorityLifecycle)
	assert.Less(t, workflows.PriorityLifecycle, workflows.PriorityMarketing)
}

// A marketing text that the queue never starts inside a window is tried
// each morning until its validity ends, and then recorded and counted as
// expired.
func TestATextThatNeverGoesInItsValidityExpires(t *testing.T) {
	pb := quiet()
	pb.Onboarding.Steps = []playbook.Step{{Name: "ask", Day: 1, SMS: "onboarding_nudge", Class: playbook.ClassMarketing}}
	h := newHarness(t, pb)
	reg := metered(h)
	heldQueue(h, 12*time.Hour) // longer than any window
	h.event(0, "e-signup", signals.SignedUp, signup("+15551234567"))
	st := h.run(10 * day)
	require.NoError(t, reg.Close())

	assert.Empty(t, textsSent(t, h))
	tries := h.sentAt("SendSMS", "onboarding.ask")
	assert.GreaterOrEqual(t, len(tries), 7, "one try a morning for 7 days: %v", tries)
	assert.LessOrEqual(t, len(tries), 8, "%v", tries)
	assert.True(t, timelineHas(st, workflows.KindSkip, "onboarding.ask: onboarding_nudge sms not deferred"))
	assert.True(t, timelineHas(st, workflows.KindSkip, "expired, it could not go by"))
	assert.Empty(t, st.Delivery.Pending)
	m := metricstest.Scrape(t, reg.HTTPHandler())
	assert.Equal(t, 1.0, m.Value("journeys_messages_suppressed_total", map[string]string{"channel": "sms", "class": "marketing", "reason": workflows.SkipExpired}))
	assert.Equal(t, float64(len(tries)), m.Value("journeys_messages_deferred_total", map[string]string{"channel": "sms", "reason": workflows.DeferWindowClosed}))
}
