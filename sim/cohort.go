package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// Behaviour is how a cohort's generated customers behave. Rates are
// probabilities; "per month" rates are spread over the days of a 30-day
// month as a constant daily hazard.
type Behaviour struct {
	// Activation is the share of customers who reach the three activation
	// milestones in their first week.
	Activation float64 `json:"activation"`
	// LoginEveryDays is the mean number of days between logins of an
	// active customer; a customer who did not activate logs in a third as
	// often for a month, then a tenth as often.
	LoginEveryDays float64 `json:"login_every_days"`
	// PaymentFailure is the chance per month that a payment fails, and
	// Recovery the chance that a failed payment is paid within the dunning
	// grace; an unrecovered one ends the subscription two weeks after the
	// suspension.
	PaymentFailure float64 `json:"payment_failure"`
	Recovery       float64 `json:"recovery"`
	// Cancellation is the chance per month that a customer asks to cancel
	// (twice that for one who never activated), and Save the chance that
	// they withdraw the request; otherwise the subscription ends 1-4 weeks
	// later.
	Cancellation float64 `json:"cancellation"`
	Save         float64 `json:"save"`
	// Reactivation is the chance that a churned customer comes back within
	// the win-back window.
	Reactivation float64 `json:"reactivation"`
	// NPSResponse is the chance that a customer answers an NPS survey.
	NPSResponse float64 `json:"nps_response"`
}

// DefaultBehaviour is a plausible B2B SaaS cohort.
func DefaultBehaviour() Behaviour {
	return Behaviour{
		Activation: 0.7, LoginEveryDays: 2, PaymentFailure: 0.03, Recovery: 0.6,
		Cancellation: 0.02, Save: 0.3, Reactivation: 0.15, NPSResponse: 0.3,
	}
}

// Validate checks that rates are probabilities and logins happen.
func (b Behaviour) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"activation", b.Activation}, {"payment failure", b.PaymentFailure}, {"recovery", b.Recovery},
		{"cancellation", b.Cancellation}, {"save", b.Save}, {"reactivation", b.Reactivation}, {"NPS response", b.NPSResponse},
	} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return fmt.Errorf("the %s rate must be between 0 and 1, got %v", r.name, r.v)
		}
	}
	if !(b.LoginEveryDays >= 1) || math.IsInf(b.LoginEveryDays, 0) {
		return fmt.Errorf("the mean days between logins must be 1 or more, got %v", b.LoginEveryDays)
	}
	return nil
}

// CohortOptions is what RunCohort simulates.
type CohortOptions struct {
	Customers int
	// Years is how long the cohort is followed from Start, in journey days
	// of 365 per year; customers sign up over its first SignupDays.
	Years      float64
	Seed       uint64
	Playbook   playbook.Playbook
	Start      time.Time
	Behaviour  Behaviour
	SignupDays int
	// Workers run customers in parallel; 0 is runtime.GOMAXPROCS(0).
	Workers int `json:"-"`
	// Batch, with RunBatch, runs the customers in batches of Batch, one
	// after the other, each by RunBatch: the starter runs each in a child
	// process, so that memory stays bounded (see RunCohort). 0 runs them
	// all here.
	Batch int `json:"-"`
	// RunBatch runs customers [first, first+n) of the cohort and returns
	// their results, in order, as RunCohortBatch does.
	RunBatch func(ctx context.Context, o CohortOptions, first, n int) ([]CustomerResult, error) `json:"-"`
}

// DefaultSignupDays spreads a cohort's signups over its first four weeks.
const DefaultSignupDays = 28

// Stages a cohort report counts customers in, in chart order.
var cohortStages = []workflows.Stage{
	workflows.StageOnboarding, workflows.StageAdoption, workflows.StageRenewal,
	workflows.StageCancelling, workflows.StageChurned,
}

