package workflows_test

import (
	"time"

	"github.com/journeyshq/journeys/signals"
)

func paymentFailed(invoice string) signals.PaymentFailedData {
	return signals.PaymentFailedData{InvoiceID: invoice, Amount: 49900, Currency: "USD", Attempt: 1, Reason: "card_declined", UpdateURL: "https://billing.example.com/update"}
}

func paid(invoice string) signals.PaymentSucceededData {
	return signals.PaymentSucceededData{InvoiceID: invoice, Amount: 49900, Currency: "USD"}
}

func snapshot(keyActions, seatsUsed int) signals.UsageSnapshotData {
	return signals.UsageSnapshotData{ActiveUsers: 4, KeyActions: keyActions, SeatsUsed: seatsUsed}
}

func nps(score int, comment string) signals.NPSResponseData {
	return signals.NPSResponseData{Score: &score, Comment: comment}
}

func renewal(at time.Time) signals.RenewalScheduledData {
	return signals.RenewalScheduledData{RenewsAt: at, Amount: 598800, Currency: "USD"}
}

// activate sends the three activation milestones at offset d.
func (h *harness) activate(d time.Duration) {
	for _, m := range []string{"first_project", "invited_teammate", "connected_integration"} {
		h.event(d, "e-"+m, signals.MilestoneReached, milestone(m))
	}
}

// logins sends a login every day from offset from until to.
func (h *harness) logins(from, to time.Duration) {
	for d := from; d < to; d += day {
		h.event(d, "e-login-"+d.String(), signals.Login, signals.LoginData{})
	}
}
