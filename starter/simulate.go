package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/sim"
)

// startHour is the local hour a --start given as a date begins at: a
// customer signing up at 09:00 gets their day-1 email at 09:00, as in the
// office hours the playbook's authors imagine.
const startHour = 9

// simulateCmd is a parsed simulate command.
type simulateCmd struct {
	profile  sim.Profile
	script   sim.Script
	playbook playbook.Playbook
	start    time.Time
	json     bool
	all      bool
	// cohort is set by --cohort: simulate generated customers instead of
	// one script.
	cohort *sim.CohortOptions
	chart  string
}

var simulateHelp = commandHelp{
	name: "simulate",
	synopsis: "starter simulate --events SCRIPT [--profile FILE] [--playbook FILE] [--start DATE] [--json] [profile flags]\n" +
		"       starter simulate --cohort N [--years Y] [--seed S] [--playbook FILE] [--chart OUT.svg] [--json] [behaviour flags]",
	about: "Simulate one customer's journey without Temporal: the real journey workflow\n" +
		"and activities run in the SDK's time-skipping test environment, with the\n" +
		"outbox driver, and the timeline of what the customer and their CSM would\n" +
		"receive is printed in the customer's time zone. Two years take well under a\n" +
		"second.\n\n" +
		"The events script has one event per line (# starts a comment):\n" +
		"  day 0 signed_up                     (optional: without it the profile signs up on day 0)\n" +
		"  day 2 login\n" +
		"  day 3.5 milestone_reached first_project\n" +
		"  day 10 nps_response score=3 comment=\"Reports are slow\"\n" +
		"  day 40 payment_failed               (invoice, amount and URL default from the profile)\n" +
		"  day 44 payment_succeeded            (pays the failed invoice)\n" +
		"  day 30 renewal_scheduled            (renews on the next signup anniversary; or renews_at=day 365, in=30)\n" +
		"  at 2026-03-01T09:00:00Z login\n" +
		"  every 7 days from day 14 until day 700 login\n" +
		"  end day 730                         (default: 120 days after the last event)\n" +
		"Days are journey days of the playbook. A bare value fills the type's main\n" +
		"field (milestone, feature, score, status, invoice_id, plan, reason, count);\n" +
		"key=value fills data fields as in 'starter event --data'. A .yaml script is\n" +
		"read as YAML (events: [{day: 2, type: login, data: {...}}]).\n\n" +
		"The profile comes from --profile (YAML: customer_id, name, email, phone,\n" +
		"sms_consent, plan, seats, mrr, currency, timezone, csm), then the flags;\n" +
		"anything unset keeps the default customer's value.\n\n" +
		"With --cohort N, N generated customers sign up over the first four weeks\n" +
		"and are followed for --years: each one's events are drawn from the\n" +
		"behaviour flags by a generator seeded with (--seed, customer index), so a\n" +
		"seed always gives the same numbers, and each runs through the real\n" +
		"workflow in its own test environment, on every core, in batches of --batch\n" +
		"customers, each in a child process so memory stays bounded. The report gives\n" +
		"messages per customer by channel and class, suppressions, CSM alerts per\n" +
		"100 customers, dunnings, saves, churns and win-backs, an upper bound on the\n" +
		"history events per customer-year and the speed; --chart writes an SVG of\n" +
		"the customers by stage, week by week.",
}

// simulate runs "starter simulate".
func (a *app) simulate(args []string) error {
	cmd, err := parseSimulate(args, a.now())
	if err != nil {
		return err
	}
	if cmd.cohort != nil {
		return a.simulateCohort(cmd)
	}
	res, err := sim.Run(context.Background(), sim.Options{
		Playbook: cmd.playbook, Profile: cmd.profile, Script: cmd.script, Start: cmd.start,
	})
	if err != nil {
		return err
	}
	if cmd.json {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("encode the simulation as JSON: %w", err)
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", data)
		return err
	}
	return res.WriteText(a.stdout, sim.TextOptions{All: cmd.all})
}

// simulateCohort runs "starter simulate --cohort".
func (a *app) simulateCohort(cmd simulateCmd) error {
	co := *cmd.cohort
	if co.Batch > 0 {
		co.RunBatch = a.runBatchInChild
	}
	rep, err := sim.RunCohort(context.Background(), co)
	if err != nil {
		return err
	}
	if cmd.chart != "" {
		if err := writeChart(cmd.chart, rep); err != nil {
			return err
		}
	}
	if cmd.json {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("encode the cohort report as JSON: %w", err)
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", data)
		return err
	}
	if err := rep.WriteText(a.stdout); err != nil {
		return err
	}
	if cmd.chart != "" {
		_, err = fmt.Fprintf(a.stdout, "chart        %s\n", cmd.chart)
	}
	return err
}

// writeChart writes the report's stage chart to path.
func writeChart(path string, rep sim.CohortReport) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("chart: %w", cerr)
		}
	}()
	return rep.WriteChart(f)
}

