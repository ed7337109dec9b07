package workflows

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// Journeys runs CustomerJourney with the worker's playbook. Make one with
// NewJourneys and register its CustomerJourney method with
// RegisterOptions. A zero Journeys runs the default playbook.
type Journeys struct {
	// cur is the playbook journeys get, with its fingerprint computed once
	// rather than at every workflow task of every journey.
	cur atomic.Pointer[fingerprinted]
	// lookupKey keys PhoneHash; nil sets no SearchPhone.
	lookupKey []byte
}

type fingerprinted struct {
	pb playbook.Playbook
	fp string
}

// NewJourneys runs journeys on pb.
func NewJourneys(pb playbook.Playbook) *Journeys {
	j := &Journeys{}
	j.SetPlaybook(pb)
	return j
}

// SetPlaybook gives running journeys pb from their next wake-up on. A
// journey reads the playbook at each wake-up through a side effect, so a
// changed playbook is recorded in its history and replays deterministically.
func (j *Journeys) SetPlaybook(pb playbook.Playbook) {
	j.cur.Store(&fingerprinted{pb: pb, fp: pb.Fingerprint()})
}

// SetLookupKey makes journeys set SearchPhone, PhoneHash of the customer's
// phone under key, so the Twilio inbound webhook can find them. Call it
// before the worker starts. The edge must hash with the same key; a
// changed key reaches each journey at its next run.
func (j *Journeys) SetLookupKey(key []byte) { j.lookupKey = append([]byte(nil), key...) }

// Playbook is the playbook journeys get now.
func (j *Journeys) Playbook() playbook.Playbook { return j.current().pb }

func (j *Journeys) current() *fingerprinted {
	if cur := j.cur.Load(); cur != nil {
		return cur
	}
	j.cur.CompareAndSwap(nil, &fingerprinted{pb: playbook.Default(), fp: playbook.Default().Fingerprint()})
	return j.cur.Load()
}

// CustomerJourney is one customer's whole lifecycle. It is started by
// signal-with-start from the customer's signed_up event and then sleeps on
// timers and wakes on events (signals.SignalName) for as long as the customer
// exists, continuing as new when Temporal suggests it.
func (j *Journeys) CustomerJourney(ctx workflow.Context, in Input) (Result, error) {
	r := &journey{owner: j, ctx: ctx, seen: map[string]bool{}}
	if err := r.setup(in); err != nil {
		return Result{}, err
	}
	return r.run()
}

// journey is one run of CustomerJourney.
type journey struct {
	owner *Journeys
	ctx   workflow.Context
	log   log.Logger
	pb    playbook.Playbook
	// pbByFingerprint says this run reads the playbook by fingerprint
	// (versionPlaybookFingerprint); pbFingerprint is the fingerprint of pb.
	pbByFingerprint bool
	pbFingerprint   string
	// searchAttrs are the custom search attributes as last upserted, by
	// name; nil until read at the run's first task.
	searchAttrs map[string]any
	// attrsFrom is the state searchAttrs were last brought in line with
	// (attrsInLine), so that a task that changed none of it skips the
	// comparison.
	attrsFrom   attrSources
	attrsInLine bool
	// vendorQueues says this run schedules each channel's activities on
	// the channel's own task queue (versionVendorQueues).
	vendorQueues bool
	// policies says this run applies the delivery policies
	// (versionDelivery): caps, send windows, fallback, experiments, the
	// holdout and goals.
	policies bool
	// hashedPhone is the phone whose PhoneHash this run recorded, hashed.
	hashedPhone, phoneHash string
	st                     State

	events    workflow.ReceiveChannel
	seen      map[string]bool
	seenOrder []string
	// inflight counts activities started and not yet finished.
	inflight int
	// received counts the events this run has taken off the channel.
	received int

	timer       workflow.Future
	timerAt     time.Time
	cancelTimer workflow.CancelFunc

	// settled gets a value when the last activity in flight finishes, so a
	// run waiting to hand over or to end wakes for it.
	settled workflow.Channel
	// boundary is set by a stage change: the run hands over to a fresh one
	// once nothing is in flight.
	boundary bool
	// ending is set when the win-back ran out: the journey completes once
	// nothing is in flight.
	ending       bool
	lastStageWhy string
}

