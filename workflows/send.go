package workflows

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/messages"
)

// acts names the activities; its methods are only used as references.
var acts *activities.Activities

// Retry policies, chosen per kind of side effect:
var (
	// Messages to the customer or CSM: a vendor outage of up to an hour is
	// retried with backoff; after that the message is recorded as failed,
	// because a nudge that arrives half a day late reads wrong. Permanent
	// vendor errors (invalid number, unsubscribed) and template errors are
	// non-retryable and end the send at once.
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
)

// meta builds the metadata of a send. The idempotency key is the same on
// every retry and replay of this send and differs between journeys of the
// same customer.
func (r *journey) meta(step, template string, ch messages.Channel) messages.Meta {
	return messages.Meta{
		CustomerID:     r.st.CustomerID,
		Step:           step,
		Template:       template,
		IdempotencyKey: fmt.Sprintf("%s/%s/%s/%s", WorkflowID(r.st.CustomerID), r.st.JourneyID, step, ch),
	}
}

// dataOpt adds what one message needs beyond the state, such as an offer.
type dataOpt func(*messages.Data)

func (r *journey) sendEmail(step, template string) { r.sendEmailAs(step, template, lifecycle) }

func (r *journey) sendSMS(step, template string) { r.sendSMSAs(step, template, lifecycle) }

// sendEmailAs sends an email of class c, through the delivery policies
// (delivery.go) when this run has them, else unless its class is
// suppressed now.
func (r *journey) sendEmailAs(step, template string, c class, opts ...dataOpt) {
	r.sendAs(r.message(step, template, messages.ChannelEmail, c, opts...))
}

// sendSMSAs is sendEmailAs for a text.
func (r *journey) sendSMSAs(step, template string, c class, opts ...dataOpt) {
	r.sendAs(r.message(step, template, messages.ChannelSMS, c, opts...))
}

func (r *journey) sendAs(m PendingSend) {
	if r.policies {
		r.deliver(m)
		return
	}
	ch := messages.Channel(m.Channel)
	if r.skipSuppressed(ch, m.Step, m.Template, class(m.Class)) {
		return
	}
	r.send(m, ch)
}

// skipSuppressed records a send on ch its class does not allow now.
func (r *journey) skipSuppressed(ch messages.Channel, step, template string, c class) bool {
	reason, why := r.suppressed(c)
	if why == "" {
		return false
	}
	r.st.Counters.SendsSuppressed++
	r.countSuppressed(ch, c, reason)
	r.note(KindSkip, "%s: %s not sent, %s", step, template, why)
	return true
}

// alertCSM alerts the customer's CSM and follows the alert up.
func (r *journey) alertCSM(step, template string, opts ...dataOpt) {
	key := r.dispatchAlert(step, template, r.st.Profile.CSM, opts...)
	r.countAlert(MetricAlertsRaised, template)
	r.trackAlert(key, step, template)
}

// dispatchAlert sends an alert to csm ("" for the team channel) and returns
// its key.
func (r *journey) dispatchAlert(step, template, csm string, opts ...dataOpt) string {
	d := r.data(opts...)
	for _, e := range r.st.Timeline[max(0, len(r.st.Timeline)-5):] {
		d.Recent = append(d.Recent, e.At.Format("Jan 2 15:04")+" "+e.Text)
	}
	in := activities.AlertCSMInput{Meta: r.meta(step, template, messages.ChannelAlert), CSM: csm, Data: d}
	in.Class = string(internal)
	who := "the CSM team channel"
	if csm != "" {
		who = "CSM " + csm
	}
	r.dispatch(messages.ChannelAlert, step, fmt.Sprintf("alert %s: %s (%s)", who, template, step), sendOptions, acts.AlertCSM, in)
	return in.IdempotencyKey
}

