package codec

import (
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// The metric and reason of a signal refused for its unencrypted payload.
const (
	// MetricEventsRefused counts signals (the journeys' events) the worker
	// refused before the workflow saw them, tagged reason; exported with
	// "_total" appended.
	MetricEventsRefused = "journeys_events_refused"
	// ReasonUnencrypted is a payload not encrypted by this codec.
	ReasonUnencrypted = "unencrypted"
)

// RefuseUnencryptedSignals returns a worker interceptor that drops every
// signal with a payload this codec did not encrypt, before the workflow
// sees it: a client that signals without the codec sends customer data in
// clear, and a workflow that applied it would copy it into its state and
// its continue-as-new input. A refused signal is counted
// (MetricEventsRefused, reason ReasonUnencrypted) and logged, both through
// the workflow's replay-aware handlers; the workflow goes on. Decode
// itself still passes such payloads through, for the codec server and
// histories written before encryption.
func RefuseUnencryptedSignals() interceptor.WorkerInterceptor {
	return &refuseWorker{}
}

type refuseWorker struct {
	interceptor.WorkerInterceptorBase
}

func (*refuseWorker) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	in := &refuseInbound{}
	in.Next = next
	return in
}

type refuseInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

// HandleSignal drops a signal with an unencrypted payload; signals run in
// history order, so replays drop the same ones.
func (i *refuseInbound) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	p := firstUnencrypted(in.Arg)
	if p == nil {
		return i.Next.HandleSignal(ctx, in)
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"reason": ReasonUnencrypted}).Counter(MetricEventsRefused).Inc(1)
	workflow.GetLogger(ctx).Warn("Signal refused: its payload is not encrypted; send it with the codec",
		"Signal", in.SignalName, "Encoding", knownEncoding(p))
	return nil
}

// firstUnencrypted is the first of ps not encrypted by a Codec, or nil.
func firstUnencrypted(ps *commonpb.Payloads) *commonpb.Payload {
	for _, p := range ps.GetPayloads() {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			return p
		}
	}
	return nil
}

// knownEncoding is p's encoding when it is one of the SDK's, else "other":
// the metadata comes from the sender and goes into a log.
func knownEncoding(p *commonpb.Payload) string {
	switch e := string(p.GetMetadata()[converter.MetadataEncoding]); e {
	case converter.MetadataEncodingJSON, converter.MetadataEncodingNil, converter.MetadataEncodingBinary,
		converter.MetadataEncodingProtoJSON, converter.MetadataEncodingProto:
		return e
	case "":
		return "none"
	}
	return "other"
}
