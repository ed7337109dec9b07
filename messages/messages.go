// Package messages holds what journeys send out (emails, texts, CSM alerts
// and CRM records), the templates they are rendered from, and the error type
// delivery drivers use to say "do not retry this".
//
// Templates are embedded in the binary, one file per message under
// templates/<channel>/<name>.tmpl, with named blocks: "subject" and "text"
// for email, "text" for SMS and alerts. Rendering a template that uses a
// field Data lacks is an error, never a blank in a customer's inbox.
// Besides text/template's builtins, templates can call join (strings.Join),
// money (Money), number ("1,240"), plural ("3 days") and words
// ("card_declined" → "card declined").
//
// Which templates exist is part of what journeys decide: the delivery
// policies' channel fallback sends on the other channel only when a
// template of the same name exists there (Exists). Adding an email or SMS
// template whose name the other channel already has changes that decision
// for running journeys, and a replay of one that fell back (or did not)
// then diverges: such an addition changes the command sequence, and
// docs/VERSIONING.md says what that takes (workflows/rules.go, fallback).
package messages

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Channel names a delivery channel.
type Channel string

// Channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
	ChannelAlert Channel = "alert"
	ChannelCRM   Channel = "crm"
	// ChannelBilling carries account actions (suspend, restore) to the
	// billing system; it has no templates.
	ChannelBilling Channel = "billing"
)

// Meta travels with every outbound message: who it is for, which journey step
// sent it, and the key that makes sending it idempotent.
type Meta struct {
	CustomerID string `json:"customer"`
	// Step is the journey step, such as "onboarding.nudge".
	Step     string `json:"step"`
	Template string `json:"template,omitempty"`
	// IdempotencyKey is the same on every retry of one send and differs
	// between sends; drivers use it to deliver once.
	IdempotencyKey string `json:"idempotency_key"`
	// Class is the message's class: transactional, lifecycle or marketing
	// for the customer's messages, internal for CSM alerts, empty for CRM
	// records and account actions. Metrics count by it, and an email's
	// footer, unsubscribe headers and SendGrid group follow it.
	Class string `json:"class,omitempty"`
	// Experiment is "experiment=variant" when a playbook experiment's
	// variant planned the message, for the vendor's tracking.
	Experiment string `json:"experiment,omitempty"`
}

