package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/signals"
)

// Adoption watches an active customer (stages adoption and renewal): a quiet
// spell without logins gets a re-engagement email and then a CSM alert, a
// fall in usage gets both at once, full seats get an upsell, and NPS
// surveys go out on their schedule (from onboarding on).

// UsageState is what the journey knows of the customer's use.
type UsageState struct {
	// LoginDays are the starts of the days with a login, within the last
	// 30 days, oldest first.
	LoginDays []time.Time `json:"login_days"`
	Latest    *Snapshot   `json:"latest,omitempty"`
	Previous  *Snapshot   `json:"previous,omitempty"`
	// Features counts feature use by feature (at most FeaturesKept).
	Features map[string]int `json:"features,omitempty"`
}

// Snapshot is one usage_snapshot.
type Snapshot struct {
	At          time.Time `json:"at"`
	ActiveUsers int       `json:"active_users"`
	KeyActions  int       `json:"key_actions"`
	SeatsUsed   int       `json:"seats_used"`
}

// AdoptionState tracks the adoption rules.
type AdoptionState struct {
	// WatchFrom is when the inactivity clock started: entering adoption.
	WatchFrom time.Time `json:"watch_from"`
	// QuietSince is the start of the quiet spell whose sends went out, and
	// InactiveEmailed / InactiveAlerted say which.
	QuietSince      time.Time `json:"quiet_since"`
	InactiveEmailed bool      `json:"inactive_emailed,omitempty"`
	InactiveAlerted bool      `json:"inactive_alerted,omitempty"`
	// UsageDropOpen is set by a usage drop and cleared by a snapshot that
	// does not fall, so one drop is reported once.
	UsageDropOpen bool `json:"usage_drop_open,omitempty"`
	// ExpansionSeats is the seat count whose expansion was offered.
	ExpansionSeats int `json:"expansion_seats,omitempty"`
	// Spell numbers the quiet spell QuietSince started, for send keys.
	Spell int `json:"spell,omitempty"`
}

// NPSState tracks the survey loop.
type NPSState struct {
	NextSurveyAt *time.Time `json:"next_survey_at,omitempty"`
	LastScore    *int       `json:"last_score,omitempty"`
	LastComment  string     `json:"last_comment,omitempty"`
	AnsweredAt   *time.Time `json:"answered_at,omitempty"`
}

// Ticket is an open support ticket.
type Ticket struct {
	ID       string    `json:"id"`
	Priority string    `json:"priority"`
	OpenedAt time.Time `json:"opened_at"`
}

// quietSince is when the current quiet spell began: the last sign of life,
// or the start of the adoption watch when later, so that a customer who
// reaches adoption after a long onboarding is not nudged on day one.
func (r *journey) quietSince() time.Time {
	t := r.lastSeen()
	if r.st.Adoption.WatchFrom.After(t) {
		t = r.st.Adoption.WatchFrom
	}
	return t
}

// advanceAdoption acts on the quiet spell.
func (r *journey) advanceAdoption() {
	a, ap := &r.st.Adoption, r.pb.Adoption
	quiet := r.quietSince()
	if !a.QuietSince.Equal(quiet) {
		// A login started a new spell: its nudges are still to come.
		a.QuietSince, a.InactiveEmailed, a.InactiveAlerted = quiet, false, false
	}
	now := workflow.Now(r.ctx)
	spellKey := func() string {
		if a.Spell == 0 || !a.InactiveEmailed && !a.InactiveAlerted {
			a.Spell = r.next("quiet")
		}
		return "adoption.quiet." + itoa(a.Spell)
	}
	if ap.InactiveEmailDays > 0 && !a.InactiveEmailed && !now.Before(quiet.Add(r.pb.Day(ap.InactiveEmailDays))) {
		key := spellKey()
		a.InactiveEmailed = true
		r.note(KindDecision, "no login for %s: re-engagement email", plural(ap.InactiveEmailDays, "day", "days"))
		tip := ""
		if n := len(ap.Tips); n > 0 {
			tip = ap.Tips[(a.Spell-1)%n]
		}
		r.sendEmail(key+".email", ap.InactiveEmail, marketing, func(d *messages.Data) { d.Tip = tip })
	}
	if ap.InactiveAlertDays > 0 && !a.InactiveAlerted && !now.Before(quiet.Add(r.pb.Day(ap.InactiveAlertDays))) {
		key := spellKey()
		a.InactiveAlerted = true
		r.note(KindDecision, "no login for %s: alerting the CSM", plural(ap.InactiveAlertDays, "day", "days"))
		r.alertCSM(key+".alert", ap.InactiveAlert)
	}
}