// recordStageInCRM records a stage change on the customer's CRM contact. The
// step is numbered by the journey's stage changes, so that returning to a
// stage later is a new record rather than a duplicate.
func (r *journey) recordStageInCRM(from Stage, why string) {
	step := fmt.Sprintf("stage.%d.%s", r.st.Counters.StageChanges, r.st.Stage)
	props := map[string]string{
		"lifecycle_stage": string(r.st.Stage),
		"health_tier":     r.st.HealthTier,
		"plan":            r.st.Profile.Plan,
	}
	r.lifecycleProperties(props)
	r.experimentProperties(props)
	r.updateCRM(step, fmt.Sprintf("record stage %s in the CRM", r.st.Stage), props,
		fmt.Sprintf("Journey stage %s → %s: %s", from, r.st.Stage, why))
}

// updateCRM records props and note on the customer's CRM contact.
func (r *journey) updateCRM(step, summary string, props map[string]string, note string) {
	update := messages.CRMUpdate{Meta: r.meta(step, "", messages.ChannelCRM), Email: r.st.Profile.Email, Properties: props, Note: note}
	r.dispatch(messages.ChannelCRM, step, summary, crmOptions, acts.UpdateCRM, activities.UpdateCRMInput{Update: update})
}

// lifecycleProperties adds the health score and MRR to a CRM record.
func (r *journey) lifecycleProperties(p map[string]string) {
	if !r.lifecycleOn() {
		return
	}
	p["health_score"] = itoa(r.st.HealthScore)
	p["mrr"] = strconv.FormatInt(r.st.Profile.MRR, 10)
	p["in_dunning"] = strconv.FormatBool(r.st.Dunning != nil)
}

// recordAlertInCRM puts the alert on the customer's CRM contact, so account
// owners see it where they work.
func (r *journey) recordAlertInCRM(a Alert) {
	step := a.Step + ".crm"
	props := map[string]string{
		"last_alert":    a.Template,
		"last_alert_at": a.RaisedAt.UTC().Format(time.RFC3339),
		"health_tier":   r.st.HealthTier,
	}
	r.lifecycleProperties(props)
	r.updateCRM(step, fmt.Sprintf("record the %s alert in the CRM", a.Template), props,
		fmt.Sprintf("CSM alert %s raised (%s); health tier %s", a.Template, a.Step, orNone(r.st.HealthTier)))
}

// versionVendorQueues moves each channel's activities to the channel's own
// task queue, where a fleet-wide rate limit holds (ActivityTaskQueue). Runs
// started before it keep every activity on TaskQueue until their next
// continue-as-new. Taken once per run, at setup.
const versionVendorQueues = "vendor-task-queues"

// dispatch runs an activity in its own workflow goroutine, so that a slow
// vendor never delays the journey's reaction to the next event, and records
// the outcome on the timeline.
func (r *journey) dispatch(ch messages.Channel, step, summary string, opts workflow.ActivityOptions, activity, in any) {
	opts.Summary = summary
	if r.vendorQueues {
		opts.TaskQueue = ActivityTaskQueue(ch)
	}
	r.inflight++
	workflow.Go(r.ctx, func(ctx workflow.Context) {
		defer func() {
			if r.inflight--; r.inflight == 0 {
				r.settled.SendAsync(true)
			}
		}()
		var res activities.Result
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activity, in).Get(ctx, &res)
		r.recordOutcome(ch, step, res, err)
	})
}

