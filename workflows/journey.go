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
	j.cur.Store(newFingerprinted(pb))
}

// newFingerprinted keeps pb as a journey decodes it from its history, so
// that journeys on the worker's playbook share this one copy rather than
// each holding its own decoded copy (about 6 KiB each, measured by bench
// -memory) and behave exactly as with one.
func newFingerprinted(pb playbook.Playbook) *fingerprinted {
	if b, err := json.Marshal(pb); err == nil {
		var decoded playbook.Playbook
		if json.Unmarshal(b, &decoded) == nil {
			pb = decoded
		}
	}
	return &fingerprinted{pb: pb, fp: pb.Fingerprint()}
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
	j.cur.CompareAndSwap(nil, newFingerprinted(playbook.Default()))
	return j.cur.Load()
}

// CustomerJourney is one customer's whole lifecycle. It is started by
// signal-with-start from the customer's signed_up event and then sleeps on
// timers and wakes on events (signals.SignalName) for as long as the customer
// exists, continuing as new when Temporal suggests it.
//
// It returns a pointer: the SDK calls it by reflection through a frame
// sized for its arguments and results, which stays on the journey's stack
// while it sleeps, and a 1.2 KiB Result there kept the stack from
// shrinking (bench -memory).
func (j *Journeys) CustomerJourney(ctx workflow.Context, in Input) (*Result, error) {
	r := &journey{owner: j, ctx: ctx}
	if err := r.setup(in); err != nil {
		return nil, err
	}
	return r.run()
}

// journey is one run of CustomerJourney.
type journey struct {
	owner *Journeys
	ctx   workflow.Context
	log   log.Logger
	pb    playbook.Playbook
	// pbFingerprint is the fingerprint of pb.
	pbFingerprint string
	// searchAttrs are the custom search attributes as last upserted, by
	// name; nil until read at the run's first task.
	searchAttrs map[string]any
	// attrsFrom is the state searchAttrs were last brought in line with
	// (attrsInLine), so that a task that changed none of it skips the
	// comparison.
	attrsFrom   attrSources
	attrsInLine bool
	// hashedPhone is the phone whose PhoneHash this run recorded, hashed.
	hashedPhone, phoneHash string
	st                     State

	events workflow.ReceiveChannel
	seen   seenEvents
	// inflight counts activities started and not yet finished.
	inflight int
	// account orders the account actions in the billing system.
	account accountLine
	// received counts the events this run has taken off the channel.
	received int

	// wake fires when the journey next has something due (waketimer.go).
	wake wakeTimer

	// settled gets a value when the last activity in flight finishes, so a
	// run waiting to hand over or to end wakes for it.
	settled workflow.Channel
	// redeferred gets a value when a send came back to wait again, so the
	// run loop re-arms its timer for it.
	redeferred workflow.Channel
	// texts cancel the texts not yet done, in the order they were sent
	// (recallTexts), each under a sequence number of the run.
	texts   []pendingText
	textSeq int
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
		r.st.Consent.adoptLegacyConsent(&r.st.Profile)
		r.seen.restore(in.Carry.Seen)
	}
	r.events = workflow.GetSignalChannel(r.ctx, signals.SignalName)
	r.settled = workflow.NewBufferedChannel(r.ctx, 1)
	r.redeferred = workflow.NewBufferedChannel(r.ctx, 1)
	r.startRun()
	// Registered before anything blocks, so the journey answers at once.
	if err := workflow.SetQueryHandler(r.ctx, QueryState, func() (State, error) { return r.st, nil }); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(r.ctx, UpdateAlertResponse, r.answerAlert,
		workflow.UpdateHandlerOptions{Validator: r.validateAlertResponse})
}

// run loops until the journey ends or hands over. Each turn's work runs
// in turn and the wait in sleep, so that while the journey sleeps its
// coroutine's stack holds only small frames: a goroutine's stack shrinks
// at GC only below a quarter in use, and with the turn's 2.5 KiB frames
// (a Result or two on the stack) every cached journey kept 32 KiB of stack
// rather than 8 (bench -memory).
func (r *journey) run() (*Result, error) {
	for {
		if done, res, err := r.turn(); done {
			return res, err
		}
		if r.sleep() {
			r.dropPending("the journey was canceled")
			r.log.Info("Journey canceled", "Stage", r.st.Stage)
			return &Result{State: r.st}, r.ctx.Err()
		}
	}
}

// turn does what is due and sets the timer for the next thing; done says
// the run ends here, with res and err.
func (r *journey) turn() (done bool, res *Result, err error) {
	r.refreshPlaybook()
	r.advance()
	r.upsertSearchAttributes()
	// Ending and handing over wait until nothing is in flight, so no
	// send is lost or repeated; meanwhile the journey goes on.
	if r.ending && r.quiescent() {
		res, err := r.finish()
		return true, res, err
	}
	if r.shouldContinueAsNew() && r.quiescent() {
		return true, nil, r.handOver()
	}
	at, why := r.nextWake()
	r.wake.set(r.ctx, at, why)
	r.describe(why)
	return false, nil, nil
}

// sleep blocks until an event, a finished activity, a re-deferred send or
// the timer; it reports whether the journey was canceled instead.
func (r *journey) sleep() (canceled bool) {
	sel := workflow.NewSelector(r.ctx)
	if r.inflight > 0 && (r.ending || r.shouldContinueAsNew()) {
		sel.AddReceive(r.settled, func(c workflow.ReceiveChannel, _ bool) { c.Receive(r.ctx, nil) })
	}
	sel.AddReceive(r.events, func(c workflow.ReceiveChannel, _ bool) { r.receive(c) })
	sel.AddReceive(r.redeferred, func(c workflow.ReceiveChannel, _ bool) { c.Receive(r.ctx, nil) })
	r.wake.addTo(r.ctx, sel) // fired: advance() acts on what is due
	sel.AddReceive(r.ctx.Done(), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(r.ctx, nil)
		canceled = true
	})
	sel.Select(r.ctx)
	return canceled
}

