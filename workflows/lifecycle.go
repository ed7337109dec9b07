package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
)

// The lifecycle beyond onboarding: adoption and health (adoption.go,
// health.go), renewal (renewal.go), dunning (dunning.go), cancellation and
// win-back (churn.go). This file holds what they share: message classes,
// sequence numbers, step runs, the stage rules and the journey's clock.

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

// runTouch sends what step s names: its email and SMS through the delivery
// rules (send.go), as a message of the step's class (else c), and its CSM
// alert when its condition holds. variant labels the sends of an
// experiment's variant.
func (r *journey) runTouch(step string, s playbook.Step, c class, variant string, opts ...dataOpt) {
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
	return t.In(r.zone()).Format("January 2, 2006")
}

// locations caches time zones by name: time.LoadLocation parses the zone's
// file on every call, and dateText runs at every workflow task. A zone's
// rules are the same for the life of the process, so the cache changes no
// decision.
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

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