// CohortReport sums a cohort up. Per-customer figures divide by the
// customers; per-customer-year figures by the journey time simulated
// (from each signup to the end).
type CohortReport struct {
	Customers     int       `json:"customers"`
	Years         float64   `json:"years"`
	Seed          uint64    `json:"seed"`
	Playbook      string    `json:"playbook"`
	Behaviour     Behaviour `json:"behaviour"`
	CustomerYears float64   `json:"customer_years"`
	// Messages counts what the customers received by channel (email, sms)
	// and by class (transactional, lifecycle, marketing: the class the journey gave the send).
	Messages        map[string]int `json:"messages"`
	MessagesByClass map[string]int `json:"messages_by_class"`
	// Suppressed counts sends the journey decided against because of their
	// class (marketing during dunning).
	Suppressed int `json:"suppressed"`
	// The delivery policies' decisions (playbook.Delivery): sends deferred
	// by quiet hours and by a frequency cap, dropped by a cap, held out,
	// sent on the other channel, and steps ended by their goal.
	DeferredQuietHours int `json:"deferred_quiet_hours"`
	DeferredCap        int `json:"deferred_cap"`
	DroppedCap         int `json:"dropped_cap"`
	HeldOut            int `json:"held_out"`
	FellBack           int `json:"fell_back"`
	GoalExits          int `json:"goal_exits"`
	Alerts             int `json:"csm_alerts"`
	Escalations        int `json:"escalations"`
	// Lifecycle outcomes, from the journeys' counters.
	Dunnings      int `json:"dunnings"`
	Recovered     int `json:"dunnings_recovered"`
	Suspensions   int `json:"suspensions"`
	Cancellations int `json:"cancellation_requests"`
	Saves         int `json:"saves"`
	Churns        int `json:"churns"`
	Reactivations int `json:"reactivations"`
	Renewals      int `json:"renewals"`
	NPSResponses  int `json:"nps_responses"`
	// Completed counts journeys that ended on their own (the win-back ran
	// out) before the end of the cohort.
	Completed int `json:"completed"`
	Events    int `json:"events_sent"`
	Runs      int `json:"runs"`
	// HistoryBound is an upper bound on the history events of all runs
	// (see runStats.historyBound in the workflow tests).
	HistoryBound int `json:"history_bound"`
	// FinalStages counts the customers by stage at the end.
	FinalStages map[workflows.Stage]int `json:"final_stages"`
	// Weekly counts the customers signed up by stage at the start of each
	// week from Start.
	Weekly []WeekSample `json:"weekly"`
	// Elapsed is the wall-clock run time.
	Elapsed time.Duration `json:"elapsed_ns"`
	Workers int           `json:"workers"`
}

// WeekSample is the cohort at one moment.
type WeekSample struct {
	Week   int                     `json:"week"`
	Stages map[workflows.Stage]int `json:"stages"`
}

// PerCustomer divides n by the customers.
func (r CohortReport) PerCustomer(n int) float64 { return ratio(float64(n), float64(r.Customers)) }

// PerCustomerYear divides n by the customer-years simulated.
func (r CohortReport) PerCustomerYear(n int) float64 { return ratio(float64(n), r.CustomerYears) }

