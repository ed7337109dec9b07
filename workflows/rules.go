package workflows

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"go.temporal.io/sdk/workflow"
)

// The delivery rules (playbook.Delivery) that send.go's deliver applies to
// every message to the customer, in this order: its class's suppression
// (marketing during dunning), the holdout, consent and channel fallback,
// the channel's send window (windows.go) and its class's frequency cap. Experiments and
// goals change which steps run and when. Each rule only decides; deliver
// sends, defers or drops, with the reason on the timeline.

// Why a send was suppressed or deferred by the delivery rules: reason
// tags (metrics.go).
const (
	SkipHoldout       = "holdout"
	SkipEmailOptedOut = "email_opted_out"
	// SkipEmailLifecycleOptedOut is a lifecycle email to a customer who
	// opted out of lifecycle email (ConsentState.EmailLifecycleOptedOut).
	SkipEmailLifecycleOptedOut = "email_lifecycle_opted_out"
	SkipEmailUnusable          = "email_unusable"
	SkipFrequencyCap           = "frequency_cap"
	// SkipStale is a deferred message whose sequence ended while it waited.
	SkipStale = "stale"
	// SkipGoal is a step whose goal was reached before it ran.
	SkipGoal = "goal_reached"
	// SkipExpired, SkipAlreadyPending and SkipQueueFull are messages that
	// could not wait (mayWait); SkipJourneyEnded, one waiting as the
	// journey ended.
	SkipExpired        = "expired"
	SkipAlreadyPending = "already_pending"
	SkipQueueFull      = "queue_full"
	SkipJourneyEnded   = "journey_ended"
	// DeferQuietHours and DeferFrequencyCap are the reasons of
	// journeys_messages_deferred.
	DeferQuietHours   = "quiet_hours"
	DeferFrequencyCap = "frequency_cap"
	// DeferWindowClosed is a message whose send window shut before it
	// went (it waited behind the channel's rate limit, or retried).
	DeferWindowClosed = "window_closed"
)

// DeliveryState is what the delivery policies remember.
type DeliveryState struct {
	// Assigned is set once the holdout and the experiments were decided.
	Assigned bool `json:"assigned,omitempty"`
	// Holdout: the customer gets no marketing message (Delivery.HoldoutPercent).
	Holdout bool `json:"holdout,omitempty"`
	// Variants are the experiment variants, by experiment name; a
	// customer keeps theirs for life.
	Variants map[string]string `json:"variants,omitempty"`
	// Sent are the sends of capped classes over the last 8 days, oldest
	// first, for the frequency caps.
	Sent []SentMark `json:"sent,omitempty"`
	// Pending are messages waiting for a send window or a cap, in the
	// order they are due.
	Pending []PendingSend `json:"pending,omitempty"`
}

// SentMark is one send counted by the frequency caps.
type SentMark struct {
	At    time.Time `json:"at"`
	Class string    `json:"class"`
}

// Suppression by class.

