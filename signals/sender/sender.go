// Package sender is the Go client backends, the HTTP edge and the starter use
// to deliver events to customers' journeys and read their state.
//
//	s := sender.New(temporalClient)
//	err := s.Send(ctx, ev) // errors.Is(err, sender.ErrUnknownCustomer) ...
//
// It validates every event before anything reaches Temporal, starts a journey
// only from a signed_up event (signal-with-start) and a completed one again
// only from a reactivated event, and maps Temporal's answers to a few
// sentinel errors callers can act on.
package sender

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

var (
	// ErrUnknownCustomer: the customer has no running journey, and the event
	// is not a signed_up that would start one.
	ErrUnknownCustomer = errors.New("sender: customer has no journey")
	// ErrUnavailable: Temporal could not be reached, was rate limited or
	// overloaded, or the call was canceled or did not get an answer in time;
	// the event was not accepted and can be retried as is.
	ErrUnavailable = errors.New("sender: temporal unavailable")
	// ErrJourneyCompleted: a signed_up for a customer whose last journey
	// completed (its win-back ran out); nothing was started. Only a
	// reactivated event starts such a journey again.
	ErrJourneyCompleted = errors.New("sender: customer's journey completed")
)

// Sender delivers events through a Temporal client.
type Sender struct {
	c   client.Client
	now func() time.Time
	// pageSize is the visibility page size; 0 is the server's default.
	pageSize int32
}

// New returns a Sender that uses c.
func New(c client.Client) *Sender { return &Sender{c: c, now: time.Now} }

// Send validates ev (a zero OccurredAt becomes now) and delivers it. It
// returns once Temporal has durably accepted the signal. A validation
// failure is a *signals.FieldError; see also ErrUnknownCustomer,
// ErrJourneyCompleted and ErrUnavailable.
func (s *Sender) Send(ctx context.Context, ev signals.Event) error {
	now := s.now()
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = now.UTC()
	}
	if err := ev.Validate(now); err != nil {
		return err
	}
	id := workflows.WorkflowID(ev.CustomerID)
	op := fmt.Sprintf("send %s event %s to %s", ev.Type, ev.EventID, id)
	var err error
	switch ev.Type {
	case signals.SignedUp:
		err = s.signUp(ctx, id, ev)
	case signals.Reactivated:
		err = s.reactivate(ctx, id, ev)
	default:
		err = s.c.SignalWorkflow(ctx, id, "", signals.SignalName, ev)
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if ev.Type == signals.SignedUp && errors.As(err, &started) {
		return fmt.Errorf("%s: %w", op, ErrJourneyCompleted)
	}
	if err != nil {
		return classify(op, err)
	}
	return nil
}

// signUp starts the customer's journey with ev, or signals the running one.
// A journey that completed is not started again (the server answers
// WorkflowExecutionAlreadyStarted); one that failed, was canceled or was
// terminated is.
func (s *Sender) signUp(ctx context.Context, id string, ev signals.Event) error {
	opts := startOptions(id, ev.CustomerID, enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY)
	_, err := s.c.SignalWithStartWorkflow(ctx, id, signals.SignalName, ev, opts, workflows.WorkflowType, workflows.Input{CustomerID: ev.CustomerID})
	return err
}

// reactivate signals the running journey; with none running, it starts the
// completed one again from the state it ended with, ev first.
func (s *Sender) reactivate(ctx context.Context, id string, ev signals.Event) error {
	err := s.c.SignalWorkflow(ctx, id, "", signals.SignalName, ev)
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		return err
	}
	last, err := s.completedState(ctx, id)
	switch {
	case err != nil:
		return err
	case last == nil:
		return notFound // not completed: nothing to resume
	}
	opts := startOptions(id, ev.CustomerID, enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE)
	in := workflows.Input{CustomerID: ev.CustomerID, Carry: &workflows.Carry{State: *last}}
	_, err = s.c.SignalWithStartWorkflow(ctx, id, signals.SignalName, ev, opts, workflows.WorkflowType, in)
	return err
}

// completedState is the state id's last run ended with, when it completed;
// nil when it did not (it failed, was canceled or terminated).
func (s *Sender) completedState(ctx context.Context, id string) (*workflows.State, error) {
	d, err := s.c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, err
	}
	info := d.GetWorkflowExecutionInfo()
	if info.GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		return nil, nil
	}
	var res workflows.Result
	if err := s.c.GetWorkflow(ctx, id, info.GetExecution().GetRunId()).Get(ctx, &res); err != nil {
		return nil, fmt.Errorf("read the result of %s: %w", id, err)
	}
	return &res.State, nil
}

// startOptions start customerID's journey under reuse: which closed run
// may be followed by a new one.
func startOptions(id, customerID string, reuse enums.WorkflowIdReusePolicy) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             workflows.TaskQueue,
		StaticSummary:         "Customer journey of " + customerID,
		WorkflowIDReusePolicy: reuse,
	}
}

