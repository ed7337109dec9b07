package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/messages"
)

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
	r.dispatch(messages.ChannelCRM, step, "", summary, crmOptions, acts.UpdateCRM, activities.UpdateCRMInput{Update: update})
}

// lifecycleProperties adds the health score and MRR to a CRM record.
func (r *journey) lifecycleProperties(p map[string]string) {
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

// experimentProperties adds the holdout and the variants to a CRM record,
// when the playbook has any.
func (r *journey) experimentProperties(p map[string]string) {
	d := r.st.Delivery
	if r.pb.Delivery.HoldoutPercent > 0 {
		p["holdout"] = fmt.Sprint(d.Holdout)
	}
	if len(d.Variants) > 0 {
		var parts []string
		// The order of the map does not matter: parts is sorted next.
		//workflowcheck:ignore
		for name, v := range d.Variants {
			parts = append(parts, name+"="+v)
		}
		slices.Sort(parts)
		p["experiments"] = strings.Join(parts, ";")
	}
}