// nextAdoptionWake is the next inactivity threshold of the quiet spell.
func (r *journey) nextAdoptionWake() (time.Time, string) {
	a, ap := r.st.Adoption, r.pb.Adoption
	quiet := r.quietSince()
	fresh := !a.QuietSince.Equal(quiet)
	if ap.InactiveEmailDays > 0 && (fresh || !a.InactiveEmailed) {
		return quiet.Add(r.pb.Day(ap.InactiveEmailDays)), fmt.Sprintf("wait for a login until %s, else send the %s email",
			r.whenText(quiet.Add(r.pb.Day(ap.InactiveEmailDays))), ap.InactiveEmail)
	}
	if ap.InactiveAlertDays > 0 && (fresh || !a.InactiveAlerted) {
		return quiet.Add(r.pb.Day(ap.InactiveAlertDays)), fmt.Sprintf("wait for a login until %s, else alert the CSM (%s)",
			r.whenText(quiet.Add(r.pb.Day(ap.InactiveAlertDays))), ap.InactiveAlert)
	}
	return time.Time{}, ""
}

func (r *journey) onUsageSnapshot(ev signals.Event, d signals.UsageSnapshotData) {
	u := &r.st.Usage
	snap := Snapshot{At: ev.OccurredAt, ActiveUsers: d.ActiveUsers, KeyActions: d.KeyActions, SeatsUsed: d.SeatsUsed}
	u.Previous, u.Latest = u.Latest, &snap
	r.note(KindEvent, "usage: %d active users, %d key actions in 7 days, %d seats used", d.ActiveUsers, d.KeyActions, d.SeatsUsed)
	if r.st.Stage == StageAdoption || r.st.Stage == StageRenewal {
		r.checkUsageDrop()
	}
	r.checkExpansion()
}

// checkUsageDrop reports a fall in key actions from one snapshot to the
// next, once until usage stops falling.
func (r *journey) checkUsageDrop() {
	u, a, ap := r.st.Usage, &r.st.Adoption, r.pb.Adoption
	drop := usageDrop(u)
	if ap.UsageDropPercent <= 0 || drop < ap.UsageDropPercent {
		if a.UsageDropOpen && drop < ap.UsageDropPercent {
			a.UsageDropOpen = false
		}
		return
	}
	if a.UsageDropOpen {
		r.note(KindSkip, "usage fell %d%% again; already reported", drop)
		return
	}
	a.UsageDropOpen = true
	key := "adoption.usage_drop." + itoa(r.next("usage_drop"))
	r.note(KindDecision, "key actions fell %d%% (%d → %d): re-engagement email and CSM alert", drop, u.Previous.KeyActions, u.Latest.KeyActions)
	if ap.UsageDropEmail != "" {
		r.sendEmail(key+".email", ap.UsageDropEmail, marketing)
	}
	if ap.UsageDropAlert != "" {
		r.alertCSM(key+".alert", ap.UsageDropAlert)
	}
}

// usageDrop is the percentage key actions fell between the last two
// snapshots; 0 when they held, grew, or cannot be compared.
func usageDrop(u UsageState) int {
	if u.Latest == nil || u.Previous == nil || u.Previous.KeyActions <= 0 || u.Latest.KeyActions >= u.Previous.KeyActions {
		return 0
	}
	return (u.Previous.KeyActions - u.Latest.KeyActions) * 100 / u.Previous.KeyActions
}

// checkExpansion offers more seats when the customer uses nearly all of
// theirs: an upsell email, or for a high-value account a word to its owner.
// Once per seat count; a plan change with more seats starts over.
func (r *journey) checkExpansion() {
	ep, a := r.pb.Expansion, &r.st.Adoption
	seats, latest := r.st.Profile.Seats, r.st.Usage.Latest
	if ep.SeatsUsedPercent <= 0 || seats <= 0 || latest == nil || !r.active() {
		return
	}
	if latest.SeatsUsed*100 < ep.SeatsUsedPercent*seats || a.ExpansionSeats == seats {
		return
	}
	key := "expansion." + itoa(r.next("expansion"))
	if r.highValue() && ep.OwnerAlert != "" {
		a.ExpansionSeats = seats
		r.note(KindDecision, "%d of %d seats used on a high-value account: telling the account owner", latest.SeatsUsed, seats)
		r.alertCSM(key+".owner", ep.OwnerAlert)
		return
	}
	if ep.UpsellEmail == "" {
		return
	}
	if reason, why := r.suppressed(marketing); why != "" {
		r.st.Counters.SendsSuppressed++
		r.countSuppressed(messages.ChannelEmail, marketing, reason)
		r.note(KindSkip, "%s: no upsell email, %s; the next snapshot tries again", key, why)
		return
	}
	a.ExpansionSeats = seats
	r.note(KindDecision, "%d of %d seats used: upsell email", latest.SeatsUsed, seats)
	r.sendEmail(key+".email", ep.UpsellEmail, marketing)
}

