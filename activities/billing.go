package activities

import (
	"context"
	"fmt"

	"github.com/journeyshq/journeys/messages"
)

// Billing suspends and restores accounts in the billing system, as dunning
// decides. Drivers live in integrations/ (the outbox in dev).
type Billing interface {
	SuspendAccount(ctx context.Context, a messages.AccountAction) (messages.Receipt, error)
	RestoreAccount(ctx context.Context, a messages.AccountAction) (messages.Receipt, error)
}

// AccountActionInput asks for Action.Action (suspend or restore) on the
// customer's account.
type AccountActionInput struct {
	Action messages.AccountAction `json:"action"`
}

// SuspendAccount suspends the customer's account at the end of the dunning
// grace period.
func (a *Activities) SuspendAccount(ctx context.Context, in AccountActionInput) (Result, error) {
	return a.accountAction(ctx, messages.AccountSuspend, "suspended", in, a.Billing.SuspendAccount)
}

// RestoreAccount restores a suspended account once the payment went through.
func (a *Activities) RestoreAccount(ctx context.Context, in AccountActionInput) (Result, error) {
	return a.accountAction(ctx, messages.AccountRestore, "restored", in, a.Billing.RestoreAccount)
}

func (a *Activities) accountAction(ctx context.Context, action, done string, in AccountActionInput,
	call func(context.Context, messages.AccountAction) (messages.Receipt, error)) (Result, error) {
	act := in.Action
	act.Action = action
	rcpt, err := a.deliver(ctx, messages.ChannelBilling, act.Meta, func() (messages.Receipt, error) {
		return call(ctx, act)
	})
	if err != nil {
		return Result{}, deliveryError(action+" account", err)
	}
	return Result{Receipt: rcpt, Summary: fmt.Sprintf("account %s: %s", done, act.Reason)}, nil
}
