package sim

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/workflows"
)

// Kind is what an Entry is.
type Kind string

// Entry kinds.
const (
	// KindEvent is an event the journey applied, as it recorded it.
	KindEvent Kind = "event"
	// KindStage is a stage change; Detail is "from → to", Why the reason.
	KindStage Kind = "stage"
	// KindDecision is something the journey decided, such as a health
	// tier change or an onboarding step.
	KindDecision Kind = "decision"
	// KindMessage is an email or SMS the customer received.
	KindMessage Kind = "message"
	// KindAlert is an alert to the CSM, or an escalation to their team.
	KindAlert Kind = "alert"
	// KindSuppressed is a send the journey decided against, and why.
	KindSuppressed Kind = "suppressed"
	// KindDeferred is a send put off until a later chance.
	KindDeferred Kind = "deferred"
	// KindIgnored is an event that changed nothing (a duplicate, a renewal
	// for a churned customer...).
	KindIgnored Kind = "ignored"
	// KindAccount is a billing action: the account suspended or restored.
	KindAccount Kind = "account"
	// KindCRM is a record on the customer's CRM contact.
	KindCRM Kind = "crm"
	// KindError is an event rejected or a send that failed.
	KindError Kind = "error"
	// KindRun is the journey continuing as new in a fresh run.
	KindRun Kind = "run"
)

// Entry is one line of a simulated timeline.
type Entry struct {
	At time.Time `json:"at"`
	// Day is the journey day (from the signup) of At.
	Day   int             `json:"day"`
	Stage workflows.Stage `json:"stage"`
	Kind  Kind            `json:"kind"`
	// Channel, Template, Step and To are a send's (message, alert,
	// suppressed, deferred, account, crm).
	Channel  messages.Channel `json:"channel,omitempty"`
	Template string           `json:"template,omitempty"`
	Step     string           `json:"step,omitempty"`
	To       string           `json:"to,omitempty"`
	// Detail is an email's subject, a text's or alert's body, or what the
	// journey recorded.
	Detail string `json:"detail,omitempty"`
	// Why is a stage change's reason or why a send did not go.
	Why string `json:"why,omitempty"`
}

// recorder collects what a simulated journey did: its timeline, read
// from the state as it grows, and when each activity started.
type recorder struct {
	mu       sync.Mutex
	timeline []workflows.TimelineEntry
	// gaps are where the state's bounded timeline may have dropped entries
	// before they were read.
	gaps    []time.Time
	started map[string]time.Time
	queries int
	failed  error
}

func newRecorder() *recorder { return &recorder{started: map[string]time.Time{}} }

// onRun records when each activity of the run starts, by idempotency key:
// the outbox stamps records with the wall clock, not the simulated one.
func (r *recorder) onRun(env *testsuite.TestWorkflowEnvironment, _ *RunInfo) {
	env.SetOnActivityStartedListener(func(_ *activity.Info, _ context.Context, args converter.EncodedValues) {
		var in struct {
			messages.Meta
			Update *messages.CRMUpdate     `json:"update"`
			Action *messages.AccountAction `json:"action"`
		}
		if args.Get(&in) != nil {
			return // the time is only a fallback (see place)
		}
		key := in.IdempotencyKey
		switch {
		case in.Update != nil:
			key = in.Update.IdempotencyKey
		case in.Action != nil:
			key = in.Action.IdempotencyKey
		}
		r.mu.Lock()
		r.started[key] = env.Now()
		r.mu.Unlock()
	})
}

// snapshot reads the state and keeps its new timeline entries. A failed
// read is kept for the warnings; the next read covers for it.
func (r *recorder) snapshot(eng *Engine) {
	// Only the timeline: decoding the whole state at every look would cost
	// a third of the simulation.
	var st struct {
		Timeline []workflows.TimelineEntry `json:"timeline"`
	}
	if err := eng.QueryInto(&st); err != nil {
		r.mu.Lock()
		r.failed = err
		r.mu.Unlock()
		return
	}
	r.merge(workflows.State{Timeline: st.Timeline})
}

// merge adds the entries of st's timeline that are not recorded yet. The
// timeline only grows at its end and drops its oldest entries, so the new
// entries follow the longest overlap of what is recorded with its start.
func (r *recorder) merge(st workflows.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries++
	snap := st.Timeline
	for k := min(len(r.timeline), len(snap)); k > 0; k-- {
		if sameEntries(r.timeline[len(r.timeline)-k:], snap[:k]) {
			r.timeline = append(r.timeline, snap[k:]...)
			return
		}
	}
	if len(r.timeline) > 0 && len(snap) >= workflows.TimelineSize {
		r.gaps = append(r.gaps, snap[0].At)
	}
	r.timeline = append(r.timeline, snap...)
}

func sameEntries(a, b []workflows.TimelineEntry) bool {
	return slices.EqualFunc(a, b, func(x, y workflows.TimelineEntry) bool {
		return x.At.Equal(y.At) && x.Kind == y.Kind && x.Text == y.Text
	})
}

