package billingapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/billingapi"
	"github.com/journeyshq/journeys/integrations/internal/vendortest"
	"github.com/journeyshq/journeys/messages"
)

// The worker plugs a *Client in where activities want a billing system.
var _ activities.Billing = (*billingapi.Client)(nil)

const suspendKey = "customer:cus_42/run-1/dunning.suspend/billing"

func suspension() messages.AccountAction {
	return messages.AccountAction{
		Meta:      messages.Meta{CustomerID: "cus_42", Step: "dunning.suspend", IdempotencyKey: suspendKey},
		Action:    messages.AccountSuspend,
		InvoiceID: "in_1Q2w3E",
		Reason:    "invoice in_1Q2w3E unpaid after the 14-day grace period",
	}
}

func restoration() messages.AccountAction {
	return messages.AccountAction{
		Meta:      messages.Meta{CustomerID: "cus_7", Step: "dunning.restore", IdempotencyKey: "customer:cus_7/run-1/dunning.restore/billing"},
		Action:    messages.AccountRestore,
		InvoiceID: "in_9Z8x",
		Reason:    "invoice in_9Z8x paid",
	}
}

func requireTransient(t *testing.T, err error) *messages.TransientError {
	t.Helper()
	var tr *messages.TransientError
	require.True(t, errors.As(err, &tr), "want a TransientError, got %T: %v", err, err)
	var perm *messages.PermanentError
	assert.False(t, errors.As(err, &perm), "a transient error must not also be permanent")
	return tr
}

func requirePermanent(t *testing.T, err error, reason string) *messages.PermanentError {
	t.Helper()
	var perm *messages.PermanentError
	require.True(t, errors.As(err, &perm), "want a PermanentError, got %T: %v", err, err)
	assert.Equal(t, reason, perm.Reason)
	return perm
}

func TestSuspendPostsTheActionAndReturnsItsID(t *testing.T) {
	f := newFake(t)
	rcpt, err := f.client(t).SuspendAccount(context.Background(), suspension())
	require.NoError(t, err)
	assert.Equal(t, messages.Receipt{ID: "acta_1"}, rcpt)
	assert.Equal(t, suspended, f.state("cus_42"))

	got := f.requests()
	require.Len(t, got, 1)
	assert.Equal(t, http.MethodPost, got[0].Method)
	assert.Equal(t, "/accounts/cus_42/suspend", got[0].Path)
	assert.Equal(t, "Bearer "+testToken, got[0].Header.Get("Authorization"))
	assert.Equal(t, suspendKey, got[0].Header.Get("Idempotency-Key"))
	assert.Equal(t, "application/json", got[0].Header.Get("Content-Type"))
	assert.Equal(t, "application/json", got[0].Header.Get("Accept"))
	assert.JSONEq(t, `{
		"customer_id": "cus_42",
		"invoice_id": "in_1Q2w3E",
		"reason": "invoice in_1Q2w3E unpaid after the 14-day grace period"
	}`, got[0].Body)
}

func TestRestorePostsToRestore(t *testing.T) {
	f := newFake(t)
	rcpt, err := f.client(t).RestoreAccount(context.Background(), restoration())
	require.NoError(t, err)
	assert.Equal(t, "acta_1", rcpt.ID)
	assert.Equal(t, active, f.state("cus_7"))

	got := f.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "/accounts/cus_7/restore", got[0].Path)
	assert.Equal(t, "customer:cus_7/run-1/dunning.restore/billing", got[0].Header.Get("Idempotency-Key"))
	assert.JSONEq(t, `{"customer_id": "cus_7", "invoice_id": "in_9Z8x", "reason": "invoice in_9Z8x paid"}`, got[0].Body)
}

// The method called decides the endpoint, whatever the action says.
func TestTheMethodDecidesTheEndpoint(t *testing.T) {
	f := newFake(t)
	a := suspension()
	a.Action = messages.AccountRestore
	_, err := f.client(t).SuspendAccount(context.Background(), a)
	require.NoError(t, err)
	require.Len(t, f.requests(), 1)
	assert.Equal(t, "/accounts/cus_42/suspend", f.requests()[0].Path)
}

// An action with no invoice still sends every field.
func TestBodyWithoutInvoice(t *testing.T) {
	f := newFake(t)
	a := suspension()
	a.InvoiceID, a.Reason = "", ""
	_, err := f.client(t).SuspendAccount(context.Background(), a)
	require.NoError(t, err)
	assert.JSONEq(t, `{"customer_id": "cus_42", "invoice_id": "", "reason": ""}`, f.requests()[0].Body)
}

