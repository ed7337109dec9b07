package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/internal/temporalconn"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// Connection defaults, used when neither the flag nor the env var is set.
const (
	defaultAddress   = "127.0.0.1:7233"
	defaultNamespace = "default"
	defaultDataDir   = ".data"
	envAddress       = "TEMPORAL_ADDRESS"
	envNamespace     = "TEMPORAL_NAMESPACE"
	envDataDir       = "JOURNEYS_DATA_DIR"
)

// callTimeout bounds one Send or State call, so a server that accepts the
// connection but never answers still ends the command.
const callTimeout = 10 * time.Second

// journeys is what the commands need from Temporal. *sender.Sender provides
// it; tests provide a fake so no server is needed.
type journeys interface {
	Send(ctx context.Context, ev signals.Event) error
	State(ctx context.Context, customerID string) (workflows.State, error)
	AnswerAlert(ctx context.Context, customerID string, in workflows.AlertResponse) (workflows.Alert, error)
}

// app is one invocation of the CLI with everything it touches outside its
// arguments injected: output, environment, clock, ID source and Temporal.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	newID          func() string
	// connect returns the journeys client for conn and a function that
	// releases it.
	connect func(conn connSettings) (journeys, func(), error)
	// dial returns a Temporal client, for the commands that need more than
	// a journeys (history export).
	dial func(conn connSettings) (client.Client, error)
}

// usageError is a mistake on the command line. It exits 2 and points at the
// command's help rather than at Temporal.
type usageError struct {
	cmd string // the command whose -h helps; "" for the top level
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// helpRequest is returned when the user asked for help (-h); its text goes
// to stdout and the exit code is 0.
type helpRequest struct{ text string }

func (h *helpRequest) Error() string { return "help requested" }

// userError is a failure rephrased as what the user should do next; the
// original error stays reachable through Unwrap.
type userError struct {
	msg   string
	cause error
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.cause }

// run dispatches args to a command and turns its outcome into an exit code.
func (a *app) run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, topUsage())
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		err = a.help(rest)
	case "signup":
		err = a.signup(rest)
	case "event":
		err = a.event(rest)
	case "status":
		err = a.status(rest)
	case "consent":
		err = a.consent(rest)
	case "alert":
		err = a.alert(rest)
	case "forget":
		err = a.forget(rest)
	case "codec-key":
		err = a.codecKey(rest)
	case "history":
		err = a.history(rest)
	case "simulate":
		err = a.simulate(rest)
	case "cohort-batch": // a batch of a cohort, in a child process (batch.go)
		err = a.cohortBatch(a.stdin)
	default:
		err = usagef("", "unknown command %q (commands: %s)", cmd, commandList)
	}
	return a.exit(err)
}

// commandList names the commands, for the unknown-command error.
const commandList = "signup, event, status, consent, alert, forget, history, simulate, codec-key, help"

// exit reports err and returns the exit code: 0 for success and help, 2 for
// usage errors, 1 for everything else.
func (a *app) exit(err error) int {
	var help *helpRequest
	var usage *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		fmt.Fprint(a.stdout, help.text)
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(a.stderr, "starter: %s\n", usage.msg)
		if usage.cmd == "" {
			fmt.Fprintln(a.stderr, "Run 'starter help' for usage.")
		} else {
			fmt.Fprintf(a.stderr, "Run 'starter %s -h' for usage.\n", usage.cmd)
		}
		return 2
	}
	fmt.Fprintf(a.stderr, "starter: %s\n", err)
	return 1
}

