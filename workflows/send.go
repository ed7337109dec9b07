package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// The one send path, from "the journey decides to send" to "the activity is
// scheduled": sendEmail (or a step's touch, lifecycle.go) plans a message;
// deliver passes it through the delivery rules in order (rules.go); route
// picks its channel; a message that must wait is deferred and comes back
// through deliver when due; send builds the activity's input; dispatch
// schedules it on the channel's task queue and records the outcome. All of
// it runs inside the customer's one workflow, so two messages never race
// past a cap.

// dataOpt adds what one message needs beyond the state, such as an offer.
type dataOpt func(*messages.Data)

// sendEmail sends template to the customer by email as step, a message of
// class c, through the delivery rules.
func (r *journey) sendEmail(step, template string, c class, opts ...dataOpt) {
	r.deliver(r.message(step, template, messages.ChannelEmail, c, opts...))
}

// message builds the outgoing message a step or rule planned. Of what opts
// add to the template data, Tip and Offer are kept, so that they survive a
// wait; they are all an email or text needs beyond the state.
func (r *journey) message(step, template string, ch messages.Channel, c class, opts ...dataOpt) PendingSend {
	var d messages.Data
	for _, o := range opts {
		o(&d)
	}
	return PendingSend{Step: step, Template: template, Channel: string(ch), Class: string(c), Tip: d.Tip, Offer: d.Offer}
}

// deliver passes m through the delivery rules in their order (its class's
// suppression, the holdout, consent and fallback, the send window, the
// frequency cap) and sends it, defers it or drops it.
func (r *journey) deliver(m PendingSend) {
	c, planned := class(m.Class), messages.Channel(m.Channel)
	if r.skipSuppressed(planned, m.Step, m.Template, c) {
		return
	}
	if c == marketing && r.st.Delivery.Holdout {
		r.st.Counters.HeldOut++
		r.countSuppressed(planned, c, SkipHoldout)
		r.note(KindSkip, "%s: %s %s not sent, the customer is in the holdout", m.Step, m.Template, planned)
		return
	}
	ch, ok := r.route(m)
	if !ok {
		return
	}
	now := workflow.Now(r.ctx)
	if at := r.windowOpens(ch, c, now); at.After(now) {
		at = r.spread(ch, c, at)
		r.st.Counters.DeferredQuietHours++
		r.countDeferred(ch, c, DeferQuietHours)
		r.wait(m, at, fmt.Sprintf("quiet hours: %s may go from %s", ch, r.localText(at)))
		return
	}
	if until, why := r.capHolds(c, now); !until.IsZero() {
		if r.pb.Delivery.CappedAction(m.Template) == playbook.CappedDrop {
			r.st.Counters.DroppedCap++
			r.countSuppressed(ch, c, SkipFrequencyCap)
			r.note(KindSkip, "%s: %s %s dropped, %s", m.Step, m.Template, ch, why)
			return
		}
		at := r.spread(ch, c, r.windowOpens(ch, c, r.resumeAt(until)))
		r.st.Counters.DeferredCap++
		r.countDeferred(ch, c, DeferFrequencyCap)
		r.wait(m, at, fmt.Sprintf("%s: next slot %s", why, r.localText(at)))
		return
	}
	r.markSent(c, now)
	r.send(m, ch)
}

// route picks the channel m goes on: its own, or the other one when its
// own cannot reach the customer (fallback, rules.go). With neither, the
// message is noted as not sent, and the CSM is told once when it mattered.
func (r *journey) route(m PendingSend) (messages.Channel, bool) {
	c, planned := class(m.Class), messages.Channel(m.Channel)
	reason, why := r.blocked(planned, c)
	if why == "" {
		return planned, true
	}
	other, whyNot := r.fallback(m, reason)
	if other != "" {
		r.st.Counters.FellBack++
		r.note(KindDecision, "%s: %s goes by %s, %s", m.Step, m.Template, other, why)
		return other, true
	}
	whys := []string{why}
	if whyNot != "" {
		whys = append(whys, whyNot)
	}
	r.countSuppressed(planned, c, reason)
	r.note(KindSkip, "%s: %s %s not sent, %s", m.Step, m.Template, planned, strings.Join(whys, "; "))
	if len(whys) > 1 && c != marketing {
		r.tellUnreachable(m, whys)
	}
	return "", false
}