// Email is a rendered email.
type Email struct {
	Meta
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"body"`
	// HTML is the same message laid out for mail clients.
	HTML string `json:"-"`
	// Headers are extra mail headers, such as List-Unsubscribe on
	// marketing email; nil for none.
	Headers map[string]string `json:"headers,omitempty"`
}

// SMS is a rendered text message.
type SMS struct {
	Meta
	To   string `json:"to"`
	Text string `json:"body"`
}

// Alert is a rendered alert for a customer-success manager. Meta's
// IdempotencyKey identifies the alert: an answer to it (acknowledge, snooze)
// carries it back.
type Alert struct {
	Meta
	// CSM is the manager's Slack user ID or email; empty means the team channel.
	CSM string `json:"to"`
	// Text is the reason, in a sentence or two.
	Text string `json:"body"`
	// Data is what the alert was rendered from, for drivers that show more
	// (customer, plan, health tier, recent timeline).
	Data Data `json:"-"`
}

// CRMUpdate records a journey fact on the customer's CRM contact.
type CRMUpdate struct {
	Meta
	Email string `json:"to"`
	// Properties are contact properties to set, such as lifecycle_stage.
	Properties map[string]string `json:"properties"`
	// Note is added to the contact's activity log.
	Note string `json:"body"`
}

// Account actions of AccountAction.
const (
	AccountSuspend = "suspend"
	AccountRestore = "restore"
)

// AccountAction asks the billing system to suspend or restore a customer's
// account, as dunning decides.
type AccountAction struct {
	Meta
	// Action is AccountSuspend or AccountRestore.
	Action string `json:"action"`
	// InvoiceID is the unpaid (suspend) or paid (restore) invoice.
	InvoiceID string `json:"invoice_id,omitempty"`
	// Reason says why, for the billing system's audit log.
	Reason string `json:"body"`
}

// Receipt is a driver's answer to a delivery.
type Receipt struct {
	// ID is the driver's or vendor's message ID.
	ID string `json:"id"`
	// Duplicate is true when the idempotency key had been delivered already
	// and nothing was sent this time.
	Duplicate bool `json:"duplicate,omitempty"`
}

// TransientError marks a delivery error worth retrying: the vendor was
// rate-limited, overloaded or unreachable.
type TransientError struct {
	// RetryAfter is how long the vendor asked us to wait; zero when it did
	// not say, and the retry policy's backoff applies.
	RetryAfter time.Duration
	Err        error
}

func (e *TransientError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.RetryAfter)
	}
	return e.Err.Error()
}
func (e *TransientError) Unwrap() error { return e.Err }

// Transient wraps err as a *TransientError.
func Transient(err error, retryAfter time.Duration) error {
	return &TransientError{Err: err, RetryAfter: retryAfter}
}

// PermanentError marks a delivery error that retrying cannot fix, such as an
// invalid phone number or an unsubscribed recipient.
type PermanentError struct {
	// Reason is a short machine-readable cause, such as "invalid_number".
	Reason string
	Err    error
}

func (e *PermanentError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a *PermanentError with reason.
func Permanent(reason string, err error) error { return &PermanentError{Reason: reason, Err: err} }

// Data is what templates can use. The workflow fills it from the journey's
// state, so a message shows the state at the moment it was decided.
type Data struct {
	CustomerID string
	Name       string
	FirstName  string
	Email      string
	Plan       string
	Seats      int
	// Product and AppURL come from the playbook.
	Product string
	AppURL  string
	// MilestonesDone and MilestonesLeft are readable milestone labels.
	MilestonesDone  []string
	MilestonesLeft  []string
	MilestonesTotal int
	DaysSinceSignup int
	// HealthTier is the customer's tier when the message was decided.
	HealthTier string
	// Recent are the last few timeline entries, oldest first, for alerts.
	Recent []string

	// Stage is the journey stage when the message was decided.
	Stage string
	// HealthScore is 0-100, as the journey computed it.
	HealthScore int
	// MRR is monthly recurring revenue in Currency's minor unit (cents);
	// format it with {{money .MRR .Currency}}.
	MRR      int64
	Currency string
	// HighValue is true when MRR is at or above the playbook's threshold.
	HighValue bool
	// DaysSinceLogin counts days since the last login (or since signup).
	DaysSinceLogin int
	// LoginsLast30Days counts the days with a login in the last 30 days.
	LoginsLast30Days int
	// Tip is a product tip the playbook chose for re-engagement emails.
	Tip string
	// Usage is the latest usage snapshot and how it compares with the one
	// before.
	Usage Usage
	// TopFeatures are the most used features, most used first, readable.
	TopFeatures []string
	// OpenTickets counts the support tickets still open.
	OpenTickets int
	// NPS is the customer's last survey answer, if any.
	NPS NPS
	// Payment is the failed payment dunning messages are about.
	Payment Payment
	// Renewal is the coming renewal.
	Renewal Renewal
	// Cancellation is the customer's cancellation request.
	Cancellation Cancellation
	// Offer is the offer text the playbook set for this message (a save or
	// win-back offer), empty when there is none.
	Offer string
	// Undelivered is the message that found no channel to the customer,
	// for the alert that says so.
	Undelivered Undelivered
}

// Undelivered is a message to the customer no channel could carry.
type Undelivered struct {
	// Message is the template, readable ("payment reminder").
	Message string
	// Why lists, per channel, why it could not go.
	Why []string
}

// Usage is a usage snapshot as templates see it.
type Usage struct {
	// Known is false until the first snapshot arrives.
	Known       bool
	ActiveUsers int
	KeyActions  int
	SeatsUsed   int
	// KeyActionsBefore is the previous snapshot's count; DropPercent is the
	// fall from it (0 when usage held or grew).
	KeyActionsBefore int
	DropPercent      int
	// SeatsPercent is SeatsUsed as a percentage of the plan's seats.
	SeatsPercent int
}

// NPS is a survey answer.
type NPS struct {
	Answered bool
	Score    int
	Comment  string
	// SurveyURL is where the survey is answered.
	SurveyURL string
}

// Payment is a failed payment.
type Payment struct {
	InvoiceID string
	Amount    int64
	Currency  string
	Attempt   int
	Reason    string
	UpdateURL string
	// SuspendOn is the date the account is suspended unless paid, in the
	// customer's time zone ("March 12"); DaysLeft counts the days to it.
	SuspendOn string
	DaysLeft  int
}

// Renewal is a coming renewal.
type Renewal struct {
	// Date is the renewal date in the customer's time zone ("March 12, 2027").
	Date     string
	DaysLeft int
	Amount   int64
	Currency string
}

// Cancellation is a cancellation request.
type Cancellation struct {
	Reason  string
	Comment string
	// EffectiveDate is when the subscription ends, in the customer's time
	// zone; empty for "at the end of the period".
	EffectiveDate string
}

//go:embed templates
var files embed.FS

// layout lays an email's text out as HTML. It is an html/template, so
// everything from a profile is escaped; the text stays the one source of
// the words, and the HTML cannot drift from it.
var layout = htmltemplate.Must(htmltemplate.ParseFS(files, "templates/email/layout.html"))

var (
	funcs = template.FuncMap{
		"join":   strings.Join,
		"money":  Money,
		"number": number,
		"plural": plural,
		"words":  words,
	}
	templates = mustParse()
)

// currencySymbols are the currencies whose amounts are written with a
// symbol in front; the rest are written with their code after the number.
var currencySymbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£"}

// minorDigits are the ISO 4217 currencies whose minor unit is not a
// hundredth: the amount is in whole units (JPY) or in thousandths (KWD).
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3,
}

// Money formats amount, in currency's minor unit, for people: "$1,234.50",
// "€12.00" and "£3.00" for the currencies with a symbol, "12.00 CHF" and
// "1,200 JPY" (a zero-decimal currency) for the rest. An empty currency is
// USD. Templates call it as {{money .MRR .Currency}}; the Slack alert's
// fields use it too, so an amount reads the same everywhere.
func Money(amount int64, currency string) string {
	code := strings.ToUpper(strings.TrimSpace(currency))
	if code == "" {
		code = "USD"
	}
	sign, n := "", uint64(amount)
	if amount < 0 {
		sign, n = "-", -n // two's complement: right for math.MinInt64 too
	}
	digits, ok := minorDigits[code]
	if !ok {
		digits = 2
	}
	scale := uint64(1)
	for range digits {
		scale *= 10
	}
	num := group(n / scale)
	if digits > 0 {
		num += fmt.Sprintf(".%0*d", digits, n%scale)
	}
	if sym, ok := currencySymbols[code]; ok {
		return sign + sym + num
	}
	return sign + num + " " + code
}

// group writes n with a comma between thousands: 1234567 → "1,234,567".
func group(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// number writes a count with thousands separators: 1240 → "1,240".
func number(n int) string {
	if n < 0 {
		return "-" + group(uint64(-int64(n)))
	}
	return group(uint64(n))
}

// plural writes a count with its noun: {{plural .DaysLeft "day" "days"}}
// is "1 day", "3 days" or "1,240 days".
func plural(n int, one, many string) string {
	if n == 1 || n == -1 {
		return number(n) + " " + one
	}
	return number(n) + " " + many
}

// words makes a machine label readable: "card_declined" → "card declined".
func words(s string) string { return strings.ReplaceAll(s, "_", " ") }

func mustParse() map[Channel]map[string]*template.Template {
	out := map[Channel]map[string]*template.Template{}
	err := fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".tmpl" {
			return err
		}
		ch := Channel(path.Base(path.Dir(p)))
		name := strings.TrimSuffix(path.Base(p), ".tmpl")
		t, err := template.New(name).Funcs(funcs).Option("missingkey=error").ParseFS(files, p)
		if err != nil {
			return err
		}
		if out[ch] == nil {
			out[ch] = map[string]*template.Template{}
		}
		out[ch][name] = t
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("messages: parse embedded templates: %v", err))
	}
	return out
}

// ErrNoTemplate is returned for a template name that does not exist.
var ErrNoTemplate = errors.New("no such template")

// Names lists the templates of a channel in name order.
func Names(ch Channel) []string {
	var out []string
	for name := range templates[ch] {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Exists reports whether channel ch has a template called name.
func Exists(ch Channel, name string) bool {
	_, ok := templates[ch][name]
	return ok
}

// blocks lists the blocks each channel's templates must define.
var blocks = map[Channel][]string{
	ChannelEmail: {"subject", "text"},
	ChannelSMS:   {"text"},
	ChannelAlert: {"text"},
}

// Render renders every block of template name of channel ch, keyed by block.
func Render(ch Channel, name string, d Data) (map[string]string, error) {
	t, ok := templates[ch][name]
	if !ok {
		return nil, fmt.Errorf("messages: %s template %q: %w", ch, name, ErrNoTemplate)
	}
	out := map[string]string{}
	for _, block := range blocks[ch] {
		if t.Lookup(block) == nil {
			return nil, fmt.Errorf("messages: %s template %q has no %q block", ch, name, block)
		}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, block, d); err != nil {
			return nil, fmt.Errorf("messages: render %s template %q: %w", ch, name, err)
		}
		out[block] = strings.TrimSpace(buf.String())
	}
	if ch == ChannelEmail {
		html, err := renderHTML(out["subject"], out["text"], d)
		if err != nil {
			return nil, fmt.Errorf("messages: lay out email %q: %w", name, err)
		}
		out["html"] = html
	}
	return out, nil
}

// htmlBlock is a paragraph of an email: its text lines, then its list.
type htmlBlock struct {
	Lines []string
	Items []string
}

// renderHTML lays text out: blank lines separate paragraphs, and lines
// starting with "- " are a paragraph's list.
func renderHTML(subject, text string, d Data) (string, error) {
	var blocks []htmlBlock
	for _, para := range strings.Split(text, "\n\n") {
		var b htmlBlock
		for _, line := range strings.Split(para, "\n") {
			line = strings.TrimSpace(line)
			if item, ok := strings.CutPrefix(line, "- "); ok {
				b.Items = append(b.Items, item)
			} else if line != "" {
				b.Lines = append(b.Lines, line)
			}
		}
		if len(b.Lines)+len(b.Items) > 0 {
			blocks = append(blocks, b)
		}
	}
	var buf bytes.Buffer
	err := layout.Execute(&buf, map[string]any{"Subject": subject, "Product": d.Product, "AppURL": d.AppURL, "Blocks": blocks})
	return buf.String(), err
}
