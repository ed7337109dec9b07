package api

// This file serves DELETE /v1/customers/{id}, a customer's erasure;
// api.go serves the other routes.

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/journeyshq/journeys/erasure"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
)

// Forgetter erases a customer; *erasure.Eraser is the implementation.
type Forgetter interface {
	Forget(ctx context.Context, customerID string) (erasure.Report, error)
}

// forgetTimeout bounds an erasure: it waits for Temporal's asynchronous
// deletion, up to erasure.DefaultDeleteWait. The route moves its write
// deadline past it, beyond the HTTP server's 30-second write timeout.
const forgetTimeout = 90 * time.Second

// deleteCustomer erases a customer and answers 200 with the
// erasure.Report, also when nothing was left to erase (all zeros): the
// erasure is idempotent, and a retry after a lost answer must not look
// like a failure. Any failure is retryable: the parts done stay done.
func (h *handler) deleteCustomer(w http.ResponseWriter, r *http.Request) {
	if h.forget == nil {
		h.countRejected(r, ReasonNotConfigured)
		writeJSON(w, http.StatusNotImplemented, errorBody{Error: "erasure is not configured in this process"})
		return
	}
	id := r.PathValue("id")
	if err := signals.ValidateCustomerID(id); err != nil {
		h.fail(w, r, err, "", "")
		return
	}
	// An httptest recorder cannot move deadlines; the server can.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(forgetTimeout + 5*time.Second))
	ctx, cancel := context.WithTimeout(r.Context(), forgetTimeout)
	defer cancel()
	rep, err := h.forget.Forget(ctx, id)
	if err != nil {
		h.forgetFailed(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// forgetFailed answers an erasure that stopped at a part: 503 with
// Retry-After when Temporal or the erasure's time ran out, 500 otherwise;
// the body names the part, never the customer's data.
func (h *handler) forgetFailed(w http.ResponseWriter, r *http.Request, id string, err error) {
	var field *signals.FieldError
	if errors.As(err, &field) {
		h.fail(w, r, err, id, "")
		return
	}
	part := "unknown"
	var pe *erasure.PartError
	if errors.As(err, &pe) {
		part = pe.Part
	}
	msg := "erasure incomplete at " + part + ": call again; the parts done stay done"
	if errors.Is(err, sender.ErrUnavailable) || errors.Is(err, erasure.ErrIncomplete) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		h.countRejected(r, ReasonUnavailable)
		h.log.Warn("erasure incomplete", "customer_id", id, "part", part, "error", err)
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: msg})
		return
	}
	h.countRejected(r, ReasonInternal)
	h.log.Error("erasure failed", "customer_id", id, "part", part, "error", err)
	writeJSON(w, http.StatusInternalServerError, errorBody{Error: msg})
}
