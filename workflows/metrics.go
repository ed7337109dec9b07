package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
)

// The journey's metrics, recorded through workflow.GetMetricsHandler. The
// SDK records nothing while a workflow replays, so each counts once however
// often a history is replayed. Counters, exported with "_total" appended;
// the tag keys of each are fixed:
//
//	journeys_messages_suppressed{channel, class, reason}  a send the journey decided against (the timeline's skips)
//	journeys_messages_deferred{channel, class, reason}    a send put off to a later chance: quiet hours, a
//	                                                      frequency cap or a window that shut before it went
//	journeys_alerts_raised{template}                      a CSM alert sent (escalations not included)
//	journeys_alerts_acknowledged{template}                a CSM acknowledged an alert
//	journeys_alerts_snoozed{template}                     a CSM snoozed an alert
//	journeys_alerts_escalated{template}                   an alert went to the team channel, unacknowledged
//
// The workflow handler carries the SDK's own tags too (namespace,
// task_queue, workflow_type).
const (
	MetricMessagesSuppressed = "journeys_messages_suppressed"
	MetricMessagesDeferred   = "journeys_messages_deferred"
	MetricAlertsRaised       = "journeys_alerts_raised"
	MetricAlertsAcknowledged = "journeys_alerts_acknowledged"
	MetricAlertsSnoozed      = "journeys_alerts_snoozed"
	MetricAlertsEscalated    = "journeys_alerts_escalated"
)

// Why a send was suppressed: the reason tag, a short stable token.
const (
	// SkipDunning is marketing paused while a payment is being recovered.
	SkipDunning = "dunning"
	// SkipNoPhone is an SMS to a customer without a phone number.
	SkipNoPhone = "no_phone"
	// SkipNoSMSConsent is an SMS to a customer who has not consented to texts.
	SkipNoSMSConsent = "no_sms_consent"
	// SkipInvalidNumber and SkipUnsubscribed are an SMS to a number the
	// vendor refused for good (State.SMSUnusable).
	SkipInvalidNumber = "invalid_number"
	SkipUnsubscribed  = "unsubscribed"
	// SkipHealthy is a CSM alert the playbook sends only for accounts not
	// healthy or high-value.
	SkipHealthy = "healthy"
	// SkipTooLate is a renewal step whose day had passed when the renewal
	// was scheduled.
	SkipTooLate = "too_late"
)

// internal is the class of CSM alerts, for metrics only: no rule
// suppresses them by class.
const internal class = "internal"

// countSuppressed counts a send of class c on ch not made, for reason.
func (r *journey) countSuppressed(ch messages.Channel, c class, reason string) {
	r.countSkip(MetricMessagesSuppressed, ch, c, reason)
}

// countDeferred counts a send of class c on ch put off, for reason.
func (r *journey) countDeferred(ch messages.Channel, c class, reason string) {
	r.countSkip(MetricMessagesDeferred, ch, c, reason)
}

func (r *journey) countSkip(name string, ch messages.Channel, c class, reason string) {
	workflow.GetMetricsHandler(r.ctx).WithTags(map[string]string{
		"channel": string(ch), "class": string(c), "reason": reason,
	}).Counter(name).Inc(1)
}

// countMissedTouch counts the sends step s names as suppressed: its email,
// its SMS if one could go, its alert.
func (r *journey) countMissedTouch(s playbook.Step, c class, reason string) {
	if s.Email != "" {
		r.countSuppressed(messages.ChannelEmail, c, reason)
	}
	if _, blocked := r.smsBlocked(); s.SMS != "" && blocked == "" {
		r.countSuppressed(messages.ChannelSMS, c, reason)
	}
	if s.CSMAlert != "" {
		r.countSuppressed(messages.ChannelAlert, internal, reason)
	}
}

// countAlert counts one step of an alert's life (MetricAlerts*).
func (r *journey) countAlert(name, template string) {
	workflow.GetMetricsHandler(r.ctx).WithTags(map[string]string{"template": template}).Counter(name).Inc(1)
}