func (r *journey) setup(in Input) error {
	if in.CustomerID == "" {
		return temporal.NewNonRetryableApplicationError("journey input has no customer_id", "BadInput", nil)
	}
	r.log = log.With(workflow.GetLogger(r.ctx), "CustomerID", in.CustomerID)
	r.st = State{CustomerID: in.CustomerID, Stage: StageNew, Milestones: []string{}, StepsDone: []string{}, Timeline: []TimelineEntry{}, Alerts: []Alert{}}
	if in.Carry != nil {
		r.st = in.Carry.State
		for _, id := range in.Carry.SeenEventIDs {
			r.remember(id)
		}
	}
	r.events = workflow.GetSignalChannel(r.ctx, signals.SignalName)
	r.settled = workflow.NewBufferedChannel(r.ctx, 1)
	r.startLifecycle()
	r.pbByFingerprint = workflow.GetVersion(r.ctx, versionPlaybookFingerprint, workflow.DefaultVersion, 1) == 1
	r.vendorQueues = workflow.GetVersion(r.ctx, versionVendorQueues, workflow.DefaultVersion, 1) == 1
	r.policies = workflow.GetVersion(r.ctx, versionDelivery, workflow.DefaultVersion, 1) == 1 && r.lifecycleOn()
	// Registered before anything blocks, so the journey answers at once.
	if err := workflow.SetQueryHandler(r.ctx, QueryState, func() (State, error) { return r.st, nil }); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(r.ctx, UpdateAlertResponse, r.answerAlert,
		workflow.UpdateHandlerOptions{Validator: r.validateAlertResponse})
}

func (r *journey) run() (Result, error) {
	for {
		r.refreshPlaybook()
		r.advance()
		r.upsertSearchAttributes()
		if r.lifecycleOn() {
			// Ending and handing over wait until nothing is in flight, so no
			// send is lost or repeated; meanwhile the journey goes on.
			if r.ending && r.quiescent() {
				return r.finish()
			}
			if r.shouldContinueAsNew() && r.quiescent() {
				return Result{}, r.handOver()
			}
		}
		at, why := r.nextWake()
		r.armTimer(at, why)
		r.describe(why)

		canceled := false
		sel := workflow.NewSelector(r.ctx)
		if r.lifecycleOn() && r.inflight > 0 && (r.ending || r.shouldContinueAsNew()) {
			sel.AddReceive(r.settled, func(c workflow.ReceiveChannel, _ bool) { c.Receive(r.ctx, nil) })
		}
		sel.AddReceive(r.events, func(c workflow.ReceiveChannel, _ bool) { r.receive(c) })
		if r.timer != nil {
			sel.AddFuture(r.timer, func(f workflow.Future) {
				r.timer = nil
				_ = f.Get(r.ctx, nil) // fired; advance() acts on what is due
			})
		}
		sel.AddReceive(r.ctx.Done(), func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(r.ctx, nil)
			canceled = true
		})
		sel.Select(r.ctx)

		if canceled {
			r.log.Info("Journey canceled", "Stage", r.st.Stage)
			return Result{State: r.st}, r.ctx.Err()
		}
		if !r.lifecycleOn() && r.shouldContinueAsNew() {
			return Result{}, r.continueAsNew()
		}
	}
}

// versionPlaybookFingerprint guards how a run reads the worker's playbook:
// runs started before it record the whole playbook in a MutableSideEffect
// and compare it at every workflow task; runs after it compare only its
// fingerprint, and record the playbook itself when the fingerprint changes.
// Taken once per run, at setup.
const versionPlaybookFingerprint = "playbook-fingerprint"

// refreshPlaybook takes the worker's playbook, recorded in history when it
// differs from the last one recorded, so every decision replays with the
// playbook it was made under.
func (r *journey) refreshPlaybook() {
	if !r.pbByFingerprint {
		r.refreshWholePlaybook()
		return
	}
	// Comparing the whole playbook at every task took the SDK two JSON
	// decodes and this code three encodes of it: 45% of a simulated
	// journey's CPU. A fingerprint, computed once per playbook, is a short
	// string.
	cur := r.owner.current()
	opts := workflow.MutableSideEffectOptions{Summary: "read the worker's playbook fingerprint (recorded when it changes)"}
	v := workflow.MutableSideEffectWithOptions(r.ctx, "playbook-fingerprint", opts,
		func(workflow.Context) any { return cur.fp },
		func(a, b any) bool { return a.(string) == b.(string) })
	var fp string
	if err := v.Get(&fp); err != nil {
		r.log.Error("Cannot decode playbook fingerprint; keeping the playbook", "Error", err)
		return
	}
	if fp == r.pbFingerprint {
		return // unchanged since the last task of this run
	}
	// New in this run, or changed: record the playbook it stands for. A
	// replay returns the recorded one here, at the same tasks.
	pbv := workflow.SideEffect(r.ctx, func(workflow.Context) any { return cur.pb })
	var pb playbook.Playbook
	if err := pbv.Get(&pb); err != nil {
		r.log.Error("Cannot decode playbook; keeping the previous one", "Error", err)
		return
	}
	r.pbFingerprint = fp
	r.usePlaybook(pb, fp)
}

