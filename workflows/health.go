package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// The health score is a weighted mean of seven factors, each 0-100, with
// the playbook's weights. It is integer arithmetic throughout: floating
// point may round differently on another CPU, and a replay must decide the
// same way.

// HealthDetail is the health score's factors, each 0-100, and whether the
// drop into critical has been alerted.
type HealthDetail struct {
	LoginRecency   int `json:"login_recency"`
	LoginFrequency int `json:"login_frequency"`
	Milestones     int `json:"milestones"`
	UsageTrend     int `json:"usage_trend"`
	NPS            int `json:"nps"`
	SupportTickets int `json:"support_tickets"`
	Payment        int `json:"payment"`
	// TierFloor is the worst tier onboarding's steps set; the score cannot
	// make the tier better than it while onboarding lasts.
	TierFloor string `json:"tier_floor,omitempty"`
	// CriticalAlerted is set when a drop into critical alerted the CSM, and
	// cleared when the score recovers out of critical.
	CriticalAlerted bool `json:"critical_alerted,omitempty"`
}

// recencySteps are the days without a login at which login recency drops,
// and the factor from each on; the journey wakes at each to re-score.
var recencySteps = []struct{ days, factor int }{{7, 60}, {14, 30}, {21, 10}, {30, 0}}

// frequencyWindowDays is the window of login frequency.
const frequencyWindowDays = 30

// lastSeen is the last sign of life: the last login, or the signup (or the
// reactivation that restarted onboarding) when later.
func (r *journey) lastSeen() time.Time {
	t := r.st.StartedAt
	if r.st.LastLogin != nil && r.st.LastLogin.After(t) {
		t = *r.st.LastLogin
	}
	return t
}

// recordLoginDay adds the day of at to the login days, once per day.
func (r *journey) recordLoginDay(at time.Time) {
	day := r.dayOf(at)
	u := &r.st.Usage
	if slices.ContainsFunc(u.LoginDays, day.Equal) {
		return
	}
	u.LoginDays = append(u.LoginDays, day)
	slices.SortFunc(u.LoginDays, func(a, b time.Time) int { return a.Compare(b) })
	r.pruneLoginDays()
}

// dayOf is the start of the journey day t falls in.
func (r *journey) dayOf(t time.Time) time.Time {
	dl := r.pb.DayLength.D()
	if dl <= 0 {
		return t
	}
	return r.st.StartedAt.Add(t.Sub(r.st.StartedAt).Truncate(dl))
}

func (r *journey) pruneLoginDays() {
	cutoff := r.dayOf(workflow.Now(r.ctx)).Add(-r.pb.Day(frequencyWindowDays - 1))
	u := &r.st.Usage
	i := 0
	for i < len(u.LoginDays) && u.LoginDays[i].Before(cutoff) {
		i++
	}
	if i > 0 {
		u.LoginDays = append([]time.Time(nil), u.LoginDays[i:]...)
	}
}

// updateHealth re-scores the customer and moves the tier, alerting the CSM
// on a drop into critical.
func (r *journey) updateHealth() {
	hp := r.pb.Health
	w := hp.Weights
	sum := w.LoginRecency + w.LoginFrequency + w.Milestones + w.UsageTrend + w.NPS + w.SupportTickets + w.Payment
	if sum <= 0 || r.st.StartedAt.IsZero() {
		return // before signup there is nothing to score
	}
	r.pruneLoginDays()
	d := &r.st.Health
	d.LoginRecency = r.recencyFactor()
	d.LoginFrequency = r.frequencyFactor()
	d.Milestones = r.milestoneFactor()
	d.UsageTrend = usageFactor(r.st.Usage)
	d.NPS = npsFactor(r.st.NPS.LastScore)
	d.SupportTickets = ticketFactor(r.st.Tickets)
	d.Payment = 100
	switch {
	case r.st.Suspended:
		d.Payment = 0
	case r.st.Dunning != nil:
		d.Payment = 20
	}
	total := w.LoginRecency*d.LoginRecency + w.LoginFrequency*d.LoginFrequency + w.Milestones*d.Milestones +
		w.UsageTrend*d.UsageTrend + w.NPS*d.NPS + w.SupportTickets*d.SupportTickets + w.Payment*d.Payment
	score := (total + sum/2) / sum
	if score != r.st.HealthScore {
		r.st.HealthScore = score
	}
	tier := r.tierFor(score)
	if r.st.Stage == StageOnboarding && tierRank(d.TierFloor) > tierRank(tier) {
		tier = d.TierFloor
	}
	r.setTier(tier)

	if tier != playbook.TierCritical && d.CriticalAlerted {
		d.CriticalAlerted = false
		r.note(KindDecision, "health recovered out of critical (score %d)", score)
	}
	// Onboarding has its own escalation; a customer on the way out is
	// the cancellation's business.
	if tier == playbook.TierCritical && !d.CriticalAlerted && hp.CriticalAlert != "" &&
		(r.st.Stage == StageAdoption || r.st.Stage == StageRenewal) {
		d.CriticalAlerted = true
		r.note(KindDecision, "health score %d: critical, alerting the CSM", score)
		r.alertCSM("health.critical."+itoa(r.next("critical")), hp.CriticalAlert)
	}
}