// Rate is the customer-years simulated per second of wall-clock time.
func (r CohortReport) Rate() float64 { return ratio(r.CustomerYears, r.Elapsed.Seconds()) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// RunCohort simulates o.Customers generated customers, each through the
// real journey in its own test environment, on o.Workers goroutines. The
// report depends on the options only, not on the scheduling: each
// customer's behaviour comes from a generator seeded by (Seed, index), and
// the results are summed in index order.
func RunCohort(ctx context.Context, o CohortOptions) (CohortReport, error) {
	if err := o.check(); err != nil {
		return CohortReport{}, fmt.Errorf("cohort: %w", err)
	}
	began := time.Now()
	var results []CustomerResult
	var err error
	if o.Batch > 0 && o.RunBatch != nil && o.Customers > o.Batch {
		results = make([]CustomerResult, 0, o.Customers)
		for first := 0; first < o.Customers && err == nil; first += o.Batch {
			var part []CustomerResult
			n := min(o.Batch, o.Customers-first)
			if part, err = o.RunBatch(ctx, o, first, n); err == nil && len(part) != n {
				err = fmt.Errorf("batch of customers %d to %d returned %d results", first, first+n-1, len(part))
			}
			results = append(results, part...)
		}
	} else {
		results, err = RunCohortBatch(ctx, o, 0, o.Customers)
	}
	if err != nil {
		return CohortReport{}, err
	}
	rep := o.sum(results)
	rep.Elapsed, rep.Workers = time.Since(began), o.workers()
	return rep, nil
}

func (o CohortOptions) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// RunCohortBatch simulates customers [first, first+n) of the cohort o in
// this process, on o's workers, and returns their results in order. The
// same customer gives the same result in any batch: each draws from the
// seed and its own index.
func RunCohortBatch(ctx context.Context, o CohortOptions, first, n int) ([]CustomerResult, error) {
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("cohort: %w", err)
	}
	if first < 0 || n < 0 || first+n > o.Customers {
		return nil, fmt.Errorf("cohort: customers %d to %d are not in a cohort of %d", first, first+n-1, o.Customers)
	}
	// Each simulated journey allocates fast, and a cohort is a batch, so it
	// trades memory for less time in the collector while it runs. Not more:
	// the SDK's test environment keeps a wall-clock timer, and with it the
	// whole environment, for a journey timer set while activities ran (one
	// canceled later is never stopped), so memory grows with each customer.
	// Batches in child processes (Batch) bound it.
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	results := make([]CustomerResult, n)
	journeys := workflows.NewJourneys(o.Playbook) // one playbook fingerprint for all
	next := make(chan int)
	var wg sync.WaitGroup
	for range o.workers() {
		wg.Go(func() {
			for i := range next {
				res, err := o.runCustomer(ctx, journeys, first+i)
				if err != nil {
					cancel(fmt.Errorf("customer %d: %w", first+i, err))
					continue
				}
				results[i] = res
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("cohort: %w", err)
	}
	return results, nil
}

func (o CohortOptions) check() error {
	switch {
	case o.Customers < 1:
		return fmt.Errorf("want at least one customer, got %d", o.Customers)
	case !(o.Years > 0) || o.Years*365 > MaxDays:
		return fmt.Errorf("want a number of years above 0 and at most %d days, got %v", MaxDays, o.Years)
	case o.Start.IsZero():
		return errors.New("no start time")
	case o.SignupDays < 0:
		return fmt.Errorf("signup days must not be negative, got %d", o.SignupDays)
	}
	if err := o.Behaviour.Validate(); err != nil {
		return err
	}
	return o.Playbook.Validate()
}

// days is the cohort's length in journey days.
func (o CohortOptions) days() float64 { return o.Years * 365 }

// weeks is the number of weekly samples: week 0 to the last full week.
func (o CohortOptions) weeks() int { return int(o.days()/7) + 1 }

// CustomerResult is what one simulated customer adds to the report. It
// travels as JSON from a batch run in a child process (CohortOptions.RunBatch).
type CustomerResult struct {
	Signup time.Duration `json:"signup"` // from the cohort's start
	Days   float64       `json:"days"`   // journey days simulated
	// Counters are the journey's final counters: keeping the whole state
	// (its timeline, remembered event IDs...) cost about 1 MB a customer.
	Counters workflows.Counters `json:"counters"`
	Done     bool               `json:"done"`
	Events   int                `json:"events"`
	Runs     int                `json:"runs"`
	History  int                `json:"history"`
	// TimersFired and Activities count what woke the journey besides its
	// events: with Events, its workflow tasks.
	TimersFired int             `json:"timers_fired"`
	Activities  int             `json:"activities"`
	Sends       map[string]int  `json:"sends"` // by channel
	ByClass     map[string]int  `json:"by_class"`
	Alerts      int             `json:"alerts"`
	Changes     []StageChange   `json:"changes"`
	FinalStg    workflows.Stage `json:"final_stage"`
}

// StageChange is a stage the customer entered, at an offset from the
// cohort's start.
type StageChange struct {
	At    time.Duration   `json:"at"`
	Stage workflows.Stage `json:"stage"`
}

// customerPlan is a generated customer: when they sign up, for how long
// they are followed, and their events.
type customerPlan struct {
	signup     time.Duration // from the cohort's start
	days       float64       // journey days followed
	start, end time.Time
	profile    Profile
	planned    []Planned
}

// plan generates customer i from the seed and the index alone.
func (o CohortOptions) plan(i int) (customerPlan, error) {
	rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
	signupDay := 0.0
	if o.SignupDays > 0 {
		signupDay = float64(rng.IntN(o.SignupDays)) + 0.1*rng.Float64()
	}
	p := customerPlan{signup: time.Duration(signupDay * float64(o.Playbook.DayLength.D()))}
	p.profile = cohortProfile(rng, i)
	p.days = o.days() - signupDay
	script := o.Behaviour.script(rng, p.days)
	p.start = o.Start.Add(p.signup)
	var err error
	if p.planned, p.end, err = script.Events(p.profile, o.Playbook, p.start); err != nil {
		return customerPlan{}, fmt.Errorf("build the events: %w", err)
	}
	return p, nil
}

// Customer is customer i's profile, events and end, as the simulation
// plays them: for playing the same customer on a real server.
func (o CohortOptions) Customer(i int) (Profile, []Planned, time.Time, error) {
	p, err := o.plan(i)
	if err != nil {
		return Profile{}, nil, time.Time{}, err
	}
	return p.profile, p.planned, p.end, nil
}

// runCustomer simulates customer i.
func (o CohortOptions) runCustomer(ctx context.Context, journeys *workflows.Journeys, i int) (CustomerResult, error) {
	p, err := o.plan(i)
	if err != nil {
		return CustomerResult{}, err
	}
	col := &collector{origin: p.signup, sends: map[string]int{}, byClass: map[string]int{}}
	eng := NewEngine(EngineConfig{
		Journeys:   journeys,
		Activities: &countingActivities{col: col},
		CustomerID: p.profile.CustomerID,
		Origin:     p.start,
		Logger:     discardLogger,
		OnRun:      col.onRun,
	})
	stop := func() {
		if ctx.Err() != nil {
			eng.Env().CancelWorkflow()
		}
	}
	for _, ev := range p.planned {
		eng.Signal(ev.Event.OccurredAt.Sub(p.start), ev.Event)
	}
	// Only a cancellation check every 30 days: no state reads, which would
	// cost more than the journey (the stages come from the CRM records).
	for d := o.Playbook.Day(30); d < p.end.Sub(p.start); d += o.Playbook.Day(30) {
		eng.At(d, stop)
	}
	out, err := eng.Run(p.end.Sub(p.start))
	if ctxErr := ctx.Err(); ctxErr != nil {
		return CustomerResult{}, ctxErr
	}
	if err != nil {
		return CustomerResult{}, err
	}
	res := CustomerResult{
		Signup: p.signup, Days: p.days, Counters: out.State.Counters, Done: out.Result != nil,
		Sends: col.sends, ByClass: col.byClass, Alerts: col.alerts, Changes: col.changes,
		FinalStg: out.State.Stage,
	}
	for _, run := range col.runs {
		res.Events += run.Signals
		res.History += run.historyBound()
		res.TimersFired += run.timersFired
		res.Activities += run.activities
	}
	res.Runs = len(col.runs)
	return res, nil
}

// discardLogger silences the test environments, which log every timer.
var discardLogger = sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))

// runStats counts what a run's history holds, as the workflow tests'
// harness does (workflows/journey_test.go).
type runStats struct {
	*RunInfo
	timersStarted, timersFired, timersCanceled, activities int
}

// historyBound is an upper bound on the events of the run's history, the
// workflow tests' runStats.historyBound without updates (a cohort sends
// none): the start, every signal with its own workflow task, every timer
// started and fired or canceled, every activity scheduled, started and
// completed with its own workflow task, and at every workflow task a
// search-attribute upsert and a marker, plus the closing event. The test
// environment keeps no history to count.
func (s runStats) historyBound() int {
	const task = 3 // scheduled, started, completed
	tasks := 1 + s.Signals + s.timersFired + s.activities
	return 1 + s.Signals + s.timersStarted + s.timersFired + s.timersCanceled +
		s.activities*3 + tasks*(task+2) + 1
}

// collector gathers one customer's counts. Activities may run on their own
// goroutines, hence the lock.
type collector struct {
	mu      sync.Mutex
	origin  time.Duration // the signup, from the cohort's start
	runs    []*runStats
	sends   map[string]int
	byClass map[string]int
	alerts  int
	changes []StageChange
}

func (c *collector) onRun(env *testsuite.TestWorkflowEnvironment, run *RunInfo) {
	rs := &runStats{RunInfo: run}
	c.runs = append(c.runs, rs)
	start := env.Now()
	env.SetOnTimerScheduledListener(func(string, time.Duration) { rs.timersStarted++ })
	env.SetOnTimerFiredListener(func(string) { rs.timersFired++ })
	env.SetOnTimerCanceledListener(func(string) { rs.timersCanceled++ })
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		c.mu.Lock()
		defer c.mu.Unlock()
		rs.activities++
		if info.ActivityType.Name != "UpdateCRM" {
			return
		}
		// The journey records every stage change in the CRM, at the
		// moment of the change: the stages over time, without reading
		// the state.
		var in struct {
			Update struct {
				Properties map[string]string `json:"properties"`
			} `json:"update"`
		}
		if args.Get(&in) != nil {
			return
		}
		if stg := in.Update.Properties["lifecycle_stage"]; stg != "" {
			at := c.origin + run.From + env.Now().Sub(start)
			if n := len(c.changes); n == 0 || c.changes[n-1].Stage != workflows.Stage(stg) {
				c.changes = append(c.changes, StageChange{At: at, Stage: workflows.Stage(stg)})
			}
		}
	})
}