// startRun counts the run and gives a carried state the collections an
// older run may have left nil, so the state reads the same in every run.
func (r *journey) startRun() {
	r.st.Counters.Runs++
	if r.st.Seq == nil {
		r.st.Seq = map[string]int{}
	}
	if r.st.Tickets == nil {
		r.st.Tickets = []Ticket{}
	}
	if r.st.Stages == nil {
		r.st.Stages = []StageVisit{}
	}
	if r.st.Usage.LoginDays == nil {
		r.st.Usage.LoginDays = []time.Time{}
	}
}

// refreshPlaybook takes the worker's playbook, recorded in history when it
// differs from the last one recorded, so every decision replays with the
// playbook it was made under.
func (r *journey) refreshPlaybook() {
	// The fingerprint, computed once per playbook, is compared at every
	// task; the playbook itself is recorded only when it changes.
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
	if fp == cur.fp {
		// The recorded playbook is the worker's: share its copy, decoded
		// as this one would be, instead of decoding another.
		r.pbFingerprint = fp
		r.usePlaybook(cur.pb, fp)
		return
	}
	var pb playbook.Playbook
	if err := pbv.Get(&pb); err != nil {
		r.log.Error("Cannot decode playbook; keeping the previous one", "Error", err)
		return
	}
	r.pbFingerprint = fp
	r.usePlaybook(pb, fp)
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
	r.assignDelivery()
	r.advanceDelivery() // messages deferred earlier go first
	if r.st.Stage == StageOnboarding {
		r.advanceOnboarding()
	}
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
	consider(r.nextAlertWake())
	consider(r.nextDeliveryWake())
	return at, why
}

// describe shows, in the UI's "current details", where the journey is and
// what it waits for.
func (r *journey) describe(next string) {
	if next == "" {
		next = "waiting for events"
	}
	details := fmt.Sprintf("**Stage:** %s since %s  \n**Next:** %s", r.st.Stage, r.st.StageSince.Format(time.RFC3339), next)
	details += fmt.Sprintf("  \n**Health:** %d (%s)", r.st.HealthScore, orNone(r.st.HealthTier))
	if dn := r.st.Dunning; dn != nil {
		details += fmt.Sprintf("  \n**Dunning:** invoice %s unpaid since %s", dn.InvoiceID, dn.Since.Format(time.RFC3339))
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
	if r.boundary {
		return true
	}
	if limit := r.pb.ContinueAsNewAfterEvents; limit > 0 && r.received >= limit {
		return true
	}
	return workflow.GetInfo(r.ctx).GetContinueAsNewSuggested()
}

// handOver continues as new with the state and the applied event IDs.
func (r *journey) handOver() error {
	length := workflow.GetInfo(r.ctx).GetCurrentHistoryLength()
	why := "continued as new"
	if r.boundary {
		why += " at the stage boundary"
	}
	r.note(KindDecision, "%s after %d events and %d history events in this run", why, r.received, length)
	r.log.Info("Continuing as new", "Events", r.received, "HistoryLength", length)
	return workflow.NewContinueAsNewError(r.ctx, WorkflowType, Input{
		CustomerID: r.st.CustomerID,
		Carry:      &Carry{State: r.st, Seen: r.seen.carry()},
	})
}

// note appends a timeline entry, keeping the newest TimelineSize.
func (r *journey) note(kind, format string, args ...any) {
	tl := append(r.st.Timeline, TimelineEntry{At: workflow.Now(r.ctx), Kind: kind, Text: fmt.Sprintf(format, args...)})
	if n := len(tl) - TimelineSize; n > 0 {
		// In place, rather than a new array at every note: nothing keeps
		// the old entries, as the state query and continue-as-new encode
		// the state at once.
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
	r.lastStageWhy = why
	r.enterStage(from)
	r.recordStageInCRM(from, why)
}

func (r *journey) setTier(tier string) {
	if r.st.HealthTier == tier {
		return
	}
	r.note(KindDecision, "health tier %s → %s", orNone(r.st.HealthTier), tier)
	r.st.HealthTier = tier
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// quiescent reports whether the run can end now without losing anything:
// no send in flight, no handler running and no event waiting.
func (r *journey) quiescent() bool {
	return r.inflight == 0 && r.events.Len() == 0 && workflow.AllHandlersFinished(r.ctx)
}

// finish ends a journey whose win-back ran out.
func (r *journey) finish() (*Result, error) {
	now := workflow.Now(r.ctx)
	sum := &Summary{
		CustomerID: r.st.CustomerID, SignedUpAt: r.st.Profile.SignedUpAt, ActivatedAt: r.st.ActivatedAt,
		ChurnedAt: r.st.ChurnedAt, EndedAt: now, Stages: r.st.Stages, Counters: r.st.Counters,
		FinalHealthScore: r.st.HealthScore,
	}
	if r.st.ChurnedAt != nil {
		sum.CustomerDays = int(r.st.ChurnedAt.Sub(r.st.Profile.SignedUpAt) / r.pb.DayLength.D())
	}
	if r.st.Cancellation != nil {
		sum.ChurnReason = r.st.Cancellation.Reason
	}
	r.dropPending("the journey ended")
	sum.Counters = r.st.Counters
	r.note(KindDecision, "journey complete: no reactivation after the win-back sequence")
	r.log.Info("Journey complete", "Stage", r.st.Stage)
	return &Result{State: r.st, Summary: sum}, nil
}
