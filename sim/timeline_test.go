package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/workflows"
)

func entryAt(i int) workflows.TimelineEntry {
	return workflows.TimelineEntry{At: time.Unix(int64(i), 0).UTC(), Kind: workflows.KindEvent, Text: fmt.Sprintf("e%d", i)}
}

// timelineOf is the state's timeline after entries 1..n: the newest
// workflows.TimelineSize of them.
func timelineOf(n int) workflows.State {
	var tl []workflows.TimelineEntry
	for i := max(1, n-workflows.TimelineSize+1); i <= n; i++ {
		tl = append(tl, entryAt(i))
	}
	return workflows.State{Timeline: tl}
}

func TestMergeKeepsEveryEntryOnceAcrossReads(t *testing.T) {
	r := newRecorder()
	for _, n := range []int{3, 3, 40, 60, 100, 100, 149} {
		r.merge(timelineOf(n))
	}
	assert.Len(t, r.timeline, 149)
	for i, e := range r.timeline {
		assert.Equal(t, entryAt(i+1), e)
	}
	assert.Empty(t, r.gaps)
}

func TestMergeReportsAGap(t *testing.T) {
	r := newRecorder()
	r.merge(timelineOf(10))
	r.merge(timelineOf(100)) // 40 entries were dropped before this read
	assert.Len(t, r.timeline, 10+workflows.TimelineSize)
	assert.Equal(t, []time.Time{entryAt(51).At}, r.gaps)
}

// The journey records every send it decides against as a skip; these are
// its wordings (workflows/*.go), told apart by classifySkip.
func TestClassifySkip(t *testing.T) {
	tests := []struct {
		text string
		want Entry
	}{
		{"nps.survey.3: nps_survey not sent, marketing is paused while a payment is being recovered",
			Entry{Kind: KindSuppressed, Step: "nps.survey.3", Template: "nps_survey", Why: "marketing is paused while a payment is being recovered"}},
		{"onboarding.escalate: no SMS, the customer has no phone number",
			Entry{Kind: KindSuppressed, Step: "onboarding.escalate", Channel: messages.ChannelSMS, Why: "the customer has no phone number"}},
		{"renewal.1.reminder: no CSM alert, the customer is healthy and not high-value",
			Entry{Kind: KindSuppressed, Step: "renewal.1.reminder", Channel: messages.ChannelAlert, Why: "the customer is healthy and not high-value"}},
		{"expansion.2: no upsell email, marketing is paused while a payment is being recovered; the next snapshot tries again",
			Entry{Kind: KindDeferred, Step: "expansion.2", Channel: messages.ChannelEmail, Why: "marketing is paused while a payment is being recovered; the next snapshot tries again"}},
		{"renewal steps already past, not sent: [value_recap]",
			Entry{Kind: KindSuppressed, Why: "renewal steps already past, not sent: [value_recap]"}},
		{"usage fell 40% again; already reported",
			Entry{Kind: KindSuppressed, Why: "usage fell 40% again; already reported"}},
		{"duplicate login event e-1 ignored", Entry{Kind: KindIgnored}},
		{"reactivation ignored: the customer is adoption", Entry{Kind: KindIgnored}},
	}
	for _, tt := range tests {
		e := Entry{Detail: tt.text}
		classifySkip(&e)
		tt.want.Detail = tt.text
		assert.Equal(t, tt.want, e, tt.text)
	}
}

func TestClassifyDecision(t *testing.T) {
	e := Entry{Detail: "stage onboarding → adoption: activated"}
	classifyDecision(&e)
	assert.Equal(t, Entry{Kind: KindStage, Detail: "onboarding → adoption", Why: "activated"}, e)
	assert.Equal(t, workflows.StageAdoption, stageTo(e.Detail))

	e = Entry{Detail: "continued as new at the stage boundary after 3 events and 120 history events in this run"}
	classifyDecision(&e)
	assert.Equal(t, KindRun, e.Kind)

	e = Entry{Detail: "health tier healthy → at_risk"}
	classifyDecision(&e)
	assert.Equal(t, KindDecision, e.Kind)
}