// countingActivities stand in for activities.Activities, under the same
// names: the cohort needs how many messages of which kind went, not the
// messages, so nothing is rendered or written. Their inputs are decoded
// only as far as the class.
type countingActivities struct{ col *collector }

// sendMeta is the part of a send's input the count needs: its class, as
// the journey gave it (messages.Meta.Class).
type sendMeta struct {
	Class string `json:"class"`
}

func (a *countingActivities) count(ch messages.Channel, class string) (activities.Result, error) {
	a.col.mu.Lock()
	defer a.col.mu.Unlock()
	switch ch {
	case messages.ChannelEmail, messages.ChannelSMS:
		a.col.sends[string(ch)]++
		if class == "" {
			class = "unclassified" // a send the journey gave no class: the report shows it
		}
		a.col.byClass[class]++
	case messages.ChannelAlert:
		a.col.alerts++
	}
	return activities.Result{Summary: "counted"}, nil
}

func (a *countingActivities) SendEmail(_ context.Context, in sendMeta) (activities.Result, error) {
	return a.count(messages.ChannelEmail, in.Class)
}

func (a *countingActivities) SendSMS(_ context.Context, in sendMeta) (activities.Result, error) {
	return a.count(messages.ChannelSMS, in.Class)
}

func (a *countingActivities) AlertCSM(_ context.Context, in sendMeta) (activities.Result, error) {
	return a.count(messages.ChannelAlert, in.Class)
}

