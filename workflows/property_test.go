package workflows_test

import (
	"flag"
	"fmt"
	"github.com/nyaruka/phonenumbers"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// The property test of disorder (docs/testing.md): seeded scripted
// customers through the real journey, their events shuffled, late and
// redelivered, their vendors failing now and then; after each case, the
// invariants below. The parts are in property_helpers_test.go.

var (
	propertyCases = flag.Int("property.cases", 1000, "cases of TestPropertyDisorder, seeds 1 to N")
	propertySeed  = flag.Uint64("property.seed", 0, "run TestPropertyDisorder on this one seed only")
)

// violation is an invariant a case broke.
type violation struct {
	Text string
}

func TestPropertyDisorder(t *testing.T) {
	seeds := []uint64{*propertySeed}
	if *propertySeed == 0 {
		seeds = seeds[:0]
		for s := range *propertyCases {
			seeds = append(seeds, uint64(s+1))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runPropertyCase(t, seed) })
	}
}

// runPropertyCase runs the case of seed and fails t for every violation,
// after logging the schedule and what the vendors saw.
func runPropertyCase(t *testing.T, seed uint64) {
	s := newScript(seed)
	v := &vendors{seed: seed}
	h := newHarness(t, propertyPlaybook(), v.install)
	runScript(h, s, v)
	st := h.run(s.Until)
	rec := v.record()
	var vs []violation
	vs = append(vs, checkEvents(s, st)...)
	vs = append(vs, checkOnce(s, st, rec)...)
	vs = append(vs, checkExpected(s, rec)...)
	vs = append(vs, checkPaid(s, st, rec)...)
	vs = append(vs, checkConsent(s, st, rec)...)
	vs = append(vs, checkWindows(s, rec)...)
	if len(vs) > 0 {
		t.Logf("replay with -run 'TestPropertyDisorder' -property.seed=%d\n%s", seed, s.schedule())
		t.Logf("vendors saw:\n%s", attemptsText(rec))
	}
	for _, x := range vs {
		t.Errorf("seed %d: %s", seed, x.Text)
	}
}

func attemptsText(rec []attempt) string {
	var b strings.Builder
	for _, a := range rec {
		b.WriteString("  " + a.String() + "\n")
	}
	return b.String()
}

// checkEvents: every event sent was applied once, every redelivery
// recognised, nothing rejected.
func checkEvents(s *script, st workflows.State) []violation {
	distinct, again := 0, 0
	for _, d := range s.Deliveries {
		if d.Redelivery {
			again++
		} else {
			distinct++
		}
	}
	c := st.Counters
	if c.EventsApplied == distinct && c.EventsDuplicate == again && c.EventsRejected == 0 {
		return nil
	}
	return []violation{{Text: fmt.Sprintf("events: %d sent and %d redelivered, the journey applied %d, saw %d duplicates and rejected %d",
		distinct, again, c.EventsApplied, c.EventsDuplicate, c.EventsRejected)}}
}

// checkOnce: no message was delivered twice (by idempotency key), and what
// the journey counts as sent and failed is what the vendors delivered and
// refused: each message it scheduled went exactly once or failed.
func checkOnce(s *script, st workflows.State, rec []attempt) []violation {
	var vs []violation
	delivered := map[string]int{}
	last := map[string]attempt{}
	perChannel := map[messages.Channel]int{}
	for _, a := range rec {
		last[a.Key] = a
		if a.Err == "" {
			if delivered[a.Key]++; delivered[a.Key] == 2 {
				vs = append(vs, violation{Text: fmt.Sprintf("%s %s delivered more than once", a.Channel, a.Step)})
			}
			if delivered[a.Key] == 1 {
				perChannel[a.Channel]++
			}
		}
	}
	c := st.Counters
	for ch, counted := range map[messages.Channel]int{messages.ChannelEmail: c.EmailsSent, messages.ChannelSMS: c.SMSSent,
		messages.ChannelAlert: c.CSMAlerts, messages.ChannelCRM: c.CRMUpdates} {
		if perChannel[ch] != counted {
			vs = append(vs, violation{Text: fmt.Sprintf("%s: vendors delivered %d messages, the journey counts %d sent", ch, perChannel[ch], counted)})
		}
	}
	failed, open := 0, 0
	for key, a := range last {
		switch {
		case delivered[key] > 0:
		case stoppedByRestore(a, last, delivered):
		case a.Err == errPermanent || a.At < s.Until-day:
			failed++
		default:
			open++ // still retrying when the case ended
		}
	}
	if c.SendsFailed < failed || c.SendsFailed > failed+open {
		vs = append(vs, violation{Text: fmt.Sprintf("vendors refused %d messages for good (%d still retrying), the journey counts %d failed", failed, open, c.SendsFailed)})
	}
	return vs
}

