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

func (r *journey) sendEmail(step, template string) {
	in := activities.SendEmailInput{Meta: r.meta(step, template, messages.ChannelEmail), To: r.st.Profile.Email, Data: r.data()}
	r.dispatch(messages.ChannelEmail, step, fmt.Sprintf("send %s email to the customer (%s)", template, step), sendOptions, acts.SendEmail, in)
}

func (r *journey) sendSMS(step, template string) {
	in := activities.SendSMSInput{Meta: r.meta(step, template, messages.ChannelSMS), To: r.st.Profile.Phone, Data: r.data()}
	r.dispatch(messages.ChannelSMS, step, fmt.Sprintf("send %s SMS to the customer (%s)", template, step), sendOptions, acts.SendSMS, in)
}

// alertCSM alerts the customer's CSM and follows the alert up.
func (r *journey) alertCSM(step, template string) {
	key := r.dispatchAlert(step, template, r.st.Profile.CSM)
	r.trackAlert(key, step, template)
}

// dispatchAlert sends an alert to csm ("" for the team channel) and returns
// its key.
func (r *journey) dispatchAlert(step, template, csm string) string {
	d := r.data()
	for _, e := range r.st.Timeline[max(0, len(r.st.Timeline)-5):] {
		d.Recent = append(d.Recent, e.At.Format("Jan 2 15:04")+" "+e.Text)
	}
	in := activities.AlertCSMInput{Meta: r.meta(step, template, messages.ChannelAlert), CSM: csm, Data: d}
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
	update := messages.CRMUpdate{
		Meta:  r.meta(step, "", messages.ChannelCRM),
		Email: r.st.Profile.Email,
		Properties: map[string]string{
			"lifecycle_stage": string(r.st.Stage),
			"health_tier":     r.st.HealthTier,
			"plan":            r.st.Profile.Plan,
		},
		Note: fmt.Sprintf("Journey stage %s → %s: %s", from, r.st.Stage, why),
	}
	r.dispatch(messages.ChannelCRM, step, fmt.Sprintf("record stage %s in the CRM", r.st.Stage), crmOptions, acts.UpdateCRM, activities.UpdateCRMInput{Update: update})
}

// recordAlertInCRM puts the alert on the customer's CRM contact, so account
// owners see it where they work.
func (r *journey) recordAlertInCRM(a Alert) {
	step := a.Step + ".crm"
	update := messages.CRMUpdate{
		Meta:  r.meta(step, "", messages.ChannelCRM),
		Email: r.st.Profile.Email,
		Properties: map[string]string{
			"last_alert":    a.Template,
			"last_alert_at": a.RaisedAt.UTC().Format(time.RFC3339),
			"health_tier":   r.st.HealthTier,
		},
		Note: fmt.Sprintf("CSM alert %s raised (%s); health tier %s", a.Template, a.Step, orNone(r.st.HealthTier)),
	}
	r.dispatch(messages.ChannelCRM, step, fmt.Sprintf("record the %s alert in the CRM", a.Template), crmOptions, acts.UpdateCRM, activities.UpdateCRMInput{Update: update})
}

// dispatch runs an activity in its own workflow goroutine, so that a slow
// vendor never delays the journey's reaction to the next event, and records
// the outcome on the timeline.
func (r *journey) dispatch(ch messages.Channel, step, summary string, opts workflow.ActivityOptions, activity, in any) {
	opts.Summary = summary
	r.inflight++
	workflow.Go(r.ctx, func(ctx workflow.Context) {
		defer func() { r.inflight-- }()
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
	}
	r.note(KindSend, "%s %s: %s", ch, step, res.Summary)
}

// data is what templates see, taken from the state now.
func (r *journey) data() messages.Data {
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
	return d
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return "there"
}