// help prints the top-level usage, or a command's with "help <command>".
func (a *app) help(args []string) error {
	switch {
	case len(args) == 0 || args[0] == "help":
		return &helpRequest{text: topUsage()}
	case len(args) > 1:
		return usagef("", "help takes at most one command, got %q", args)
	}
	switch args[0] {
	case "signup":
		_, err := parseSignup([]string{"-h"}, a.getenv, a.defaults())
		return err
	case "event":
		_, err := parseEvent([]string{"-h"}, a.getenv, a.defaults())
		return err
	case "status":
		_, err := parseStatus([]string{"-h"}, a.getenv)
		return err
	case "consent":
		return a.consent([]string{"-h"})
	case "alert":
		_, err := parseAlert([]string{"-h"}, a.getenv)
		return err
	case "forget":
		_, err := parseForget([]string{"-h"}, a.getenv)
		return err
	case "codec-key":
		return a.codecKey([]string{"-h"})
	case "history":
		return &helpRequest{text: exportUsage}
	case "simulate":
		return a.simulate([]string{"-h"})
	}
	return usagef("", "unknown command %q (commands: %s)", args[0], commandList)
}

func (a *app) defaults() eventDefaults {
	return eventDefaults{now: a.now(), newID: a.newID}
}

// signup runs "starter signup".
func (a *app) signup(args []string) error {
	cmd, err := parseSignup(args, a.getenv, a.defaults())
	if err != nil {
		return err
	}
	return a.send(cmd)
}

// event runs "starter event".
func (a *app) event(args []string) error {
	cmd, err := parseEvent(args, a.getenv, a.defaults())
	if err != nil {
		return err
	}
	return a.send(cmd)
}