// checkExpected: the emails the script makes certain, which no window,
// cap or consent holds (transactional and lifecycle email, unless a
// lifecycle opt-out came first), went exactly once, unless the address
// bounced: the welcome, the activation once all
// three milestones arrived, the payment failure once dunning started.
func checkExpected(s *script, rec []attempt) []violation {
	want := map[string]int{"onboarding.welcome": 1, "onboarding.activated": 0, "dunning.1.failed": 0}
	if activated, ok := activationArrives(s); ok {
		want["onboarding.activated"] = 1
		if out := firstArrivals(s.with(lifecycleOut)); len(out) > 0 && out[0].Arrives <= activated {
			want["onboarding.activated"] = 0 // lifecycle: the opt-out came first (or with it: either may)
			if out[0].Arrives == activated {
				delete(want, "onboarding.activated")
			}
		}
	}
	if failedFirst(s) {
		want["dunning.1.failed"] = 1
	}
	got, bounced := map[string]int{}, map[string]bool{}
	for _, a := range rec {
		if a.Channel != messages.ChannelEmail {
			continue
		}
		bounced[a.Step] = bounced[a.Step] || a.Err == errPermanent
		if a.Err == "" {
			got[a.Step]++
		}
	}
	var vs []violation
	for _, step := range slices.Sorted(maps.Keys(want)) {
		if got[step] != want[step] && !bounced[step] {
			vs = append(vs, violation{Text: fmt.Sprintf("email %s delivered %d times, want %d", step, got[step], want[step])})
		}
	}
	return vs
}

// activationArrives is when the last of the three milestones first
// arrives, if all do.
func activationArrives(s *script) (time.Duration, bool) {
	var last time.Duration
	for _, m := range []string{"first_project", "invited_teammate", "connected_integration"} {
		ds := firstArrivals(s.with(m))
		if len(ds) == 0 {
			return 0, false
		}
		last = max(last, ds[0].Arrives)
	}
	return last, true
}

// failedFirst says whether the invoice's failure arrived before any
// payment of it: dunning starts.
func failedFirst(s *script) bool {
	for _, d := range s.with(paidInvoice) {
		switch d.Event.Type {
		case signals.PaymentFailed:
			return true
		case signals.PaymentSucceeded:
			return false
		}
	}
	return false
}

// checkPaid: once the invoice is paid, whatever order the webhooks came
// in, dunning is over: the customer is not suspended, in the journey or in
// the billing system, no dunning message is decided after the payment
// arrived, and the customer is told once that the payment went through.
func checkPaid(s *script, st workflows.State, rec []attempt) []violation {
	pay, ok := s.invoicePaid()
	if !ok {
		return nil
	}
	var vs []violation
	if st.Dunning != nil || st.Suspended {
		vs = append(vs, violation{Text: fmt.Sprintf("invoice paid (arrived %s), yet dunning %t, suspended %t", pay.Arrives, st.Dunning != nil, st.Suspended)})
	}
	if a, ok := lastAccountAction(rec, messages.ChannelBilling); ok && a.Action == messages.AccountSuspend {
		vs = append(vs, violation{Text: fmt.Sprintf("invoice paid (arrived %s), the billing system's last action is the suspension at %s (try %d)", pay.Arrives, a.At, a.Attempt)})
	}
	if a, ok := lastAccountAction(rec, messages.ChannelCRM); ok && a.Action == crmSuspended {
		vs = append(vs, violation{Text: fmt.Sprintf("invoice paid (arrived %s), the CRM's last account status is suspended, recorded at %s (try %d)", pay.Arrives, a.At, a.Attempt)})
	}
	recovered, refused := 0, false
	for _, a := range rec {
		if !strings.HasPrefix(a.Step, "dunning.") {
			continue
		}
		if strings.HasSuffix(a.Step, ".recovered") && a.Channel == messages.ChannelEmail {
			refused = refused || a.Err == errPermanent
			if a.Err == "" {
				recovered++
			}
			continue
		}
		if a.At > pay.Arrives && !afterPayment(a.Step) && (a.Attempt == 1 || a.Err == "" && a.Action == "") {
			vs = append(vs, violation{Text: fmt.Sprintf("dunning %s %s at %s (try %d), after the payment arrived at %s", a.Channel, a.Step, a.At, a.Attempt, pay.Arrives)})
		}
	}
	if want := b2i(failedFirst(s)); recovered != want && !refused {
		vs = append(vs, violation{Text: fmt.Sprintf("payment recovered emails: %d delivered, want %d", recovered, want)})
	}
	return vs
}