// behaviourFlags are the cohort's behaviour knobs.
func behaviourFlags(fs *flag.FlagSet, b *sim.Behaviour) {
	fs.Float64Var(&b.Activation, "activation", b.Activation, "cohort: share of customers who activate in their first week")
	fs.Float64Var(&b.LoginEveryDays, "login-every", b.LoginEveryDays, "cohort: mean `DAYS` between an active customer's logins (at most one a day)")
	fs.Float64Var(&b.PaymentFailure, "payment-failure", b.PaymentFailure, "cohort: chance per month that a payment fails")
	fs.Float64Var(&b.Recovery, "recovery", b.Recovery, "cohort: chance a failed payment is paid within the grace; otherwise the subscription ends")
	fs.Float64Var(&b.Cancellation, "cancellation", b.Cancellation, "cohort: chance per month of a cancellation request (doubled for customers who never activated)")
	fs.Float64Var(&b.Save, "save", b.Save, "cohort: chance a cancellation request is withdrawn")
	fs.Float64Var(&b.Reactivation, "reactivation", b.Reactivation, "cohort: chance a churned customer reactivates during the win-back")
	fs.Float64Var(&b.NPSResponse, "nps-response", b.NPSResponse, "cohort: chance a customer answers an NPS survey")
}

// profileFlags are the flags that override the profile's fields; only the
// ones given are applied, so a profile file's values survive.
type profileFlags struct {
	customer, name, email, phone, plan, currency, tz, csm string
	seats                                                 int
	mrr                                                   int64
	smsConsent                                            bool
}

func (p *profileFlags) register(fs *flag.FlagSet) {
	d := sim.DefaultProfile()
	fs.StringVar(&p.customer, "customer", d.CustomerID, "customer `ID`")
	fs.StringVar(&p.name, "name", d.Name, "the customer's `NAME`")
	fs.StringVar(&p.email, "email", d.Email, "email `ADDRESS`")
	fs.StringVar(&p.phone, "phone", d.Phone, "`PHONE` in E.164 form; --phone '' for none")
	fs.BoolVar(&p.smsConsent, "sms-consent", d.SMSConsent, "the customer consented to texts; --sms-consent=false for no")
	fs.StringVar(&p.plan, "plan", d.Plan, "`PLAN` name")
	fs.IntVar(&p.seats, "seats", d.Seats, "`N` seats")
	fs.Int64Var(&p.mrr, "mrr", d.MRR, "monthly recurring revenue in `CENTS`")
	fs.StringVar(&p.currency, "currency", d.Currency, "ISO 4217 `CODE` of the MRR")
	fs.StringVar(&p.tz, "tz", d.Timezone, "IANA time `ZONE`; the timeline is printed in it")
	fs.StringVar(&p.csm, "csm", d.CSM, "CSM's Slack user `ID` or email; --csm '' for none")
}

// apply sets the fields whose flags were given.
func (p *profileFlags) apply(fs *flag.FlagSet, prof *sim.Profile) {
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "customer":
			prof.CustomerID = p.customer
		case "name":
			prof.Name = p.name
		case "email":
			prof.Email = p.email
		case "phone":
			prof.Phone = p.phone
		case "sms-consent":
			prof.SMSConsent = p.smsConsent
		case "plan":
			prof.Plan = p.plan
		case "seats":
			prof.Seats = p.seats
		case "mrr":
			prof.MRR = p.mrr
		case "currency":
			prof.Currency = p.currency
		case "tz":
			prof.Timezone = p.tz
		case "csm":
			prof.CSM = p.csm
		}
	})
}