func (r *journey) recordOutcome(ch messages.Channel, step string, res activities.Result, err error) {
	if err != nil {
		if temporal.IsCanceledError(err) {
			return
		}
		r.st.Counters.SendsFailed++
		reason := err.Error()
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypePermanent {
			reason = "permanent: " + appErr.Message()
			var vendorReason string
			if ch == messages.ChannelSMS && appErr.HasDetails() && appErr.Details(&vendorReason) == nil &&
				(vendorReason == "invalid_number" || vendorReason == "unsubscribed") {
				r.st.SMSUnusable = vendorReason
				r.note(KindDecision, "no more SMS to this customer: %s", smsUnusableText(vendorReason))
			}
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

// data is what templates see, taken from the state now.
func (r *journey) data(opts ...dataOpt) messages.Data {
	p := r.st.Profile
	d := messages.Data{
		CustomerID: r.st.CustomerID, Name: p.Name, FirstName: firstName(p.Name), Email: p.Email,
		Plan: p.Plan, Seats: p.Seats, Product: r.pb.Product, AppURL: r.pb.AppURL,
		MilestonesTotal: len(r.pb.Onboarding.Milestones), DaysSinceSignup: r.journeyDay(),
		MilestonesDone: []string{}, MilestonesLeft: []string{}, HealthTier: r.st.HealthTier,
	}
	for _, m := range r.pb.Onboarding.Milestones {
		label := strings.ReplaceAll(m, "_", " ")
		if slices.Contains(r.st.Milestones, m) {
			d.MilestonesDone = append(d.MilestonesDone, label)
		} else {
			d.MilestonesLeft = append(d.MilestonesLeft, label)
		}
	}
	if r.lifecycleOn() {
		r.lifecycleData(&d)
	}
	for _, o := range opts {
		o(&d)
	}
	return d
}

// lifecycleData fills the template data of the lifecycle's messages.
func (r *journey) lifecycleData(d *messages.Data) {
	st, p := r.st, r.st.Profile
	d.Stage, d.HealthScore = string(st.Stage), st.HealthScore
	d.MRR, d.Currency, d.HighValue = p.MRR, p.Currency, r.highValue()
	d.DaysSinceLogin = r.daysSince(r.lastSeen())
	d.LoginsLast30Days = len(st.Usage.LoginDays)
	d.OpenTickets = len(st.Tickets)
	d.TopFeatures = topFeatures(st.Usage.Features, 3)
	if u := st.Usage.Latest; u != nil {
		d.Usage = messages.Usage{Known: true, ActiveUsers: u.ActiveUsers, KeyActions: u.KeyActions, SeatsUsed: u.SeatsUsed, DropPercent: usageDrop(st.Usage)}
		if prev := st.Usage.Previous; prev != nil {
			d.Usage.KeyActionsBefore = prev.KeyActions
		}
		if p.Seats > 0 {
			d.Usage.SeatsPercent = u.SeatsUsed * 100 / p.Seats
		}
	}
	d.NPS = messages.NPS{SurveyURL: fmt.Sprintf("%s/feedback/nps?customer=%s", r.pb.AppURL, url.QueryEscape(st.CustomerID))}
	if st.NPS.LastScore != nil {
		d.NPS.Answered, d.NPS.Score, d.NPS.Comment = true, *st.NPS.LastScore, st.NPS.LastComment
	}
	if dn := st.Dunning; dn != nil {
		suspendAt := dn.Since.Add(r.pb.Day(r.pb.Dunning.SuspendAfterDays))
		d.Payment = messages.Payment{
			InvoiceID: dn.InvoiceID, Amount: dn.Amount, Currency: orDefault(dn.Currency, p.Currency), Attempt: dn.Attempt,
			Reason: dn.Reason, UpdateURL: dn.UpdateURL, SuspendOn: r.dateText(suspendAt), DaysLeft: r.daysUntil(suspendAt),
		}
	}
	if rn := st.Renewal; rn != nil {
		d.Renewal = messages.Renewal{Date: r.dateText(rn.RenewsAt), DaysLeft: r.daysUntil(rn.RenewsAt), Amount: rn.Amount, Currency: orDefault(rn.Currency, p.Currency)}
	}
	if c := st.Cancellation; c != nil {
		d.Cancellation = messages.Cancellation{Reason: strings.ReplaceAll(c.Reason, "_", " "), Comment: c.Comment}
		if c.EffectiveAt != nil {
			d.Cancellation.EffectiveDate = r.dateText(*c.EffectiveAt)
		}
	}
}

// topFeatures lists the n most used features, readable, most used first.
func topFeatures(counts map[string]int, n int) []string {
	names := make([]string, 0, len(counts))
	// The order of the map does not matter: names is sorted next.
	//workflowcheck:ignore
	for f := range counts {
		names = append(names, f)
	}
	slices.SortFunc(names, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return strings.Compare(a, b)
	})
	out := []string{}
	for _, f := range names[:min(n, len(names))] {
		out = append(out, strings.ReplaceAll(f, "_", " "))
	}
	return out
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return "there"
}