// afterPayment says whether a dunning step is one a payment sets off.
// afterPayment: the restore, and any CRM record, which notes what went
// before the payment rather than sending anything.
func afterPayment(step string) bool {
	return strings.HasSuffix(step, ".restore") || strings.HasSuffix(step, ".crm")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lastAccountAction is the account action ch (billing or the CRM)
// took last.
func lastAccountAction(rec []attempt, ch messages.Channel) (attempt, bool) {
	var last attempt
	found := false
	for _, a := range rec {
		if a.Channel == ch && a.Action != "" && a.Err == "" {
			last, found = a, true
		}
	}
	return last, found
}

// checkConsent: no SMS goes after a STOP has arrived until a START sent
// later has; no marketing email after an unsubscribe has arrived, no
// lifecycle email after a lifecycle opt-out has; and the
// journey's final SMS consent is the customer's last word.
func checkConsent(s *script, st workflows.State, rec []attempt) []violation {
	var vs []violation
	stops, starts := firstArrivals(s.with(stopKeyword)), firstArrivals(s.with(startKeyword))
	unsub, lifeOut := firstArrivals(s.with("unsubscribe")), firstArrivals(s.with(lifecycleOut))
	for _, a := range rec {
		if a.Err != "" {
			continue
		}
		if a.Channel == messages.ChannelSMS && (s.Signup.Phone == "" || !s.Signup.SMSConsent) {
			vs = append(vs, violation{Text: fmt.Sprintf("SMS %s at %s to a customer who never consented to texts", a.Step, a.At)})
		}
		if a.Channel == messages.ChannelSMS {
			if stop, ok := stoppedAt(stops, starts, a.At); ok {
				vs = append(vs, violation{Text: fmt.Sprintf("SMS %s at %s (try %d), after the STOP that arrived at %s", a.Step, a.At, a.Attempt, stop.Arrives)})
			}
		}
		if a.Channel == messages.ChannelEmail && a.Class == playbook.ClassMarketing && len(unsub) > 0 && a.At > unsub[0].Arrives {
			vs = append(vs, violation{Text: fmt.Sprintf("marketing email %s at %s (try %d), after the unsubscribe arrived at %s", a.Step, a.At, a.Attempt, unsub[0].Arrives)})
		}
		// A retry is of a send decided before; the first try is the decision.
		if a.Channel == messages.ChannelEmail && a.Class == playbook.ClassLifecycle && a.Attempt == 1 && len(lifeOut) > 0 && a.At > lifeOut[0].Arrives {
			vs = append(vs, violation{Text: fmt.Sprintf("lifecycle email %s at %s, after the lifecycle opt-out arrived at %s", a.Step, a.At, lifeOut[0].Arrives)})
		}
	}
	if word, ok := lastWord(append(stops, starts...)); ok && st.Consent.SMSOptedOut != (word.Note == stopKeyword) {
		vs = append(vs, violation{Text: fmt.Sprintf("the customer's last word was %s (occurred %s), the journey ends with SMS opted out %t", word.Note, word.Occurred, st.Consent.SMSOptedOut)})
	}
	return vs
}

// firstArrivals drops redeliveries.
func firstArrivals(ds []delivery) []delivery {
	return slices.DeleteFunc(slices.Clone(ds), func(d delivery) bool { return d.Redelivery })
}

// stoppedAt returns a STOP arrived before t that no START sent after it
// and arrived before t lifts.
func stoppedAt(stops, starts []delivery, t time.Duration) (delivery, bool) {
	for _, stop := range stops {
		if stop.Arrives >= t {
			continue
		}
		if !slices.ContainsFunc(starts, func(st delivery) bool { return st.Occurred > stop.Occurred && st.Arrives < t }) {
			return stop, true
		}
	}
	return delivery{}, false
}

// lastWord is the consent event the customer sent last.
func lastWord(ds []delivery) (delivery, bool) {
	if len(ds) == 0 {
		return delivery{}, false
	}
	return slices.MaxFunc(ds, func(a, b delivery) int { return int(a.Occurred - b.Occurred) }), true
}

// checkWindows: every SMS and every marketing email went inside its send
// window, in the customer's zone; a text to a customer without one, in
// every zone of their number.
func checkWindows(s *script, rec []attempt) []violation {
	zone := time.UTC
	if s.Signup.Timezone != "" {
		zone = mustZone(s.Signup.Timezone)
	}
	var vs []violation
	for _, a := range rec {
		w, windowed := windowOf(a)
		if a.Err != "" || !windowed {
			continue
		}
		at := s.Origin.Add(a.At)
		zones := []*time.Location{zone}
		if nz := zonesOfNumber(s.Signup.Phone); a.Channel == messages.ChannelSMS && s.Signup.Timezone == "" && sharesAnHour(at, nz, w) {
			zones = nz
		}
		for _, z := range zones {
			if !inWindow(at, z, w) {
				vs = append(vs, violation{Text: fmt.Sprintf("%s %s at %s (try %d), outside its window %s-%s",
					a.Channel, a.Step, at.In(z).Format("Mon 15:04:05 MST"), a.Attempt, w.From, w.To)})
				break
			}
		}
	}
	return vs
}

func inWindow(t time.Time, z *time.Location, w playbook.Window) bool {
	clock := t.In(z).Format("15:04")
	return clock >= w.From && clock < w.To
}

// sharesAnHour reports whether, some time within eight days from t, w is
// open in every one of zones at once; when it never is, the playbook's
// zone holds the window instead.
func sharesAnHour(t time.Time, zones []*time.Location, w playbook.Window) bool {
	for at := t; at.Before(t.Add(8 * 24 * time.Hour)); at = at.Add(15 * time.Minute) {
		if !slices.ContainsFunc(zones, func(z *time.Location) bool { return !inWindow(at, z, w) }) {
			return true
		}
	}
	return false
}

// zonesOfNumber are the zones the phone number library gives phone.
func zonesOfNumber(phone string) []*time.Location {
	n, err := phonenumbers.Parse(phone, "")
	if err != nil {
		return []*time.Location{time.UTC}
	}
	names, err := phonenumbers.GetTimezonesForNumber(n)
	if err != nil || len(names) == 0 {
		return []*time.Location{time.UTC}
	}
	zones := make([]*time.Location, 0, len(names))
	for _, name := range names {
		if loc, err := time.LoadLocation(name); err == nil {
			zones = append(zones, loc)
		}
	}
	return zones
}

// stoppedByRestore reports whether a is an account action (or its CRM
// record) that the journey stopped because the payment's restore came: the
// restore of the same dunning was delivered, so a neither went nor failed.
func stoppedByRestore(a attempt, last map[string]attempt, delivered map[string]int) bool {
	if a.Channel != messages.ChannelBilling && a.Channel != messages.ChannelCRM {
		return false
	}
	restore := strings.Replace(a.Step, ".suspend", ".restore", 1)
	if restore == a.Step {
		return false
	}
	for key, b := range last {
		if b.Step == restore && delivered[key] > 0 {
			return true
		}
	}
	return false
}

// windowOf is the send window that holds attempt a's message, if any.
func windowOf(a attempt) (playbook.Window, bool) {
	switch {
	case a.Channel == messages.ChannelSMS:
		return smsWindow, true
	case a.Channel == messages.ChannelEmail && a.Class == playbook.ClassMarketing:
		return marketingWindow, true
	}
	return playbook.Window{}, false
}
