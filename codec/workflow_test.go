package codec

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"
)

// recorder is a PayloadCodec placed outside the encrypting converter: it sees
// payloads exactly as they would be sent to the Temporal service.
type recorder struct {
	mu   sync.Mutex
	seen []*commonpb.Payload
}

func (r *recorder) Encode(ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, ps...)
	return ps, nil
}

func (r *recorder) Decode(ps []*commonpb.Payload) ([]*commonpb.Payload, error) { return ps, nil }

// failureRecorder records failures as the failure converter produces them,
// i.e. as they would be sent to the Temporal service.
type failureRecorder struct {
	converter.FailureConverter
	mu   sync.Mutex
	seen []*failurepb.Failure
}

func (r *failureRecorder) ErrorToFailure(err error) *failurepb.Failure {
	f := r.FailureConverter.ErrorToFailure(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	if f != nil {
		r.seen = append(r.seen, proto.Clone(f).(*failurepb.Failure))
	}
	return f
}

func welcomeActivity(_ context.Context, c customer) (string, error) {
	if c.Phone == "" {
		return "", temporal.NewNonRetryableApplicationError("no phone for "+c.Email, "MissingPhone", nil)
	}
	return "welcomed " + c.Email, nil
}

func journeyWorkflow(ctx workflow.Context, c customer) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out string
	err := workflow.ExecuteActivity(ctx, welcomeActivity, c).Get(ctx, &out)
	return out, err
}

func TestWorkflowWithEncryptingConverter(t *testing.T) {
	keys := mustKeys(t, testKey("A", 'a'))
	rec := &recorder{}
	dc := converter.NewCodecDataConverter(DataConverter(keys), rec)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetDataConverter(dc)
	env.SetFailureConverter(FailureConverter(dc))
	env.RegisterWorkflow(journeyWorkflow)
	env.RegisterActivity(welcomeActivity)

	env.ExecuteWorkflow(journeyWorkflow, customer{ID: "cus_1", Email: email, Phone: "+14155550100"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var got string
	require.NoError(t, env.GetWorkflowResult(&got))
	assert.Equal(t, "welcomed "+email, got)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.NotEmpty(t, rec.seen, "the test environment encoded payloads")
	for i, p := range rec.seen {
		assert.Equal(t, EncodingEncrypted, string(p.Metadata["encoding"]), "payload %d", i)
		assert.False(t, bytes.Contains(p.Data, []byte(email)), "payload %d leaks the email", i)
	}
}

func TestWorkflowFailureWithEncryptingConverter(t *testing.T) {
	dc := DataConverter(mustKeys(t, testKey("A", 'a')))

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetDataConverter(dc)
	fc := &failureRecorder{FailureConverter: FailureConverter(dc)}
	env.SetFailureConverter(fc)
	env.RegisterWorkflow(journeyWorkflow)
	env.RegisterActivity(welcomeActivity)

	env.ExecuteWorkflow(journeyWorkflow, customer{ID: "cus_2", Email: email})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	assert.Equal(t, "MissingPhone", appErr.Type())
	assert.Contains(t, appErr.Error(), "no phone for "+email, "the message decodes back")

	fc.mu.Lock()
	defer fc.mu.Unlock()
	require.NotEmpty(t, fc.seen)
	for i, f := range fc.seen {
		raw, err := proto.Marshal(f)
		require.NoError(t, err)
		assert.False(t, bytes.Contains(raw, []byte(email)), "failure %d leaks the email", i)
	}
}
