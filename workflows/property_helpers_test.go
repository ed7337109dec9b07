package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	sdklog "go.temporal.io/sdk/log"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/sim"
)

// The property test's parts (property_test.go runs them): a scripted
// customer and the order its events reach the journey (script), vendor
// doubles that record every call and fail some (vendors), and the
// invariants checked after each case (property_checks_test.go).

// Webhook sources of the scripted consent events.
const (
	stopKeyword  = "STOP"
	startKeyword = "START"
	// lifecycleOut notes an opt-out of lifecycle email on the preference page.
	lifecycleOut = "lifecycle opt-out"
	paidInvoice  = "in_1"
	// crmAccountStatus is the CRM property an account action sets.
	crmAccountStatus = "account_status"
	crmSuspended     = "suspended"
)

// Send windows of the property playbook, in the customer's zone: the
// default SMS window, and an email window for marketing only.
var (
	smsWindow       = playbook.Window{From: "09:00", To: "20:00"}
	marketingWindow = playbook.Window{From: "08:00", To: "21:00", Classes: []string{playbook.ClassMarketing}}
	// zones the scripted customers live in; "" is the playbook's (UTC).
	zones = []string{"", "America/New_York", "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Pacific/Auckland"}
)

// propertyPlaybook is quiet() with the onboarding nudge as marketing, and
// marketing email windowed, so both consent and windows have sends to hold.
func propertyPlaybook() playbook.Playbook {
	pb := quiet()
	for i, s := range pb.Onboarding.Steps {
		if s.Name == "nudge" {
			pb.Onboarding.Steps[i].Class = playbook.ClassMarketing
		}
	}
	pb.Delivery.Windows = map[string]playbook.Window{
		string(messages.ChannelSMS):   smsWindow,
		string(messages.ChannelEmail): marketingWindow,
	}
	return pb
}

// delivery is one event as the journey receives it: when it happened,
// when it arrives, and whether it is a redelivery of an earlier one.
type delivery struct {
	Event      signals.Event
	Occurred   time.Duration
	Arrives    time.Duration
	Redelivery bool
	// Note says what the event means to the checks (STOP, START, the
	// invoice, unsubscribe).
	Note string
}

func (d delivery) String() string {
	re := ""
	if d.Redelivery {
		re = " (redelivery)"
	}
	return fmt.Sprintf("arrives %-12s occurred %-12s %-24s %s %s%s", d.Arrives, d.Occurred, d.Event.EventID, d.Event.Type, d.Note, re)
}

// script is one case: a customer, their events in the order they arrive,
// and how long the case runs.
type script struct {
	Seed       uint64
	Origin     time.Time
	Signup     signals.SignedUpData
	Deliveries []delivery
	Until      time.Duration

	r *rand.Rand
	n int
}

// newScript draws a customer and their event schedule from seed.
func newScript(seed uint64) *script {
	s := &script{Seed: seed, r: rand.New(rand.NewPCG(seed, 0x5eed))}
	s.Origin = start.Add(time.Duration(s.r.IntN(24*60)) * time.Minute)
	s.signup()
	s.activation()
	s.logins()
	s.payments()
	s.smsConsent()
	s.unsubscribe()
	s.marketingTriggers()
	s.redeliveries()
	s.lifecycleOptOut() // last, so the other draws of every seed stay as they were
	slices.SortStableFunc(s.Deliveries, func(a, b delivery) int { return int(a.Arrives - b.Arrives) })
	last := s.Deliveries[len(s.Deliveries)-1].Arrives
	s.Until = max(last+3*day, 14*day)
	return s
}

// add schedules an event that happened at occurred and arrives late.
func (s *script) add(typ signals.Type, p signals.Payload, occurred, late time.Duration, note string) {
	s.n++
	ev, err := signals.NewEvent(fmt.Sprintf("evt-%d-%s", s.n, typ), "c-1", typ, s.Origin.Add(occurred), p)
	if err != nil {
		panic(fmt.Sprintf("script %d: build %s event: %v", s.Seed, typ, err))
	}
	s.Deliveries = append(s.Deliveries, delivery{Event: ev, Occurred: occurred, Arrives: occurred + late, Note: note})
}

// between is a random offset in [from, to).
func (s *script) between(from, to time.Duration) time.Duration {
	return (from + time.Duration(s.r.Int64N(int64(to-from)))).Truncate(time.Second)
}