// result builds the simulation's result from what was recorded, the end
// of the journey and the outbox.
func (r *recorder) result(o Options, signup time.Time, out Outcome, eng *Engine, records []outbox.Record) (Result, error) {
	st := out.State
	res := Result{Profile: o.Profile, Playbook: st.Playbook, Start: o.Start, End: eng.Now(), State: st}
	if out.Result != nil {
		res.Completed = out.Result.Summary
	}
	for _, run := range eng.Runs() {
		res.Runs = append(res.Runs, RunSpan{
			Start: o.Start.Add(run.From), End: o.Start.Add(run.To), Events: run.Signals, ContinuedAsNew: run.ContinuedAsNew,
		})
	}
	res.Entries = r.entries(records)
	// Days count from the first signup, also after a reactivation sends
	// the customer back to onboarding with a fresh journey clock.
	for i := range res.Entries {
		res.Entries[i].Day = journeyDay(res.Entries[i].At.Sub(signup), o.Playbook.DayLength.D())
	}
	res.Warnings = r.warnings(eng, res.End)
	res.Summary = summarize(res)
	return res, nil
}

func (r *recorder) warnings(eng *Engine, end time.Time) []string {
	var out []string
	if n := eng.PendingSignals(); n > 0 {
		out = append(out, fmt.Sprintf("%d events after the journey completed on %s were not sent", n, end.Format(time.RFC3339)))
	}
	for _, at := range r.gaps {
		out = append(out, fmt.Sprintf("the timeline may miss entries before %s: more than %d happened between two reads of the state", at.Format(time.RFC3339), workflows.TimelineSize))
	}
	if r.failed != nil {
		out = append(out, fmt.Sprintf("a read of the state failed (%v); later reads covered for it", r.failed))
	}
	return out
}

// entries turns the recorded timeline into entries, with the outbox's
// record of every send: the channel, template and subject of what the
// customer received. A send the timeline does not show (a gap) is placed
// by when its activity started.
func (r *recorder) entries(records []outbox.Record) []Entry {
	bySend := map[string]int{}
	for i, rec := range records {
		bySend[string(rec.Channel)+" "+rec.Step] = i
	}
	used := make([]bool, len(records))
	var out []Entry
	for _, te := range r.timeline {
		e := fromTimeline(te)
		if te.Kind == workflows.KindSend {
			ch, rest, _ := strings.Cut(te.Text, " ")
			step, _, _ := strings.Cut(rest, ": ")
			if i, ok := bySend[ch+" "+step]; ok && !used[i] {
				used[i] = true
				e = fromRecord(te.At, records[i])
			}
		}
		out = append(out, e)
	}
	for i, rec := range records {
		if at, ok := r.started[rec.IdempotencyKey]; ok && !used[i] {
			out = place(out, fromRecord(at, rec))
		}
	}
	orderConcurrentSends(out)
	stage := workflows.StageNew
	for i := range out {
		if out[i].Kind == KindStage {
			stage = stageTo(out[i].Detail)
		}
		out[i].Stage = stage
	}
	return out
}

// journeyDay is the journey day d after day 0 falls on; -1 before it.
func journeyDay(d, dayLen time.Duration) int {
	if d < 0 {
		return -1
	}
	return int(d / dayLen)
}

// sendRank orders the sends of one instant: what the customer gets first.
var sendRank = map[Kind]int{KindMessage: 0, KindAlert: 1, KindAccount: 2, KindCRM: 3}

// orderConcurrentSends sorts each run of sends made at one instant by
// kind, channel and step. They run concurrently, and the journey records
// each when it finishes, in an order that changes from run to run.
func orderConcurrentSends(entries []Entry) {
	isSend := func(e Entry) bool { _, ok := sendRank[e.Kind]; return ok }
	for i := 0; i < len(entries); {
		j := i
		for j < len(entries) && isSend(entries[j]) && entries[j].At.Equal(entries[i].At) {
			j++
		}
		if j == i {
			i++
			continue
		}
		slices.SortStableFunc(entries[i:j], func(a, b Entry) int {
			if a.Kind != b.Kind {
				return sendRank[a.Kind] - sendRank[b.Kind]
			}
			if c := strings.Compare(string(a.Channel), string(b.Channel)); c != 0 {
				return c
			}
			return strings.Compare(a.Step, b.Step)
		})
		i = j
	}
}

// place inserts e after every entry up to its time.
func place(entries []Entry, e Entry) []Entry {
	i := len(entries)
	for i > 0 && entries[i-1].At.After(e.At) {
		i--
	}
	return slices.Insert(entries, i, e)
}