// 409: the account is already in the asked state, which is what the
// journey wanted.
func TestAlreadyInThatStateIsDone(t *testing.T) {
	f := newFake(t)
	c := f.client(t)
	rcpt, err := c.RestoreAccount(context.Background(), messages.AccountAction{
		Meta: messages.Meta{CustomerID: "cus_42", Step: "dunning.restore", IdempotencyKey: "k-restore-active"},
	})
	require.NoError(t, err)
	assert.Equal(t, messages.Receipt{ID: "k-restore-active"}, rcpt, "the key stands in for the ID")

	a := restoration()
	a.IdempotencyKey = "k-suspend-suspended"
	rcpt, err = c.SuspendAccount(context.Background(), a)
	require.NoError(t, err)
	assert.Equal(t, "k-suspend-suspended", rcpt.ID)
	assert.Equal(t, suspended, f.state("cus_7"))
	assert.Len(t, f.requests(), 2)
}

// A retry carries the same key, so the API answers it with its first
// answer and the account is acted on once.
func TestRetryCarriesTheSameKey(t *testing.T) {
	f := newFake(t)
	c := f.client(t)
	first, err := c.SuspendAccount(context.Background(), suspension())
	require.NoError(t, err)
	retry, err := c.SuspendAccount(context.Background(), suspension())
	require.NoError(t, err)
	assert.Equal(t, first, retry)
	got := f.requests()
	require.Len(t, got, 2)
	assert.Equal(t, got[0].Header.Get("Idempotency-Key"), got[1].Header.Get("Idempotency-Key"))
	assert.Equal(t, got[0].Body, got[1].Body)
}

func TestSuccessAnswersWithoutAnID(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply reply
		want  string
	}{
		{"no content", reply{Status: http.StatusNoContent}, suspendKey},
		{"accepted without id", reply{Status: http.StatusAccepted, Body: `{"status": "queued"}`}, suspendKey},
		{"blank id", reply{Status: http.StatusOK, Body: `{"id": "  "}`}, suspendKey},
		{"not json", reply{Status: http.StatusOK, Body: "<html>OK</html>"}, suspendKey},
		{"numeric id", reply{Status: http.StatusCreated, Body: `{"id": 98131}`}, "98131"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.reply)
			rcpt, err := f.client(t).SuspendAccount(context.Background(), suspension())
			require.NoError(t, err)
			assert.Equal(t, messages.Receipt{ID: tc.want}, rcpt)
		})
	}
}

func TestUnknownAccountIsPermanent(t *testing.T) {
	f := newFake(t)
	a := suspension()
	a.CustomerID = "cus_gone"
	_, err := f.client(t).SuspendAccount(context.Background(), a)
	perm := requirePermanent(t, err, "unknown_account")
	assert.Equal(t, "billingapi: suspend account for customer cus_gone step dunning.suspend: http 404 resource_missing: No such account: 'cus_gone'", perm.Err.Error())
	var apiErr *billingapi.APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, billingapi.APIError{Status: 404, Code: "resource_missing", Message: "No such account: 'cus_gone'"}, *apiErr)
}

// A validation error is refused for good, with the API's message shortened.
func TestValidationErrorIsRejectedWithItsMessage(t *testing.T) {
	long := "Invoice in_1Q2w3E does not belong to account cus_42;\n  it belongs to " + strings.Repeat("cus_other, ", 100)
	f := newFake(t, apiError(http.StatusUnprocessableEntity, "invoice_mismatch", long))
	_, err := f.client(t).SuspendAccount(context.Background(), suspension())
	requirePermanent(t, err, "rejected")
	assert.Contains(t, err.Error(), "billingapi: suspend account for customer cus_42 step dunning.suspend: http 422 invoice_mismatch: Invoice in_1Q2w3E does not belong to account cus_42; it belongs to cus_other,")
	assert.Less(t, len(err.Error()), 500, "the message is shortened")
	assert.True(t, strings.HasSuffix(err.Error(), "…"), err.Error())

	var apiErr *billingapi.APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, 422, apiErr.Status)
	assert.Equal(t, "invoice_mismatch", apiErr.Code)
}

