package sender_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// failingClient fails every call the sender makes with err, as the SDK
// hands back the server's or the transport's answer. getErr, when set,
// fails an accepted update's Get instead.
type failingClient struct {
	client.Client
	err, getErr error
}

func (c failingClient) SignalWorkflow(context.Context, string, string, string, any) error {
	return c.err
}

func (c failingClient) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, c.err
}

func (c failingClient) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, c.err
}

func (c failingClient) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if c.getErr != nil {
		return failingUpdate{c.getErr}, nil
	}
	return nil, c.err
}

func (c failingClient) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return nil, c.err
}

type failingUpdate struct{ err error }

func (failingUpdate) WorkflowID() string               { return "" }
func (failingUpdate) RunID() string                    { return "" }
func (failingUpdate) UpdateID() string                 { return "" }
func (u failingUpdate) Get(context.Context, any) error { return u.err }

// calls are every Sender method that reaches Temporal.
var calls = map[string]func(s *sender.Sender) error{
	"signal": func(s *sender.Sender) error {
		return s.Send(context.Background(), signals.Event{EventID: "e1", CustomerID: "c-1", Type: signals.Login})
	},
	"signal-with-start": func(s *sender.Sender) error {
		return s.Send(context.Background(), signals.Event{EventID: "e2", CustomerID: "c-1", Type: signals.SignedUp, Data: []byte(`{"email":"a@b.co"}`)})
	},
	"query": func(s *sender.Sender) error {
		_, err := s.State(context.Background(), "c-1")
		return err
	},
	"update": func(s *sender.Sender) error {
		_, err := s.AnswerAlert(context.Background(), "c-1", workflows.AlertResponse{})
		return err
	},
	"list": func(s *sender.Sender) error {
		_, err := s.CustomersByPhoneHash(context.Background(), "0123abcd")
		return err
	},
}

// Every answer that means "not now" is ErrUnavailable, whichever call got
// it: the caller retries the same request later.
func TestTemporalBusyIsUnavailable(t *testing.T) {
	for name, temporalErr := range map[string]error{
		"ResourceExhausted":      serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "namespace rate limit exceeded"),
		"ResourceExhausted busy": serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW, "workflow is busy"),
		"Unavailable":            serviceerror.NewUnavailable("frontend is shutting down"),
		"NamespaceUnavailable":   serviceerror.NewNamespaceUnavailable("default"),
		"Canceled":               serviceerror.NewCanceled("context canceled"),
		"DeadlineExceeded":       serviceerror.NewDeadlineExceeded("context deadline exceeded"),
		"gRPC ResourceExhausted": status.Error(codes.ResourceExhausted, "too many requests"),
		"gRPC Unavailable":       status.Error(codes.Unavailable, "connection refused"),
		"gRPC Canceled":          status.Error(codes.Canceled, "context canceled"),
		"gRPC DeadlineExceeded":  status.Error(codes.DeadlineExceeded, "context deadline exceeded"),
		"context.Canceled":       fmt.Errorf("call: %w", context.Canceled),
		"context.Deadline":       fmt.Errorf("call: %w", context.DeadlineExceeded),
		"update timeout":         client.NewWorkflowUpdateServiceTimeoutOrCanceledError(errors.New("poll ended")),
	} {
		for call, do := range calls {
			t.Run(name+"/"+call, func(t *testing.T) {
				err := do(sender.New(failingClient{err: temporalErr}))
				assert.ErrorIs(t, err, sender.ErrUnavailable)
				assert.NotErrorIs(t, err, sender.ErrUnknownCustomer)
			})
		}
	}
	// An accepted update whose outcome the caller stopped waiting for.
	for name, getErr := range map[string]error{
		"canceled":       fmt.Errorf("get: %w", context.Canceled),
		"update timeout": client.NewWorkflowUpdateServiceTimeoutOrCanceledError(serviceerror.NewDeadlineExceeded("deadline")),
	} {
		t.Run("update get "+name, func(t *testing.T) {
			_, err := sender.New(failingClient{getErr: getErr}).AnswerAlert(context.Background(), "c-1", workflows.AlertResponse{})
			assert.ErrorIs(t, err, sender.ErrUnavailable)
		})
	}
}

// Only "not now" is: not found is its own answer, and the rest (a bug, a
// bad request) would fail again as they are.
func TestOtherTemporalErrorsAreNotUnavailable(t *testing.T) {
	for call, do := range calls {
		t.Run(call, func(t *testing.T) {
			err := do(sender.New(failingClient{err: serviceerror.NewNotFound("workflow not found")}))
			if call != "list" { // a list names no one customer to miss
				assert.ErrorIs(t, err, sender.ErrUnknownCustomer)
			}
			assert.NotErrorIs(t, err, sender.ErrUnavailable)

			for _, other := range []error{
				serviceerror.NewInternal("persistence failure"),
				serviceerror.NewInvalidArgument("bad request"),
				serviceerror.NewPermissionDenied("no", ""),
				status.Error(codes.Internal, "boom"),
			} {
				err := do(sender.New(failingClient{err: other}))
				assert.Error(t, err)
				assert.NotErrorIs(t, err, sender.ErrUnavailable, "%v", other)
				assert.NotErrorIs(t, err, sender.ErrUnknownCustomer, "%v", other)
			}
		})
	}
}
