package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// Cancellation and win-back: a cancellation request moves the customer to
// cancelling with an exit survey and a save offer chosen by the reason;
// the subscription ending moves them to churned, where the win-back steps
// run; a reactivation brings them back; when the win-back runs out, the
// journey completes.

// CancelState is a cancellation request.
type CancelState struct {
	RequestedAt time.Time  `json:"requested_at"`
	Reason      string     `json:"reason"`
	Comment     string     `json:"comment,omitempty"`
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	// From is the stage the customer was in, for a withdrawal.
	From Stage `json:"from"`
}

func (r *journey) onCancellationRequested(d signals.CancellationRequestedData) {
	if !r.active() {
		r.note(KindSkip, "cancellation request ignored: the customer is %s", r.st.Stage)
		return
	}
	cp := r.pb.Cancellation
	n := r.next("cancel")
	r.st.Counters.Cancellations++
	c := &CancelState{RequestedAt: workflow.Now(r.ctx), Reason: d.Reason, Comment: d.Comment, From: r.st.Stage}
	if !d.EffectiveAt.IsZero() {
		at := d.EffectiveAt
		c.EffectiveAt = &at
	}
	r.st.Cancellation = c
	r.note(KindEvent, "cancellation requested (%s)", d.Reason)
	r.setStage(StageCancelling, "cancellation requested: "+d.Reason)
	key := fmt.Sprintf("cancel.%d.", n)
	if cp.ExitSurveyEmail != "" {
		r.sendEmail(key+"exit_survey", cp.ExitSurveyEmail, lifecycle)
	}
	if t := cp.SaveOffers[d.Reason]; t != "" {
		r.note(KindDecision, "save offer for %q: %s", d.Reason, t)
		r.sendEmail(key+"save_offer", t, lifecycle, func(md *messages.Data) { md.Offer = cp.DiscountOffer })
	}
	if r.highValue() && cp.HighValueAlert != "" {
		r.alertCSM(key+"alert", cp.HighValueAlert)
	}
}

func (r *journey) onCancellationWithdrawn() {
	if r.st.Stage != StageCancelling {
		r.note(KindSkip, "cancellation withdrawal ignored: the customer is %s", r.st.Stage)
		return
	}
	back := StageAdoption
	if c := r.st.Cancellation; c != nil {
		switch {
		case c.From == StageOnboarding:
			back = StageOnboarding
		case c.From == StageRenewal && r.st.Renewal != nil:
			back = StageRenewal
		}
	}
	r.st.Counters.Saves++
	r.st.Cancellation = nil
	r.note(KindEvent, "cancellation withdrawn: saved")
	r.setStage(back, "cancellation withdrawn")
}

func (r *journey) onSubscriptionCanceled() {
	if r.st.Stage == StageChurned {
		r.note(KindSkip, "subscription canceled again")
		return
	}
	now := workflow.Now(r.ctx)
	r.st.ChurnedAt = &now
	r.st.Counters.Churns++
	r.st.WinBackDone = []string{}
	r.next("winback")
	if r.st.Dunning != nil {
		r.note(KindDecision, "dunning ends: the subscription ended")
		r.st.Dunning = nil
	}
	r.st.Renewal = nil
	why := "subscription canceled"
	if c := r.st.Cancellation; c != nil {
		why += " (" + c.Reason + ")"
	}
	r.note(KindEvent, "%s", why)
	r.setStage(StageChurned, why)
}

func (r *journey) winBackKey(name string) string {
	return fmt.Sprintf("winback.%d.%s", r.seq("winback"), name)
}

// advanceWinBack runs the win-back steps due and, when the sequence has
// run out, marks the journey to complete.
func (r *journey) advanceWinBack() {
	wp := r.pb.WinBack
	if r.st.ChurnedAt == nil {
		return
	}
	r.dueSteps(playbook.SequenceWinBack, *r.st.ChurnedAt, wp.Steps, &r.st.WinBackDone, func(s playbook.Step) string { return r.winBackKey(s.Name) }, marketing,
		func(d *messages.Data) { d.Offer = wp.Offer })
	if wp.EndsAfterDays > 0 && !workflow.Now(r.ctx).Before(r.st.ChurnedAt.Add(r.pb.Day(wp.EndsAfterDays))) && !r.ending {
		r.ending = true
		r.note(KindDecision, "no reactivation %s after the churn: the journey ends", plural(wp.EndsAfterDays, "day", "days"))
	}
}

func (r *journey) nextWinBackWake() (time.Time, string) {
	wp := r.pb.WinBack
	if r.st.ChurnedAt == nil || r.ending {
		return time.Time{}, ""
	}
	if at, s, ok := r.nextStep(playbook.SequenceWinBack, *r.st.ChurnedAt, wp.Steps, r.st.WinBackDone); ok {
		return at, fmt.Sprintf("wait for a reactivation until day %d after the churn, else %s", s.Day, describeStep(s))
	}
	if wp.EndsAfterDays > 0 {
		return r.st.ChurnedAt.Add(r.pb.Day(wp.EndsAfterDays)), fmt.Sprintf("wait for a reactivation until day %d after the churn, else complete the journey", wp.EndsAfterDays)
	}
	return time.Time{}, ""
}

func (r *journey) onReactivated(d signals.ReactivatedData) {
	switch r.st.Stage {
	case StageCancelling:
		r.onCancellationWithdrawn()
		return
	case StageChurned:
	default:
		r.note(KindSkip, "reactivation ignored: the customer is %s", r.st.Stage)
		return
	}
	p := &r.st.Profile
	if d.Plan != "" {
		p.Plan = d.Plan
	}
	if d.Seats > 0 {
		p.Seats = d.Seats
	}
	if d.MRR > 0 {
		p.MRR = d.MRR
	}
	r.st.Counters.Reactivations++
	r.ending = false
	r.note(KindEvent, "reactivated after %s", plural(r.daysSince(*r.st.ChurnedAt), "day", "days"))
	if t := r.pb.WinBack.WelcomeBackEmail; t != "" {
		r.sendEmail(r.winBackKey("welcome_back"), t, lifecycle)
	}
	r.st.Cancellation = nil
	if r.pb.WinBack.ReactivateTo == string(StageOnboarding) {
		// A fresh onboarding: its clock, steps and milestones start over.
		r.st.OnboardingRound++
		r.st.StartedAt = workflow.Now(r.ctx)
		r.st.StepsDone, r.st.Milestones, r.st.ActivatedAt = []string{}, []string{}, nil
		r.setStage(StageOnboarding, "reactivated")
		return
	}
	r.setStage(StageAdoption, "reactivated")
}

// onboardingStep names a send of onboarding step name; a second onboarding
// (after a reactivation) has its own keys.
func (r *journey) onboardingStep(name string) string {
	if r.st.OnboardingRound == 0 {
		return "onboarding." + name
	}
	return fmt.Sprintf("onboarding.r%d.%s", r.st.OnboardingRound+1, name)
}