// tellUnreachable alerts the CSM, once until a channel opens again, that a
// message that mattered found no channel to the customer.
func (r *journey) tellUnreachable(m PendingSend, whys []string) {
	t := r.pb.Delivery.UnreachableAlert
	if t == "" || r.st.Consent.UnreachableAlerted {
		return
	}
	r.st.Consent.UnreachableAlerted = true
	r.note(KindDecision, "no channel reaches the customer: telling the CSM")
	r.alertCSM("delivery.unreachable."+itoa(r.next("unreachable")), t, func(d *messages.Data) {
		why := append([]string{fmt.Sprintf("%s: %s", m.Channel, whys[0])}, whys[1:]...)
		d.Undelivered = messages.Undelivered{Message: strings.ReplaceAll(m.Template, "_", " "), Why: why}
	})
}

// PendingSend is a message to the customer that waits, for a send window
// or a frequency cap. When it is due it passes every rule again: it is
// dropped if its sequence ended, its goal was reached or its class is
// suppressed meanwhile.
type PendingSend struct {
	Step     string `json:"step"`
	Template string `json:"template"`
	// Channel is the channel the journey planned; the channel it goes on
	// is decided again when it is due.
	Channel string `json:"channel"`
	Class   string `json:"class"`
	// DueAt is when it is checked again; Why says what it waits for.
	DueAt time.Time `json:"due_at"`
	Why   string    `json:"why"`
	// Goal is the goal of the step that planned it.
	Goal string `json:"goal,omitempty"`
	// Experiment is "experiment=variant" when a variant planned it.
	Experiment string `json:"experiment,omitempty"`
	// Tip and Offer are the message's data beyond the state.
	Tip   string `json:"tip,omitempty"`
	Offer string `json:"offer,omitempty"`
	// Both: the step sends on both channels, so neither falls back.
	Both bool `json:"both,omitempty"`
	// ExpiresAt is when it stops being worth sending (expiry); zero for
	// never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// wait puts m aside until at, unless it would expire first, the same
// message already waits, or the queue is full: those are dropped.
func (r *journey) wait(m PendingSend, at time.Time, why string) {
	c, ch := class(m.Class), messages.Channel(m.Channel)
	if m.ExpiresAt.IsZero() {
		m.ExpiresAt = r.expiry(c)
	}
	if reason, whyNot := r.mayWait(m, at); whyNot != "" {
		r.countSuppressed(ch, c, reason)
		r.note(KindSkip, "%s: %s %s not deferred (%s): %s", m.Step, m.Template, m.Channel, why, whyNot)
		return
	}
	m.DueAt, m.Why = at, why
	p := r.st.Delivery.Pending
	i := len(p)
	for i > 0 && p[i-1].DueAt.After(at) {
		i--
	}
	r.st.Delivery.Pending = slices.Insert(p, i, m)
	r.note(KindDecision, "%s: %s %s deferred, %s", m.Step, m.Template, m.Channel, why)
}

// advanceDelivery passes the deferred messages that are due through the
// policies again.
func (r *journey) advanceDelivery() {
	now := workflow.Now(r.ctx)
	p := r.st.Delivery.Pending
	n := 0
	for n < len(p) && !p[n].DueAt.After(now) {
		n++
	}
	if n == 0 {
		return
	}
	due := slices.Clone(p[:n])
	r.st.Delivery.Pending = slices.Clone(p[n:])
	for _, m := range due {
		if why := r.stale(m); why != "" {
			r.countSuppressed(messages.Channel(m.Channel), class(m.Class), SkipStale)
			r.note(KindSkip, "%s: deferred %s %s dropped, %s", m.Step, m.Template, m.Channel, why)
			continue
		}
		r.deliver(m)
	}
}

// dropPending notes and counts the messages still waiting when the journey
// stops: they will not be sent.
func (r *journey) dropPending(why string) {
	p := r.st.Delivery.Pending
	if len(p) == 0 {
		return
	}
	var names []string
	for _, m := range p {
		r.countSuppressed(messages.Channel(m.Channel), class(m.Class), SkipJourneyEnded)
		names = append(names, m.Template+" "+m.Channel)
	}
	r.st.Delivery.Pending = nil
	r.note(KindSkip, "%s deferred: not sent, %s (%s)", plural(len(p), "message", "messages"), why, strings.Join(names, ", "))
}

// nextDeliveryWake is when the first deferred message is due.
func (r *journey) nextDeliveryWake() (time.Time, string) {
	p := r.st.Delivery.Pending
	if len(p) == 0 {
		return time.Time{}, ""
	}
	return p[0].DueAt, fmt.Sprintf("send the deferred %s %s (%s)", p[0].Template, p[0].Channel, p[0].Why)
}

// send dispatches m on ch. Inside a window it must go before the window
// shuts: the activity's ScheduleToClose ends there, so neither a queue
// behind the channel's rate limit nor retries carry it past (sendOutcome
// defers it again). Its class sets its priority on the channel's queue.
// A text can be called back while it waits (recallTexts).
func (r *journey) send(m PendingSend, ch messages.Channel) {
	c, now := class(m.Class), workflow.Now(r.ctx)
	meta := r.meta(m.Step, m.Template, ch)
	meta.Class, meta.Experiment = m.Class, m.Experiment
	data := r.data(func(d *messages.Data) { d.Tip, d.Offer = m.Tip, m.Offer })
	opts := sendOptions
	opts.Priority = temporal.Priority{PriorityKey: priorityOf(c)}
	by := r.sendBy(ch, c, now)
	if !by.IsZero() { // a second early: an attempt due at the close does not start
		opts.ScheduleToCloseTimeout = max(by.Sub(now)-time.Second, time.Second)
	}
	done := func(to string, res activities.Result, err error) { r.sendOutcome(m, ch, to, now, by, res, err) }
	if ch == messages.ChannelSMS {
		// A recalled text already at Twilio reports how it ended, not
		// "canceled": it may have gone.
		opts.WaitForCancellation = true
		ctx, recalled := r.recallable()
		in := activities.SendSMSInput{Meta: meta, To: r.st.Profile.Phone, Data: data}
		r.execute(ctx, ch, fmt.Sprintf("send %s SMS to the customer (%s)", m.Template, m.Step), opts, acts.SendSMS, in,
			func(res activities.Result, err error) { recalled(); done(in.To, res, err) })
		return
	}
	in := activities.SendEmailInput{Meta: meta, To: r.st.Profile.Email, Data: data}
	r.execute(r.ctx, ch, fmt.Sprintf("send %s email to the customer (%s)", m.Template, m.Step), opts, acts.SendEmail, in,
		func(res activities.Result, err error) { done(in.To, res, err) })
}

// refused closes SMS when the vendor refused number to for good, unless
// the profile's phone changed while the send was under way.
func (r *journey) refused(ch messages.Channel, to string, appErr *temporal.ApplicationError) {
	var vendorReason string
	if ch != messages.ChannelSMS || !appErr.HasDetails() || appErr.Details(&vendorReason) != nil ||
		(vendorReason != SkipInvalidNumber && vendorReason != SkipUnsubscribed) {
		return
	}
	e := ConsentEntry{OccurredAt: workflow.Now(r.ctx), Channel: signals.ConsentSMS, Status: signals.ConsentUnusable, Source: ConsentSourceTwilio, Reason: vendorReason}
	if vendorReason == SkipUnsubscribed {
		e.Status = signals.ConsentOptedOut
	}
	if !sameAddress(signals.ConsentSMS, to, r.st.Profile.Phone) {
		r.note(KindSkip, "sms: the vendor refused a previous number (%s): the current one is still tried", smsUnusableText(vendorReason))
		r.record(e, ConsentIgnoredPreviousAddress)
		return
	}
	r.record(e, ConsentApplied)
	r.st.SMSUnusable = vendorReason // texts in flight are refused by Twilio alike
	r.note(KindDecision, "no more SMS to this customer: %s", smsUnusableText(vendorReason))
}

// Priority keys of customer messages on their channel's queue (1 goes
// first): when a backlog builds behind the rate limit, transactional
// messages overtake lifecycle ones, and those marketing.
const (
	PriorityTransactional = 1
	PriorityLifecycle     = 3
	PriorityMarketing     = 5
)

func priorityOf(c class) int {
	switch c {
	case transactional:
		return PriorityTransactional
	case marketing:
		return PriorityMarketing
	}
	return PriorityLifecycle
}

// pendingText is a text not yet done and how to call it back.
type pendingText struct {
	id     int
	cancel workflow.CancelFunc
}

// recallable is a context for a text that recallTexts cancels, and the
// function that forgets it once the text is done.
func (r *journey) recallable() (workflow.Context, func()) {
	ctx, cancel := workflow.WithCancel(r.ctx)
	r.textSeq++
	id := r.textSeq
	r.texts = append(r.texts, pendingText{id: id, cancel: cancel})
	return ctx, func() {
		r.texts = slices.DeleteFunc(r.texts, func(t pendingText) bool { return t.id == id })
	}
}

// recallTexts cancels every text not yet done, when SMS may no longer
// reach the customer (a STOP, an unusable number). One still in its
// channel's queue never starts: the server drops a canceled activity
// that has not started. One already handed to Twilio cannot be called
// back, and Twilio itself refuses a number that texted STOP.
func (r *journey) recallTexts() {
	for _, t := range slices.Clone(r.texts) { // in order: each cancel is a command
		t.cancel()
	}
}

// sendOutcome takes in the end of a send to the customer at to, sent at sentAt:
// a text recalled is noted as not sent; a message whose window shut
// before it went waits for the next; the rest is recordOutcome's.
func (r *journey) sendOutcome(m PendingSend, ch messages.Channel, to string, sentAt, by time.Time, res activities.Result, err error) {
	c := class(m.Class)
	switch {
	case err != nil && temporal.IsCanceledError(err) && r.ctx.Err() == nil:
		r.unmarkSent(c, sentAt)
		reason, why := r.blocked(ch, c)
		r.countSuppressed(ch, c, orDefault(reason, SkipUnsubscribed))
		r.note(KindSkip, "%s: %s %s not sent, %s while it waited to go", m.Step, m.Template, ch, orDefault(why, "texts were stopped"))
	case err != nil && !by.IsZero() && !temporal.IsCanceledError(err) && windowShut(err):
		r.unmarkSent(c, sentAt)
		at := r.spread(ch, c, r.windowOpens(ch, c, by))
		r.st.Counters.DeferredQuietHours++
		r.countDeferred(ch, c, DeferWindowClosed)
		r.wait(m, at, fmt.Sprintf("the %s window shut at %s before it could go: %s may go from %s", ch, r.localText(by), ch, r.localText(at)))
		r.redeferred.SendAsync(true) // the run loop re-arms its timer
	default:
		r.recordOutcome(ch, m.Step, to, res, err)
	}
}

// windowShut reports whether err ended a send by its ScheduleToClose:
// the send's retry policy sets no attempt limit, so any failure but a
// non-retryable one (permanent, template) means it ran out of time, in
// the queue or retrying.
func windowShut(err error) bool {
	var app *temporal.ApplicationError
	return !errors.As(err, &app) || !app.NonRetryable()
}

// acts names the activities; its methods are only used as references.
var acts *activities.Activities

// Retry policies, chosen per kind of side effect:
var (
	// Messages to the customer or CSM: a vendor outage of up to an hour is
	// retried with backoff; after that the message is recorded as failed,
	// because a nudge that arrives half a day late reads wrong. Permanent
	// vendor errors (invalid number, unsubscribed) and template errors are
	// non-retryable and end the send at once. Inside a send window the
	// deadline is the window's end instead (send).
	sendOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    2 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
		},
	}
	// CRM records may arrive late but should arrive: retried for a day.
	crmOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Minute,
		},
	}
	// Account actions retry like CRM records; a canceled one is waited for
	// until its activity has stopped, so the next cannot overtake it
	// (account.go).
	accountOptions = func() workflow.ActivityOptions {
		o := crmOptions
		o.WaitForCancellation = true
		return o
	}()
)