// UpdateCRM counts nothing: the collector reads the stage changes from its
// input as the activity starts. It, SuspendAccount and RestoreAccount take
// no parameter for their input, so that the SDK does not decode it.
func (a *countingActivities) UpdateCRM(context.Context) (activities.Result, error) {
	return activities.Result{Summary: "counted"}, nil
}

func (a *countingActivities) SuspendAccount(context.Context) (activities.Result, error) {
	return activities.Result{Summary: "counted"}, nil
}

func (a *countingActivities) RestoreAccount(context.Context) (activities.Result, error) {
	return activities.Result{Summary: "counted"}, nil
}

// sum adds the customers up in index order.
func (o CohortOptions) sum(results []CustomerResult) CohortReport {
	rep := CohortReport{
		Customers: o.Customers, Years: o.Years, Seed: o.Seed, Playbook: o.Playbook.Name, Behaviour: o.Behaviour,
		Messages: map[string]int{}, MessagesByClass: map[string]int{}, FinalStages: map[workflows.Stage]int{},
	}
	for _, ch := range []messages.Channel{messages.ChannelEmail, messages.ChannelSMS} {
		rep.Messages[string(ch)] = 0
	}
	for _, c := range playbook.Classes {
		rep.MessagesByClass[c] = 0
	}
	week := o.Playbook.Day(7)
	rep.Weekly = make([]WeekSample, o.weeks())
	for w := range rep.Weekly {
		rep.Weekly[w] = WeekSample{Week: w, Stages: map[workflows.Stage]int{}}
	}
	for _, r := range results {
		rep.CustomerYears += r.Days / 365
		for k, v := range r.Sends {
			rep.Messages[k] += v
		}
		for k, v := range r.ByClass {
			rep.MessagesByClass[k] += v
		}
		c := r.Counters
		rep.Alerts += r.Alerts
		rep.Escalations += c.Escalations
		rep.Suppressed += c.SendsSuppressed
		rep.DeferredQuietHours += c.DeferredQuietHours
		rep.DeferredCap += c.DeferredCap
		rep.DroppedCap += c.DroppedCap
		rep.HeldOut += c.HeldOut
		rep.FellBack += c.FellBack
		rep.GoalExits += c.GoalExits
		rep.Dunnings += c.Dunnings
		rep.Recovered += c.DunningRecovered
		rep.Suspensions += c.Suspensions
		rep.Cancellations += c.Cancellations
		rep.Saves += c.Saves
		rep.Churns += c.Churns
		rep.Reactivations += c.Reactivations
		rep.Renewals += c.Renewals
		rep.NPSResponses += c.NPSResponses
		rep.Events += r.Events
		rep.Runs += r.Runs
		rep.HistoryBound += r.History
		rep.FinalStages[r.FinalStg]++
		if r.Done {
			rep.Completed++
		}
		// The stage at each week's start is the last one entered by then.
		k := 0
		for w := range rep.Weekly {
			at := time.Duration(w) * week
			for k < len(r.Changes) && r.Changes[k].At <= at {
				k++
			}
			if k > 0 {
				rep.Weekly[w].Stages[r.Changes[k-1].Stage]++
			}
		}
	}
	return rep
}

