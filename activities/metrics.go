package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"

	"github.com/journeyshq/journeys/messages"
)

// The activities' metrics, recorded through the activity's metrics handler
// (the worker's client's). Counters, exported with "_total" appended; the
// tag keys of each are fixed:
//
//	journeys_messages_sent{channel, class}            the vendor (or outbox) took the message: once per send
//	journeys_messages_deduplicated{channel, class}    a retry found the send in the ledger (or the driver knew
//	                                                  its key) and did not send again
//	journeys_messages_failed{channel, class, error}   an attempt failed; error is permanent or template (final),
//	                                                  transient (Temporal retries it) or ledger (the ledger
//	                                                  lookup failed; retried)
//
// channel is email, sms, alert, crm or billing; class is the message's
// class (transactional, lifecycle, marketing; internal for CSM alerts), or
// none for CRM records and account actions.
const (
	MetricMessagesSent         = "journeys_messages_sent"
	MetricMessagesDeduplicated = "journeys_messages_deduplicated"
	MetricMessagesFailed       = "journeys_messages_failed"
)

// The error tag of MetricMessagesFailed.
const (
	FailurePermanent = "permanent"
	FailureTransient = "transient"
	FailureTemplate  = "template"
	FailureLedger    = "ledger"
)

// count records one outcome of a send; failure is "" unless it failed.
func count(ctx context.Context, ch messages.Channel, m messages.Meta, name, failure string) {
	if !activity.IsActivity(ctx) {
		return // called directly, as in a unit test: no handler to record into
	}
	class := m.Class
	if class == "" {
		class = "none"
	}
	tags := map[string]string{"channel": string(ch), "class": class}
	if name == MetricMessagesFailed {
		tags["error"] = failure
	}
	activity.GetMetricsHandler(ctx).WithTags(tags).Counter(name).Inc(1)
}

// failureOf is the error tag of a failed delivery.
func failureOf(err error) string {
	var perm *messages.PermanentError
	if errors.As(err, &perm) {
		return FailurePermanent
	}
	return FailureTransient
}
