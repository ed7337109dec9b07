package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// Dunning runs alongside whatever stage the customer is in, from a failed
// payment until it is paid: the playbook's steps by day, then suspension at
// the end of the grace period. A payment ends it at once, whatever step is
// pending, and restores a suspended account.

// DunningState is a failed payment being recovered.
type DunningState struct {
	Since     time.Time `json:"since"`
	InvoiceID string    `json:"invoice_id"`
	// Unpaid are the failed invoices; dunning ends when all are paid.
	Unpaid    []string `json:"unpaid"`
	Amount    int64    `json:"amount"`
	Currency  string   `json:"currency"`
	Attempt   int      `json:"attempt"`
	Reason    string   `json:"reason,omitempty"`
	UpdateURL string   `json:"update_url"`
	StepsDone []string `json:"steps_done"`
}

// PaidInvoice is an invoice the customer paid, and when (the payment
// event's occurred_at).
type PaidInvoice struct {
	ID     string    `json:"id"`
	PaidAt time.Time `json:"paid_at"`
}

func (r *journey) onPaymentFailed(ev signals.Event, d signals.PaymentFailedData) {
	if paidAt, ok := r.paidAt(d.InvoiceID); ok && !ev.OccurredAt.After(paidAt) {
		// A retried webhook: the failure happened before the payment.
		r.note(KindSkip, "payment of invoice %s failed before it was paid (failed %s, paid %s): ignored",
			d.InvoiceID, ev.OccurredAt.UTC().Format(time.RFC3339), paidAt.UTC().Format(time.RFC3339))
		return
	}
	if !r.active() && r.st.Stage != StageCancelling {
		r.note(KindSkip, "payment of invoice %s failed after the subscription ended; no dunning", d.InvoiceID)
		return
	}
	dn := r.st.Dunning
	if dn != nil {
		switch {
		case slices.Contains(dn.Unpaid, d.InvoiceID):
		case len(dn.Unpaid) >= UnpaidKept:
			r.note(KindSkip, "invoice %s not tracked: %d unpaid invoices tracked already", d.InvoiceID, UnpaidKept)
		default:
			dn.Unpaid = append(dn.Unpaid, d.InvoiceID)
		}
		dn.Attempt = max(dn.Attempt+1, d.Attempt)
		if d.UpdateURL != "" {
			dn.UpdateURL = d.UpdateURL
		}
		if d.Reason != "" {
			dn.Reason = d.Reason
		}
		r.note(KindEvent, "payment of invoice %s failed again (attempt %d); dunning goes on", d.InvoiceID, dn.Attempt)
		return
	}
	r.next("dunning")
	r.st.Counters.Dunnings++
	r.st.Dunning = &DunningState{
		Since: workflow.Now(r.ctx), InvoiceID: d.InvoiceID, Unpaid: []string{d.InvoiceID},
		Amount: d.Amount, Currency: d.Currency, Attempt: max(1, d.Attempt), Reason: d.Reason,
		UpdateURL: d.UpdateURL, StepsDone: []string{},
	}
	r.note(KindEvent, "payment of invoice %s failed (%s): dunning starts", d.InvoiceID, orNone(d.Reason))
}

func (r *journey) dunningKey(name string) string {
	return fmt.Sprintf("dunning.%d.%s", r.seq("dunning"), name)
}

// advanceDunning runs the steps due and suspends at the end of the grace.
func (r *journey) advanceDunning() {
	dn, dp := r.st.Dunning, r.pb.Dunning
	if dn == nil {
		return
	}
	r.dueSteps(playbook.SequenceDunning, dn.Since, dp.Steps, &dn.StepsDone, func(s playbook.Step) string { return r.dunningKey(s.Name) }, transactional)
	if !r.st.Suspended && dp.SuspendAfterDays > 0 && !workflow.Now(r.ctx).Before(dn.Since.Add(r.pb.Day(dp.SuspendAfterDays))) {
		r.suspend()
	}
}