// cohortPlans are the plans customers pick from; business is high-value
// on the default playbook (its alerts and CSM steps show).
var cohortPlans = []struct {
	name  string
	seats int
	mrr   int64
	share float64
}{
	{"starter", 3, 4900, 0.5},
	{"pro", 10, 49900, 0.35},
	{"business", 40, 250000, 0.15},
}

var cohortZones = []string{
	"America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London",
	"Europe/Lisbon", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney",
}

// cohortProfile is customer i: a plan, a time zone, a phone for most and
// consent to texts for some.
func cohortProfile(rng *rand.Rand, i int) Profile {
	id := "cohort-" + strconv.Itoa(i+1)
	p := Profile{
		CustomerID: id, Name: "Customer " + strconv.Itoa(i+1), Email: id + "@example.com",
		Currency: "USD", Timezone: cohortZones[rng.IntN(len(cohortZones))],
		CSM: "U0CSM" + strconv.Itoa(1+rng.IntN(5)),
	}
	x := rng.Float64()
	for _, pl := range cohortPlans {
		p.Plan, p.Seats, p.MRR = pl.name, pl.seats, pl.mrr
		if x -= pl.share; x < 0 {
			break
		}
	}
	if rng.Float64() < 0.7 {
		p.Phone = fmt.Sprintf("+1555%07d", rng.IntN(10_000_000))
		p.SMSConsent = rng.Float64() < 0.6
	}
	return p
}

// cancelReasons are the cancellation reasons, the first three with a save
// offer on the default playbook.
var cancelReasons = []string{"price", "missing_feature", "not_using", "switching", "other"}

// script generates a customer's events over days journey days from the
// signup, day by day: at most one login a day (the edge coalesces a day's
// logins), a usage snapshot a month, and the lifecycle's events as their
// rates draw them.
func (b Behaviour) script(rng *rand.Rand, days float64) Script {
	g := &scripter{b: b, rng: rng, days: days, winBackUntil: -1}
	end := When{Day: days}
	g.s.End = &end
	g.signup()
	for d := 0; float64(d) < days; d++ {
		g.day(d)
	}
	return g.s
}

// scripter is a customer's script as it is written, and the customer's
// state as the days go by. Its methods draw from rng in one fixed order,
// so a seed always gives the same script.
type scripter struct {
	b    Behaviour
	rng  *rand.Rand
	days float64
	s    Script

	// Drawn at signup.
	activated   bool
	annual      bool
	baseActions int
	cancelDaily float64 // the chance of a cancellation request a day

	churned      bool
	busyUntil    float64 // a cancellation or dunning in progress: no new one
	winBackUntil float64 // the day a churned customer comes back, or -1
}

// add appends an event on day, rounded to the millisecond of a day, unless
// it falls outside the script.
func (g *scripter) add(day float64, typ signals.Type, arg string, fields ...Field) {
	day = math.Round(day*1000) / 1000
	if day >= g.days || day < 0 {
		return
	}
	// The line number makes the event's ID: each must be its own, or
	// the journey drops the rest as redeliveries.
	l := Line{Num: len(g.s.Lines) + 1, When: When{Day: day}, Type: typ, Fields: fields}
	if arg != "" {
		l.Arg = &Value{Text: arg}
	}
	g.s.Lines = append(g.s.Lines, l)
}

// intField is a script field of an integer value.
func intField(k string, v int) Field { return Field{Key: k, Value: Value{Text: strconv.Itoa(v)}} }