// late is how late an event from the product arrives: mostly at once,
// sometimes up to an hour, now and then up to six hours (a queue backlog).
func (s *script) late() time.Duration {
	switch x := s.r.IntN(10); {
	case x < 7:
		return s.between(0, 2*time.Minute)
	case x < 9:
		return s.between(0, time.Hour)
	}
	return s.between(0, 6*time.Hour)
}

// webhookLate is how late a vendor's webhook arrives: its own delay, and
// now and then a retry up to two days later (Stripe retries for three).
func (s *script) webhookLate() time.Duration {
	d := s.between(0, 30*time.Minute) + s.late()
	if s.r.IntN(7) == 0 {
		d += s.between(time.Hour, 2*day)
	}
	return d
}

func (s *script) signup() {
	d := signals.SignedUpData{Name: "Property Customer", Email: "property@example.com", Timezone: zones[s.r.IntN(len(zones))],
		Plan: "pro", Seats: 5, CSM: "U0CSM01", MRR: 49900}
	if s.r.IntN(3) > 0 {
		d.Phone = "+15550100" + fmt.Sprintf("%03d", s.r.IntN(1000))
		d.SMSConsent = s.r.IntN(10) < 7
	}
	s.Signup = d
	s.add(signals.SignedUp, d, 0, 0, "")
}

// activation: most customers reach the three milestones in their first
// week, in any order.
func (s *script) activation() {
	if s.r.IntN(10) >= 6 {
		return
	}
	for _, m := range []string{"first_project", "invited_teammate", "connected_integration"} {
		s.add(signals.MilestoneReached, milestone(m), s.between(time.Hour, 6*day), s.late(), m)
	}
}

// logins: on some days, at some hour.
func (s *script) logins() {
	p := 2 + s.r.IntN(8)
	for d := 1; d < 24; d++ {
		if s.r.IntN(10) < p {
			s.add(signals.Login, signals.LoginData{}, time.Duration(d)*day+s.between(0, day), s.late(), "")
		}
	}
}

// payments: maybe the invoice fails, maybe fails again, maybe is paid
// later, often right after the suspension notice; each webhook may come
// late, so the payment may arrive first.
func (s *script) payments() {
	if s.r.IntN(2) == 0 {
		return
	}
	failed, failedLate := s.between(day, 8*day), s.webhookLate()
	paidAt := time.Duration(-1)
	switch x := s.r.IntN(10); {
	case x < 4:
		paidAt = failed + s.between(time.Hour, 15*day)
	case x < 7: // the suspension (dunning day 10) makes the customer pay
		paidAt = failed + failedLate + 10*day + s.between(time.Minute, 4*time.Hour)
	}
	s.add(signals.PaymentFailed, paymentFailed(paidInvoice), failed, failedLate, paidInvoice)
	if again := failed + 3*day; s.r.IntN(3) == 0 && (paidAt < 0 || again < paidAt) {
		d := paymentFailed(paidInvoice)
		d.Attempt = 2
		s.add(signals.PaymentFailed, d, again, s.webhookLate(), paidInvoice)
	}
	if paidAt >= 0 {
		s.add(signals.PaymentSucceeded, paid(paidInvoice), paidAt, s.webhookLate(), paidInvoice)
	}
}

// smsConsent: a customer with a phone may text STOP, and later START;
// Twilio's webhooks may swap them.
func (s *script) smsConsent() {
	if s.Signup.Phone == "" || s.r.IntN(10) >= 4 {
		return
	}
	stop := s.between(12*time.Hour, 10*day)
	stopLate := s.between(0, 5*time.Minute)
	var startAt, startLate time.Duration = -1, 0
	if s.r.IntN(2) == 0 {
		startAt, startLate = stop+s.between(time.Hour, 5*day), s.between(0, 5*time.Minute)
		if s.r.IntN(10) == 0 { // the STOP is retried after the START
			stopLate = startAt - stop + s.between(time.Minute, 6*time.Hour)
		}
	}
	s.add(signals.ConsentChanged, twilioWord(signals.ConsentOptedOut, stopKeyword), stop, stopLate, stopKeyword)
	if startAt >= 0 {
		s.add(signals.ConsentChanged, twilioWord(signals.ConsentOptedIn, startKeyword), startAt, startLate, startKeyword)
	}
}

func twilioWord(status, keyword string) signals.ConsentChangedData {
	return signals.ConsentChangedData{Channel: signals.ConsentSMS, Status: status, Source: signals.SourceTwilioInbound, Reason: keyword}
}

