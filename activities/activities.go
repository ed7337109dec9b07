// Package activities holds the journeys' side effects: sending email and SMS,
// alerting a CSM and updating the CRM. Each is a method on Activities, which
// holds one driver per channel behind a small interface declared here; the
// drivers live in integrations/.
//
// Activities render their message from the embedded templates (package
// messages) so that a template fix reaches the next send without touching
// workflow histories.
package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/journeyshq/journeys/messages"
)

// Error types of non-retryable activity errors; the workflow reads them.
const (
	// ErrTypePermanent is a delivery the vendor refused for good (invalid
	// number, unsubscribed recipient).
	ErrTypePermanent = "PermanentDeliveryError"
	// ErrTypeTransient is a retryable delivery error whose vendor said when
	// to retry.
	ErrTypeTransient = "TransientDeliveryError"
	// ErrTypeTemplate is a message that could not be rendered.
	ErrTypeTemplate = "TemplateError"
)

// EmailSender delivers an email.
type EmailSender interface {
	SendEmail(ctx context.Context, e messages.Email) (messages.Receipt, error)
}

// SMSSender delivers a text message.
type SMSSender interface {
	SendSMS(ctx context.Context, s messages.SMS) (messages.Receipt, error)
}

// CSMAlerter alerts a customer-success manager.
type CSMAlerter interface {
	AlertCSM(ctx context.Context, a messages.Alert) (messages.Receipt, error)
}

// CRM records journey facts on the customer's contact.
type CRM interface {
	UpdateContact(ctx context.Context, u messages.CRMUpdate) (messages.Receipt, error)
}

// Ledger remembers the sends that reached a vendor, by idempotency key.
type Ledger interface {
	Lookup(ctx context.Context, key string) (messages.Receipt, bool, error)
	Record(ctx context.Context, key string, ch messages.Channel, r messages.Receipt) error
}

// Activities are the journeys' side effects. Register a *Activities with the worker.
type Activities struct {
	Email  EmailSender
	SMS    SMSSender
	Alerts CSMAlerter
	CRM    CRM
	// Billing suspends and restores accounts.
	Billing Billing
	// Ledger, when set, makes every send idempotent across activity retries:
	// a send already recorded is not sent again.
	Ledger Ledger
	// Links signs the unsubscribe and preference links of email footers
	// (footer.go); without it email goes without them, and marketing
	// email with a warning.
	Links LinkSigner
	// Brand is the sender email footers name, with its postal address.
	Brand Brand
}

// SendEmailInput asks for the email template Meta.Template to be sent to To.
type SendEmailInput struct {
	messages.Meta
	To   string        `json:"to"`
	Data messages.Data `json:"data"`
}

// SendSMSInput asks for the SMS template Meta.Template to be sent to To.
type SendSMSInput struct {
	messages.Meta
	To   string        `json:"to"`
	Data messages.Data `json:"data"`
}

// AlertCSMInput asks for the alert template Meta.Template to go to CSM.
type AlertCSMInput struct {
	messages.Meta
	// CSM is the manager's Slack user ID or email; empty means the team channel.
	CSM  string        `json:"csm"`
	Data messages.Data `json:"data"`
}

// UpdateCRMInput asks for Update to be recorded in the CRM.
type UpdateCRMInput struct {
	Update messages.CRMUpdate `json:"update"`
}

// Result is what every activity returns.
type Result struct {
	Receipt messages.Receipt `json:"receipt"`
	// Summary is a short description for the journey's timeline, such as
	// the email's subject.
	Summary string `json:"summary"`
}

// SendEmail renders and sends an email.
func (a *Activities) SendEmail(ctx context.Context, in SendEmailInput) (Result, error) {
	r, err := messages.Render(messages.ChannelEmail, in.Template, in.Data)
	if err != nil {
		count(ctx, messages.ChannelEmail, in.Meta, MetricMessagesFailed, FailureTemplate)
		return Result{}, templateError(err)
	}
	meta := in.Meta
	meta.Class = emailClass(in.Meta)
	headers, err := a.footer(ctx, r, meta)
	if err != nil {
		count(ctx, messages.ChannelEmail, in.Meta, MetricMessagesFailed, FailureTemplate)
		return Result{}, templateError(err)
	}
	rcpt, err := a.deliver(ctx, messages.ChannelEmail, in.Meta, func() (messages.Receipt, error) {
		return a.Email.SendEmail(ctx, messages.Email{Meta: meta, To: in.To, Subject: r["subject"], Text: r["text"], HTML: r["html"], Headers: headers})
	})
	if err != nil {
		return Result{}, deliveryError("send email", err)
	}
	return Result{Receipt: rcpt, Summary: r["subject"]}, nil
}