// refreshWholePlaybook is refreshPlaybook for runs started before
// versionPlaybookFingerprint: unchanged, so their histories replay.
func (r *journey) refreshWholePlaybook() {
	opts := workflow.MutableSideEffectOptions{Summary: "read the worker's playbook (recorded when it changes)"}
	v := workflow.MutableSideEffectWithOptions(r.ctx, "playbook", opts,
		func(workflow.Context) any { return r.owner.Playbook() },
		func(a, b any) bool { return playbook.Equal(a.(playbook.Playbook), b.(playbook.Playbook)) })
	var pb playbook.Playbook
	if err := v.Get(&pb); err != nil {
		// Keep the playbook we have; a journey never stops over config.
		r.log.Error("Cannot decode playbook; keeping the previous one", "Error", err)
		return
	}
	r.usePlaybook(pb, pb.Fingerprint())
}

// usePlaybook makes pb the journey's playbook and notes a change.
func (r *journey) usePlaybook(pb playbook.Playbook, fingerprint string) {
	version := pb.Name + "@" + fingerprint
	if r.st.Playbook != "" && r.st.Playbook != version {
		r.note(KindDecision, "playbook changed from %s to %s", r.st.Playbook, version)
	}
	r.pb, r.st.Playbook = pb, version
}

// advance does whatever the current stage and the open alerts have due now.
func (r *journey) advance() {
	if r.policies {
		r.assignDelivery()
		r.advanceDelivery() // messages deferred earlier go first
	}
	if r.st.Stage == StageOnboarding {
		r.advanceOnboarding()
	}
	if r.lifecycleOn() {
		r.advanceDunning() // alongside any stage
		r.advanceRenewal()
		switch r.st.Stage {
		case StageAdoption, StageRenewal:
			r.advanceAdoption()
		case StageChurned:
			r.advanceWinBack()
		}
		if r.active() {
			r.advanceNPS()
		}
		r.updateHealth()
	}
	r.advanceAlerts()
}

// nextWake is when the journey next needs to act without an event, and why;
// the zero time means it waits for events only.
func (r *journey) nextWake() (time.Time, string) {
	var at time.Time
	var why string
	consider := func(t time.Time, w string) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at, why = t, w
		}
	}
	if r.st.Stage == StageOnboarding {
		consider(r.nextOnboardingWake())
	}
	if r.lifecycleOn() {
		consider(r.nextDunningWake())
		consider(r.nextRenewalWake())
		switch r.st.Stage {
		case StageAdoption, StageRenewal:
			consider(r.nextAdoptionWake())
		case StageChurned:
			consider(r.nextWinBackWake())
		}
		if r.active() {
			consider(r.nextNPSWake())
		}
		consider(r.nextHealthWake())
	}
	consider(r.nextAlertWake())
	if r.policies {
		consider(r.nextDeliveryWake())
	}
	return at, why
}

// armTimer makes sure one timer fires at at. A timer whose deadline has not
// changed is kept, so events arriving during a wait add no timer events to
// the history.
func (r *journey) armTimer(at time.Time, why string) {
	if r.timer != nil && r.timerAt.Equal(at) {
		return
	}
	if r.timer != nil && r.lifecycleOn() && (at.IsZero() || r.timerAt.Before(at)) {
		// A login moves the inactivity deadlines later every day. Keeping
		// the earlier timer costs one early wake-up that re-arms, instead
		// of a cancel and a new timer in the history at every login.
		return
	}
	if r.timer != nil {
		r.cancelTimer()
		r.timer = nil
	}
	if at.IsZero() {
		return
	}
	d := at.Sub(workflow.Now(r.ctx))
	if d < time.Millisecond {
		d = time.Millisecond // due now: advance() runs on the next turn
	}
	ctx, cancel := workflow.WithCancel(r.ctx)
	r.timer = workflow.NewTimerWithOptions(ctx, d, workflow.TimerOptions{Summary: why})
	r.timerAt, r.cancelTimer = at, cancel
}