// send validates the event here first, so a typo is reported even when
// Temporal is down, then delivers it and confirms in one line.
func (a *app) send(cmd sendCmd) error {
	ev := cmd.event
	if err := ev.Validate(a.now()); err != nil {
		return explain(err, cmd.conn, ev.CustomerID)
	}
	j, closeConn, err := a.connect(cmd.conn)
	if err != nil {
		return explain(err, cmd.conn, ev.CustomerID)
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := j.Send(ctx, ev); err != nil {
		return explain(err, cmd.conn, ev.CustomerID)
	}
	_, err = fmt.Fprintf(a.stdout, "accepted %s event %s for customer %s (workflow %s)\n",
		ev.Type, ev.EventID, ev.CustomerID, workflows.WorkflowID(ev.CustomerID))
	return err
}

// status runs "starter status".
func (a *app) status(args []string) error {
	cmd, err := parseStatus(args, a.getenv)
	if err != nil {
		return err
	}
	return a.show(cmd, func(st workflows.State) any { return st }, func(w io.Writer, st workflows.State) error {
		_, err := io.WriteString(w, renderState(st))
		return err
	})
}

// show reads cmd's customer's state and writes asJSON of it as indented
// JSON with --json, or asText.
func (a *app) show(cmd statusCmd, asJSON func(workflows.State) any, asText func(io.Writer, workflows.State) error) error {
	st, err := a.state(cmd)
	if err != nil {
		return err
	}
	if cmd.json {
		return writeJSON(a.stdout, asJSON(st))
	}
	return asText(a.stdout, st)
}

// state asks cmd's customer's journey for its state.
func (a *app) state(cmd statusCmd) (workflows.State, error) {
	j, closeConn, err := a.connect(cmd.conn)
	if err != nil {
		return workflows.State{}, explain(err, cmd.conn, cmd.customerID)
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	st, err := j.State(ctx, cmd.customerID)
	if err != nil {
		return workflows.State{}, explain(err, cmd.conn, cmd.customerID)
	}
	return st, nil
}

// explain rephrases the errors a user can act on as the action to take;
// anything else is returned as is.
func explain(err error, conn connSettings, customerID string) error {
	var field *signals.FieldError
	var nsMissing *serviceerror.NamespaceNotFound
	var msg string
	switch {
	case errors.As(err, &field):
		msg = fmt.Sprintf("invalid event: %s: %s", field.Field, field.Message)
	case errors.Is(err, sender.ErrRejected):
		msg = fmt.Sprintf("the journey of customer %s refused the answer: %s ('starter status --json %s' lists its alerts and their keys)",
			customerID, rejectionReason(err), customerID)
	case errors.Is(err, sender.ErrUnknownCustomer):
		msg = fmt.Sprintf("no journey for customer %s: sign them up first (starter signup --customer %s ...)", customerID, customerID)
	case errors.Is(err, sender.ErrUnavailable):
		msg = fmt.Sprintf("Temporal at %s is not reachable: is the worker running (go run ./worker --dev)?", conn.Address)
	case errors.As(err, &nsMissing):
		msg = fmt.Sprintf("namespace %q does not exist on Temporal at %s: check --namespace or %s", conn.Namespace, conn.Address, envNamespace)
	default:
		return err
	}
	return &userError{msg: msg, cause: err}
}

// rejectionReason is the journey's own words in a sender.ErrRejected error,
// which the sender puts after the sentinel; the whole text if they are not
// found.
func rejectionReason(err error) string {
	text := err.Error()
	if _, reason, ok := strings.Cut(text, sender.ErrRejected.Error()+": "); ok && reason != "" {
		return reason
	}
	return text
}

// connSettings says which Temporal server and namespace to talk to, and
// where the payload keys are.
type connSettings struct {
	Address   string
	Namespace string
	// CodecKeys is $JOURNEYS_CODEC_KEYS; a secret, so never a flag.
	CodecKeys string
	// DataDir is where a dev worker keeps its generated key, read when
	// CodecKeys is empty.
	DataDir string
	// Security is TLS and the API key, from TEMPORAL_TLS_* and
	// TEMPORAL_API_KEY; secrets and file paths, so never flags.
	Security temporalconn.Security
}

// addConnFlags registers --address and --namespace on fs, defaulting to the
// environment so a shell can set them once for every command.
func addConnFlags(fs *flag.FlagSet, getenv func(string) string) *connSettings {
	c := &connSettings{}
	fs.StringVar(&c.Address, "address", envOr(getenv, envAddress, defaultAddress),
		"Temporal frontend `HOST:PORT`; $"+envAddress+" when set")
	fs.StringVar(&c.Namespace, "namespace", envOr(getenv, envNamespace, defaultNamespace),
		"Temporal `NAMESPACE`; $"+envNamespace+" when set")
	fs.StringVar(&c.DataDir, "data-dir", envOr(getenv, envDataDir, defaultDataDir),
		"the dev worker's data `DIR`, whose codec.key is used when $"+codec.EnvKeys+" is unset; $"+envDataDir+" when set")
	c.CodecKeys = getenv(codec.EnvKeys)
	c.Security = temporalconn.Read(getenv)
	return c
}

func envOr(getenv func(string) string, key, fallback string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return fallback
}

// eventDefaults are the values an event takes when the command line leaves
// them out; injected so tests get fixed IDs and times.
type eventDefaults struct {
	now   time.Time
	newID func() string
}

// sendCmd is a parsed signup or event command: what to send and where.
type sendCmd struct {
	event signals.Event
	conn  connSettings
}

// envelopeFlags are the flags every sending command shares.
type envelopeFlags struct {
	customer string
	eventID  string
	at       timeFlag
}

func (e *envelopeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.customer, "customer", "", "`ID` of the customer (required)")
	fs.StringVar(&e.eventID, "event-id", "", "event `ID`, the idempotency key (default: a fresh UUID)")
	fs.Var(&e.at, "at", "`TIME` it happened, RFC 3339 (default: now)")
}

// newEvent builds the event of typ with the given data from the shared flags
// and the defaults.
func (e *envelopeFlags) newEvent(typ signals.Type, data json.RawMessage, d eventDefaults) signals.Event {
	id := e.eventID
	if id == "" {
		id = d.newID()
	}
	at := e.at.t
	if at.IsZero() {
		at = d.now.UTC()
	}
	return signals.Event{EventID: id, CustomerID: e.customer, Type: typ, OccurredAt: at, Data: data}
}

// parseSignup turns the signup command line into a signed_up event.
func parseSignup(args []string, getenv func(string) string, d eventDefaults) (sendCmd, error) {
	const name = "signup"
	fs := newFlagSet(name)
	var env envelopeFlags
	env.register(fs)
	var p signals.SignedUpData
	fs.StringVar(&p.Email, "email", "", "email `ADDRESS` (required)")
	fs.StringVar(&p.Name, "name", "", "the customer's `NAME`")
	fs.StringVar(&p.Phone, "phone", "", "`PHONE` number in E.164 form, like +15551234567")
	fs.StringVar(&p.Plan, "plan", "", "`PLAN` name, like pro")
	fs.IntVar(&p.Seats, "seats", 0, "`N` seats")
	fs.StringVar(&p.Timezone, "tz", "", "IANA time `ZONE`, like America/New_York (default UTC)")
	fs.StringVar(&p.CSM, "csm", "", "customer-success manager: Slack user `ID` (U0123ABCD) or email")
	fs.BoolVar(&p.SMSConsent, "sms-consent", false, "the customer consented to texts (no SMS goes without it)")
	fs.Int64Var(&p.MRR, "mrr", 0, "monthly recurring revenue in `CENTS` (49900 is $499.00)")
	fs.StringVar(&p.Currency, "currency", "", "ISO 4217 `CODE` of the MRR (default USD)")
	conn := addConnFlags(fs, getenv)

	if err := parseNoArgs(fs, args, signupHelp); err != nil {
		return sendCmd{}, err
	}
	if err := requireFlags(name, map[string]string{"customer": env.customer, "email": p.Email}); err != nil {
		return sendCmd{}, err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return sendCmd{}, fmt.Errorf("encode signed_up data: %w", err)
	}
	return sendCmd{event: env.newEvent(signals.SignedUp, data, d), conn: *conn}, nil
}

// parseEvent turns the event command line into an event of any type.
func parseEvent(args []string, getenv func(string) string, d eventDefaults) (sendCmd, error) {
	const name = "event"
	fs := newFlagSet(name)
	var env envelopeFlags
	env.register(fs)
	var typ, rawJSON string
	fields := dataFlag{}
	fs.StringVar(&typ, "type", "", "event `TYPE`, one of the event types above (required)")
	fs.Var(fields, "data", "data field `key=value`, repeatable; numbers, true, false, null go as JSON, the rest as strings")
	fs.StringVar(&rawJSON, "json", "", "the whole data `OBJECT` as JSON (not with --data)")
	conn := addConnFlags(fs, getenv)

	if err := parseNoArgs(fs, args, eventHelp); err != nil {
		return sendCmd{}, err
	}
	if err := requireFlags(name, map[string]string{"customer": env.customer, "type": typ}); err != nil {
		return sendCmd{}, err
	}
	data, err := eventData(fs, fields, rawJSON)
	if err != nil {
		return sendCmd{}, err
	}
	return sendCmd{event: env.newEvent(signals.Type(typ), data, d), conn: *conn}, nil
}

// eventData is the event's data from either --data fields or --json, never
// both: merging them would hide which one the user meant to win.
func eventData(fs *flag.FlagSet, fields dataFlag, rawJSON string) (json.RawMessage, error) {
	jsonSet := isSet(fs, "json")
	switch {
	case jsonSet && len(fields) > 0:
		return nil, usagef("event", "--data and --json are mutually exclusive: give the data one way")
	case jsonSet:
		return jsonObject(rawJSON)
	case len(fields) > 0:
		data, err := json.Marshal(map[string]json.RawMessage(fields))
		if err != nil {
			return nil, fmt.Errorf("encode --data fields: %w", err)
		}
		return data, nil
	}
	return nil, nil
}

// jsonObject checks that s is one JSON object and returns it compacted.
func jsonObject(s string) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &obj); err != nil || obj == nil {
		return nil, usagef("event", `--json must be a JSON object such as '{"milestone":"first_project"}', got %q`, s)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return nil, fmt.Errorf("compact --json object: %w", err)
	}
	return buf.Bytes(), nil
}