// SendSMS renders and sends a text message.
func (a *Activities) SendSMS(ctx context.Context, in SendSMSInput) (Result, error) {
	r, err := messages.Render(messages.ChannelSMS, in.Template, in.Data)
	if err != nil {
		count(ctx, messages.ChannelSMS, in.Meta, MetricMessagesFailed, FailureTemplate)
		return Result{}, templateError(err)
	}
	rcpt, err := a.deliver(ctx, messages.ChannelSMS, in.Meta, func() (messages.Receipt, error) {
		return a.SMS.SendSMS(ctx, messages.SMS{Meta: in.Meta, To: in.To, Text: r["text"]})
	})
	if err != nil {
		return Result{}, deliveryError("send sms", err)
	}
	return Result{Receipt: rcpt, Summary: shorten(r["text"], 80)}, nil
}

// AlertCSM renders and posts an alert for the customer's CSM.
func (a *Activities) AlertCSM(ctx context.Context, in AlertCSMInput) (Result, error) {
	r, err := messages.Render(messages.ChannelAlert, in.Template, in.Data)
	if err != nil {
		count(ctx, messages.ChannelAlert, in.Meta, MetricMessagesFailed, FailureTemplate)
		return Result{}, templateError(err)
	}
	rcpt, err := a.deliver(ctx, messages.ChannelAlert, in.Meta, func() (messages.Receipt, error) {
		return a.Alerts.AlertCSM(ctx, messages.Alert{Meta: in.Meta, CSM: in.CSM, Text: r["text"], Data: in.Data})
	})
	if err != nil {
		return Result{}, deliveryError("alert csm", err)
	}
	return Result{Receipt: rcpt, Summary: shorten(r["text"], 80)}, nil
}

// UpdateCRM records a journey fact in the CRM.
func (a *Activities) UpdateCRM(ctx context.Context, in UpdateCRMInput) (Result, error) {
	rcpt, err := a.deliver(ctx, messages.ChannelCRM, in.Update.Meta, func() (messages.Receipt, error) {
		return a.CRM.UpdateContact(ctx, in.Update)
	})
	if err != nil {
		return Result{}, deliveryError("update crm", err)
	}
	return Result{Receipt: rcpt, Summary: in.Update.Note}, nil
}

// deliver runs send once per idempotency key: a send the ledger already
// holds is answered from it, and a successful send is recorded at once.
// It counts the outcome (metrics.go).
func (a *Activities) deliver(ctx context.Context, ch messages.Channel, m messages.Meta, send func() (messages.Receipt, error)) (messages.Receipt, error) {
	if a.Ledger != nil {
		r, found, err := a.Ledger.Lookup(ctx, m.IdempotencyKey)
		if err != nil {
			count(ctx, ch, m, MetricMessagesFailed, FailureLedger)
			return messages.Receipt{}, err // retryable: better late than twice
		}
		if found {
			count(ctx, ch, m, MetricMessagesDeduplicated, "")
			r.Duplicate = true
			return r, nil
		}
	}
	r, err := send()
	if err != nil {
		count(ctx, ch, m, MetricMessagesFailed, failureOf(err))
		return r, err
	}
	if r.Duplicate { // the driver knew the key too
		count(ctx, ch, m, MetricMessagesDeduplicated, "")
	} else {
		count(ctx, ch, m, MetricMessagesSent, "")
	}
	if a.Ledger == nil {
		return r, nil
	}
	if err := a.Ledger.Record(ctx, m.IdempotencyKey, ch, r); err != nil && activity.IsActivity(ctx) {
		// The message went out. Failing now would make Temporal retry and
		// send it again, so the activity succeeds and the gap is logged.
		activity.GetLogger(ctx).Warn("Send not recorded in the ledger", "Step", m.Step, "Channel", ch, "Error", err)
	}
	return r, nil
}

// deliveryError wraps err with op. A *messages.PermanentError becomes
// non-retryable, so Temporal stops retrying and the workflow can react; a
// *messages.TransientError with a vendor's Retry-After sets the next retry's
// delay to it instead of the policy's backoff.
func deliveryError(op string, err error) error {
	var perm *messages.PermanentError
	if errors.As(err, &perm) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", op, err), ErrTypePermanent, err, perm.Reason)
	}
	var transient *messages.TransientError
	if errors.As(err, &transient) && transient.RetryAfter > 0 {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s: %v", op, err), ErrTypeTransient,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: transient.RetryAfter})
	}
	return fmt.Errorf("%s: %w", op, err)
}

// templateError is non-retryable: the same template renders the same way on
// every attempt.
func templateError(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeTemplate, err)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