// meta builds the metadata of a send. The idempotency key is the same on
// every retry and replay of this send and differs between journeys of the
// same customer.
func (r *journey) meta(step, template string, ch messages.Channel) messages.Meta {
	return messages.Meta{
		CustomerID:     r.st.CustomerID,
		Step:           step,
		Template:       template,
		IdempotencyKey: fmt.Sprintf("%s%s/%s/%s", IdempotencyKeyPrefix(r.st.CustomerID), r.st.JourneyID, step, ch),
	}
}

// dispatch runs an activity on its channel's task queue, where the
// fleet-wide rate limit holds (ActivityTaskQueue), in its own workflow
// goroutine, so that a slow vendor never delays the journey's reaction to
// the next event, and records the outcome on the timeline. to is the
// customer's address or number the message goes to ("" for the CSM, CRM
// and billing), so a refusal is held against that one only.
func (r *journey) dispatch(ch messages.Channel, step, to, summary string, opts workflow.ActivityOptions, activity, in any) {
	r.execute(r.ctx, ch, summary, opts, activity, in, func(res activities.Result, err error) { r.recordOutcome(ch, step, to, res, err) })
}

// dispatchThen is dispatch in ctx, which the caller may cancel, and calls
// then, if set, with the outcome while the activity still counts as in
// flight, so that what then dispatches keeps the run from handing over.
func (r *journey) dispatchThen(ctx workflow.Context, ch messages.Channel, step, summary string, opts workflow.ActivityOptions, activity, in any, then func(error)) {
	r.execute(ctx, ch, summary, opts, activity, in, func(res activities.Result, err error) {
		if err != nil && ctx.Err() != nil {
			// Stopped by the caller's cancel, however the attempt ended:
			// neither sent nor failed.
			r.note(KindSkip, "%s %s stopped before it finished", ch, step)
		} else {
			r.recordOutcome(ch, step, "", res, err)
		}
		if then != nil {
			then(err)
		}
	})
}

