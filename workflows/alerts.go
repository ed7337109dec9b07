package workflows

import (
	"fmt"
	"time"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/messages"
	"go.temporal.io/sdk/workflow"
)

// CSM alerts are followed up: an alert nobody acknowledges within the
// playbook's SLA escalates, once, to the team channel. The CSM answers
// through the UpdateAlertResponse update (the Slack buttons): acknowledge
// ends the follow-up, snooze quiets the alert and restarts its SLA after.

// AlertStatus is where a CSM alert stands.
type AlertStatus string

// Alert statuses.
const (
	AlertOpen         AlertStatus = "open"
	AlertAcknowledged AlertStatus = "acknowledged"
	AlertSnoozed      AlertStatus = "snoozed"
	AlertEscalated    AlertStatus = "escalated"
)

// Alert is a CSM alert and its follow-up.
type Alert struct {
	// Key is the alert's idempotency key; answers (Slack buttons) carry it.
	Key      string      `json:"key"`
	Step     string      `json:"step"`
	Template string      `json:"template"`
	RaisedAt time.Time   `json:"raised_at"`
	Status   AlertStatus `json:"status"`
	// EscalateAt is when an open alert escalates; nil when it never will.
	EscalateAt   *time.Time `json:"escalate_at,omitempty"`
	SnoozedUntil *time.Time `json:"snoozed_until,omitempty"`
	EscalatedAt  *time.Time `json:"escalated_at,omitempty"`
	// AnsweredBy and AnsweredAt record the last acknowledge or snooze.
	AnsweredBy string     `json:"answered_by,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// trackAlert records an alert just raised, with its escalation deadline.
func (r *journey) trackAlert(key, step, template string) {
	now := workflow.Now(r.ctx)
	a := Alert{Key: key, Step: step, Template: template, RaisedAt: now, Status: AlertOpen, EscalateAt: r.slaDeadline(now)}
	r.st.Alerts = append(r.st.Alerts, a)
	if n := len(r.st.Alerts) - AlertsKept; n > 0 {
		r.st.Alerts = append([]Alert(nil), r.st.Alerts[n:]...)
	}
	r.recordAlertInCRM(a)
}

// slaDeadline is when an alert raised at from escalates, or nil for never.
func (r *journey) slaDeadline(from time.Time) *time.Time {
	days := r.pb.Alerts.SLADays
	if days <= 0 {
		return nil
	}
	at := from
	if r.pb.Alerts.BusinessDays && r.pb.DayLength.D() == 24*time.Hour {
		for days > 0 {
			at = at.Add(24 * time.Hour)
			if wd := at.UTC().Weekday(); wd != time.Saturday && wd != time.Sunday {
				days--
			}
		}
	} else {
		at = at.Add(r.pb.Day(days))
	}
	return &at
}

// nextAlertWake is the earliest time an alert needs the journey: a snooze
// ending or an escalation falling due.
func (r *journey) nextAlertWake() (time.Time, string) {
	var at time.Time
	var why string
	for _, a := range r.st.Alerts {
		switch {
		case a.Status == AlertSnoozed && a.SnoozedUntil != nil && (at.IsZero() || a.SnoozedUntil.Before(at)):
			at, why = *a.SnoozedUntil, fmt.Sprintf("end the snooze of the %s alert (%s)", a.Template, a.Step)
		case a.Status == AlertOpen && a.EscalateAt != nil && (at.IsZero() || a.EscalateAt.Before(at)):
			at, why = *a.EscalateAt, fmt.Sprintf("escalate the %s alert (%s) to the team unless acknowledged", a.Template, a.Step)
		}
	}
	return at, why
}

// advanceAlerts ends snoozes and escalates what is due.
func (r *journey) advanceAlerts() {
	now := workflow.Now(r.ctx)
	for i := range r.st.Alerts {
		a := &r.st.Alerts[i]
		switch {
		case a.Status == AlertSnoozed && a.SnoozedUntil != nil && !now.Before(*a.SnoozedUntil):
			a.Status, a.SnoozedUntil, a.EscalateAt = AlertOpen, nil, r.slaDeadline(now)
			r.note(KindDecision, "snooze of the %s alert ended; it escalates if not acknowledged", a.Template)
		case a.Status == AlertOpen && a.EscalateAt != nil && !now.Before(*a.EscalateAt):
			a.Status, a.EscalatedAt, a.EscalateAt = AlertEscalated, &now, nil
			r.st.Counters.Escalations++
			r.countAlert(MetricAlertsEscalated, a.Template)
			r.note(KindDecision, "the %s alert was not acknowledged within %d days: escalating to the team", a.Template, r.pb.Alerts.SLADays)
			r.dispatchAlert(a.Step+".escalation", r.pb.Alerts.EscalationAlert, "")
		}
	}
}

// validateAlertResponse rejects answers to unknown alerts and unknown
// actions before they are written to history. It must not change state.
func (r *journey) validateAlertResponse(in AlertResponse) error {
	if in.Action != AlertActionAcknowledge && in.Action != AlertActionSnooze {
		return fmt.Errorf("unknown action %q: want %s or %s", in.Action, AlertActionAcknowledge, AlertActionSnooze)
	}
	if r.alert(in.AlertKey) == nil {
		return fmt.Errorf("no alert %q on this journey", in.AlertKey)
	}
	return nil
}

// answerAlert applies a CSM's answer. Answering an acknowledged alert again
// changes nothing, so a repeated click is harmless.
func (r *journey) answerAlert(_ workflow.Context, in AlertResponse) (Alert, error) {
	a := r.alert(in.AlertKey)
	if a == nil { // the validator ran; a replay cannot get here
		return Alert{}, fmt.Errorf("no alert %q on this journey", in.AlertKey)
	}
	if a.Status == AlertAcknowledged {
		return *a, nil
	}
	now := workflow.Now(r.ctx)
	a.AnsweredBy, a.AnsweredAt = in.By, &now
	r.st.Counters.AlertsAnswered++
	switch in.Action {
	case AlertActionAcknowledge:
		a.Status, a.EscalateAt, a.SnoozedUntil = AlertAcknowledged, nil, nil
		r.countAlert(MetricAlertsAcknowledged, a.Template)
		r.note(KindEvent, "%s acknowledged the %s alert", orNone(in.By), a.Template)
	case AlertActionSnooze:
		until := now.Add(r.pb.Day(r.pb.Alerts.SnoozeDays))
		a.Status, a.SnoozedUntil, a.EscalateAt = AlertSnoozed, &until, nil
		r.countAlert(MetricAlertsSnoozed, a.Template)
		r.note(KindEvent, "%s snoozed the %s alert for %d days", orNone(in.By), a.Template, r.pb.Alerts.SnoozeDays)
	}
	return *a, nil
}

func (r *journey) alert(key string) *Alert {
	for i := range r.st.Alerts {
		if r.st.Alerts[i].Key == key {
			return &r.st.Alerts[i]
		}
	}
	return nil
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
	r.dispatch(messages.ChannelAlert, step, "", fmt.Sprintf("alert %s: %s (%s)", who, template, step), sendOptions, acts.AlertCSM, in)
	return in.IdempotencyKey
}
