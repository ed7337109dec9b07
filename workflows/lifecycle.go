package workflows

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
)

// The lifecycle beyond onboarding: adoption and health (adoption.go,
// health.go), renewal (renewal.go), dunning (dunning.go), cancellation and
// win-back (churn.go). This file holds what they share: the version gate,
// message classes, sequence numbers, step runs and the stage rules.

// versionLifecycle guards everything after onboarding. Journeys whose run
// started before it replay as onboarding-only journeys; their next run (a
// continue-as-new, which a playbook's continue_as_new_after_events can
// bring forward) starts on the lifecycle.
const versionLifecycle = "lifecycle"

// lifecycleOn reports whether this run runs the whole lifecycle.
func (r *journey) lifecycleOn() bool { return r.st.Lifecycle >= 1 }

// startLifecycle is called once per run, before the first event.
func (r *journey) startLifecycle() {
	v := workflow.GetVersion(r.ctx, versionLifecycle, workflow.DefaultVersion, 1)
	if v == workflow.DefaultVersion {
		return
	}
	if r.st.Lifecycle == 0 && r.st.Stage != StageNew {
		// A journey that ran onboarding-only until now: its adoption
		// clock starts today rather than at some long-past event.
		r.st.Adoption.WatchFrom = workflow.Now(r.ctx)
		r.note(KindDecision, "lifecycle rules on from now")
	}
	r.st.Lifecycle = int(v)
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

// Message classes: transactional messages (payment) always go; lifecycle
// messages (onboarding, renewal, cancellation) go unless the stage ended;
// marketing messages (nudges, NPS, upsell, win-back) are suppressed while a
// payment is being recovered.
type class string

const (
	transactional class = playbook.ClassTransactional
	lifecycle     class = playbook.ClassLifecycle
	marketing     class = playbook.ClassMarketing
)

// suppressed says why a message of class c must not go now, or "", with
// the reason's token (metrics.go).
func (r *journey) suppressed(c class) (reason, why string) {
	if c == marketing && r.st.Dunning != nil {
		return SkipDunning, "marketing is paused while a payment is being recovered"
	}
	return "", ""
}

// next starts the next sequence of kind (a renewal, a dunning, a quiet
// spell...) and returns its number, which goes into its sends' keys.
func (r *journey) next(kind string) int {
	if r.st.Seq == nil {
		r.st.Seq = map[string]int{}
	}
	r.st.Seq[kind]++
	return r.st.Seq[kind]
}

func (r *journey) seq(kind string) int { return r.st.Seq[kind] }

// dueSteps runs, in order, the steps of sequence seq anchored at anchor
// whose day has come, recording them in done; key names each step's sends.
func (r *journey) dueSteps(seq string, anchor time.Time, steps []playbook.Step, done *[]string, key func(playbook.Step) string, c class, opts ...dataOpt) {
	now := workflow.Now(r.ctx)
	for _, s := range steps {
		if slices.Contains(*done, s.Name) {
			continue
		}
		s, variant := r.vary(seq, s)
		if now.Before(anchor.Add(r.pb.Day(s.Day))) {
			// Not yet. Steps are in day order unless an experiment moved
			// one, so the later ones are looked at too.
			continue
		}
		*done = append(*done, s.Name)
		if r.skipForGoal(key(s), s, c) {
			continue
		}
		r.runTouch(key(s), s, c, variant, opts...)
	}
}

// skipForGoal skips step s when its milestone goal is reached already.
func (r *journey) skipForGoal(step string, s playbook.Step, c class) bool {
	if !r.policies || s.Goal == "" || !r.goalMet(s.Goal) {
		return false
	}
	r.st.Counters.GoalExits++
	r.countMissedTouch(s, c, SkipGoal)
	r.note(KindSkip, "%s: not run, its goal %s is reached", step, s.Goal)
	return true
}

// nextStep is the time of a sequence's next pending step.
func (r *journey) nextStep(seq string, anchor time.Time, steps []playbook.Step, done []string) (time.Time, playbook.Step, bool) {
	var at time.Time
	var next playbook.Step
	for _, s := range steps {
		if slices.Contains(done, s.Name) {
			continue
		}
		s, _ = r.vary(seq, s)
		if t := anchor.Add(r.pb.Day(s.Day)); at.IsZero() || t.Before(at) {
			at, next = t, s
		}
	}
	return at, next, !at.IsZero()
}

// runTouch sends what step s names: email, SMS (when the customer can get
// one) and CSM alert (when its condition holds). variant labels the sends
// of an experiment's variant.
func (r *journey) runTouch(step string, s playbook.Step, c class, variant string, opts ...dataOpt) {
	if r.policies {
		if s.Class != "" {
			c = class(s.Class)
		}
		both := s.Email != "" && s.SMS != ""
		for _, send := range []struct {
			ch       messages.Channel
			template string
		}{{messages.ChannelEmail, s.Email}, {messages.ChannelSMS, s.SMS}} {
			if send.template == "" {
				continue
			}
			m := r.message(step, send.template, send.ch, c, opts...)
			m.Goal, m.Experiment, m.Both = s.Goal, variant, both
			r.deliver(m)
		}
		r.touchAlert(step, s, opts...)
		return
	}
	if s.Email != "" {
		r.sendEmailAs(step, s.Email, c, opts...)
	}
	if s.SMS != "" {
		if reason, why := r.smsBlocked(); why != "" {
			r.countSuppressed(messages.ChannelSMS, c, reason)
			r.note(KindSkip, "%s: no SMS, %s", step, why)
		} else {
			r.sendSMSAs(step, s.SMS, c, opts...)
		}
	}
	r.touchAlert(step, s, opts...)
}

// touchAlert raises step s's CSM alert, when its condition holds.
func (r *journey) touchAlert(step string, s playbook.Step, opts ...dataOpt) {
	if s.CSMAlert == "" {
		return
	}
	if s.CSMAlertWhen == playbook.AlertWhenNotHealthyOrHighValue && r.st.HealthTier == playbook.TierHealthy && !r.highValue() {
		r.countSuppressed(messages.ChannelAlert, internal, SkipHealthy)
		r.note(KindSkip, "%s: no CSM alert, the customer is healthy and not high-value", step)
		return
	}
	r.alertCSM(step, s.CSMAlert, opts...)
}

// smsBlocked says why no SMS can go to the customer, or "", with the
// reason's token (metrics.go).
func (r *journey) smsBlocked() (reason, why string) {
	switch {
	case r.st.Profile.Phone == "":
		return SkipNoPhone, "the customer has no phone number"
	case r.st.SMSUnusable != "":
		return r.st.SMSUnusable, smsUnusableText(r.st.SMSUnusable)
	case r.lifecycleOn() && !r.st.Profile.SMSConsent:
		return SkipNoSMSConsent, "the customer has not consented to texts"
	}
	return "", ""
}

// highValue reports whether the account's MRR reaches the playbook's
// high-value threshold.
func (r *journey) highValue() bool {
	return r.pb.HighValueMRR > 0 && r.st.Profile.MRR >= r.pb.HighValueMRR
}

// active reports whether the customer is a customer: not cancelling, not
// churned.
func (r *journey) active() bool {
	switch r.st.Stage {
	case StageOnboarding, StageAdoption, StageRenewal:
		return true
	}
	return false
}

// enterStage does what entering a stage starts, after setStage recorded it.
func (r *journey) enterStage(from Stage) {
	now := workflow.Now(r.ctx)
	switch r.st.Stage {
	case StageAdoption:
		if from == StageOnboarding || from == StageChurned || from == StageNew {
			// The inactivity clock starts with adoption; from renewal or a
			// withdrawn cancellation, the quiet spell goes on.
			r.st.Adoption.WatchFrom = now
		}
		r.st.Health.TierFloor = ""
	case StageRenewal, StageCancelling, StageChurned:
		r.st.Health.TierFloor = ""
	}
	r.st.Stages = append(r.st.Stages, StageVisit{Stage: r.st.Stage, Since: now, Why: r.lastStageWhy})
	if n := len(r.st.Stages) - StagesKept; n > 0 {
		r.st.Stages = append([]StageVisit(nil), r.st.Stages[n:]...)
	}
	// A stage boundary is a natural place to start a fresh history.
	if from != StageNew {
		r.boundary = true
	}
}

// dateText formats t as a date in the customer's time zone.
func (r *journey) dateText(t time.Time) string {
	if r.policies {
		return t.In(r.zone()).Format("January 2, 2006")
	}
	return t.In(location(r.st.Profile.Timezone)).Format("January 2, 2006")
}

// locations caches time zones by name: time.LoadLocation reads and parses
// the zone's file on every call, and dateText runs at every workflow task
// (13% of a simulated journey's CPU). A zone's rules are the same for the
// life of the process, so the cache changes no decision.
var locations sync.Map // name → *time.Location

// location is the time zone name, or UTC when it is empty or unknown.
func location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	locations.Store(name, loc)
	return loc
}

