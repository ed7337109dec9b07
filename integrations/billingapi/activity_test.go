package billingapi_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/billingapi"
	"github.com/journeyshq/journeys/ledger"
)

// billingActivities are the real activities with this driver as Billing
// and a send ledger, in a test environment that runs them as the worker
// would, one attempt at a time.
func billingActivities(t *testing.T, c *billingapi.Client) (*activities.Activities, *testsuite.TestActivityEnvironment) {
	t.Helper()
	l, err := ledger.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), "")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	a := &activities.Activities{Billing: c, Ledger: l}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return a, env
}

// A 429 is retried after the API's Retry-After; the retry suspends the
// account, and a retry after that is answered from the ledger.
func TestSuspendActivityRetriesARateLimitAfterRetryAfter(t *testing.T) {
	rep := apiError(http.StatusTooManyRequests, "rate_limited", "Too many requests, slow down.")
	rep.Header = map[string]string{"Retry-After": "7"}
	f := newFake(t, rep)
	a, env := billingActivities(t, f.client(t))
	in := activities.AccountActionInput{Action: suspension()}

	_, err := env.ExecuteActivity(a.SuspendAccount, in)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	assert.Equal(t, activities.ErrTypeTransient, appErr.Type())
	assert.False(t, appErr.NonRetryable())
	assert.Equal(t, 7*time.Second, appErr.NextRetryDelay())
	assert.Equal(t, active, f.state("cus_42"))

	val, err := env.ExecuteActivity(a.SuspendAccount, in)
	require.NoError(t, err, "the next attempt goes through")
	var res activities.Result
	require.NoError(t, val.Get(&res))
	assert.Equal(t, "acta_1", res.Receipt.ID)
	assert.False(t, res.Receipt.Duplicate)
	assert.Equal(t, "account suspended: invoice in_1Q2w3E unpaid after the 14-day grace period", res.Summary)
	assert.Equal(t, suspended, f.state("cus_42"))

	val, err = env.ExecuteActivity(a.SuspendAccount, in)
	require.NoError(t, err)
	require.NoError(t, val.Get(&res))
	assert.True(t, res.Receipt.Duplicate, "answered from the ledger")
	assert.Equal(t, "acta_1", res.Receipt.ID)
	assert.Len(t, f.requests(), 2, "the API heard the action twice: the 429 and the suspension")
}

// A 404 ends the action: non-retryable, with the reason for the workflow.
func TestSuspendActivityUnknownAccountIsNotRetried(t *testing.T) {
	f := newFake(t)
	a, env := billingActivities(t, f.client(t))
	act := suspension()
	act.CustomerID = "cus_gone"

	_, err := env.ExecuteActivity(a.SuspendAccount, activities.AccountActionInput{Action: act})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	assert.Equal(t, activities.ErrTypePermanent, appErr.Type())
	assert.True(t, appErr.NonRetryable())
	var reason string
	require.NoError(t, appErr.Details(&reason))
	assert.Equal(t, "unknown_account", reason)
	assert.Contains(t, appErr.Error(), "suspend account: unknown_account: billingapi: suspend account for customer cus_gone")
	assert.Len(t, f.requests(), 1)
}
