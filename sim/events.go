package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// Defaults of the fields an event needs that a script may leave out.
const (
	defaultUpdateURL = "https://billing.example.com/update"
	defaultReason    = "card_declined"
	// defaultKeyActions is the first usage snapshot's key actions.
	defaultKeyActions = 100
)

// mainFields is the data field a bare value after the type fills.
var mainFields = map[signals.Type]string{
	signals.SignedUp:              "email",
	signals.Login:                 "count",
	signals.MilestoneReached:      "milestone",
	signals.FeatureUsed:           "feature",
	signals.NPSResponse:           "score",
	signals.SupportTicket:         "status",
	signals.PaymentFailed:         "invoice_id",
	signals.PaymentSucceeded:      "invoice_id",
	signals.PlanChanged:           "plan",
	signals.CancellationRequested: "reason",
	signals.Reactivated:           "plan",
}

// MainField is the data field a bare value after an event of type t fills
// ("day 5 milestone_reached first_project"), or "" when t has none.
func MainField(t signals.Type) string { return mainFields[t] }

// inFields is the time field "in=N" (N days after the event) sets.
var inFields = map[signals.Type]string{
	signals.RenewalScheduled:      "renews_at",
	signals.CancellationRequested: "effective_at",
}

// Planned is one event of a script, ready to send.
type Planned struct {
	// Line is the script line; 0 for the signup the profile stands for.
	Line  int           `json:"line"`
	Event signals.Event `json:"event"`
}

// Events builds the script's events for customer p from start: every
// field the script leaves out that the event needs gets a default, and
// every event is validated as the edge validates it. It returns them in
// time order (script order at the same time) and when the simulation ends.
// Without a signed_up line, the profile signs up at the start.
func (s Script) Events(p Profile, pb playbook.Playbook, start time.Time) ([]Planned, time.Time, error) {
	b := newBuilder(p, pb, start)
	occs, err := b.occurrences(s)
	if err != nil {
		return nil, time.Time{}, err
	}
	out := make([]Planned, 0, len(occs))
	for _, o := range occs {
		ev, err := b.build(o)
		if err != nil {
			if o.line.Num == 0 {
				return nil, time.Time{}, err
			}
			return nil, time.Time{}, &LineError{Line: o.line.Num, Err: fmt.Errorf("%s: %w", o.line.Type, err)}
		}
		out = append(out, Planned{Line: o.line.Num, Event: ev})
	}
	end, err := b.end(s, out)
	if err != nil {
		return nil, time.Time{}, err
	}
	return out, end, nil
}

// builder fills events in time order, keeping what the defaults depend on:
// the customer's plan, the open invoices and tickets, the milestones.
type builder struct {
	pb      playbook.Playbook
	start   time.Time
	profile Profile
	// signedUpAt is the first signup's time, the base of renewal dates.
	signedUpAt time.Time

	// invoices counts the invoices seen, to number new ones.
	invoices int
	known    map[string]bool
	// unpaid are the failed invoices not paid yet, oldest first.
	unpaid   []string
	amounts  map[string]int64
	attempts map[string]int
	tickets  int
	open     []string
	reached  []string
	snapshot *signals.UsageSnapshotData
}

func newBuilder(p Profile, pb playbook.Playbook, start time.Time) *builder {
	return &builder{pb: pb, start: start, profile: p, known: map[string]bool{}, amounts: map[string]int64{}, attempts: map[string]int{}}
}

// occurrence is one event a line stands for.
type occurrence struct {
	line *Line
	// id tells a repeated line's events apart.
	id string
	at time.Time
}

// day is the time of journey day d.
func (b *builder) day(d float64) time.Time {
	return b.start.Add(time.Duration(math.Round(d * float64(b.pb.DayLength.D()))))
}

func (b *builder) resolve(w When) time.Time {
	if !w.At.IsZero() {
		return w.At
	}
	return b.day(w.Day)
}