// State returns the state of customerID's journey.
func (s *Sender) State(ctx context.Context, customerID string) (workflows.State, error) {
	id := workflows.WorkflowID(customerID)
	v, err := s.c.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err != nil {
		return workflows.State{}, classify("query state of "+id, err)
	}
	var st workflows.State
	if err := v.Get(&st); err != nil {
		return workflows.State{}, fmt.Errorf("sender: decode state of %s: %w", id, err)
	}
	return st, nil
}

// ErrRejected: the journey refused the request, such as an answer to an
// alert it does not have; the error says why.
var ErrRejected = errors.New("sender: rejected by the journey")

// AnswerAlert delivers a CSM's answer to one of customerID's alerts and
// returns the alert as it stands after it. It waits until the journey has
// applied the answer, so the caller can tell the CSM it took.
func (s *Sender) AnswerAlert(ctx context.Context, customerID string, in workflows.AlertResponse) (workflows.Alert, error) {
	id := workflows.WorkflowID(customerID)
	h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   workflows.UpdateAlertResponse,
		Args:         []any{in},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return workflows.Alert{}, classify("answer alert of "+id, err)
	}
	var a workflows.Alert
	if err := h.Get(ctx, &a); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return workflows.Alert{}, fmt.Errorf("answer alert of %s: %w: %s", id, ErrRejected, appErr.Message())
		}
		return workflows.Alert{}, classify("answer alert of "+id, err)
	}
	return a, nil
}

// phoneHashRE is what workflows.PhoneHash returns: lowercase hex. Checked
// because the hash is written into a visibility query.
var phoneHashRE = regexp.MustCompile(`^[0-9a-f]{1,128}$`)

// CustomersByPhoneHash returns the customers whose running journeys have
// workflows.SearchPhone equal to hash (workflows.PhoneHash of a number), in
// no particular order; none is not an error. Visibility lags the journeys
// by up to a few seconds, so a journey that has just set its phone may not
// be found yet. Temporal not answering is ErrUnavailable.
func (s *Sender) CustomersByPhoneHash(ctx context.Context, hash string) ([]string, error) {
	if !phoneHashRE.MatchString(hash) {
		return nil, fmt.Errorf("sender: phone hash %q is not lowercase hex", hash)
	}
	query := fmt.Sprintf("%s = '%s' AND ExecutionStatus = 'Running'", workflows.SearchPhone.GetName(), hash)
	var (
		ids  []string
		next []byte
	)
	for {
		resp, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: s.pageSize, NextPageToken: next})
		if err != nil {
			return nil, classify("list journeys by phone hash", err)
		}
		for _, ex := range resp.GetExecutions() {
			// Another workflow type could carry the attribute too; only
			// journeys name a customer.
			if id, ok := workflows.CustomerIDFromWorkflowID(ex.GetExecution().GetWorkflowId()); ok {
				ids = append(ids, id)
			}
		}
		if next = resp.GetNextPageToken(); len(next) == 0 {
			return ids, nil
		}
	}
}

// Classify is classify for other packages that call Temporal about a
// customer's journey (erasure), so that their callers test the same
// sentinels: ErrUnknownCustomer, ErrUnavailable.
func Classify(op string, err error) error { return classify(op, err) }

// classify maps Temporal's answer to err to the sentinels: not found is
// ErrUnknownCustomer; "not now" (see unavailable) is ErrUnavailable; the
// rest is passed on wrapped.
func classify(op string, err error) error {
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return fmt.Errorf("%s: %w", op, ErrUnknownCustomer)
	case unavailable(err):
		return fmt.Errorf("%s: %w: %v", op, ErrUnavailable, err)
	}
	return fmt.Errorf("sender: %s: %w", op, err)
}

// unavailable reports whether err means Temporal did not take the call now
// but the same call may succeed later: it was rate limited or overloaded
// (ResourceExhausted), could not be reached (Unavailable), or the call was
// canceled or ran out of time, whether the server, the transport or the
// caller's context says so.
func unavailable(err error) bool {
	var updateWait *client.WorkflowUpdateServiceTimeoutOrCanceledError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &updateWait) {
		return true
	}
	switch grpcCode(err) {
	case codes.ResourceExhausted, codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}

// grpcCode is the gRPC code of err: of the serviceerror the SDK converts a
// server's answer to, or of a gRPC status that reached us unconverted;
// codes.Unknown for anything else.
func grpcCode(err error) codes.Code {
	var svcErr serviceerror.ServiceError
	if errors.As(err, &svcErr) {
		return svcErr.Status().Code()
	}
	var grpcErr interface{ GRPCStatus() *status.Status }
	if errors.As(err, &grpcErr) {
		return grpcErr.GRPCStatus().Code()
	}
	return codes.Unknown
}