// suppressed says why a message of class c must not go now, or "", with
// the reason's token (metrics.go).
func (r *journey) suppressed(c class) (reason, why string) {
	if c == marketing && r.st.Dunning != nil {
		return SkipDunning, "marketing is paused while a payment is being recovered"
	}
	return "", ""
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

// The holdout and experiments, decided once per customer.

// assignDelivery decides, once per journey, whether the customer is in
// the holdout and which variant of each experiment they get.
func (r *journey) assignDelivery() {
	d := &r.st.Delivery
	if d.Assigned {
		return
	}
	d.Assigned = true
	if pct := r.pb.Delivery.HoldoutPercent; InHoldout(r.st.CustomerID, pct) {
		d.Holdout = true
		r.note(KindDecision, "in the %g%% holdout: no marketing messages, recorded as if sent", pct)
	}
	for _, e := range r.pb.Delivery.Experiments {
		r.variant(e)
	}
}

// InHoldout reports whether customerID is in a holdout of pct percent: the
// first 8 bytes of SHA-256("<customerID>/holdout"), big-endian, modulo
// 10,000, below pct×100. From the ID alone, so every run and every worker
// agree, and raising pct only adds customers.
func InHoldout(customerID string, pct float64) bool {
	return pct > 0 && bucket(customerID+"/holdout", 10000) < uint64(pct*100)
}

// variant is the customer's variant of e, assigned at first need and kept
// for life, even if the experiment's weights change later.
func (r *journey) variant(e playbook.Experiment) playbook.Variant {
	d := &r.st.Delivery
	if name, ok := d.Variants[e.Name]; ok {
		if v, ok := e.Variant(name); ok {
			return v
		}
	}
	v := VariantOf(r.st.CustomerID, e)
	if d.Variants == nil {
		d.Variants = map[string]string{}
	}
	d.Variants[e.Name] = v.Name
	r.note(KindDecision, "experiment %s: variant %s", e.Name, v.Name)
	return v
}

// VariantOf is customerID's variant of e: SHA-256("<customerID>/<name>")
// as in InHoldout, modulo the sum of the weights, picks a variant by its
// weight, in order. Each experiment splits customers independently.
func VariantOf(customerID string, e playbook.Experiment) playbook.Variant {
	total := 0
	for _, v := range e.Variants {
		total += v.Weight
	}
	if total <= 0 {
		return playbook.Variant{}
	}
	b := int(bucket(customerID+"/"+e.Name, uint64(total)))
	for _, v := range e.Variants {
		if b < v.Weight {
			return v
		}
		b -= v.Weight
	}
	return e.Variants[len(e.Variants)-1]
}

// bucket maps key to [0, n), uniformly and the same everywhere.
func bucket(key string, n uint64) uint64 {
	sum := sha256.Sum256([]byte(key))
	return binary.BigEndian.Uint64(sum[:8]) % n
}

// vary returns step s of sequence seq as the customer's experiment variant
// changes it, and the variant's label ("" when no experiment varies it).
func (r *journey) vary(seq string, s playbook.Step) (playbook.Step, string) {
	e, ok := r.pb.Delivery.Experiment(seq + "." + s.Name)
	if !ok {
		return s, ""
	}
	v := r.variant(e)
	return v.Apply(s), e.Name + "=" + v.Name
}

// Consent: which channels can carry a message, and fallback.

// blocked says why ch cannot carry a message of class c, or "".
func (r *journey) blocked(ch messages.Channel, c class) (reason, why string) {
	if ch == messages.ChannelSMS {
		if r.st.Consent.SMSOptedOut || r.st.SMSUnusable == SkipUnsubscribed {
			return SkipUnsubscribed, "the customer opted out of texts"
		}
		return r.smsBlocked()
	}
	switch {
	case r.st.Profile.Email == "":
		return SkipEmailUnusable, "the customer has no email address"
	case r.st.Consent.EmailUnusable != "":
		return SkipEmailUnusable, "the email address is unusable (" + r.st.Consent.EmailUnusable + ")"
	case c == marketing && r.st.Consent.EmailMarketingOptedOut:
		return SkipEmailOptedOut, "the customer unsubscribed from marketing email"
	case c == lifecycle && r.st.Consent.EmailLifecycleOptedOut:
		return SkipEmailLifecycleOptedOut, "the customer opted out of lifecycle email"
	}
	return "", ""
}

// smsBlocked says why no SMS can go to the customer, or "", with the
// reason's token (metrics.go).
func (r *journey) smsBlocked() (reason, why string) {
	switch {
	case r.st.Profile.Phone == "":
		return SkipNoPhone, "the customer has no phone number"
	case r.st.SMSUnusable != "":
		return r.st.SMSUnusable, smsUnusableText(r.st.SMSUnusable)
	case !r.st.Profile.SMSConsent:
		return SkipNoSMSConsent, "the customer has not consented to texts"
	}
	return "", ""
}

// smsUnusableText says in words why SMS cannot reach a customer.
func smsUnusableText(reason string) string {
	if reason == "unsubscribed" {
		return "the customer unsubscribed from SMS"
	}
	return "the number was found invalid"
}

// fallback is the other channel m may go on when its own is blocked for
// reason (Delivery.Fallback), or "" and why it may not ("" when fallback
// does not apply). SMS falls back to email; email falls back to SMS only
// when the address cannot receive: an opt-out from marketing email is not
// an invitation to text. Whether the other channel has the template is the
// binary's (messages.Exists), so a new template of a name the other channel
// has changes running journeys' decisions (the messages package says why).
func (r *journey) fallback(m PendingSend, reason string) (messages.Channel, string) {
	planned := messages.Channel(m.Channel)
	if !r.pb.Delivery.Fallback || m.Both || (planned != messages.ChannelSMS && reason != SkipEmailUnusable) {
		return "", ""
	}
	other := messages.ChannelEmail
	if planned == messages.ChannelEmail {
		other = messages.ChannelSMS
	}
	if !messages.Exists(other, m.Template) {
		return "", fmt.Sprintf("%s: there is no %s %s", other, m.Template, other)
	}
	if _, why := r.blocked(other, class(m.Class)); why != "" {
		return "", fmt.Sprintf("%s: %s", other, why)
	}
	return other, ""
}

// Frequency caps, per local day and per 7 days.

// capDay is the start of the day t is in, moved by days: a local
// calendar day, or a journey day on a demo clock.
func (r *journey) capDay(t time.Time, days int) time.Time {
	if !r.realDays() {
		n := int(t.Sub(r.st.StartedAt) / r.pb.DayLength.D())
		if t.Before(r.st.StartedAt) {
			n--
		}
		return r.st.StartedAt.Add(r.pb.Day(n + days))
	}
	l := t.In(r.zone())
	return time.Date(l.Year(), l.Month(), l.Day()+days, 0, 0, 0, 0, l.Location())
}

// capHolds returns, when class c's cap allows no message now, the start of
// the first day it allows one and why; zero otherwise.
func (r *journey) capHolds(c class, now time.Time) (time.Time, string) {
	cp, ok := r.pb.Delivery.Caps[string(c)]
	if !ok || c == transactional {
		return time.Time{}, ""
	}
	var marks []time.Time
	for _, s := range r.st.Delivery.Sent {
		if s.Class == string(c) {
			marks = append(marks, s.At)
		}
	}
	today := r.capDay(now, 0)
	count := func(from time.Time) int {
		n := 0
		for _, at := range marks {
			if !at.Before(from) {
				n++
			}
		}
		return n
	}
	var until time.Time
	var why string
	if cp.PerDay > 0 && count(today) >= cp.PerDay {
		until, why = r.capDay(now, 1), fmt.Sprintf("the %s cap of %d a day is reached", c, cp.PerDay)
	}
	if cp.PerWeek > 0 && count(r.capDay(now, -6)) >= cp.PerWeek {
		// The window frees a slot on the day the PerWeek-th latest send
		// leaves it: 7 days after that send's day.
		oldest := marks[len(marks)-cp.PerWeek]
		if at := r.capDay(oldest, 7); at.After(until) {
			until, why = at, fmt.Sprintf("the %s cap of %d in 7 days is reached", c, cp.PerWeek)
		}
	}
	return until, why
}

// resumeAt is when a message a cap deferred to the day starting at day
// goes: the playbook's cap_resume_at local time on a calendar day.
func (r *journey) resumeAt(day time.Time) time.Time {
	if !r.realDays() {
		return day
	}
	d, err := playbook.ClockOf(r.pb.Delivery.CapResumeAt)
	if err != nil {
		return day
	}
	return atClock(day, d)
}

// markSent counts a send of class c for the caps, keeping 8 days.
func (r *journey) markSent(c class, now time.Time) {
	if _, ok := r.pb.Delivery.Caps[string(c)]; !ok {
		return
	}
	keep := r.capDay(now, -7)
	sent := r.st.Delivery.Sent
	i := 0
	for i < len(sent) && sent[i].At.Before(keep) {
		i++
	}
	r.st.Delivery.Sent = append(slices.Clone(sent[i:]), SentMark{At: now, Class: string(c)})
}

// unmarkSent takes back the send of class c markSent counted at at, for
// a message that did not go after all.
func (r *journey) unmarkSent(c class, at time.Time) {
	sent := r.st.Delivery.Sent
	if i := slices.IndexFunc(sent, func(s SentMark) bool { return s.Class == string(c) && s.At.Equal(at) }); i >= 0 {
		r.st.Delivery.Sent = slices.Delete(slices.Clone(sent), i, i+1)
	}
}

// Deferred messages: how long they keep, and what may wait at all.

// MarketingValidityDays is how many journey days a deferred marketing
// message keeps: a nudge or an ask weeks late reads wrong.
const MarketingValidityDays = 7

// expiry is when a message of class c deferred now expires; zero for never:
// transactional and lifecycle messages wait as long as they must.
func (r *journey) expiry(c class) time.Time {
	if c != marketing {
		return time.Time{}
	}
	return workflow.Now(r.ctx).Add(r.pb.Day(MarketingValidityDays))
}

// mayWait says why m may not wait until at, with the reason's token, or "":
// it would expire first, the same marketing or lifecycle message waits
// already (a repeat would only go on a later day), or PendingKept wait.
func (r *journey) mayWait(m PendingSend, at time.Time) (reason, why string) {
	pending := r.st.Delivery.Pending
	switch {
	case !m.ExpiresAt.IsZero() && at.After(m.ExpiresAt):
		return SkipExpired, "expired, it could not go by " + r.localText(m.ExpiresAt)
	case class(m.Class) != transactional && slices.ContainsFunc(pending, func(p PendingSend) bool {
		return p.Template == m.Template && p.Channel == m.Channel
	}):
		return SkipAlreadyPending, "the same message is already waiting"
	case len(pending) >= PendingKept:
		return SkipQueueFull, fmt.Sprintf("%d deferred messages are waiting already", PendingKept)
	}
	return "", ""
}

// Goals, and deferred messages that no longer apply.

// skipForGoal skips step s when its milestone goal is reached already.
func (r *journey) skipForGoal(step string, s playbook.Step, c class) bool {
	if s.Goal == "" || !r.goalMet(s.Goal) {
		return false
	}
	r.st.Counters.GoalExits++
	r.countMissedTouch(s, c, SkipGoal)
	r.note(KindSkip, "%s: not run, its goal %s is reached", step, s.Goal)
	return true
}

// goalMet reports whether goal holds now: a milestone goal once the
// milestone is reached; an event goal only as its event arrives (reached).
func (r *journey) goalMet(goal string) bool {
	g, err := playbook.ParseGoal(goal)
	if err != nil {
		return false
	}
	return g.Type == signals.MilestoneReached && g.Value != "" && slices.Contains(r.st.Milestones, g.Value)
}

// matchesGoal reports whether event ev with payload p reaches goal.
func matchesGoal(goal string, ev signals.Event, p signals.Payload) bool {
	g, err := playbook.ParseGoal(goal)
	if err != nil || g.Type != ev.Type {
		return false
	}
	switch d := p.(type) {
	case signals.MilestoneReachedData:
		return g.Value == "" || g.Value == d.Milestone
	case signals.FeatureUsedData:
		return g.Value == "" || g.Value == d.Feature
	}
	return true
}

// reachGoals ends, at once, every step not yet run whose goal ev reaches,
// and drops the messages such steps left waiting.
func (r *journey) reachGoals(ev signals.Event, p signals.Payload) {
	type seq struct {
		name  string
		steps []playbook.Step
		done  *[]string
	}
	var running []seq
	if r.st.Stage == StageOnboarding {
		running = append(running, seq{playbook.SequenceOnboarding, r.pb.Onboarding.Steps, &r.st.StepsDone})
	}
	if rn := r.st.Renewal; rn != nil {
		running = append(running, seq{playbook.SequenceRenewal, r.pb.Renewal.Steps, &rn.StepsDone})
	}
	if dn := r.st.Dunning; dn != nil {
		running = append(running, seq{playbook.SequenceDunning, r.pb.Dunning.Steps, &dn.StepsDone})
	}
	if r.st.Stage == StageChurned {
		running = append(running, seq{playbook.SequenceWinBack, r.pb.WinBack.Steps, &r.st.WinBackDone})
	}
	for _, sq := range running {
		var skipped []string
		for _, s := range sq.steps {
			if s.Goal == "" || slices.Contains(*sq.done, s.Name) || !matchesGoal(s.Goal, ev, p) {
				continue
			}
			*sq.done = append(*sq.done, s.Name)
			skipped = append(skipped, s.Name)
		}
		if len(skipped) > 0 {
			r.st.Counters.GoalExits++
			r.note(KindDecision, "goal %s reached: %s %s skipped", ev.Type, sq.name, strings.Join(skipped, ", "))
		}
	}
	kept := r.st.Delivery.Pending[:0:0]
	for _, m := range r.st.Delivery.Pending {
		if m.Goal != "" && matchesGoal(m.Goal, ev, p) {
			r.countSuppressed(messages.Channel(m.Channel), class(m.Class), SkipGoal)
			r.note(KindSkip, "%s: deferred %s %s dropped, its goal was reached", m.Step, m.Template, m.Channel)
			continue
		}
		kept = append(kept, m)
	}
	r.st.Delivery.Pending = kept
}

// stale says why a deferred message no longer applies, or "": the sequence
// that planned it ended while it waited (the customer activated, paid,
// renewed, came back...).
func (r *journey) stale(m PendingSend) string {
	step := m.Step
	switch {
	case strings.HasPrefix(step, "onboarding."):
		if strings.HasSuffix(step, ".welcome") || strings.HasSuffix(step, ".activated") {
			return ""
		}
		if r.st.Stage != StageOnboarding || !strings.HasPrefix(step, r.onboardingStep("")) {
			return "onboarding is over"
		}
	case strings.HasPrefix(step, "renewal."):
		if r.st.Renewal == nil || !r.active() || !strings.HasPrefix(step, r.renewalKey("")) {
			return "that renewal is closed"
		}
	case strings.HasPrefix(step, "dunning."):
		if strings.HasSuffix(step, ".suspended") || strings.HasSuffix(step, ".recovered") {
			return ""
		}
		if r.st.Dunning == nil || !strings.HasPrefix(step, r.dunningKey("")) {
			return "the payment was recovered"
		}
	case strings.HasPrefix(step, "winback."):
		if strings.HasSuffix(step, ".welcome_back") {
			return ""
		}
		if r.st.Stage != StageChurned || !strings.HasPrefix(step, r.winBackKey("")) {
			return "the win-back is over"
		}
	case strings.HasPrefix(step, "cancel."):
		if r.st.Stage != StageCancelling {
			return "the cancellation is over"
		}
	case strings.HasPrefix(step, "adoption."), strings.HasPrefix(step, "expansion."), strings.HasPrefix(step, "nps."):
		if !r.active() {
			return "the customer is no longer active"
		}
	}
	if m.Goal != "" && r.goalMet(m.Goal) {
		return "its goal " + m.Goal + " was reached"
	}
	return ""
}
