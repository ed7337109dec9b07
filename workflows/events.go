package workflows

import (
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// apply applies one event, once: an event ID seen before changes nothing.
// Whatever the payload holds, apply records and moves on; it never fails the
// journey.
func (r *journey) apply(ev signals.Event) {
	if ev.EventID == "" {
		r.reject("event without event_id", nil)
		return
	}
	if r.seen.has(ev.EventID) {
		r.st.Counters.EventsDuplicate++
		r.note(KindSkip, "duplicate %s event %s ignored", ev.Type, ev.EventID)
		return
	}
	if r.st.Stage == StageNew && ev.Type != signals.SignedUp {
		// Not remembered: its redelivery after the signup is applied.
		r.reject(string(ev.Type)+" event "+ev.EventID+" before signed_up", nil)
		return
	}
	r.seen.add(ev.EventID, workflow.Now(r.ctx))
	p, err := ev.Payload()
	if err != nil {
		r.reject(string(ev.Type)+" event "+ev.EventID, err)
		return
	}
	r.st.Counters.EventsApplied++
	r.handle(ev, p)
	if ev.Type != signals.SignedUp {
		r.reachGoals(ev, p) // after the event's own effects
	}
}

// handle hands a decoded event to its stage's handler.
func (r *journey) handle(ev signals.Event, p signals.Payload) {
	switch d := p.(type) {
	case signals.SignedUpData:
		r.onSignedUp(ev, d)
	case signals.LoginData:
		r.onLogin(ev, d)
	case signals.MilestoneReachedData:
		r.onMilestone(d)
	case signals.ProfileUpdatedData:
		r.onProfileUpdated(ev, d)
	case signals.ConsentChangedData:
		r.onConsentChanged(ev, d)
	case signals.FeatureUsedData:
		r.onFeatureUsed(d)
	case signals.UsageSnapshotData:
		r.onUsageSnapshot(ev, d)
	case signals.NPSResponseData:
		r.onNPSResponse(d)
	case signals.SupportTicketData:
		r.onSupportTicket(d)
	case signals.PaymentFailedData:
		r.onPaymentFailed(ev, d)
	case signals.PaymentSucceededData:
		r.onPaymentSucceeded(ev, d)
	case signals.PlanChangedData:
		r.onPlanChanged(d)
	case signals.RenewalScheduledData:
		r.onRenewalScheduled(d)
	case signals.CancellationRequestedData:
		r.onCancellationRequested(d)
	case signals.CancellationWithdrawnData:
		r.onCancellationWithdrawn()
	case signals.SubscriptionCanceledData:
		r.onSubscriptionCanceled()
	case signals.ReactivatedData:
		r.onReactivated(d)
	default:
		r.note(KindSkip, "%s event %s has no handler in this version", ev.Type, ev.EventID)
	}
}

func (r *journey) reject(what string, err error) {
	r.st.Counters.EventsRejected++
	if err != nil {
		r.note(KindError, "rejected %s: %v", what, err)
	} else {
		r.note(KindError, "rejected %s", what)
	}
	r.log.Warn("Event rejected", "What", what, "Error", err)
}

func (r *journey) onSignedUp(ev signals.Event, d signals.SignedUpData) {
	if r.st.Stage != StageNew {
		r.note(KindSkip, "signed_up event %s ignored: the journey started already", ev.EventID)
		return
	}
	info := workflow.GetInfo(r.ctx)
	r.st.JourneyID = info.FirstRunID
	if r.st.JourneyID == "" {
		r.st.JourneyID = info.WorkflowExecution.RunID
	}
	signedUpAt := d.SignedUpAt
	if signedUpAt.IsZero() {
		signedUpAt = ev.OccurredAt
	}
	r.st.Profile = Profile{ // without a zone, the playbook's (journey.zone)
		Name: d.Name, Email: d.Email, Phone: d.Phone, Timezone: d.Timezone,
		Plan: d.Plan, Seats: d.Seats, CSM: d.CSM, SignedUpAt: signedUpAt,
		SMSConsent: d.SMSConsent, MRR: d.MRR, Currency: orDefault(d.Currency, "USD"),
	}
	if d.SMSConsent {
		r.hearBackend(ev, signals.ConsentSMS, signals.ConsentOptedIn, ConsentSourceSignup)
	}
	if d.EmailMarketingConsent != nil {
		r.hearBackend(ev, signals.ConsentEmail, consentStatus(*d.EmailMarketingConsent), ConsentSourceSignup)
	}
	// Day 0 of the journey clock is now, not signed_up_at: a backfilled
	// signup should start its onboarding, not fire every overdue step at once.
	r.st.StartedAt = workflow.Now(r.ctx)
	r.note(KindEvent, "signed up (plan %s, %d seats)", orNone(d.Plan), d.Seats)
	r.st.HealthTier = playbook.TierHealthy
	r.recordLoginDay(r.st.StartedAt) // signing up is using the product
	r.updateHealth()                 // so the first CRM record has a score
	r.setStage(StageOnboarding, "signed up")
	r.sendEmail("onboarding.welcome", r.pb.Onboarding.WelcomeEmail, lifecycle)
}

func (r *journey) onLogin(ev signals.Event, d signals.LoginData) {
	r.st.Counters.Logins += max(1, d.Count)
	if r.st.LastLogin == nil || ev.OccurredAt.After(*r.st.LastLogin) {
		at := ev.OccurredAt
		r.st.LastLogin = &at
	}
	r.recordLoginDay(ev.OccurredAt)
	r.note(KindEvent, "login")
}

func (r *journey) onMilestone(d signals.MilestoneReachedData) {
	if slices.Contains(r.st.Milestones, d.Milestone) {
		r.note(KindSkip, "milestone %s reached again", d.Milestone)
		return
	}
	if !r.keepMilestone(d.Milestone) {
		r.note(KindSkip, "milestone %s not kept: %d milestones tracked already", d.Milestone, MilestonesKept)
		return
	}
	r.st.Milestones = append(r.st.Milestones, d.Milestone)
	r.note(KindEvent, "milestone %s reached", d.Milestone)
}

// profileConsent applies a profile update's consent fields as the
// backend's words, and names those that changed what may be sent.
func (r *journey) profileConsent(ev signals.Event, d signals.ProfileUpdatedData) []string {
	var changed []string
	c, p := &r.st.Consent, &r.st.Profile
	if before := [2]bool{p.SMSConsent, c.SMSOptedOut}; d.SMSConsent != nil {
		r.hearBackend(ev, signals.ConsentSMS, consentStatus(*d.SMSConsent), signals.SourceBackend)
		if before != [2]bool{p.SMSConsent, c.SMSOptedOut} {
			changed = append(changed, "sms_consent")
		}
	}
	if before := c.EmailMarketingOptedOut; d.EmailMarketingConsent != nil {
		r.hearBackend(ev, signals.ConsentEmail, consentStatus(*d.EmailMarketingConsent), signals.SourceBackend)
		if before != c.EmailMarketingOptedOut {
			changed = append(changed, "email_marketing_consent")
		}
	}
	return changed
}

// consentStatus is the consent_changed status of a consent field's value.
func consentStatus(given bool) string {
	if given {
		return signals.ConsentOptedIn
	}
	return signals.ConsentOptedOut
}

// keepMilestone makes room for milestone m within MilestonesKept: an
// activation milestone of the playbook always has a place, at the cost of
// the oldest other one; another milestone only while there is room.
func (r *journey) keepMilestone(m string) bool {
	if len(r.st.Milestones) < MilestonesKept {
		return true
	}
	activation := r.pb.Onboarding.Milestones
	if !slices.Contains(activation, m) {
		return false
	}
	i := slices.IndexFunc(r.st.Milestones, func(x string) bool { return !slices.Contains(activation, x) })
	if i < 0 {
		return false
	}
	r.st.Milestones = slices.Delete(r.st.Milestones, i, i+1)
	return true
}

func (r *journey) onProfileUpdated(ev signals.Event, d signals.ProfileUpdatedData) {
	p := &r.st.Profile
	var changed []string
	set := func(field string, dst *string, src *string) {
		if src != nil && *dst != *src {
			*dst = *src
			changed = append(changed, field)
		}
	}
	set("name", &p.Name, d.Name)
	set("email", &p.Email, d.Email)
	set("phone", &p.Phone, d.Phone)
	set("timezone", &p.Timezone, d.Timezone)
	set("plan", &p.Plan, d.Plan)
	set("csm", &p.CSM, d.CSM)
	if d.Seats != nil && p.Seats != *d.Seats {
		p.Seats = *d.Seats
		changed = append(changed, "seats")
	}
	changed = append(changed, r.profileConsent(ev, d)...)
	if len(changed) == 0 {
		r.note(KindSkip, "profile update changed nothing")
		return
	}
	if slices.Contains(changed, "phone") {
		r.st.SMSUnusable = "" // Twilio's refusals are per number; the backend's opt-out stands
		r.deriveConsent()
	}
	if slices.Contains(changed, "email") && r.st.Consent.EmailUnusable != "" {
		r.st.Consent.EmailUnusable = "" // a new address deserves a try
		r.st.Consent.UnreachableAlerted = false
	}
	r.note(KindEvent, "profile updated: %s", strings.Join(changed, ", "))
}