// occurrences lists every event of s with its time, in time order.
func (b *builder) occurrences(s Script) ([]occurrence, error) {
	var out []occurrence
	signup := slices.ContainsFunc(s.Lines, func(l Line) bool { return l.Type == signals.SignedUp })
	if !signup {
		out = append(out, occurrence{line: &Line{Type: signals.SignedUp}, id: "signup", at: b.start})
	}
	limit := b.day(MaxDays)
	for i := range s.Lines {
		l := &s.Lines[i]
		at := b.resolve(l.When)
		switch {
		case at.Before(b.start):
			return nil, lineErr(l.Num, "%s is before the start of the simulation (%s)", l.When, b.start.Format(time.RFC3339))
		case at.After(limit):
			return nil, lineErr(l.Num, "%s is more than %d days after the start", l.When, MaxDays)
		}
		if l.Every == nil {
			out = append(out, occurrence{line: l, id: fmt.Sprintf("line-%d", l.Num), at: at})
			continue
		}
		count := int(math.Floor((l.Every.Until-l.When.Day)/l.Every.Days + 1e-9))
		for k := 0; k <= count; k++ {
			out = append(out, occurrence{line: l, id: fmt.Sprintf("line-%d.%d", l.Num, k+1), at: b.day(l.When.Day + float64(k)*l.Every.Days)})
		}
	}
	slices.SortStableFunc(out, func(a, b occurrence) int { return a.at.Compare(b.at) })
	return out, nil
}

// end is when the simulation ends: the script's end, after every event, or
// DefaultTailDays after the last one.
func (b *builder) end(s Script, events []Planned) (time.Time, error) {
	last := events[len(events)-1]
	if s.End == nil {
		return last.Event.OccurredAt.Add(b.pb.Day(DefaultTailDays)), nil
	}
	end := b.resolve(*s.End)
	for _, p := range events {
		switch {
		case p.Event.OccurredAt.Before(end):
		case p.Line == 0: // the profile's signup
			return time.Time{}, lineErr(s.EndLine, "the end (%s) is not after the signup", *s.End)
		default:
			return time.Time{}, lineErr(p.Line, "%s is not before the end of the simulation (%s, line %d)", p.Event.Type, *s.End, s.EndLine)
		}
	}
	return end, nil
}

// build makes the event o stands for and records what it changes.
func (b *builder) build(o occurrence) (signals.Event, error) {
	fields, err := b.fields(o)
	if err != nil {
		return signals.Event{}, err
	}
	if err := b.defaults(o.line.Type, fields, o.at); err != nil {
		return signals.Event{}, err
	}
	data, err := json.Marshal(fields)
	if err != nil {
		return signals.Event{}, fmt.Errorf("encode data: %w", err)
	}
	ev := signals.Event{EventID: o.id, CustomerID: b.profile.CustomerID, Type: o.line.Type, OccurredAt: o.at.UTC(), Data: data}
	// Received the moment it happened, as a backend would send it.
	if err := ev.Validate(o.at); err != nil {
		return signals.Event{}, err
	}
	p, err := ev.Payload()
	if err != nil {
		return signals.Event{}, err
	}
	b.track(ev, p)
	return ev, nil
}

// fields are the data fields the line gives, as JSON.
func (b *builder) fields(o occurrence) (map[string]json.RawMessage, error) {
	l := o.line
	types := payloadFields(l.Type)
	out := map[string]json.RawMessage{}
	set := func(key string, v Value) error {
		if key == "in" && inFields[l.Type] != "" {
			days, err := parseDays(v.Text)
			if err != nil {
				return fmt.Errorf("in: %w", err)
			}
			key, v = inFields[l.Type], Value{Text: o.at.Add(time.Duration(days * float64(b.pb.DayLength.D()))).Format(time.RFC3339)}
		}
		t, ok := types[key]
		switch {
		case !ok:
			return fmt.Errorf("%s has no field %q (fields: %s)", l.Type, key, fieldNames(types, l.Type))
		case out[key] != nil:
			return fmt.Errorf("%s given twice", key)
		}
		raw, err := b.jsonValue(t, v)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		out[key] = raw
		return nil
	}
	if l.Arg != nil {
		main := mainFields[l.Type]
		if main == "" {
			return nil, fmt.Errorf("%s takes no bare value (%q); give data fields as key=value (fields: %s)", l.Type, l.Arg.Text, fieldNames(types, l.Type))
		}
		if err := set(main, *l.Arg); err != nil {
			return nil, err
		}
	}
	for _, f := range l.Fields {
		if err := set(f.Key, f.Value); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var timeType = reflect.TypeFor[time.Time]()

// jsonValue is v as the JSON of a field of type t: a string field takes the
// text as it is, a time "day N" or RFC 3339, and anything else JSON the way
// starter's --data does (numbers, true, false and null as themselves).
func (b *builder) jsonValue(t reflect.Type, v Value) (json.RawMessage, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		at, err := b.parseTime(v.Text)
		if err != nil {
			return nil, err
		}
		return json.Marshal(at.UTC().Format(time.RFC3339))
	case t.Kind() == reflect.String, v.Quoted:
		return json.Marshal(v.Text)
	}
	return signals.Literal(v.Text), nil
}

// parseTime reads "day N" (journey days from the start) or an RFC 3339 time.
func (b *builder) parseTime(s string) (time.Time, error) {
	if d, ok := strings.CutPrefix(s, "day "); ok {
		days, err := parseDays(strings.TrimSpace(d))
		if err != nil {
			return time.Time{}, err
		}
		return b.day(days), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf(`want "day N" or an RFC 3339 time such as 2026-03-01T09:00:00Z, got %q`, s)
	}
	return t, nil
}

// payloadFields maps the JSON names of t's payload fields to their types.
func payloadFields(t signals.Type) map[string]reflect.Type {
	p, err := signals.Event{Type: t}.Payload()
	if err != nil {
		return nil
	}
	rt := reflect.TypeOf(p)
	out := map[string]reflect.Type{}
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = f.Type
		}
	}
	return out
}