// unsubscribe: some customers unsubscribe from marketing email; SendGrid
// posts its events in batches.
func (s *script) unsubscribe() {
	if s.r.IntN(10) >= 3 {
		return
	}
	d := signals.ConsentChangedData{Channel: signals.ConsentEmail, Status: signals.ConsentOptedOut, Source: signals.SourceSendGrid, Reason: "unsubscribe"}
	s.add(signals.ConsentChanged, d, s.between(12*time.Hour, 20*day), s.webhookLate(), "unsubscribe")
}

// lifecycleOptOut: some customers turn product-update (lifecycle) email
// off on the preference page.
func (s *script) lifecycleOptOut() {
	if s.r.IntN(10) >= 2 {
		return
	}
	d := signals.ConsentChangedData{Channel: signals.ConsentEmail, Status: signals.ConsentOptedOut, Source: signals.SourcePreferences, Class: signals.ConsentClassLifecycle}
	s.add(signals.ConsentChanged, d, s.between(12*time.Hour, 20*day), s.late(), lifecycleOut)
}

// marketingTriggers: a promoter's answer (a referral ask) and full seats
// (an upsell), so marketing email has reasons to go.
func (s *script) marketingTriggers() {
	if s.r.IntN(10) < 4 {
		s.add(signals.NPSResponse, nps(9+s.r.IntN(2), ""), s.between(2*day, 20*day), s.late(), "promoter")
	}
	if s.r.IntN(10) < 3 {
		s.add(signals.UsageSnapshot, snapshot(100, 5), s.between(2*day, 20*day), s.late(), "full seats")
	}
}

// redeliveries: some events arrive twice, minutes to two days apart, the
// same event ID each time (within the journey's four-day memory).
func (s *script) redeliveries() {
	for _, d := range slices.Clone(s.Deliveries) {
		if s.r.IntN(10) > 0 {
			continue
		}
		d.Arrives += s.between(time.Minute, 2*day)
		d.Redelivery = true
		s.Deliveries = append(s.Deliveries, d)
	}
}

// with returns the deliveries whose note is note, in arrival order.
func (s *script) with(note string) []delivery {
	var out []delivery
	for _, d := range s.Deliveries {
		if d.Note == note {
			out = append(out, d)
		}
	}
	return out
}

// invoicePaid is the first arrival of the payment, if the invoice is paid.
func (s *script) invoicePaid() (delivery, bool) {
	for _, d := range s.with(paidInvoice) {
		if d.Event.Type == signals.PaymentSucceeded {
			return d, true
		}
	}
	return delivery{}, false
}

// schedule is the case as a log: the customer, then every delivery.
func (s *script) schedule() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: origin %s, zone %q, phone %t, sms consent %t, until %s\n",
		s.Seed, s.Origin.Format(time.RFC3339), s.Signup.Timezone, s.Signup.Phone != "", s.Signup.SMSConsent, s.Until)
	for _, d := range s.Deliveries {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}

