package activities_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/sendgrid"
	"github.com/journeyshq/journeys/ledger"
	"github.com/journeyshq/journeys/messages"
)

// fakeSendGrid answers /v3/mail/send with the statuses given, in turn, then
// 202; it counts the requests it received.
func fakeSendGrid(t *testing.T, answers ...func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(answers) {
			answers[i](w)
			return
		}
		w.Header().Set("X-Message-Id", "sg-msg")
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func newActivities(t *testing.T, baseURL string) *activities.Activities {
	sg, err := sendgrid.New(sendgrid.Config{APIKey: "SG.key", From: "hello@acme.example", BaseURL: baseURL, Timeout: 2 * time.Second})
	require.NoError(t, err)
	l, err := ledger.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), "")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return &activities.Activities{Email: sg, Ledger: l}
}

// activityEnv runs a's activities as the worker would, one attempt at a time.
func activityEnv(a *activities.Activities) *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return env
}

func welcome() activities.SendEmailInput {
	return activities.SendEmailInput{
		Meta: messages.Meta{CustomerID: "c-1", Step: "onboarding.welcome", Template: "welcome", IdempotencyKey: "customer:c-1/run/onboarding.welcome/email"},
		To:   "ana@example.com",
		Data: messages.Data{CustomerID: "c-1", Name: "Ana Lima", FirstName: "Ana", Plan: "pro", Product: "Acme", AppURL: "https://app.example.com",
			MilestonesLeft: []string{"first project"}, MilestonesTotal: 1},
	}
}

// An attempt that reached the vendor and then lost its completion (worker
// crash, timeout) is retried: the retry finds the send in the ledger and
// the customer gets one email.
func TestRetriedSendReachesTheVendorOnce(t *testing.T) {
	srv, received := fakeSendGrid(t)
	a := newActivities(t, srv.URL)
	env := activityEnv(a)

	first, err := env.ExecuteActivity(a.SendEmail, welcome())
	require.NoError(t, err)
	retry, err := env.ExecuteActivity(a.SendEmail, welcome())
	require.NoError(t, err)

	var r1, r2 activities.Result
	require.NoError(t, first.Get(&r1))
	require.NoError(t, retry.Get(&r2))
	assert.Equal(t, int32(1), received.Load(), "the vendor received one email")
	assert.False(t, r1.Receipt.Duplicate)
	assert.True(t, r2.Receipt.Duplicate)
	assert.Equal(t, "sg-msg", r2.Receipt.ID)
}

// A vendor's Retry-After becomes the delay before Temporal's next attempt.
func TestRateLimitSetsTheNextRetryDelay(t *testing.T) {
	srv, _ := fakeSendGrid(t, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"errors":[{"field":null,"message":"too many requests"}]}`))
	})
	a := newActivities(t, srv.URL)
	env := activityEnv(a)

	_, err := env.ExecuteActivity(a.SendEmail, welcome())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	assert.Equal(t, activities.ErrTypeTransient, appErr.Type())
	assert.False(t, appErr.NonRetryable())
	assert.Equal(t, 7*time.Second, appErr.NextRetryDelay())

	_, err = env.ExecuteActivity(a.SendEmail, welcome())
	require.NoError(t, err, "the next attempt goes through")
}

// A permanent vendor error ends the send: non-retryable, with the reason.
func TestPermanentErrorIsNotRetried(t *testing.T) {
	srv, received := fakeSendGrid(t, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"errors":[{"field":"personalizations.0.to.0.email","message":"Does not contain a valid address."}]}`))
	})
	a := newActivities(t, srv.URL)
	env := activityEnv(a)

	_, err := env.ExecuteActivity(a.SendEmail, welcome())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	assert.Equal(t, activities.ErrTypePermanent, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	var reason string
	require.NoError(t, appErr.Details(&reason))
	assert.Equal(t, "invalid_request", reason)
	assert.Equal(t, int32(1), received.Load())
}