// describe shows, in the UI's "current details", where the journey is and
// what it waits for.
func (r *journey) describe(next string) {
	if next == "" {
		next = "waiting for events"
	}
	details := fmt.Sprintf("**Stage:** %s since %s  \n**Next:** %s", r.st.Stage, r.st.StageSince.Format(time.RFC3339), next)
	if r.lifecycleOn() {
		details += fmt.Sprintf("  \n**Health:** %d (%s)", r.st.HealthScore, orNone(r.st.HealthTier))
		if dn := r.st.Dunning; dn != nil {
			details += fmt.Sprintf("  \n**Dunning:** invoice %s unpaid since %s", dn.InvoiceID, dn.Since.Format(time.RFC3339))
		}
	}
	workflow.SetCurrentDetails(r.ctx, details)
}

// receive takes one event off the channel. It decodes the payload itself,
// rather than letting the SDK do it, so that a payload it cannot decode is
// recorded instead of silently dropped.
func (r *journey) receive(c workflow.ReceiveChannel) {
	var raw json.RawMessage
	c.Receive(r.ctx, &raw)
	r.received++
	var ev signals.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		r.reject("undecodable event payload", err)
		return
	}
	r.apply(ev)
}

// shouldContinueAsNew reports whether this run's history is long enough to
// hand over to a fresh run.
func (r *journey) shouldContinueAsNew() bool {
	if r.boundary && r.lifecycleOn() {
		return true
	}
	if limit := r.pb.ContinueAsNewAfterEvents; limit > 0 && r.received >= limit {
		return true
	}
	return workflow.GetInfo(r.ctx).GetContinueAsNewSuggested()
}

// continueAsNew hands the state to a fresh run once every received event is
// applied and every activity has finished, so nothing is lost or repeated.
func (r *journey) continueAsNew() error {
	for {
		for r.events.Len() > 0 {
			r.receive(r.events)
		}
		err := workflow.Await(r.ctx, func() bool { return r.inflight == 0 && workflow.AllHandlersFinished(r.ctx) })
		if err != nil {
			return err
		}
		if r.events.Len() == 0 {
			break
		}
	}
	return r.handOver()
}

// handOver continues as new with the state and the applied event IDs.
func (r *journey) handOver() error {
	length := workflow.GetInfo(r.ctx).GetCurrentHistoryLength()
	why := "continued as new"
	if r.boundary && r.lifecycleOn() {
		why += " at the stage boundary"
	}
	r.note(KindDecision, "%s after %d events and %d history events in this run", why, r.received, length)
	r.log.Info("Continuing as new", "Events", r.received, "HistoryLength", length)
	return workflow.NewContinueAsNewError(r.ctx, WorkflowType, Input{
		CustomerID: r.st.CustomerID,
		Carry:      &Carry{State: r.st, SeenEventIDs: r.seenOrder},
	})
}

// note appends a timeline entry, keeping the newest TimelineSize.
func (r *journey) note(kind, format string, args ...any) {
	tl := append(r.st.Timeline, TimelineEntry{At: workflow.Now(r.ctx), Kind: kind, Text: fmt.Sprintf(format, args...)})
	if n := len(tl) - TimelineSize; n > 0 {
		// In place: a new array at every note of a full timeline was 4% of
		// a simulated journey's CPU. Nothing keeps the old entries: the
		// state query and continue-as-new encode the state at once.
		tl = tl[:copy(tl, tl[n:])]
	}
	r.st.Timeline = tl
}

// setStage moves the journey to stage and records the change in the CRM.
func (r *journey) setStage(stage Stage, why string) {
	if r.st.Stage == stage {
		return
	}
	from := r.st.Stage
	r.st.Stage, r.st.StageSince = stage, workflow.Now(r.ctx)
	r.st.Counters.StageChanges++
	r.note(KindDecision, "stage %s → %s: %s", from, stage, why)
	r.log.Info("Stage changed", "From", from, "To", stage)
	if r.lifecycleOn() {
		r.lastStageWhy = why
		r.enterStage(from)
	}
	r.recordStageInCRM(from, why)
}

