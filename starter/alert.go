package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// alertCmd is a parsed alert command: one answer to one of a customer's
// CSM alerts, as the Slack buttons give.
type alertCmd struct {
	customerID string
	response   workflows.AlertResponse
	json       bool
	conn       connSettings
}

// alertActions are the answers the journey takes, in the order the help
// lists them.
var alertActions = []workflows.AlertAction{workflows.AlertActionAcknowledge, workflows.AlertActionSnooze}

// parseAlert turns the alert command line into an answer. Everything the
// journey would reject for its form (no customer, no key, an unknown
// action) is a usage error here, before anything is dialled.
func parseAlert(args []string, getenv func(string) string) (alertCmd, error) {
	const name = "alert"
	fs := newFlagSet(name)
	var cmd alertCmd
	var action string
	fs.StringVar(&cmd.customerID, "customer", "", "`ID` of the customer (required)")
	fs.StringVar(&cmd.response.AlertKey, "key", "", "the alert's `KEY`, as 'starter status --json' lists it under alerts (required)")
	fs.StringVar(&action, "action", "", "`ACTION` to take: "+actionList()+" (required)")
	fs.StringVar(&cmd.response.By, "by", "", "`WHO` answered, recorded on the alert: a Slack user ID (U0123ABCD) or an email")
	fs.BoolVar(&cmd.json, "json", false, "print the alert after the answer as indented JSON")
	conn := addConnFlags(fs, getenv)

	if err := parseNoArgs(fs, args, alertHelp); err != nil {
		return alertCmd{}, err
	}
	if err := requireFlags(name, map[string]string{"customer": cmd.customerID, "key": cmd.response.AlertKey, "action": action}); err != nil {
		return alertCmd{}, err
	}
	if err := signals.ValidateCustomerID(cmd.customerID); err != nil {
		return alertCmd{}, usagef(name, "--customer %q: %v", cmd.customerID, err)
	}
	if strings.TrimSpace(cmd.response.AlertKey) != cmd.response.AlertKey {
		return alertCmd{}, usagef(name, "--key %q has spaces around it: give the key exactly as 'starter status --json' lists it", cmd.response.AlertKey)
	}
	cmd.response.Action = workflows.AlertAction(action)
	if !knownAction(cmd.response.Action) {
		return alertCmd{}, usagef(name, "unknown --action %q: want %s", action, actionList())
	}
	cmd.conn = *conn
	return cmd, nil
}

func knownAction(a workflows.AlertAction) bool {
	for _, k := range alertActions {
		if a == k {
			return true
		}
	}
	return false
}

// actionList is "acknowledge or snooze".
func actionList() string {
	names := make([]string, len(alertActions))
	for i, a := range alertActions {
		names[i] = string(a)
	}
	return strings.Join(names, " or ")
}

// alert runs "starter alert": it answers the alert through the journey's
// update and prints the alert as the journey has it afterwards.
func (a *app) alert(args []string) error {
	cmd, err := parseAlert(args, a.getenv)
	if err != nil {
		return err
	}
	j, closeConn, err := a.connect(cmd.conn)
	if err != nil {
		return explain(err, cmd.conn, cmd.customerID)
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	al, err := j.AnswerAlert(ctx, cmd.customerID, cmd.response)
	if err != nil {
		return explain(err, cmd.conn, cmd.customerID)
	}
	if cmd.json {
		return writeJSON(a.stdout, al)
	}
	_, err = io.WriteString(a.stdout, renderAlert(cmd.customerID, al))
	return err
}

// renderAlert is the human-readable form of an alert. Times are in UTC:
// an alert does not carry the customer's time zone, and the command is
// about when the CSM answered, not about the customer's clock.
func renderAlert(customerID string, al workflows.Alert) string {
	stamp := func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "-"
		}
		return t.UTC().Format(stampLayout)
	}
	var b strings.Builder
	field := func(label, value string) { fmt.Fprintf(&b, "%-13s %s\n", label, value) }
	fmt.Fprintf(&b, "the %s alert of customer %s is %s\n", orDash(al.Template), customerID, orDash(string(al.Status)))
	field("step", orDash(al.Step))
	field("raised at", stamp(&al.RaisedAt))
	field("answered by", orDash(al.AnsweredBy))
	field("answered at", stamp(al.AnsweredAt))
	if al.SnoozedUntil != nil {
		field("snoozed until", stamp(al.SnoozedUntil)+"; it escalates if nobody acknowledges it within the SLA after that")
	}
	if al.EscalateAt != nil {
		field("escalates at", stamp(al.EscalateAt))
	}
	if al.EscalatedAt != nil {
		field("escalated at", stamp(al.EscalatedAt))
	}
	field("key", al.Key)
	return b.String()
}