func (r *journey) nextDunningWake() (time.Time, string) {
	dn, dp := r.st.Dunning, r.pb.Dunning
	if dn == nil {
		return time.Time{}, ""
	}
	if at, s, ok := r.nextStep(playbook.SequenceDunning, dn.Since, dp.Steps, dn.StepsDone); ok {
		return at, fmt.Sprintf("wait for payment of invoice %s, else dunning day %d: %s", dn.InvoiceID, s.Day, describeStep(s))
	}
	if !r.st.Suspended && dp.SuspendAfterDays > 0 {
		return dn.Since.Add(r.pb.Day(dp.SuspendAfterDays)), fmt.Sprintf("wait for payment of invoice %s, else suspend the account (day %d)", dn.InvoiceID, dp.SuspendAfterDays)
	}
	return time.Time{}, ""
}

// suspend ends the grace period: the billing system suspends the account,
// the CRM records it and the customer is told how to restore it.
func (r *journey) suspend() {
	dn := r.st.Dunning
	r.st.Suspended = true
	r.st.Counters.Suspensions++
	r.note(KindDecision, "invoice %s still unpaid after %s: suspending the account", dn.InvoiceID, plural(r.pb.Dunning.SuspendAfterDays, "day", "days"))
	r.accountAction(r.dunningKey("suspend"), messages.AccountSuspend, dn.InvoiceID,
		fmt.Sprintf("invoice %s unpaid after the %d-day grace period", dn.InvoiceID, r.pb.Dunning.SuspendAfterDays))
	if t := r.pb.Dunning.SuspendedEmail; t != "" {
		r.sendEmail(r.dunningKey("suspended"), t, transactional)
	}
}

// onPaymentSucceeded ends dunning when every failed invoice is paid, and
// closes the renewal it pays.
func (r *journey) onPaymentSucceeded(ev signals.Event, d signals.PaymentSucceededData) {
	r.note(KindEvent, "invoice %s paid", d.InvoiceID)
	r.rememberPaid(d.InvoiceID, ev.OccurredAt)
	if dn := r.st.Dunning; dn != nil {
		if i := slices.Index(dn.Unpaid, d.InvoiceID); i >= 0 {
			dn.Unpaid = slices.Delete(dn.Unpaid, i, i+1)
		}
		if len(dn.Unpaid) == 0 {
			r.recover(d.InvoiceID)
		} else {
			r.note(KindDecision, "dunning goes on: %s still unpaid", dn.Unpaid[0])
		}
	}
	if rn := r.st.Renewal; rn != nil && (d.Renewal || !ev.OccurredAt.Before(rn.RenewsAt.Add(-r.pb.Day(1)))) {
		r.closeRenewal("renewal paid")
	}
}

// rememberPaid records that invoice id was paid at at, keeping the newest
// PaidInvoicesKept.
func (r *journey) rememberPaid(id string, at time.Time) {
	if id == "" {
		return
	}
	p := slices.DeleteFunc(r.st.PaidInvoices, func(pi PaidInvoice) bool { return pi.ID == id })
	p = append(p, PaidInvoice{ID: id, PaidAt: at})
	if n := len(p) - PaidInvoicesKept; n > 0 {
		p = slices.Delete(p, 0, n)
	}
	r.st.PaidInvoices = p
}

// paidAt is when invoice id was paid, if the journey remembers it.
func (r *journey) paidAt(id string) (time.Time, bool) {
	for _, pi := range r.st.PaidInvoices {
		if pi.ID == id {
			return pi.PaidAt, true
		}
	}
	return time.Time{}, false
}

// recover ends dunning: "you're all set", and the account back if it was
// suspended.
func (r *journey) recover(invoiceID string) {
	dn := r.st.Dunning
	r.st.Counters.DunningRecovered++
	r.note(KindDecision, "payment recovered after %s: dunning ends", plural(r.daysSince(dn.Since), "day", "days"))
	if t := r.pb.Dunning.RecoveredEmail; t != "" {
		// Rendered with the dunning's payment, so the email names what was paid.
		r.sendEmail(r.dunningKey("recovered"), t, transactional)
	}
	if r.st.Suspended {
		r.accountAction(r.dunningKey("restore"), messages.AccountRestore, invoiceID, fmt.Sprintf("invoice %s paid", invoiceID))
		r.st.Suspended = false
	}
	r.st.Dunning = nil
}

// accountAction asks the billing system to suspend or restore the account,
// in order after any action still in flight, and then records it on the
// CRM contact (account.go).
func (r *journey) accountAction(step, action, invoiceID, reason string) {
	r.queueAccount(&accountCall{step: step, action: action, invoiceID: invoiceID, reason: reason})
}