// statusCmd is a parsed status command.
type statusCmd struct {
	customerID string
	json       bool
	conn       connSettings
}

// parseStatus reads the customer from the one positional argument or from
// --customer, so "status c-1" and the sending commands' style both work.
func parseStatus(args []string, getenv func(string) string) (statusCmd, error) {
	return parseCustomerCmd(statusHelp, "print the raw state as indented JSON", args, getenv)
}

// parseCustomerCmd parses a command about one customer that reads its
// state (status, consent); jsonUsage says what --json prints.
func parseCustomerCmd(h commandHelp, jsonUsage string, args []string, getenv func(string) string) (statusCmd, error) {
	fs := newFlagSet(h.name)
	var cmd statusCmd
	fs.StringVar(&cmd.customerID, "customer", "", "`ID` of the customer, instead of the argument")
	fs.BoolVar(&cmd.json, "json", false, jsonUsage)
	conn := addConnFlags(fs, getenv)

	pos, err := parseFlags(fs, args, h)
	if err != nil {
		return statusCmd{}, err
	}
	switch {
	case len(pos) > 1:
		return statusCmd{}, usagef(h.name, "expected one customer ID, got %d arguments: %s", len(pos), strings.Join(pos, " "))
	case len(pos) == 1 && cmd.customerID != "" && pos[0] != cmd.customerID:
		return statusCmd{}, usagef(h.name, "customer given twice: %q and --customer %q", pos[0], cmd.customerID)
	case len(pos) == 1:
		cmd.customerID = pos[0]
	case cmd.customerID == "":
		return statusCmd{}, usagef(h.name, "missing customer ID: starter %s <customer-id>", h.name)
	}
	cmd.conn = *conn
	return cmd, nil
}