// advanceNPS sends the survey when it is due.
func (r *journey) advanceNPS() {
	np, n := r.pb.NPS, &r.st.NPS
	if np.FirstDay <= 0 || np.SurveyEmail == "" {
		return
	}
	now := workflow.Now(r.ctx)
	if n.NextSurveyAt == nil {
		at := r.st.StartedAt.Add(r.pb.Day(np.FirstDay))
		n.NextSurveyAt = &at
	}
	if now.Before(*n.NextSurveyAt) {
		return
	}
	key := "nps.survey." + itoa(r.next("nps_survey"))
	next := *n.NextSurveyAt
	for !next.After(now) {
		next = next.Add(r.pb.Day(max(1, np.EveryDays)))
	}
	n.NextSurveyAt = &next
	r.note(KindDecision, "NPS survey due; the next on %s", r.whenText(next))
	r.sendEmail(key, np.SurveyEmail, marketing)
}

func (r *journey) nextNPSWake() (time.Time, string) {
	np, n := r.pb.NPS, r.st.NPS
	if np.FirstDay <= 0 || np.SurveyEmail == "" {
		return time.Time{}, ""
	}
	at := r.st.StartedAt.Add(r.pb.Day(np.FirstDay))
	if n.NextSurveyAt != nil {
		at = *n.NextSurveyAt
	}
	return at, "send the NPS survey (" + np.SurveyEmail + ")"
}

func (r *journey) onNPSResponse(d signals.NPSResponseData) {
	if d.Score == nil {
		return // the edge requires it; an old or hand-made event may lack it
	}
	score, np, n := *d.Score, r.pb.NPS, &r.st.NPS
	now := workflow.Now(r.ctx)
	n.LastScore, n.LastComment, n.AnsweredAt = &score, d.Comment, &now
	r.st.Counters.NPSResponses++
	k := itoa(r.st.Counters.NPSResponses)
	r.note(KindEvent, "NPS answer %d", score)
	switch {
	case score <= np.DetractorMax && np.DetractorAlert != "":
		r.note(KindDecision, "NPS %d is a detractor's score: alerting the CSM", score)
		r.alertCSM("nps.answer."+k+".detractor", np.DetractorAlert)
	case score >= np.PromoterMin && np.PromoterEmail != "" && r.active():
		r.note(KindDecision, "NPS %d is a promoter's score: asking for a review", score)
		r.sendEmail("nps.answer."+k+".promoter", np.PromoterEmail, marketing)
	}
}

func (r *journey) onFeatureUsed(d signals.FeatureUsedData) {
	n := max(1, d.Count)
	f := &r.st.Usage.Features
	if *f == nil {
		*f = map[string]int{}
	}
	if _, ok := (*f)[d.Feature]; !ok && len(*f) >= FeaturesKept {
		r.note(KindSkip, "feature %s not counted: %d features tracked already", d.Feature, FeaturesKept)
		return
	}
	(*f)[d.Feature] += n
	r.note(KindEvent, "used %s (%s)", d.Feature, plural(n, "time", "times"))
}

func (r *journey) onSupportTicket(d signals.SupportTicketData) {
	i := -1
	for j, t := range r.st.Tickets {
		if t.ID == d.TicketID {
			i = j
		}
	}
	switch d.Status {
	case signals.TicketOpened:
		if i >= 0 {
			r.st.Tickets[i].Priority = orDefault(d.Priority, signals.PriorityNormal)
			r.note(KindEvent, "ticket %s updated (%s)", d.TicketID, r.st.Tickets[i].Priority)
			return
		}
		if len(r.st.Tickets) >= TicketsKept {
			r.note(KindSkip, "ticket %s not tracked: %d open already", d.TicketID, TicketsKept)
			return
		}
		r.st.Tickets = append(r.st.Tickets, Ticket{ID: d.TicketID, Priority: orDefault(d.Priority, signals.PriorityNormal), OpenedAt: workflow.Now(r.ctx)})
		r.note(KindEvent, "ticket %s opened (%s); %s open", d.TicketID, orDefault(d.Priority, signals.PriorityNormal), plural(len(r.st.Tickets), "ticket", "tickets"))
	case signals.TicketResolved:
		if i < 0 {
			r.note(KindSkip, "ticket %s resolved, but it was not open here", d.TicketID)
			return
		}
		r.st.Tickets = append(r.st.Tickets[:i:i], r.st.Tickets[i+1:]...)
		r.note(KindEvent, "ticket %s resolved; %s open", d.TicketID, plural(len(r.st.Tickets), "ticket", "tickets"))
	default:
		r.note(KindSkip, "ticket %s: unknown status %q", d.TicketID, d.Status)
	}
}

func (r *journey) onPlanChanged(d signals.PlanChangedData) {
	p := &r.st.Profile
	from := fmt.Sprintf("%s, %d seats", orNone(p.Plan), p.Seats)
	p.Plan, p.Seats, p.MRR = d.Plan, d.Seats, d.MRR
	if d.Currency != "" {
		p.Currency = d.Currency
	}
	r.note(KindEvent, "plan changed from %s to %s, %d seats, MRR %d", from, d.Plan, d.Seats, d.MRR)
	r.checkExpansion()
}
