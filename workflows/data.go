package workflows

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/journeyshq/journeys/messages"
)

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
	r.lifecycleData(&d)
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
