package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/playbook"
)

// Onboarding: from signup until every activation milestone is reached (the
// customer "activates") or the playbook's window ends. The playbook's steps
// run on their journey day for as long as the customer has not activated;
// activation ends onboarding at once, whatever step is pending.

// advanceOnboarding runs what is due now: activation first, then the steps
// whose day has come, then the end of the window.
func (r *journey) advanceOnboarding() {
	if r.activated() {
		r.onActivated()
		return
	}
	now := workflow.Now(r.ctx)
	for _, s := range r.pb.Onboarding.Steps {
		if slices.Contains(r.st.StepsDone, s.Name) {
			continue
		}
		s, variant := r.vary(playbook.SequenceOnboarding, s)
		if now.Before(r.dayStart(s.Day)) {
			// Not yet. Steps are in day order unless an experiment moved
			// one, so the later ones are looked at too.
			continue
		}
		r.runStep(s, variant)
	}
	if !now.Before(r.dayStart(r.pb.Onboarding.EndsAfterDays)) {
		r.note(KindDecision, "onboarding ended after %d days without activation (%s)", r.pb.Onboarding.EndsAfterDays, r.progress())
		r.setStage(StageAdoption, "onboarding window ended")
	}
}

// nextOnboardingWake is the next pending step's time, or the end of the window.
func (r *journey) nextOnboardingWake() (time.Time, string) {
	if at, s, ok := r.nextStep(playbook.SequenceOnboarding, r.st.StartedAt, r.pb.Onboarding.Steps, r.st.StepsDone); ok {
		return at, fmt.Sprintf("wait until day %d for activation, else %s", s.Day, describeStep(s))
	}
	end := r.pb.Onboarding.EndsAfterDays
	return r.dayStart(end), fmt.Sprintf("wait until day %d for activation, else end onboarding (stage adoption)", end)
}

func (r *journey) dayStart(day int) time.Time { return r.st.StartedAt.Add(r.pb.Day(day)) }

// activated reports whether every activation milestone has been reached.
func (r *journey) activated() bool {
	for _, m := range r.pb.Onboarding.Milestones {
		if !slices.Contains(r.st.Milestones, m) {
			return false
		}
	}
	return true
}

func (r *journey) onActivated() {
	now := workflow.Now(r.ctx)
	r.st.ActivatedAt = &now
	r.note(KindDecision, "activated on day %d: all %d milestones reached", r.journeyDay(), len(r.pb.Onboarding.Milestones))
	r.sendEmail(r.onboardingStep("activated"), r.pb.Onboarding.ActivatedEmail, lifecycle)
	r.st.Health.TierFloor = ""
	r.updateHealth() // the score decides the tier from now on
	r.setStage(StageAdoption, "activated")
}

func (r *journey) runStep(s playbook.Step, variant string) {
	r.st.StepsDone = append(r.st.StepsDone, s.Name)
	step := r.onboardingStep(s.Name)
	if r.skipForGoal(step, s, lifecycle) {
		return
	}
	r.note(KindDecision, "day %d, not activated (%s): %s", s.Day, r.progress(), describeStep(s))
	// The tier first, so the step's alert and CRM record show it.
	if s.HealthTier != "" {
		if tierRank(s.HealthTier) > tierRank(r.st.Health.TierFloor) {
			r.st.Health.TierFloor = s.HealthTier
		}
		r.updateHealth()
		if r.st.HealthTier == playbook.TierCritical && s.CSMAlert != "" {
			// This step's alert is the drop into critical's alert.
			r.st.Health.CriticalAlerted = true
		}
	}
	r.runTouch(step, s, lifecycle, variant)
}

// progress says how far activation is, e.g. "1 of 3 milestones".
func (r *journey) progress() string {
	done := 0
	for _, m := range r.pb.Onboarding.Milestones {
		if slices.Contains(r.st.Milestones, m) {
			done++
		}
	}
	return fmt.Sprintf("%d of %d milestones", done, len(r.pb.Onboarding.Milestones))
}

// journeyDay is the current day of the journey clock, day 0 being signup.
func (r *journey) journeyDay() int { return r.daysSince(r.st.StartedAt) }

func describeStep(s playbook.Step) string {
	var parts []string
	if s.Email != "" {
		parts = append(parts, s.Email+" email")
	}
	if s.SMS != "" {
		parts = append(parts, s.SMS+" SMS")
	}
	if s.CSMAlert != "" {
		parts = append(parts, s.CSMAlert+" CSM alert")
	}
	return "send " + strings.Join(parts, " + ")
}