// newFlagSet returns a flag set that reports nothing itself: errors and help
// come back from parseFlags so the caller decides where they are printed.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// commandHelp is a command's help text without its flag list.
type commandHelp struct {
	name     string
	synopsis string
	about    string
}

// parseFlags parses flags anywhere on the command line (people type
// "status c-1 --json" as often as "status --json c-1") and returns the
// positional arguments. Everything after "--" is positional.
func parseFlags(fs *flag.FlagSet, args []string, h commandHelp) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{text: commandUsage(fs, h)}
			}
			return nil, usagef(h.name, "%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseNoArgs parses a command that takes flags only.
func parseNoArgs(fs *flag.FlagSet, args []string, h commandHelp) error {
	pos, err := parseFlags(fs, args, h)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(h.name, "unexpected argument %q: %s takes flags only", pos[0], h.name)
	}
	return nil
}

// requireFlags reports the first required flag left empty, in name order so
// the message is stable.
func requireFlags(cmd string, values map[string]string) error {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if values[n] == "" {
			return usagef(cmd, "--%s is required", n)
		}
	}
	return nil
}

// isSet reports whether the flag was given, to tell an empty --json from an
// absent one.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// dataFlag collects repeated --data key=value flags as JSON field values.
type dataFlag map[string]json.RawMessage

func (d dataFlag) String() string { return "" }

// Set adds one key=value; a repeated key is an error rather than a silent
// overwrite.
func (d dataFlag) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	switch {
	case !ok || key == "":
		return fmt.Errorf("want key=value, got %q", s)
	case d[key] != nil:
		return fmt.Errorf("key %q given twice", key)
	}
	d[key] = signals.Literal(value)
	return nil
}

// timeFlag is an RFC 3339 timestamp flag; zero when not given.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f == nil || f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", s)
	}
	f.t = t
	return nil
}

// eventTypesDoc is where every event type's data is described.
const eventTypesDoc = "docs/events.md"