// runScript drives s through the real journey, with vendors that record
// every call and fail as fault says.
func runScript(h *harness, s *script, v *vendors) {
	h.eng = sim.NewEngine(sim.EngineConfig{
		Journeys: h.journey, Activities: h.acts, CustomerID: "c-1", Origin: s.Origin, OnRun: h.onRun,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	v.now = func() time.Duration { return h.eng.Now().Sub(s.Origin) }
	for _, d := range s.Deliveries {
		h.signal(d.Arrives, d.Event)
	}
}

// attempt is one call a vendor double answered.
type attempt struct {
	At       time.Duration // workflow time since the origin
	Channel  messages.Channel
	Key      string
	Step     string
	Template string
	Class    string
	// Action is suspend or restore for billing, the account status set
	// (crmAccountStatus) for the CRM.
	Action  string
	Attempt int32
	Err     string // "" when delivered; else transient or permanent
}

func (a attempt) String() string {
	out := "delivered"
	if a.Err != "" {
		out = a.Err
	}
	return fmt.Sprintf("%-12s %-7s %-34s %-22s %-13s try %d: %s", a.At, a.Channel, a.Step, a.Template+a.Action, a.Class, a.Attempt, out)
}

// Outcomes of an attempt other than delivered.
const (
	errTransient = "transient"
	errPermanent = "permanent"
)

// fault is how a vendor answers one message (by idempotency key): so many
// transient errors first (with Retry-After, if set), or a permanent one.
type fault struct {
	Transient  int
	RetryAfter time.Duration
	Permanent  string
}

// vendors doubles every vendor: email, SMS, Slack, CRM and billing. It
// records each call with the workflow time it came at and answers as the
// case's faults say. It delivers what it is asked to, twice if asked twice:
// the journey is what is tested.
type vendors struct {
	seed uint64
	now  func() time.Duration

	mu       sync.Mutex
	attempts []attempt
}

// install makes v every driver of a.
func (v *vendors) install(a *activities.Activities) {
	a.Email, a.SMS, a.Alerts, a.CRM, a.Billing = v, v, v, v, v
}

func (v *vendors) SendEmail(ctx context.Context, e messages.Email) (messages.Receipt, error) {
	return v.call(ctx, messages.ChannelEmail, e.Meta, "")
}

func (v *vendors) SendSMS(ctx context.Context, s messages.SMS) (messages.Receipt, error) {
	return v.call(ctx, messages.ChannelSMS, s.Meta, "")
}

func (v *vendors) AlertCSM(ctx context.Context, a messages.Alert) (messages.Receipt, error) {
	return v.call(ctx, messages.ChannelAlert, a.Meta, "")
}

func (v *vendors) UpdateContact(ctx context.Context, u messages.CRMUpdate) (messages.Receipt, error) {
	return v.call(ctx, messages.ChannelCRM, u.Meta, u.Properties[crmAccountStatus])
}

func (v *vendors) SuspendAccount(ctx context.Context, a messages.AccountAction) (messages.Receipt, error) {
	return v.call(ctx, messages.ChannelBilling, a.Meta, messages.AccountSuspend)
}

func (v *vendors) RestoreAccount(ctx context.Context, a messages.AccountAction) (messages.Receipt, error) {
	return v.call(ctx, messages.ChannelBilling, a.Meta, messages.AccountRestore)
}

// call records one attempt and answers it as the message's fault says.
func (v *vendors) call(ctx context.Context, ch messages.Channel, m messages.Meta, action string) (messages.Receipt, error) {
	a := attempt{At: v.now(), Channel: ch, Key: m.IdempotencyKey, Step: m.Step, Template: m.Template, Class: m.Class,
		Action: action, Attempt: activity.GetInfo(ctx).Attempt}
	f := v.faultOf(ch, m.IdempotencyKey)
	var err error
	switch {
	case f.Permanent != "":
		a.Err, err = errPermanent, messages.Permanent(f.Permanent, errors.New("refused by the vendor double"))
	case int(a.Attempt) <= f.Transient:
		a.Err, err = errTransient, messages.Transient(errors.New("vendor double overloaded"), f.RetryAfter)
	}
	v.mu.Lock()
	v.attempts = append(v.attempts, a)
	v.mu.Unlock()
	if err != nil {
		return messages.Receipt{}, err
	}
	return messages.Receipt{ID: fmt.Sprintf("double-%d", len(v.attempts))}, nil
}

// faultOf draws the fault of one message from the seed and its key, so a
// message fails the same way whatever order the journey sends in.
func (v *vendors) faultOf(ch messages.Channel, key string) fault {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", v.seed, key)
	r := rand.New(rand.NewPCG(h.Sum64(), 1))
	x := r.IntN(100)
	switch {
	case x < 5 && ch == messages.ChannelEmail:
		return fault{Permanent: "bounced"}
	case x < 5 && ch == messages.ChannelSMS:
		return fault{Permanent: "invalid_number"}
	case x < 25:
		f := fault{Transient: 1 + r.IntN(3)}
		if r.IntN(2) == 0 {
			f.RetryAfter = retryAfter(r, ch)
		}
		return f
	}
	return fault{}
}

// retryAfter is a vendor's Retry-After: minutes for a messaging API,
// up to hours for an outage of the billing system or CRM, which the
// journey retries for a day.
func retryAfter(r *rand.Rand, ch messages.Channel) time.Duration {
	if ch == messages.ChannelBilling || ch == messages.ChannelCRM {
		return time.Duration(1+r.IntN(180)) * time.Minute
	}
	return time.Duration(1+r.IntN(15)) * time.Minute
}

// record is what the vendors saw, oldest first.
func (v *vendors) record() []attempt {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := slices.Clone(v.attempts)
	slices.SortStableFunc(out, func(a, b attempt) int { return int(a.At - b.At) })
	return out
}