// signup draws who the customer is: activated (its onboarding milestones
// in the first week) or not, on an annual plan or monthly, how much it
// uses the product, and how likely it is to cancel.
func (g *scripter) signup() {
	g.activated = g.rng.Float64() < g.b.Activation
	if g.activated {
		for _, m := range []string{"first_project", "invited_teammate", "connected_integration"} {
			g.add(0.05+g.rng.Float64()*6, signals.MilestoneReached, m)
		}
	} else if g.rng.Float64() < 0.5 {
		g.add(g.rng.Float64()*5, signals.MilestoneReached, "first_project")
	}
	g.annual = g.rng.Float64() < 0.4
	if g.annual {
		g.add(30.2, signals.RenewalScheduled, "")
	}
	g.baseActions = 40 + g.rng.IntN(200)
	g.cancelDaily = 1 - math.Pow(1-g.b.Cancellation, 1.0/30)
	if !g.activated {
		g.cancelDaily = 1 - math.Pow(1-min(1, 2*g.b.Cancellation), 1.0/30)
	}
}

// day writes day d's events: a churned customer's only one is its
// reactivation; the others use the product and renew, and start a dunning
// or a cancellation unless one is in progress.
func (g *scripter) day(d int) {
	day := float64(d)
	if g.churned {
		if g.winBackUntil >= 0 && day == g.winBackUntil {
			g.add(day+0.4, signals.Reactivated, "")
			g.churned, g.winBackUntil, g.busyUntil = false, -1, day+1
		}
		return
	}
	g.usage(d)
	if g.annual && d == 365 && day > g.busyUntil {
		g.add(day+0.1, signals.PaymentSucceeded, "")
		g.add(day+1.1, signals.RenewalScheduled, "")
	}
	if day <= g.busyUntil {
		return
	}
	if d > 0 && d%30 == 0 && g.rng.Float64() < g.b.PaymentFailure {
		g.dunning(day)
		return
	}
	if g.rng.Float64() < g.cancelDaily {
		g.cancellation(day)
	}
}

// usage writes day d's login, monthly usage snapshot and quarterly NPS
// response, each as the customer's activation makes it likely.
func (g *scripter) usage(d int) {
	day := float64(d)
	// Logins: at most one a day, at a daytime hour of the journey day.
	rate := 1 / g.b.LoginEveryDays
	switch {
	case !g.activated && d < 30:
		rate /= 3
	case !g.activated:
		rate /= 10
	}
	if d > 0 && g.rng.Float64() < rate {
		g.add(day+0.3+0.3*g.rng.Float64(), signals.Login, "")
	}
	if d > 0 && d%30 == 14 && g.activated {
		actions := max(1, int(float64(g.baseActions)*(0.6+0.8*g.rng.Float64())))
		g.add(day+0.7, signals.UsageSnapshot, "", intField("key_actions", actions), intField("active_users", 1+g.rng.IntN(5)))
	}
	if d >= 30 && (d-30)%90 == 0 && g.rng.Float64() < g.b.NPSResponse {
		score := g.rng.IntN(11)
		if g.activated {
			score = 5 + g.rng.IntN(6)
		}
		g.add(day+1.5+g.rng.Float64(), signals.NPSResponse, strconv.Itoa(score))
	}
}

// dunning writes a monthly payment failing on day and what follows: paid
// within the grace, or a suspension and a churn.
func (g *scripter) dunning(day float64) {
	g.add(day+0.25, signals.PaymentFailed, "")
	if g.rng.Float64() < g.b.Recovery {
		// Paid within the dunning's 10-day grace.
		paid := day + 0.5 + g.rng.Float64()*9
		g.add(paid, signals.PaymentSucceeded, "")
		g.busyUntil = paid
		return
	}
	// Suspended on day 10; the subscription ends two weeks on.
	at := day + 24.5
	g.add(at, signals.SubscriptionCanceled, "")
	if at < g.days {
		g.churned, g.winBackUntil = true, g.b.reactivation(g.rng, at)
	}
	g.busyUntil = at
}