// execute runs activity in ctx on ch's task queue, in a goroutine of its
// own, and hands its outcome to done.
func (r *journey) execute(ctx workflow.Context, ch messages.Channel, summary string, opts workflow.ActivityOptions, activity, in any, done func(activities.Result, error)) {
	opts.Summary, opts.TaskQueue = summary, ActivityTaskQueue(ch)
	r.inflight++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() {
			if r.inflight--; r.inflight == 0 {
				r.settled.SendAsync(true)
			}
		}()
		var res activities.Result
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activity, in).Get(ctx, &res)
		done(res, err)
	})
}

// recordOutcome counts a finished send to to and notes it; a permanent
// SMS refusal (invalid number, unsubscribed) of the current number closes
// the channel.
func (r *journey) recordOutcome(ch messages.Channel, step, to string, res activities.Result, err error) {
	if err != nil {
		if temporal.IsCanceledError(err) {
			return
		}
		r.st.Counters.SendsFailed++
		reason := err.Error()
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypePermanent {
			reason = "permanent: " + appErr.Message()
			r.refused(ch, to, appErr)
		}
		r.note(KindError, "%s %s failed: %s", ch, step, reason)
		r.log.Warn("Send failed", "Channel", ch, "Step", step, "Error", err)
		return
	}
	switch ch {
	case messages.ChannelEmail:
		r.st.Counters.EmailsSent++
	case messages.ChannelSMS:
		r.st.Counters.SMSSent++
	case messages.ChannelAlert:
		r.st.Counters.CSMAlerts++
	case messages.ChannelCRM:
		r.st.Counters.CRMUpdates++
	case messages.ChannelBilling:
	}
	r.note(KindSend, "%s %s: %s", ch, step, res.Summary)
}