func TestRateLimitedWithRetryAfter(t *testing.T) {
	for name, tc := range map[string]struct {
		header string
		want   time.Duration
	}{
		"seconds":   {"7", 7 * time.Second},
		"http date": {testNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		"none":      {"", 0},
	} {
		t.Run(name, func(t *testing.T) {
			rep := apiError(http.StatusTooManyRequests, "rate_limited", "Too many requests, slow down.")
			if tc.header != "" {
				rep.Header = map[string]string{"Retry-After": tc.header}
			}
			f := newFake(t, rep)
			_, err := f.client(t).SuspendAccount(context.Background(), suspension())
			tr := requireTransient(t, err)
			assert.Equal(t, tc.want, tr.RetryAfter)
			assert.Contains(t, err.Error(), "http 429 rate_limited: Too many requests, slow down.")
			assert.Equal(t, active, f.state("cus_42"), "nothing happened")
		})
	}
}

// 503 passes; the retry sends the same request and goes through.
func TestUnavailableIsTransientAndItsRetryGoesThrough(t *testing.T) {
	f := newFake(t, reply{Status: http.StatusServiceUnavailable, Body: "<html><body>503 Service Unavailable</body></html>", Header: map[string]string{"Retry-After": "30"}})
	c := f.client(t)
	_, err := c.SuspendAccount(context.Background(), suspension())
	tr := requireTransient(t, err)
	assert.Equal(t, 30*time.Second, tr.RetryAfter)
	assert.True(t, strings.HasPrefix(tr.Err.Error(), "billingapi: suspend account for customer cus_42"), tr.Err.Error())
	assert.Contains(t, err.Error(), "http 503")
	assert.NotContains(t, err.Error(), "<html>", "a proxy's page stays out of errors")

	rcpt, err := c.SuspendAccount(context.Background(), suspension())
	require.NoError(t, err)
	assert.Equal(t, "acta_1", rcpt.ID)
	got := f.requests()
	require.Len(t, got, 2)
	assert.Equal(t, got[0].Header.Get("Idempotency-Key"), got[1].Header.Get("Idempotency-Key"))
	assert.Equal(t, got[0].Body, got[1].Body)
}

func TestOtherAnswersAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reply  reply
		reason string        // empty: transient
		wait   time.Duration // a transient error's RetryAfter
		msg    string        // in the error
	}{
		{"bad request, error string", reply{Status: http.StatusBadRequest, Body: `{"error": "invoice_id is not a valid invoice ID"}`}, "rejected", 0, "http 400: invoice_id is not a valid invoice ID"},
		{"forbidden", apiError(http.StatusForbidden, "forbidden", "Token lacks the accounts:write scope."), "rejected", 0, "http 403 forbidden: Token lacks the accounts:write scope."},
		{"problem json", reply{Status: http.StatusUnprocessableEntity, Body: `{"type": "https://billing.example.com/probs/closed", "title": "Account closed", "detail": "Account cus_42 was closed on 2026-01-04."}`}, "rejected", 0, "http 422: Account cus_42 was closed on 2026-01-04."},
		{"redirect", reply{Status: http.StatusMovedPermanently, Header: map[string]string{"Location": "https://billing.example.com/"}}, "rejected", 0, "http 301"},
		{"gone", reply{Status: http.StatusGone, Body: `{"message": "API v0 is gone", "code": 410}`}, "rejected", 0, "http 410 410: API v0 is gone"},
		{"request timeout", reply{Status: http.StatusRequestTimeout}, "", 0, "http 408"},
		{"internal error", apiError(http.StatusInternalServerError, "internal", "Something went wrong."), "", 0, "http 500 internal: Something went wrong."},
		{"bad gateway page", reply{Status: http.StatusBadGateway, Body: "<html>502 Bad Gateway</html>", Header: map[string]string{"Retry-After": "5"}}, "", 5 * time.Second, "http 502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.reply)
			_, err := f.client(t).SuspendAccount(context.Background(), suspension())
			if tc.reason == "" {
				assert.Equal(t, tc.wait, requireTransient(t, err).RetryAfter)
			} else {
				requirePermanent(t, err, tc.reason)
			}
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestWrongTokenIsRejected(t *testing.T) {
	f := newFake(t)
	c, err := billingapi.New(billingapi.Config{BaseURL: f.srv.URL, Token: "bk_revoked_s3cret"})
	require.NoError(t, err)
	_, err = c.SuspendAccount(context.Background(), suspension())
	requirePermanent(t, err, "rejected")
	assert.Contains(t, err.Error(), "http 401 unauthorized: Invalid API token provided.")
	assert.NotContains(t, err.Error(), "s3cret")
	assert.Equal(t, active, f.state("cus_42"))
}

func TestCustomerIDIsOneEscapedSegment(t *testing.T) {
	f := newFake(t)
	a := suspension()
	a.CustomerID = "acme/eu+1"
	_, err := f.client(t).SuspendAccount(context.Background(), a)
	requirePermanent(t, err, "unknown_account")
	got := f.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "/accounts/acme/eu+1/suspend", got[0].Path)
	// '/' and '+' travel escaped, so no server reads another path or a space.
	assert.Equal(t, "/accounts/acme%2Feu%2B1/suspend", got[0].RawPath)
	assert.JSONEq(t, `{"customer_id": "acme/eu+1", "invoice_id": "in_1Q2w3E", "reason": "invoice in_1Q2w3E unpaid after the 14-day grace period"}`, got[0].Body)
}

func TestBaseURLPathPrefixIsKept(t *testing.T) {
	f := newFake(t)
	mux := http.NewServeMux()
	mux.Handle("/billing/v1/", http.StripPrefix("/billing/v1", http.HandlerFunc(f.serve)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for _, base := range []string{srv.URL + "/billing/v1", srv.URL + "/billing/v1/"} {
		c, err := billingapi.New(billingapi.Config{BaseURL: base, Token: testToken})
		require.NoError(t, err)
		_, err = c.RestoreAccount(context.Background(), restoration())
		require.NoError(t, err, base)
	}
	got := f.requests()
	require.Len(t, got, 2)
	for _, r := range got {
		assert.Equal(t, "/accounts/cus_7/restore", r.Path)
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	f := newFake(t, reply{Delay: vendortest.Hang})
	c := f.client(t, func(c *billingapi.Config) { c.Timeout = 100 * time.Millisecond })
	start := time.Now()
	_, err := c.SuspendAccount(context.Background(), suspension())
	requireTransient(t, err)
	assert.Less(t, time.Since(start), 3*time.Second, "the client's timeout, not the fake's, ended the call")
	assert.Contains(t, err.Error(), "no answer within 100ms")
}

func TestUnreachableIsTransient(t *testing.T) {
	f := newFake(t)
	c := f.client(t)
	f.srv.Close()
	_, err := c.SuspendAccount(context.Background(), suspension())
	requireTransient(t, err)
	assert.Contains(t, err.Error(), "billingapi: suspend account for customer cus_42 step dunning.suspend: request failed: ")
	assert.NotContains(t, err.Error(), f.srv.URL, "the URL stays out")
}

func TestCancelledContextIsTransientAndSendsNothing(t *testing.T) {
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client(t).SuspendAccount(ctx, suspension())
	requireTransient(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, f.requests())
}

// The caller's deadline ends a call the API is slow to answer.
func TestContextEndsTheCall(t *testing.T) {
	f := newFake(t, reply{Delay: vendortest.Hang})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.client(t).RestoreAccount(ctx, restoration())
	requireTransient(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "request abandoned")
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestRefusedBeforeAnyRequest(t *testing.T) {
	for name, edit := range map[string]func(*messages.AccountAction){
		"no customer":      func(a *messages.AccountAction) { a.CustomerID = " " },
		"dot dot customer": func(a *messages.AccountAction) { a.CustomerID = ".." },
		"no key":           func(a *messages.AccountAction) { a.IdempotencyKey = "" },
		"key with newline": func(a *messages.AccountAction) { a.IdempotencyKey = "k1\nX-Injected: yes" },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			a := suspension()
			edit(&a)
			_, err := f.client(t).SuspendAccount(context.Background(), a)
			perm := requirePermanent(t, err, "invalid_request")
			assert.True(t, strings.HasPrefix(perm.Err.Error(), "billingapi: suspend account for customer "), perm.Err.Error())
			assert.Empty(t, f.requests())
		})
	}
}

func TestNewChecksConfig(t *testing.T) {
	for name, cfg := range map[string]billingapi.Config{
		"no url":           {Token: testToken},
		"no token":         {BaseURL: "https://billing.example.com"},
		"token with space": {BaseURL: "https://billing.example.com", Token: "bk test"},
		"ftp url":          {BaseURL: "ftp://billing.example.com", Token: testToken},
		"negative timeout": {BaseURL: "https://billing.example.com", Token: testToken, Timeout: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := billingapi.New(cfg)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "billingapi: "), err.Error())
		})
	}
	_, err := billingapi.New(billingapi.Config{BaseURL: "https://billing.example.com/v1", Token: testToken})
	assert.NoError(t, err)
}
