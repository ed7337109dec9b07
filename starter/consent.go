package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/journeyshq/journeys/workflows"
)

// "starter consent": a customer's consent record, for an auditor
// (docs/events.md#the-consent-record); status.go shows its last entries.

// statusConsentEntries is how many record entries "starter status" shows.
const statusConsentEntries = 3

var consentHelp = commandHelp{
	name:     "consent",
	synopsis: "starter consent [flags] CUSTOMER-ID",
	about: "Print a customer's consent record: every opt-in, opt-out and unusable\n" +
		"address the journey heard, oldest first, with when it was said, its source\n" +
		"and reason, and whether it applied or was ignored (older than its source's\n" +
		"latest word, or about a previous address). The journey keeps the last 20\n" +
		"entries per channel. With --json, an array of entries with RFC 3339 times.",
}

// consent runs "starter consent".
func (a *app) consent(args []string) error {
	cmd, err := parseCustomerCmd(consentHelp, "print the record as a JSON array", args, a.getenv)
	if err != nil {
		return err
	}
	return a.show(cmd, func(st workflows.State) any {
		return append([]workflows.ConsentEntry{}, st.Consent.History...) // [] rather than null
	}, func(w io.Writer, st workflows.State) error {
		return writeConsentRecord(w, st.Consent.History, customerLocation(st.Profile.Timezone))
	})
}

// writeConsentRecord writes entries as a table, times in loc.
func writeConsentRecord(w io.Writer, entries []workflows.ConsentEntry, loc *time.Location) error {
	if len(entries) == 0 {
		_, err := io.WriteString(w, "no consent recorded\n")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "OCCURRED (%s)\tCHANNEL\tCLASS\tSTATUS\tSOURCE\tOUTCOME\tREASON\n", loc)
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.OccurredAt.In(loc).Format(timelineLayout),
			e.Channel, orDash(e.Class), e.Status, e.Source, e.Outcome, orDash(e.Reason))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write consent record: %w", err)
	}
	return nil
}

// renderConsent is the status text's consent block: where each channel
// and email class stands, and the record's last entries.
func renderConsent(st workflows.State, loc *time.Location) string {
	c := st.Consent
	var b strings.Builder
	b.WriteString("consent\n")
	field := func(label, value string) { fmt.Fprintf(&b, "  %-11s %s\n", label, value) }
	field("sms", smsConsentText(st))
	field("marketing", emailConsentText(c, c.EmailMarketingOptedOut))
	field("lifecycle", emailConsentText(c, c.EmailLifecycleOptedOut))
	recent := c.History[max(0, len(c.History)-statusConsentEntries):]
	if len(recent) > 0 {
		b.WriteString("  recent ('starter consent' has the whole record)\n")
	}
	for _, e := range recent {
		what := e.Channel
		if e.Class != "" {
			what += " " + e.Class
		}
		fmt.Fprintf(&b, "    %s  %s %s by %s: %s\n", e.OccurredAt.In(loc).Format(timelineLayout), what, e.Status, e.Source, e.Outcome)
	}
	return b.String()
}

// smsConsentText says whether texts may go to the customer, and why not.
func smsConsentText(st workflows.State) string {
	switch {
	case st.Consent.SMSOptedOut:
		return "opted out"
	case st.SMSUnusable != "":
		return "unusable (" + st.SMSUnusable + ")"
	case !st.Profile.SMSConsent:
		return "no consent"
	}
	return "consented"
}

// emailConsentText says whether email of a class may go to the customer.
func emailConsentText(c workflows.ConsentState, optedOut bool) string {
	switch {
	case c.EmailUnusable != "":
		return "address unusable (" + c.EmailUnusable + ")"
	case optedOut:
		return "opted out"
	}
	return "allowed"
}