// typeList is the known event types, comma-separated and wrapped to lines
// of at most 76 columns that start with indent.
func typeList(indent string) string {
	types := signals.Types()
	var b strings.Builder
	b.WriteString(indent)
	line := len(indent)
	for i, t := range types {
		word := string(t)
		if i < len(types)-1 {
			word += ","
		}
		if i > 0 {
			if line+1+len(word) > 76 {
				b.WriteString("\n" + indent)
				line = len(indent)
			} else {
				b.WriteString(" ")
				line++
			}
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String()
}

func writeJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state as JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// Help texts of the commands; the flag lists are generated from the flag sets.
var (
	signupHelp = commandHelp{
		name:     "signup",
		synopsis: "starter signup --customer ID --email ADDRESS [flags]",
		about: "Start a customer's journey: sends a signed_up event, which starts the\n" +
			"customer's workflow (customer:<ID>) if it is not running yet.",
	}
	eventHelp = commandHelp{
		name:     "event",
		synopsis: "starter event --customer ID --type TYPE [--data key=value ... | --json OBJECT] [flags]",
		about: "Send one event to a customer's journey. Every type but signed_up needs a\n" +
			"journey that is already running.\n\n" +
			"Event types (" + eventTypesDoc + " lists each one's data fields and limits):\n" +
			typeList("  ") + "\n\n" +
			"Money (amount, mrr) is an integer in the currency's minor unit: 49900 is $499.00.\n\n" +
			"Examples:\n" +
			"  starter event --customer c-1 --type login\n" +
			"  starter event --customer c-1 --type milestone_reached --data milestone=first_project\n" +
			"  starter event --customer c-1 --type profile_updated --data seats=12 --data plan=business\n" +
			`  starter event --customer c-1 --type profile_updated --json '{"phone":""}'` + "\n" +
			`  starter event --customer c-1 --type nps_response --data score=4 --data comment="too slow"` + "\n" +
			"  starter event --customer c-1 --type payment_failed --data invoice_id=in_1 --data amount=49900 \\\n" +
			"      --data currency=USD --data update_url=https://billing.example.com/update",
	}
	statusHelp = commandHelp{
		name:     "status",
		synopsis: "starter status [flags] CUSTOMER-ID",
		about: "Print the state of a customer's journey: stage, profile, milestones,\n" +
			"health, counters and the recent timeline in the customer's time zone.",
	}
	alertHelp = commandHelp{
		name:     "alert",
		synopsis: "starter alert --customer ID --key KEY --action acknowledge|snooze [--by WHO] [flags]",
		about: "Answer one of a customer's CSM alerts, as the Slack alert's buttons do, and\n" +
			"print the alert as the journey has it afterwards. acknowledge ends the\n" +
			"follow-up; snooze quiets the alert for the playbook's snooze_days, after\n" +
			"which it escalates unless acknowledged within the SLA. Answering an\n" +
			"acknowledged alert again changes nothing.\n\n" +
			"The key is the alert's, as 'starter status --json ID' lists it under alerts.\n\n" +
			"Example:\n" +
			"  starter alert --customer c-1 --key 'customer:c-1/<journey>/onboarding.escalate/alert' \\\n" +
			"      --action acknowledge --by U0123ABCD",
	}
)

// commandUsage is a command's -h text: synopsis, description, then its own
// flags and the connection flags in separate lists.
func commandUsage(fs *flag.FlagSet, h commandHelp) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n\n%s\n\nFlags:\n", h.synopsis, h.about)
	var conn []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "address" || f.Name == "namespace" {
			conn = append(conn, f)
			return
		}
		writeFlag(&b, f)
	})
	if len(conn) > 0 { // forget talks to the events API, not Temporal
		b.WriteString("\nConnection:\n")
	}
	for _, f := range conn {
		writeFlag(&b, f)
	}
	return b.String()
}

// writeFlag writes one flag in the "--name VALUE  usage (default x)" form
// the top-level usage uses, rather than the flag package's "-name".
func writeFlag(b *strings.Builder, f *flag.Flag) {
	value, usage := flag.UnquoteUsage(f)
	head := "--" + f.Name
	if value != "" {
		head += " " + value
	}
	fmt.Fprintf(b, "  %-22s %s", head, usage)
	if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
		fmt.Fprintf(b, " (default %s)", f.DefValue)
	}
	b.WriteString("\n")
}

