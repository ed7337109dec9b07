package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/messages"
)

// The customer's account actions (suspend, restore) reach the billing
// system one at a time, in the order the journey decided them, so its last
// word is the journey's State.Suspended. A suspend still in flight or
// retrying when the restore is decided is canceled, and the restore goes
// once the suspend's activity has finished or acknowledged the cancel:
// whether it acted before it stopped cannot be known, and restoring an
// account that is active changes nothing.

// accountLine orders the account actions of one run. A run hands over only
// when nothing is in flight, so the line is empty then and is not carried.
type accountLine struct {
	// running is the action whose activity has not finished; nil for none.
	running *accountCall
	// waiting goes once running has stopped. A newer action replaces it:
	// only the billing system's last word matters.
	waiting *accountCall
}

// accountCall is one account action the journey decided: the billing
// system's, then its record on the CRM contact, which is ordered with it
// so the CRM's account_status ends as the billing system does.
type accountCall struct {
	step, action, invoiceID, reason string
	cancel                          workflow.CancelFunc
	// recording: the billing action has finished; the CRM record is in flight.
	recording bool
}

// queueAccount dispatches c now, or after the action in flight; a restore
// cancels a suspend in flight.
func (r *journey) queueAccount(c *accountCall) {
	l := &r.account
	if l.running == nil {
		r.startAccount(c)
		return
	}
	if w := l.waiting; w != nil {
		r.note(KindDecision, "%s replaces %s, which was waiting for the billing system", c.step, w.step)
	}
	l.waiting = c
	if l.running.action == messages.AccountSuspend && c.action == messages.AccountRestore {
		l.running.cancel()
		r.note(KindDecision, "%s still in flight: canceled, %s goes once it has stopped", l.running.step, c.step)
		return
	}
	r.note(KindDecision, "%s waits for %s to finish in the billing system", c.step, l.running.step)
}

// startAccount dispatches c in a context of its own, so that it can be
// canceled alone.
func (r *journey) startAccount(c *accountCall) {
	ctx, cancel := workflow.WithCancel(r.ctx)
	c.cancel = cancel
	r.account.running = c
	act := messages.AccountAction{Meta: r.meta(c.step, "", messages.ChannelBilling), Action: c.action, InvoiceID: c.invoiceID, Reason: c.reason}
	fn, verb := acts.SuspendAccount, "suspend"
	if c.action == messages.AccountRestore {
		fn, verb = acts.RestoreAccount, "restore"
	}
	r.dispatchThen(ctx, messages.ChannelBilling, c.step, fmt.Sprintf("%s the account in the billing system (%s)", verb, c.reason),
		accountOptions, fn, activities.AccountActionInput{Action: act}, func(err error) { r.accountDone(c, err) })
}

// accountDone records c on the CRM once the billing system has answered,
// unless a newer action waits (its record is the last word); when both are
// done it frees the line and dispatches the action waiting for it.
func (r *journey) accountDone(c *accountCall, err error) {
	c.cancel() // releases the context
	if temporal.IsCanceledError(err) {
		r.note(KindDecision, "%s stopped by its cancel; whether it acted is not known", c.step)
	}
	l := &r.account
	if !c.recording && l.waiting == nil {
		r.recordAccount(c)
		return
	}
	l.running = nil
	if w := l.waiting; w != nil {
		l.waiting = nil
		r.startAccount(w)
	}
}

// recordAccount puts c's account status on the CRM contact, in a context
// a restore can cancel as it cancels the suspend.
func (r *journey) recordAccount(c *accountCall) {
	ctx, cancel := workflow.WithCancel(r.ctx)
	c.cancel, c.recording = cancel, true
	status := "suspended"
	if c.action == messages.AccountRestore {
		status = "active"
	}
	step := c.step + ".crm"
	update := messages.CRMUpdate{Meta: r.meta(step, "", messages.ChannelCRM), Email: r.st.Profile.Email,
		Properties: map[string]string{"account_status": status, "health_score": itoa(r.st.HealthScore)},
		Note:       fmt.Sprintf("Account %s: %s", status, c.reason)}
	r.dispatchThen(ctx, messages.ChannelCRM, step, fmt.Sprintf("record account %s in the CRM", status),
		crmOptions, acts.UpdateCRM, activities.UpdateCRMInput{Update: update}, func(err error) { r.accountDone(c, err) })
}