func (r *journey) tierFor(score int) string {
	switch {
	case score >= r.pb.Health.HealthyFrom:
		return playbook.TierHealthy
	case score >= r.pb.Health.AtRiskFrom:
		return playbook.TierAtRisk
	}
	return playbook.TierCritical
}

func tierRank(t string) int {
	switch t {
	case playbook.TierAtRisk:
		return 1
	case playbook.TierCritical:
		return 2
	}
	return 0
}

func (r *journey) recencyFactor() int {
	quiet := r.daysSince(r.lastSeen())
	f := 100
	for _, s := range recencySteps {
		if quiet >= s.days {
			f = s.factor
		}
	}
	return f
}

// nextHealthWake is when login recency next drops.
func (r *journey) nextHealthWake() (time.Time, string) {
	if r.st.Stage == StageNew || r.st.Stage == StageChurned {
		return time.Time{}, ""
	}
	seen := r.lastSeen()
	now := workflow.Now(r.ctx)
	for _, s := range recencySteps {
		if at := seen.Add(r.pb.Day(s.days)); at.After(now) {
			return at, "re-score health: " + plural(s.days, "day", "days") + " without a login"
		}
	}
	return time.Time{}, ""
}

// frequencyFactor compares the days with a login in the window against the
// target, scaled down for a customer younger than the window.
func (r *journey) frequencyFactor() int {
	window := min(frequencyWindowDays, r.daysSince(r.st.StartedAt)+1)
	target := max(1, r.pb.Health.ActiveDaysTarget*window/frequencyWindowDays)
	return min(100, len(r.st.Usage.LoginDays)*100/target)
}

func (r *journey) milestoneFactor() int {
	total := len(r.pb.Onboarding.Milestones)
	if total == 0 {
		return 100
	}
	done := 0
	for _, m := range r.pb.Onboarding.Milestones {
		if slices.Contains(r.st.Milestones, m) {
			done++
		}
	}
	return done * 100 / total
}

// usageFactor is 100 when key actions held or grew since the last snapshot,
// falling to 0 at a 50% drop; 50 when there is nothing to compare.
func usageFactor(u UsageState) int {
	if u.Latest == nil || u.Previous == nil {
		return 50
	}
	if u.Previous.KeyActions == 0 {
		if u.Latest.KeyActions > 0 {
			return 100
		}
		return 50
	}
	pct := u.Latest.KeyActions * 100 / u.Previous.KeyActions
	if pct >= 100 {
		return 100
	}
	return max(0, 100-(100-pct)*2)
}

// npsFactor: promoters 100, passives 70, detractors 0-30, no answer 60.
func npsFactor(score *int) int {
	switch {
	case score == nil:
		return 60
	case *score >= 9:
		return 100
	case *score >= 7:
		return 70
	}
	return *score * 5
}

// ticketFactor takes points off for each open ticket, by priority.
func ticketFactor(tickets []Ticket) int {
	f := 100
	for _, t := range tickets {
		switch t.Priority {
		case signals.PriorityUrgent:
			f -= 50
		case signals.PriorityHigh:
			f -= 35
		case signals.PriorityLow:
			f -= 10
		default:
			f -= 20
		}
	}
	return max(0, f)
}