// topUsage is the text of "starter help".
func topUsage() string {
	return `starter signs customers up, sends events to their journeys, answers
their CSM alerts and shows a journey's state, through Temporal.

Usage:
  starter signup --customer ID --email ADDRESS [--name NAME] [--phone E164]
                 [--plan PLAN] [--seats N] [--tz ZONE] [--csm ID]
                 [--event-id ID] [--at TIME]
  starter event  --customer ID --type TYPE [--data key=value ... | --json OBJECT]
                 [--event-id ID] [--at TIME]
  starter status [--json] CUSTOMER-ID      (or --customer ID)
  starter consent [--json] CUSTOMER-ID     (or --customer ID)
  starter alert  --customer ID --key KEY --action acknowledge|snooze [--by WHO] [--json]
  starter forget [--api URL] [--json] CUSTOMER-ID
  starter history export --customer ID --out FILE [--all-runs]
  starter history export --query QUERY --out-dir DIR
  starter simulate --events SCRIPT [--profile FILE] [--playbook FILE]
                   [--start DATE] [--json] [--all]
  starter codec-key [--id ID]
  starter help [COMMAND]

Commands:
  signup     start a customer's journey with a signed_up event
  event      send an event of any type below
  status     print a customer's journey: stage, profile, consent, counters, timeline
  consent    print a customer's consent record, every word with its source
  alert      answer a CSM alert (acknowledge or snooze), as its Slack buttons do
  forget     erase a customer everywhere journeys keeps them, through the
             events API (--api, default http://127.0.0.1:8080)
  history    export journeys' histories as JSON, for the replay test
  simulate   run a scripted customer's journey offline, in simulated time,
             and print what they would receive (no Temporal needed)
  codec-key  print a new JOURNEYS_CODEC_KEYS entry (a fresh AES-256 key)
  help       print this text, or a command's flags

Event types (` + eventTypesDoc + ` lists each one's data fields and limits):
` + typeList("  ") + `

Event flags:
  --event-id ID    idempotency key; a redelivered ID is applied once (default: a fresh UUID)
  --at TIME        when it happened, RFC 3339 such as 2026-01-02T15:04:05Z (default: now)
  --data key=value data field, repeatable; numbers, true, false and null are
                   sent as JSON, everything else as a string
  --json OBJECT    the whole data object as JSON; not with --data

Every command also takes:
  --address HOST:PORT   Temporal frontend (default $TEMPORAL_ADDRESS or 127.0.0.1:7233)
  --namespace NAME      Temporal namespace (default $TEMPORAL_NAMESPACE or default)
  --data-dir DIR        the dev worker's data directory (default $JOURNEYS_DATA_DIR or .data)

Environment:
  TEMPORAL_ADDRESS     Temporal frontend host:port
  TEMPORAL_NAMESPACE   Temporal namespace
  JOURNEYS_CODEC_KEYS  the payload keys the worker has; unset, the dev
                       worker's <data-dir>/codec.key is used
  JOURNEYS_OPERATOR_TOKENS  forget sends the first; unset, the dev token a
                       --dev worker accepts
  TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME,
  TEMPORAL_API_KEY     mTLS or a Temporal Cloud API key, as for the worker

Examples:
  starter signup --customer c-1 --email ana@example.com --phone +15551234567 --plan pro --tz America/New_York
  starter event --customer c-1 --type login
  starter event --customer c-1 --type milestone_reached --data milestone=first_project
  starter event --customer c-1 --type nps_response --data score=4 --data comment="too slow"
  starter status c-1
  starter consent c-1 --json

Exit status: 0 on success, 1 when the event is invalid, the journey refuses
an alert answer or Temporal fails, 2 on a usage error. Run
'starter COMMAND -h' for a command's flags.
`
}