func TestTemplateErrorIsNotRetried(t *testing.T) {
	srv, received := fakeSendGrid(t)
	a := newActivities(t, srv.URL)
	env := activityEnv(a)
	in := welcome()
	in.Template = "no_such_template"

	_, err := env.ExecuteActivity(a.SendEmail, in)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	assert.Equal(t, activities.ErrTypeTemplate, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	assert.Equal(t, int32(0), received.Load(), "nothing was sent")
}

// billingStub is a Billing driver that answers with errs, in turn, then
// success, and records the actions it received and through which method.
type billingStub struct {
	errs    []error
	methods []string
	got     []messages.AccountAction
}

func (b *billingStub) SuspendAccount(_ context.Context, a messages.AccountAction) (messages.Receipt, error) {
	return b.answer("SuspendAccount", a)
}

func (b *billingStub) RestoreAccount(_ context.Context, a messages.AccountAction) (messages.Receipt, error) {
	return b.answer("RestoreAccount", a)
}

func (b *billingStub) answer(method string, a messages.AccountAction) (messages.Receipt, error) {
	b.methods = append(b.methods, method)
	b.got = append(b.got, a)
	if len(b.errs) > 0 {
		err := b.errs[0]
		b.errs = b.errs[1:]
		return messages.Receipt{}, err
	}
	return messages.Receipt{ID: "acct-action-1"}, nil
}

func billingActivities(t *testing.T, b *billingStub) (*activities.Activities, *testsuite.TestActivityEnvironment) {
	l, err := ledger.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), "")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	a := &activities.Activities{Billing: b, Ledger: l}
	return a, activityEnv(a)
}

func restoreInput() activities.AccountActionInput {
	return activities.AccountActionInput{Action: messages.AccountAction{
		Meta:      messages.Meta{CustomerID: "c-1", Step: "dunning.restore", IdempotencyKey: "customer:c-1/run/dunning.restore/billing"},
		InvoiceID: "in_42",
		Reason:    "invoice in_42 paid",
	}}
}

// The activity decides the action, and a retried one reaches the billing
// system once.
func TestAccountActionIsSetAndSentOnce(t *testing.T) {
	b := &billingStub{}
	a, env := billingActivities(t, b)

	first, err := env.ExecuteActivity(a.RestoreAccount, restoreInput())
	require.NoError(t, err)
	retry, err := env.ExecuteActivity(a.RestoreAccount, restoreInput())
	require.NoError(t, err)

	var r1, r2 activities.Result
	require.NoError(t, first.Get(&r1))
	require.NoError(t, retry.Get(&r2))
	assert.Equal(t, []string{"RestoreAccount"}, b.methods, "the billing system heard it once")
	assert.Equal(t, messages.AccountRestore, b.got[0].Action)
	assert.Equal(t, "in_42", b.got[0].InvoiceID)
	assert.Equal(t, "account restored: invoice in_42 paid", r1.Summary)
	assert.Equal(t, "acct-action-1", r1.Receipt.ID)
	assert.True(t, r2.Receipt.Duplicate)
}

// A billing system's Retry-After becomes the delay before the next attempt.
func TestAccountActionRateLimitSetsTheNextRetryDelay(t *testing.T) {
	b := &billingStub{errs: []error{messages.Transient(errors.New("http 429"), 7*time.Second)}}
	a, env := billingActivities(t, b)
	in := restoreInput()
	in.Action.Step = "dunning.suspend"
	in.Action.IdempotencyKey = "customer:c-1/run/dunning.suspend/billing"

	_, err := env.ExecuteActivity(a.SuspendAccount, in)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	assert.Equal(t, activities.ErrTypeTransient, appErr.Type())
	assert.False(t, appErr.NonRetryable())
	assert.Equal(t, 7*time.Second, appErr.NextRetryDelay())

	_, err = env.ExecuteActivity(a.SuspendAccount, in)
	require.NoError(t, err, "the next attempt goes through")
	assert.Equal(t, []string{"SuspendAccount", "SuspendAccount"}, b.methods)
	assert.Equal(t, messages.AccountSuspend, b.got[1].Action)
}

// An account the billing system does not know ends the action.
func TestAccountActionPermanentErrorIsNotRetried(t *testing.T) {
	b := &billingStub{errs: []error{messages.Permanent("unknown_account", errors.New("http 404"))}}
	a, env := billingActivities(t, b)

	_, err := env.ExecuteActivity(a.RestoreAccount, restoreInput())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	assert.Equal(t, activities.ErrTypePermanent, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	var reason string
	require.NoError(t, appErr.Details(&reason))
	assert.Equal(t, "unknown_account", reason)
}