// whenText says when t is, for timelines and timer summaries: a date on a
// real clock, a time of day on a demo clock whose days last seconds.
func (r *journey) whenText(t time.Time) string {
	if r.pb.DayLength.D() < 24*time.Hour {
		return t.UTC().Format("15:04:05")
	}
	return r.dateText(t)
}

// daysUntil counts whole journey days from now until t (0 when past).
func (r *journey) daysUntil(t time.Time) int {
	d := t.Sub(workflow.Now(r.ctx))
	if d <= 0 || r.pb.DayLength <= 0 {
		return 0
	}
	return int((d + r.pb.DayLength.D() - 1) / r.pb.DayLength.D())
}

// daysSince counts whole journey days from t until now.
func (r *journey) daysSince(t time.Time) int {
	d := workflow.Now(r.ctx).Sub(t)
	if d <= 0 || r.pb.DayLength <= 0 {
		return 0
	}
	return int(d / r.pb.DayLength.D())
}

// quiescent reports whether the run can end now without losing anything:
// no send in flight, no handler running and no event waiting.
func (r *journey) quiescent() bool {
	return r.inflight == 0 && r.events.Len() == 0 && workflow.AllHandlersFinished(r.ctx)
}

// finish ends a journey whose win-back ran out.
func (r *journey) finish() (Result, error) {
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
	r.note(KindDecision, "journey complete: no reactivation after the win-back sequence")
	r.log.Info("Journey complete", "Stage", r.st.Stage)
	return Result{State: r.st, Summary: sum}, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