func (r *journey) setTier(tier string) {
	if r.st.HealthTier == tier {
		return
	}
	r.note(KindDecision, "health tier %s → %s", orNone(r.st.HealthTier), tier)
	r.st.HealthTier = tier
}

// attrSources is what the search attributes are computed from.
type attrSources struct {
	stage                  Stage
	tier, plan, csm, phone string
	score                  int
	dunning                bool
}

// upsertSearchAttributes brings the search attributes in line with the state,
// sending only what changed.
func (r *journey) upsertSearchAttributes() {
	from := attrSources{r.st.Stage, r.st.HealthTier, r.st.Profile.Plan, r.st.Profile.CSM, r.st.Profile.Phone, r.st.HealthScore, r.st.Dunning != nil}
	if r.attrsInLine && from == r.attrsFrom {
		return // most tasks: a login, a timer that changed none of it
	}
	// The attributes change only by this function's upserts, so they are
	// read from the workflow once per run and tracked here after that:
	// decoding them at every workflow task took 7% of a journey's CPU.
	if r.searchAttrs == nil {
		r.searchAttrs = map[string]any{}
		current := workflow.GetTypedSearchAttributes(r.ctx)
		for _, k := range []temporal.SearchAttributeKeyKeyword{SearchStage, SearchTier, SearchPlan, SearchCSM, SearchPhone} {
			if v, ok := current.GetKeyword(k); ok {
				r.searchAttrs[k.GetName()] = v
			}
		}
		if v, ok := current.GetInt64(SearchScore); ok {
			r.searchAttrs[SearchScore.GetName()] = v
		}
		if v, ok := current.GetBool(SearchDunning); ok {
			r.searchAttrs[SearchDunning.GetName()] = v
		}
	}
	var updates []temporal.SearchAttributeUpdate
	type change struct {
		name  string
		value any // nil: unset
	}
	var changes []change
	set := func(k temporal.SearchAttributeKey, value any, u temporal.SearchAttributeUpdate) {
		if old, ok := r.searchAttrs[k.GetName()]; !ok || old != value {
			updates = append(updates, u)
			changes = append(changes, change{k.GetName(), value})
		}
	}
	want := func(key temporal.SearchAttributeKeyKeyword, value string) {
		if value == "" {
			if _, ok := r.searchAttrs[key.GetName()]; ok {
				updates = append(updates, key.ValueUnset())
				changes = append(changes, change{key.GetName(), nil})
			}
			return
		}
		set(key, value, key.ValueSet(value))
	}
	if r.st.Stage != StageNew {
		want(SearchStage, string(r.st.Stage))
	}
	want(SearchTier, r.st.HealthTier)
	want(SearchPlan, r.st.Profile.Plan)
	want(SearchCSM, r.st.Profile.CSM)
	if r.lifecycleOn() && r.st.Stage != StageNew {
		score := int64(r.st.HealthScore)
		set(SearchScore, score, SearchScore.ValueSet(score))
		dunning := r.st.Dunning != nil
		set(SearchDunning, dunning, SearchDunning.ValueSet(dunning))
	}
	if r.policies {
		want(SearchPhone, r.hashPhone())
	}
	if len(updates) == 0 {
		r.attrsFrom, r.attrsInLine = from, true
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(r.ctx, updates...); err != nil {
		r.log.Error("Cannot upsert search attributes", "Error", err)
		return // tried again at the next task
	}
	r.attrsFrom, r.attrsInLine = from, true
	for _, c := range changes {
		if c.value == nil {
			delete(r.searchAttrs, c.name)
		} else {
			r.searchAttrs[c.name] = c.value
		}
	}
}

// hashPhone is SearchPhone's value for the customer's phone: "" without a
// phone or without a lookup key on the worker. The key is the worker's,
// not the history's, so the hash is recorded (a side effect) once per
// phone per run, and a replay on a worker with another key agrees.
func (r *journey) hashPhone() string {
	phone := r.st.Profile.Phone
	if phone == "" {
		return ""
	}
	if phone == r.hashedPhone {
		return r.phoneHash
	}
	key := r.owner.lookupKey
	v := workflow.SideEffect(r.ctx, func(workflow.Context) any {
		if len(key) == 0 {
			return ""
		}
		return PhoneHash(key, phone)
	})
	var h string
	if err := v.Get(&h); err != nil {
		r.log.Error("Cannot decode the phone hash", "Error", err)
		return ""
	}
	r.hashedPhone, r.phoneHash = phone, h
	return h
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