func fieldNames(types map[string]reflect.Type, t signals.Type) string {
	names := make([]string, 0, len(types)+1)
	for n := range types {
		names = append(names, n)
	}
	if inFields[t] != "" {
		names = append(names, "in")
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// defaults fills the fields of an event of type t the script left out.
func (b *builder) defaults(t signals.Type, f map[string]json.RawMessage, at time.Time) error {
	def := func(key string, v any) {
		if f[key] == nil {
			f[key], _ = json.Marshal(v) // plain values always encode
		}
	}
	p := b.profile
	switch t {
	case signals.SignedUp:
		base, err := p.profileJSON()
		if err != nil {
			return err
		}
		for k, v := range base {
			def(k, v)
		}
	case signals.MilestoneReached:
		if f["milestone"] == nil {
			m, err := b.nextMilestone()
			if err != nil {
				return err
			}
			def("milestone", m)
		}
	case signals.UsageSnapshot:
		s := b.lastSnapshot()
		def("active_users", s.ActiveUsers)
		def("key_actions", s.KeyActions)
		def("seats_used", s.SeatsUsed)
	case signals.SupportTicket:
		def("status", signals.TicketOpened)
		if f["ticket_id"] == nil {
			id, err := b.ticketID(f["status"])
			if err != nil {
				return err
			}
			def("ticket_id", id)
		}
	case signals.PaymentFailed:
		def("invoice_id", b.failingInvoice())
		id := stringField(f, "invoice_id")
		def("amount", b.invoiceAmount(id))
		def("currency", p.Currency)
		def("attempt", b.attempts[id]+1)
		def("reason", defaultReason)
		def("update_url", defaultUpdateURL)
	case signals.PaymentSucceeded:
		def("invoice_id", b.payingInvoice())
		def("amount", b.invoiceAmount(stringField(f, "invoice_id")))
		def("currency", p.Currency)
	case signals.PlanChanged:
		def("plan", p.Plan)
		def("seats", p.Seats)
		def("mrr", p.MRR)
		def("currency", p.Currency)
	case signals.RenewalScheduled:
		def("renews_at", b.nextAnniversary(at).UTC().Format(time.RFC3339))
		def("amount", p.MRR*12)
		def("currency", p.Currency)
	case signals.CancellationRequested:
		def("reason", signals.ReasonOther)
	}
	return nil
}

func stringField(f map[string]json.RawMessage, key string) string {
	var s string
	_ = json.Unmarshal(f[key], &s) // a non-string is reported by Validate
	return s
}

// nextMilestone is the first playbook milestone not reached yet.
func (b *builder) nextMilestone() (string, error) {
	for _, m := range b.pb.Onboarding.Milestones {
		if !slices.Contains(b.reached, m) {
			return m, nil
		}
	}
	return "", errors.New("every playbook milestone is reached already; name one (milestone_reached NAME)")
}

// lastSnapshot is the previous usage snapshot, so a line gives only what
// changed; the first is 60% of the seats in use, with defaultKeyActions.
func (b *builder) lastSnapshot() signals.UsageSnapshotData {
	if b.snapshot != nil {
		return *b.snapshot
	}
	used := (b.profile.Seats*6 + 9) / 10
	return signals.UsageSnapshotData{ActiveUsers: used, KeyActions: defaultKeyActions, SeatsUsed: used}
}

// ticketID is a new ticket's ID, or for a resolution the oldest open one.
func (b *builder) ticketID(status json.RawMessage) (string, error) {
	var s string
	_ = json.Unmarshal(status, &s)
	if s != signals.TicketResolved {
		return "t_" + strconv.Itoa(b.tickets+1), nil
	}
	if len(b.open) == 0 {
		return "", errors.New("no open ticket to resolve; give ticket_id=ID")
	}
	return b.open[0], nil
}

// failingInvoice is the invoice a failed payment is about: the one being
// recovered (a retry that failed again), else a new one.
func (b *builder) failingInvoice() string {
	if len(b.unpaid) > 0 {
		return b.unpaid[len(b.unpaid)-1]
	}
	return "in_" + strconv.Itoa(b.invoices+1)
}

// payingInvoice is the invoice a payment pays: the oldest failed one, else
// a new one.
func (b *builder) payingInvoice() string {
	if len(b.unpaid) > 0 {
		return b.unpaid[0]
	}
	return "in_" + strconv.Itoa(b.invoices+1)
}

func (b *builder) invoiceAmount(id string) int64 {
	if a, ok := b.amounts[id]; ok {
		return a
	}
	return b.profile.MRR
}

// nextAnniversary is the first anniversary of the signup after at: when an
// annual plan renews.
func (b *builder) nextAnniversary(at time.Time) time.Time {
	base := b.signedUpAt
	if base.IsZero() {
		base = b.start
	}
	year := b.pb.Day(365)
	next := base.Add(year)
	for !next.After(at) {
		next = next.Add(year)
	}
	return next
}

// track records what an event changes for the defaults of later ones.
func (b *builder) track(ev signals.Event, p signals.Payload) {
	switch d := p.(type) {
	case signals.SignedUpData:
		if b.signedUpAt.IsZero() {
			b.signedUpAt = ev.OccurredAt
		}
		b.setPlan(d.Plan, d.Seats, d.MRR, d.Currency)
	case signals.MilestoneReachedData:
		b.reached = append(b.reached, d.Milestone)
	case signals.UsageSnapshotData:
		b.snapshot = &d
	case signals.SupportTicketData:
		b.trackTicket(d)
	case signals.PaymentFailedData:
		b.knowInvoice(d.InvoiceID)
		if !slices.Contains(b.unpaid, d.InvoiceID) {
			b.unpaid = append(b.unpaid, d.InvoiceID)
		}
		b.amounts[d.InvoiceID] = d.Amount
		b.attempts[d.InvoiceID] = max(b.attempts[d.InvoiceID]+1, d.Attempt)
	case signals.PaymentSucceededData:
		b.knowInvoice(d.InvoiceID)
		b.unpaid = slices.DeleteFunc(b.unpaid, func(id string) bool { return id == d.InvoiceID })
	case signals.PlanChangedData:
		b.setPlan(d.Plan, d.Seats, d.MRR, d.Currency)
	case signals.ReactivatedData:
		b.setPlan(d.Plan, d.Seats, d.MRR, "")
	case signals.ProfileUpdatedData:
		if d.Plan != nil {
			b.profile.Plan = *d.Plan
		}
		if d.Seats != nil {
			b.profile.Seats = *d.Seats
		}
	}
}

// knowInvoice counts an invoice the first time it is seen.
func (b *builder) knowInvoice(id string) {
	if !b.known[id] {
		b.known[id] = true
		b.invoices++
	}
}

func (b *builder) trackTicket(d signals.SupportTicketData) {
	if d.Status == signals.TicketResolved {
		b.open = slices.DeleteFunc(b.open, func(id string) bool { return id == d.TicketID })
		return
	}
	if !slices.Contains(b.open, d.TicketID) {
		b.tickets++
		b.open = append(b.open, d.TicketID)
	}
}

// setPlan records the plan fields that are set.
func (b *builder) setPlan(plan string, seats int, mrr int64, currency string) {
	p := &b.profile
	if plan != "" {
		p.Plan = plan
	}
	if seats > 0 {
		p.Seats = seats
	}
	if mrr > 0 {
		p.MRR = mrr
	}
	if currency != "" {
		p.Currency = currency
	}
}