// cancellation writes a cancellation requested on day and how it ends:
// withdrawn when saved, else a churn.
func (g *scripter) cancellation(day float64) {
	at := day + 0.45
	g.add(at, signals.CancellationRequested, cancelReasons[g.rng.IntN(len(cancelReasons))])
	if g.rng.Float64() < g.b.Save {
		g.busyUntil = at + 1 + g.rng.Float64()*6
		g.add(g.busyUntil, signals.CancellationWithdrawn, "")
		return
	}
	endAt := at + 7 + g.rng.Float64()*21
	g.add(endAt, signals.SubscriptionCanceled, "")
	g.busyUntil = endAt
	if endAt < g.days {
		g.churned, g.winBackUntil = true, g.b.reactivation(g.rng, endAt)
	}
}

// reactivation is the day a customer churned on day churn comes back, or
// -1: within the win-back's first 110 days, so before it runs out.
func (b Behaviour) reactivation(rng *rand.Rand, churn float64) float64 {
	if rng.Float64() >= b.Reactivation {
		return -1
	}
	return math.Ceil(churn) + float64(20+rng.IntN(90))
}

// WriteText prints the report for people.
func (r CohortReport) WriteText(w io.Writer) error {
	var b strings.Builder
	pc := r.PerCustomer
	fmt.Fprintf(&b, "cohort       %d customers followed for %g years from the first signup, seed %d, playbook %s\n", r.Customers, r.Years, r.Seed, r.Playbook)
	fmt.Fprintf(&b, "behaviour    activation %.2f, a login every %g days, payment failure %.3f/month (recovery %.2f), cancellation %.3f/month (save %.2f), reactivation %.2f, NPS response %.2f\n",
		r.Behaviour.Activation, r.Behaviour.LoginEveryDays, r.Behaviour.PaymentFailure, r.Behaviour.Recovery,
		r.Behaviour.Cancellation, r.Behaviour.Save, r.Behaviour.Reactivation, r.Behaviour.NPSResponse)
	fmt.Fprintf(&b, "simulated    %.1f customer-years, %d events, %d runs\n", r.CustomerYears, r.Events, r.Runs)
	fmt.Fprintf(&b, "messages     %.2f per customer: %.2f email, %.2f sms\n",
		pc(r.Messages["email"]+r.Messages["sms"]), pc(r.Messages["email"]), pc(r.Messages["sms"]))
	fmt.Fprintf(&b, "  by class   %.2f transactional, %.2f lifecycle, %.2f marketing per customer\n",
		pc(r.MessagesByClass[playbook.ClassTransactional]), pc(r.MessagesByClass[playbook.ClassLifecycle]), pc(r.MessagesByClass[playbook.ClassMarketing]))
	fmt.Fprintf(&b, "suppressed   %d (%.2f per customer; marketing during dunning); %d held out\n",
		r.Suppressed, pc(r.Suppressed), r.HeldOut)
	fmt.Fprintf(&b, "deferred     %d by quiet hours, %d by frequency caps (%.2f per customer); %d dropped by caps\n",
		r.DeferredQuietHours, r.DeferredCap, pc(r.DeferredQuietHours+r.DeferredCap), r.DroppedCap)
	fmt.Fprintf(&b, "fallback     %d sent on the other channel; %d sequences ended by their goal\n", r.FellBack, r.GoalExits)
	fmt.Fprintf(&b, "CSM alerts   %.1f per 100 customers, %.1f escalations per 100\n", 100*pc(r.Alerts), 100*pc(r.Escalations))
	fmt.Fprintf(&b, "dunning      %d started, %d recovered, %d suspended\n", r.Dunnings, r.Recovered, r.Suspensions)
	fmt.Fprintf(&b, "cancelling   %d requests, %d saved (withdrawn), %d churns, %d win-backs (reactivated), %d journeys completed\n",
		r.Cancellations, r.Saves, r.Churns, r.Reactivations, r.Completed)
	fmt.Fprintf(&b, "renewals     %d paid; NPS responses %d\n", r.Renewals, r.NPSResponses)
	var final []string
	for _, s := range append([]workflows.Stage{workflows.StageNew}, cohortStages...) {
		if n := r.FinalStages[s]; n > 0 {
			final = append(final, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(&b, "final stage  %s\n", strings.Join(final, ", "))
	fmt.Fprintf(&b, "history      ≤ %.0f events per customer-year (upper bound: signals, timers, activities and per-task marker and upsert)\n",
		r.PerCustomerYear(r.HistoryBound))
	fmt.Fprintf(&b, "run time     %s on %d workers: %.1f customer-years/s\n", r.Elapsed.Round(time.Millisecond), r.Workers, r.Rate())
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}