// fromRecord is the entry of a send the outbox recorded.
func fromRecord(at time.Time, rec outbox.Record) Entry {
	e := Entry{At: at, Channel: rec.Channel, Template: rec.Template, Step: rec.Step, To: rec.To, Detail: rec.Body}
	switch rec.Channel {
	case messages.ChannelEmail:
		e.Kind, e.Detail = KindMessage, rec.Subject
	case messages.ChannelSMS:
		e.Kind = KindMessage
	case messages.ChannelAlert:
		e.Kind = KindAlert
	case messages.ChannelBilling:
		e.Kind, e.Template = KindAccount, rec.Action
	default:
		e.Kind = KindCRM
	}
	return e
}

// fromTimeline is the entry of one line of the journey's own timeline.
func fromTimeline(te workflows.TimelineEntry) Entry {
	e := Entry{At: te.At, Detail: te.Text}
	switch te.Kind {
	case workflows.KindEvent:
		e.Kind = KindEvent
	case workflows.KindError:
		e.Kind = KindError
	case workflows.KindSkip:
		classifySkip(&e)
	case workflows.KindSend:
		// A send whose outbox record is missing: show what the journey saw.
		e.Kind = KindMessage
	default:
		classifyDecision(&e)
	}
	return e
}

// classifyDecision tells stage changes ("stage a → b: why") and hand-overs
// from the other decisions.
func classifyDecision(e *Entry) {
	e.Kind = KindDecision
	if step, rest, ok := strings.Cut(e.Detail, ": "); ok && !strings.Contains(step, " ") {
		// "step: template channel deferred, why" (workflows/delivery.go)
		if what, why, ok := strings.Cut(rest, " deferred, "); ok {
			e.Kind, e.Step, e.Why = KindDeferred, step, why
			e.Template, e.Channel = splitChannel(what)
			return
		}
	}
	if rest, ok := strings.CutPrefix(e.Detail, "stage "); ok && strings.Contains(rest, " → ") {
		change, why, _ := strings.Cut(rest, ": ")
		e.Kind, e.Detail, e.Why = KindStage, change, why
		return
	}
	if strings.HasPrefix(e.Detail, "continued as new") {
		e.Kind = KindRun
	}
}

// classifySkip tells the sends the journey decided against ("step: template
// not sent, why", "step: no SMS, why") and those it put off ("...tries
// again") from events that changed nothing. The journey records them all
// as skips; the wording is its own (workflows/*.go r.note(KindSkip, ...)).
func classifySkip(e *Entry) {
	e.Kind = KindIgnored
	text := e.Detail
	step, rest, ok := strings.Cut(text, ": ")
	if !ok || strings.Contains(step, " ") {
		step, rest = "", text
	}
	for _, p := range []struct {
		prefix string
		ch     messages.Channel
	}{{"no SMS, ", messages.ChannelSMS}, {"no CSM alert, ", messages.ChannelAlert}, {"no upsell email, ", messages.ChannelEmail}} {
		if why, ok := strings.CutPrefix(rest, p.prefix); ok {
			e.Kind, e.Step, e.Channel, e.Why = KindSuppressed, step, p.ch, why
		}
	}
	for _, sep := range []string{" not sent, ", " dropped, "} {
		if what, why, ok := strings.Cut(rest, sep); ok && step != "" {
			e.Kind, e.Step, e.Why = KindSuppressed, step, why
			e.Template, e.Channel = splitChannel(strings.TrimPrefix(what, "deferred "))
			break
		}
	}
	switch {
	case strings.Contains(rest, "tries again"):
		e.Kind = KindDeferred
	case e.Kind == KindIgnored && (strings.Contains(rest, "not sent") || strings.Contains(rest, "already reported")):
		e.Kind, e.Why = KindSuppressed, rest
	}
}

// splitChannel splits "template channel" (the delivery policies' wording)
// into its parts; a bare template has no channel.
func splitChannel(what string) (string, messages.Channel) {
	if tmpl, ch, ok := strings.Cut(what, " "); ok {
		switch c := messages.Channel(ch); c {
		case messages.ChannelEmail, messages.ChannelSMS:
			return tmpl, c
		}
	}
	return what, ""
}

// stageTo is the stage a "from → to" change goes to.
func stageTo(change string) workflows.Stage {
	_, to, _ := strings.Cut(change, " → ")
	return workflows.Stage(strings.TrimSpace(to))
}

// summarize counts the result's entries and takes the rest from its state.
func summarize(res Result) Summary {
	st := res.State
	s := Summary{
		Messages:       map[messages.Channel]int{},
		Escalations:    st.Counters.Escalations,
		EventsRejected: st.Counters.EventsRejected,
		Runs:           len(res.Runs),
		FinalStage:     st.Stage,
		HealthScore:    st.HealthScore,
		HealthTier:     st.HealthTier,
		Stages:         st.Stages,
	}
	for _, run := range res.Runs {
		s.EventsSent += run.Events
	}
	for _, e := range res.Entries {
		switch e.Kind {
		case KindMessage:
			s.Messages[e.Channel]++
		case KindAlert:
			s.Alerts++
		case KindSuppressed:
			s.Suppressed++
		case KindDeferred:
			s.Deferred++
		case KindError:
			s.Errors++
		}
	}
	return s
}
