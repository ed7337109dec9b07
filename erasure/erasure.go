// Package erasure forgets a customer: it ends their journey, deletes every
// run of it from Temporal, their send-ledger rows and outbox lines, and
// archives their CRM contact. The events API's DELETE /v1/customers/{id}
// and `starter forget` run it; docs/security.md says what it reaches and
// what it cannot.
//
// Forget is idempotent: a second call finds nothing left and reports zeros.
// It works in the order that lets a failed call be retried: the CRM contact
// is found by the email in the journey's state, so it is archived before
// Temporal's copies of that state are deleted (deleting the running run
// ends the journey); the ledger and the outbox, keyed by customer, come
// last, after the journey has stopped sending.
package erasure

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// What Report.CRMContact says of the customer's CRM contact.
const (
	CRMArchived      = "archived"
	CRMNotFound      = "not_found"
	CRMNotConfigured = "not_configured"
)

// Parts of an erasure, as PartError names them.
const (
	PartState    = "state"    // reading the journey's state for the CRM email
	PartCRM      = "crm"      // archiving the CRM contact
	PartTemporal = "temporal" // deleting the runs, ending the running one
	PartLedger   = "ledger"
	PartOutbox   = "outbox"
)

// Report is what Forget deleted; every count is zero when nothing was left.
type Report struct {
	CustomerID string `json:"customer_id"`
	WorkflowID string `json:"workflow_id"`
	// Terminated is true when a running run was ended (and deleted).
	Terminated bool `json:"terminated"`
	// Runs is how many runs of the workflow ID were deleted from Temporal,
	// the ones continued as new included.
	Runs        int `json:"runs"`
	LedgerRows  int `json:"ledger_rows"`
	OutboxLines int `json:"outbox_lines"`
	// CRMContact is CRMArchived, CRMNotFound or CRMNotConfigured.
	CRMContact string `json:"crm_contact"`
}

// ErrIncomplete marks an erasure that ran out of time waiting for Temporal
// to delete the runs; calling Forget again finishes it.
var ErrIncomplete = errors.New("erasure: incomplete")

// PartError is a failure of one part of an erasure; the parts before it
// are done. Retrying Forget is safe.
type PartError struct {
	Part string
	Err  error
}

func (e *PartError) Error() string { return "erasure: " + e.Part + ": " + e.Err.Error() }
func (e *PartError) Unwrap() error { return e.Err }

// Journeys reads a journey's state; *sender.Sender is the implementation.
type Journeys interface {
	State(ctx context.Context, customerID string) (workflows.State, error)
}

// Ledger deletes send-ledger rows by idempotency key prefix; *ledger.Ledger.
type Ledger interface {
	DeleteKeyPrefix(ctx context.Context, prefix string) (int64, error)
}

// Outbox deletes a customer's outbox lines; *outbox.Outbox.
type Outbox interface {
	DeleteCustomer(customerID string) (int, error)
}

// CRM archives the contact with an email; *hubspot.Client. archived is
// false when there is no such contact.
type CRM interface {
	ArchiveContact(ctx context.Context, customerID, email string) (archived bool, err error)
}

// Eraser forgets customers. Temporal, Journeys and Namespace are required;
// a nil Ledger, Outbox or CRM is a place this process has none of.
type Eraser struct {
	Temporal  Temporal
	Journeys  Journeys
	Namespace string
	Ledger    Ledger
	Outbox    Outbox
	CRM       CRM
	// DeleteWait bounds the wait for Temporal's asynchronous deletion of
	// the runs; default DefaultDeleteWait.
	DeleteWait time.Duration
	// Logger gets one line per erasure, with the customer ID and the
	// counts; default slog.Default().
	Logger *slog.Logger
}

// DefaultDeleteWait is Eraser.DeleteWait's default: Temporal deletes a
// running run at once, but a run closed a moment ago (continued as new)
// only after its queue's next ack update, 30 s apart by default.
const DefaultDeleteWait = 75 * time.Second

// Forget erases customerID and reports what it deleted. An invalid ID is a
// *signals.FieldError; a part that fails is a *PartError, wrapping
// sender.ErrUnavailable when Temporal did not answer and ErrIncomplete
// when its deletion outlasted DeleteWait.
func (e *Eraser) Forget(ctx context.Context, customerID string) (Report, error) {
	if err := signals.ValidateCustomerID(customerID); err != nil {
		return Report{}, err
	}
	id := workflows.WorkflowID(customerID)
	rep := Report{CustomerID: customerID, WorkflowID: id, CRMContact: CRMNotConfigured}
	email, err := e.email(ctx, customerID)
	if err != nil {
		return rep, &PartError{PartState, err}
	}
	if e.CRM != nil {
		if rep.CRMContact, err = e.archive(ctx, customerID, email); err != nil {
			return rep, &PartError{PartCRM, err}
		}
	}
	if rep.Runs, rep.Terminated, err = e.deleteRuns(ctx, id); err != nil {
		return rep, &PartError{PartTemporal, err}
	}
	if err := e.deleteLocal(ctx, customerID, &rep); err != nil {
		return rep, err
	}
	e.logger().Info("customer erased", "customer_id", customerID, "terminated", rep.Terminated, "runs", rep.Runs,
		"ledger_rows", rep.LedgerRows, "outbox_lines", rep.OutboxLines, "crm_contact", rep.CRMContact)
	return rep, nil
}

// email is the address the CRM contact is found by, from the journey's
// state (a closed run answers the query too); "" without a CRM or a journey.
func (e *Eraser) email(ctx context.Context, customerID string) (string, error) {
	if e.CRM == nil {
		return "", nil
	}
	st, err := e.Journeys.State(ctx, customerID)
	if errors.Is(err, sender.ErrUnknownCustomer) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return st.Profile.Email, nil
}

// archive archives the contact with email, when there is one.
func (e *Eraser) archive(ctx context.Context, customerID, email string) (string, error) {
	if email == "" {
		return CRMNotFound, nil
	}
	archived, err := e.CRM.ArchiveContact(ctx, customerID, email)
	switch {
	case err != nil:
		return "", err
	case archived:
		return CRMArchived, nil
	}
	return CRMNotFound, nil
}

// deleteLocal deletes the customer's ledger rows and outbox lines.
func (e *Eraser) deleteLocal(ctx context.Context, customerID string, rep *Report) error {
	if e.Ledger != nil {
		n, err := e.Ledger.DeleteKeyPrefix(ctx, workflows.IdempotencyKeyPrefix(customerID))
		if err != nil {
			return &PartError{PartLedger, err}
		}
		rep.LedgerRows = int(n)
	}
	if e.Outbox != nil {
		n, err := e.Outbox.DeleteCustomer(customerID)
		if err != nil {
			return &PartError{PartOutbox, err}
		}
		rep.OutboxLines = n
	}
	return nil
}

func (e *Eraser) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// wrapf gives a Temporal error its operation and the sender's sentinels.
func wrapf(err error, format string, args ...any) error {
	return sender.Classify(fmt.Sprintf(format, args...), err)
}
