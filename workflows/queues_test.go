package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// Each channel's activities go to the channel's own task queue, where the
// fleet-wide rate of that vendor applies.
func TestEachChannelHasItsOwnTaskQueue(t *testing.T) {
	h := newHarness(t, quiet())
	activeCustomer(h, "+15551234567", 20*day)
	h.event(2*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	h.run(14 * day)

	want := map[string]messages.Channel{
		"SendEmail": messages.ChannelEmail, "SendSMS": messages.ChannelSMS, "AlertCSM": messages.ChannelAlert,
		"UpdateCRM": messages.ChannelCRM, "SuspendAccount": messages.ChannelBilling,
	}
	seen := map[string]bool{}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.calls {
		ch, ok := want[c.Activity]
		if !ok {
			continue
		}
		seen[c.Activity] = true
		assert.Equal(t, workflows.ActivityTaskQueue(ch), c.Queue, "%s %s", c.Activity, c.Step)
	}
	assert.Len(t, seen, len(want), "dunning to suspension runs every kind of activity: %v", seen)
	assert.Equal(t, "journeys-sms", workflows.ActivityTaskQueue(messages.ChannelSMS))
}
