package signals_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/journeyshq/journeys/signals"
)

// FuzzDecode feeds the edge's decoder arbitrary bodies. Whatever it gets, it
// must not panic; every error must be a *FieldError naming a field; and
// whatever it accepts must be valid, must decode again to the same event,
// and must decode into its payload the lenient way a workflow does, so an
// event the edge lets through never fails a journey.
//
// The seed corpus is every valid example of every type (validData) and the
// JSON examples of docs/events.md, plus testdata/fuzz/FuzzDecode. CI runs it
// briefly: go test -run '^$' -fuzz FuzzDecode -fuzztime 10s ./signals/
func FuzzDecode(f *testing.F) {
	for typ, data := range validData {
		f.Add([]byte(eventBody(typ, data)))
	}
	if doc, err := os.ReadFile("../docs/events.md"); err == nil {
		for _, m := range docsJSONRE.FindAllSubmatch(doc, -1) {
			f.Add(m[1])
		}
	}
	f.Add([]byte(`{"event_id":"e-1","customer_id":"c-1","type":"nps_response","data":{"score":null}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"event_id":"e-1"}{"event_id":"e-2"}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := signals.Decode(bytes.NewReader(body), now)
		if err != nil {
			var fe *signals.FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Message == "" {
				t.Fatalf("error %v (%T) is not a *FieldError naming a field", err, err)
			}
			return
		}
		if err := ev.Validate(now); err != nil {
			t.Fatalf("accepted an invalid event: %v\n%s", err, body)
		}
		if _, err := ev.Payload(); err != nil {
			t.Fatalf("accepted an event a workflow cannot decode: %v\n%s", err, body)
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		ev2, err := signals.Decode(bytes.NewReader(again), now)
		if err != nil {
			t.Fatalf("the accepted event does not decode again: %v\n%s", err, again)
		}
		if ev2.EventID != ev.EventID || ev2.Type != ev.Type || ev2.CustomerID != ev.CustomerID || !ev2.OccurredAt.Equal(ev.OccurredAt) {
			t.Fatalf("round trip changed the envelope: %+v → %+v", ev, ev2)
		}
	})
}
