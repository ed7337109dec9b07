package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/erasure"
	"github.com/journeyshq/journeys/signals/sender"
)

// forgetter answers every erasure with rep and err and keeps the IDs it
// was asked to forget; the real erasure runs in the worker's end-to-end
// test (TestForgetEndToEnd).
type forgetter struct {
	rep    erasure.Report
	err    error
	forgot []string
}

func (f *forgetter) Forget(_ context.Context, id string) (erasure.Report, error) {
	f.forgot = append(f.forgot, id)
	rep := f.rep
	rep.CustomerID = id
	return rep, f.err
}

func deleteCustomer(t *testing.T, h http.Handler, path, token string) (*httptest.ResponseRecorder, errorResponse) {
	t.Helper()
	req := httptest.NewRequest(http.MethodDelete, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return serve(t, h, req)
}

func TestDeleteCustomerAnswersTheReport(t *testing.T) {
	f := &forgetter{rep: erasure.Report{Runs: 3, LedgerRows: 5, OutboxLines: 6, CRMContact: erasure.CRMArchived}}
	h := newHandler(t, untouchable{t}, api.Options{Tokens: []string{firstToken}, OperatorTokens: []string{firstOperator}, Forget: f})
	rec, _ := deleteCustomer(t, h, "/v1/customers/c-1", firstOperator)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var got erasure.Report
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, erasure.Report{CustomerID: "c-1", Runs: 3, LedgerRows: 5, OutboxLines: 6, CRMContact: erasure.CRMArchived}, got)
	assert.Equal(t, []string{"c-1"}, f.forgot)

	// Nothing left is still success, with zeros: a retry is not a failure.
	f.rep = erasure.Report{CRMContact: erasure.CRMNotFound}
	rec, _ = deleteCustomer(t, h, "/v1/customers/c-1", firstOperator)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"customer_id":"c-1","workflow_id":"","terminated":false,"runs":0,"ledger_rows":0,"outbox_lines":0,"crm_contact":"not_found"}`, rec.Body.String())
}

// Erasing takes an operator token, as reading does; no token, an events
// token or a bad ID erase nothing.
func TestDeleteCustomerTakesAnOperatorTokenAndAValidID(t *testing.T) {
	f := &forgetter{}
	h := newHandler(t, untouchable{t}, api.Options{Tokens: []string{firstToken}, OperatorTokens: []string{firstOperator}, Forget: f})
	rec, _ := deleteCustomer(t, h, "/v1/customers/c-1", "")
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	rec, e := deleteCustomer(t, h, "/v1/customers/c-1", firstToken)
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Contains(t, e.Error, api.EnvOperatorTokens)
	rec, e = deleteCustomer(t, h, "/v1/customers/c%20'1", firstOperator)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "customer_id", e.Field)
	assert.Empty(t, f.forgot)

	h = newHandler(t, untouchable{t}, api.Options{Tokens: []string{firstToken}, OperatorTokens: []string{firstOperator}})
	rec, e = deleteCustomer(t, h, "/v1/customers/c-1", firstOperator)
	assert.Equal(t, http.StatusNotImplemented, rec.Code)
	assert.Contains(t, e.Error, "not configured")
}

// A failed erasure is answered for a retry, naming the part it stopped at
// and nothing of the error's text, which may quote a vendor.
func TestDeleteCustomerFailuresAskForARetry(t *testing.T) {
	cases := map[string]struct {
		err  error
		code int
	}{
		"Temporal down":     {&erasure.PartError{Part: erasure.PartState, Err: fmt.Errorf("terminate: %w", sender.ErrUnavailable)}, http.StatusServiceUnavailable},
		"deletion too slow": {&erasure.PartError{Part: erasure.PartTemporal, Err: fmt.Errorf("%w: 1 run left", erasure.ErrIncomplete)}, http.StatusServiceUnavailable},
		"out of time":       {&erasure.PartError{Part: erasure.PartCRM, Err: context.DeadlineExceeded}, http.StatusServiceUnavailable},
		"CRM refused":       {&erasure.PartError{Part: erasure.PartCRM, Err: errors.New("hubspot: http 401 for ana@example.com")}, http.StatusInternalServerError},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHandler(t, untouchable{t}, api.Options{Forget: &forgetter{err: c.err}})
			rec, e := deleteCustomer(t, h, "/v1/customers/c-1", testToken)
			assert.Equal(t, c.code, rec.Code)
			var pe *erasure.PartError
			require.ErrorAs(t, c.err, &pe)
			assert.Contains(t, e.Error, "erasure incomplete at "+pe.Part)
			assert.NotContains(t, rec.Body.String(), "ana@example.com")
			if c.code == http.StatusServiceUnavailable {
				assert.NotEmpty(t, rec.Header().Get("Retry-After"))
			}
		})
	}
}
