package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// Renewal: renewal_scheduled opens a window; the playbook's steps run at
// their day before the renewal date, the stage is renewal from the first
// step's day, and a renewal payment closes it. A cancellation pauses it.

// RenewalState is the renewal being prepared.
type RenewalState struct {
	RenewsAt  time.Time `json:"renews_at"`
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	StepsDone []string  `json:"steps_done"`
}

func (r *journey) onRenewalScheduled(d signals.RenewalScheduledData) {
	if !r.active() {
		r.note(KindSkip, "renewal on %s ignored: the customer is %s", r.dateText(d.RenewsAt), r.st.Stage)
		return
	}
	if rn := r.st.Renewal; rn != nil {
		if rn.RenewsAt.Equal(d.RenewsAt) {
			r.note(KindSkip, "renewal on %s scheduled again", r.dateText(d.RenewsAt))
			return
		}
		// Moved: the steps already sent stay sent, the rest are re-timed.
		r.note(KindEvent, "renewal moved from %s to %s", r.dateText(rn.RenewsAt), r.dateText(d.RenewsAt))
		rn.RenewsAt, rn.Amount, rn.Currency = d.RenewsAt, d.Amount, d.Currency
		r.skipPassedSteps(rn)
		return
	}
	r.next("renewal")
	rn := &RenewalState{RenewsAt: d.RenewsAt, Amount: d.Amount, Currency: orDefault(d.Currency, r.st.Profile.Currency), StepsDone: []string{}}
	r.st.Renewal = rn
	r.note(KindEvent, "renewal scheduled for %s", r.dateText(d.RenewsAt))
	r.skipPassedSteps(rn)
}

// skipPassedSteps marks the steps of renewal rn whose day has passed, when
// the renewal is scheduled or moved, as not sent: a "90 days to go" email
// a month late reads wrong, and several at once read worse. The last step,
// the customer's last notice, still goes.
func (r *journey) skipPassedSteps(rn *RenewalState) {
	now := workflow.Now(r.ctx)
	var missed []string
	for _, s := range r.pb.Renewal.Steps {
		if slices.Contains(rn.StepsDone, s.Name) {
			continue
		}
		if at := rn.RenewsAt.Add(r.pb.Day(s.Day)); at.Before(now) && s.Day != r.lastRenewalDay() {
			rn.StepsDone = append(rn.StepsDone, s.Name)
			missed = append(missed, s.Name)
			r.countMissedTouch(s, lifecycle, SkipTooLate)
		}
	}
	if len(missed) > 0 {
		r.note(KindSkip, "renewal steps already past, not sent: %v", missed)
	}
}

// lastRenewalDay is the day of the last renewal step, which is sent even
// when late: it is the customer's last notice.
func (r *journey) lastRenewalDay() int {
	steps := r.pb.Renewal.Steps
	if len(steps) == 0 {
		return 1
	}
	return steps[len(steps)-1].Day
}

func (r *journey) renewalKey(name string) string {
	return fmt.Sprintf("renewal.%d.%s", r.seq("renewal"), name)
}

// advanceRenewal opens the stage, runs the steps due and closes a window
// whose date passed without a payment.
func (r *journey) advanceRenewal() {
	rn, rp := r.st.Renewal, r.pb.Renewal
	if rn == nil || !r.active() {
		return
	}
	now := workflow.Now(r.ctx)
	if r.st.Stage == StageAdoption && len(rp.Steps) > 0 && !now.Before(rn.RenewsAt.Add(r.pb.Day(rp.Steps[0].Day))) {
		r.setStage(StageRenewal, "renewal on "+r.dateText(rn.RenewsAt))
	}
	r.dueSteps(playbook.SequenceRenewal, rn.RenewsAt, rp.Steps, &rn.StepsDone, func(s playbook.Step) string { return r.renewalKey(s.Name) }, lifecycle)
	if !now.Before(rn.RenewsAt.Add(r.pb.Day(rp.CloseAfterDays))) {
		r.note(KindDecision, "renewal date %s passed %s ago without a renewal payment", r.dateText(rn.RenewsAt), plural(rp.CloseAfterDays, "day", "days"))
		r.closeRenewal("renewal date passed")
	}
}

func (r *journey) nextRenewalWake() (time.Time, string) {
	rn, rp := r.st.Renewal, r.pb.Renewal
	if rn == nil || !r.active() {
		return time.Time{}, ""
	}
	date := r.dateText(rn.RenewsAt)
	if at, s, ok := r.nextStep(playbook.SequenceRenewal, rn.RenewsAt, rp.Steps, rn.StepsDone); ok {
		return at, fmt.Sprintf("renewal on %s: %d days before, %s", date, -s.Day, describeStep(s))
	}
	return rn.RenewsAt.Add(r.pb.Day(rp.CloseAfterDays)), fmt.Sprintf("wait for the renewal payment of %s, else close the renewal window", date)
}

// closeRenewal ends the renewal window; the next renewal_scheduled opens
// the next.
func (r *journey) closeRenewal(why string) {
	rn := r.st.Renewal
	if why == "renewal paid" {
		r.st.Counters.Renewals++
	}
	r.note(KindDecision, "renewal of %s closed: %s", r.dateText(rn.RenewsAt), why)
	r.st.Renewal = nil
	if r.st.Stage == StageRenewal {
		r.setStage(StageAdoption, why)
	}
}