// parseSimulate reads the command line and the files it names.
func parseSimulate(args []string, now time.Time) (simulateCmd, error) {
	const name = "simulate"
	fs := newFlagSet(name)
	var profilePath, eventsPath, playbookPath, start string
	var cmd simulateCmd
	var pf profileFlags
	fs.StringVar(&eventsPath, "events", "", "events script `FILE` (required)")
	fs.StringVar(&profilePath, "profile", "", "customer profile YAML `FILE` (default: the flags' defaults)")
	fs.StringVar(&playbookPath, "playbook", "", "playbook `FILE` (default: the built-in playbook)")
	fs.StringVar(&start, "start", "", "day 0: a `DATE` (09:00 in the customer's zone), a local 2026-01-05T08:30 or RFC 3339 (default: today)")
	fs.BoolVar(&cmd.json, "json", false, "print the whole result (entries, summary, final state) as JSON")
	fs.BoolVar(&cmd.all, "all", false, "also print logins, CRM records and hand-overs to new runs")
	pf.register(fs)
	co := sim.CohortOptions{Behaviour: sim.DefaultBehaviour(), SignupDays: sim.DefaultSignupDays}
	fs.IntVar(&co.Customers, "cohort", 0, "simulate `N` generated customers instead of --events")
	fs.Float64Var(&co.Years, "years", 1, "cohort: `YEARS` to follow the cohort for")
	fs.Uint64Var(&co.Seed, "seed", 1, "cohort: `SEED` of the customers' behaviour")
	fs.StringVar(&cmd.chart, "chart", "", "cohort: write the customers by stage, weekly, as an SVG `FILE`")
	fs.IntVar(&co.Batch, "batch", DefaultBatch, "cohort: run the customers in child processes of `N` each, one after the other, so memory stays bounded; 0 runs all in this process")
	behaviourFlags(fs, &co.Behaviour)

	if err := parseNoArgs(fs, args, simulateHelp); err != nil {
		var help *helpRequest
		if errors.As(err, &help) {
			return simulateCmd{}, &helpRequest{text: simulateUsage(fs)}
		}
		return simulateCmd{}, err
	}
	if co.Customers != 0 || cmd.chart != "" {
		return parseCohort(cmd, co, eventsPath, playbookPath, start, now)
	}
	if eventsPath == "" {
		return simulateCmd{}, usagef(name, "--events is required: a script of the customer's events (see 'starter help simulate')")
	}
	var err error
	if cmd.profile, err = loadProfile(profilePath); err != nil {
		return simulateCmd{}, err
	}
	pf.apply(fs, &cmd.profile)
	if cmd.script, err = sim.LoadScript(eventsPath); err != nil {
		return simulateCmd{}, err
	}
	if cmd.playbook, err = loadPlaybook(playbookPath); err != nil {
		return simulateCmd{}, err
	}
	loc, err := cmd.profile.Location()
	if err != nil {
		return simulateCmd{}, err
	}
	if cmd.start, err = parseStart(start, now, loc); err != nil {
		return simulateCmd{}, usagef(name, "--start: %v", err)
	}
	return cmd, nil
}

// parseCohort finishes reading a --cohort command line.
func parseCohort(cmd simulateCmd, co sim.CohortOptions, eventsPath, playbookPath, start string, now time.Time) (simulateCmd, error) {
	const name = "simulate"
	switch {
	case co.Customers < 1:
		return simulateCmd{}, usagef(name, "--cohort wants a number of customers of 1 or more, got %d", co.Customers)
	case eventsPath != "":
		return simulateCmd{}, usagef(name, "--events and --cohort do not go together: a cohort's events are generated")
	case !(co.Years > 0) || co.Years*365 > sim.MaxDays:
		return simulateCmd{}, usagef(name, "--years wants more than 0 and at most %g, got %v", float64(sim.MaxDays)/365, co.Years)
	case co.Batch < 0:
		return simulateCmd{}, usagef(name, "--batch wants 0 (no child processes) or more customers, got %d", co.Batch)
	}
	if err := co.Behaviour.Validate(); err != nil {
		return simulateCmd{}, usagef(name, "%v", err)
	}
	var err error
	if co.Playbook, err = loadPlaybook(playbookPath); err != nil {
		return simulateCmd{}, err
	}
	if co.Start, err = parseStart(start, now, time.UTC); err != nil {
		return simulateCmd{}, usagef(name, "--start: %v", err)
	}
	cmd.cohort = &co
	return cmd, nil
}

func loadProfile(path string) (sim.Profile, error) {
	if path == "" {
		return sim.DefaultProfile(), nil
	}
	return sim.LoadProfile(path)
}

func loadPlaybook(path string) (playbook.Playbook, error) {
	if path == "" {
		return playbook.Default(), nil
	}
	return playbook.Load(path)
}

// parseStart reads --start in the customer's zone: a date starts at
// startHour, a time without a zone is local; empty is today.
func parseStart(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if s == "" {
		y, m, d := now.In(loc).Date()
		return time.Date(y, m, d, startHour, 0, 0, 0, loc), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a date like 2026-01-05, a local time like 2026-01-05T08:30 or an RFC 3339 time, got %q", s)
	}
	// time.Date, not d.Add: 09:00 stays 09:00 on a daylight-saving day.
	return time.Date(d.Year(), d.Month(), d.Day(), startHour, 0, 0, 0, loc), nil
}

// simulateUsage is simulate's -h text. simulate talks to no Temporal
// server, so it has no connection flags to list (commandUsage's layout).
func simulateUsage(fs *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n\n%s\n\nFlags:\n", simulateHelp.synopsis, simulateHelp.about)
	fs.VisitAll(func(f *flag.Flag) { writeFlag(&b, f) })
	b.WriteString("\nExamples:\n" +
		"  starter simulate --events sim/testdata/two-years.txt\n" +
		"  starter simulate --events sim/testdata/two-years.txt --profile sim/testdata/profile.yaml --start 2026-01-05\n" +
		"  starter simulate --events my.txt --tz Europe/Lisbon --phone '' --playbook playbooks/demo.yaml --json\n" +
		"  starter simulate --cohort 200 --years 1 --seed 7 --chart cohort.svg\n")
	return b.String()
}
