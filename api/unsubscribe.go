package api

// The unsubscribe link of marketing email (links.UnsubscribePath), which
// the List-Unsubscribe header also names. A mailbox provider's one-click
// POST (RFC 8058) unsubscribes at once; a GET only asks, because link
// scanners open every link in a message.

import (
	"context"
	"net/http"

	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/signals"
)

// SourceUnsubscribe is the source tag of the unsubscribe link's requests.
const SourceUnsubscribe = "unsubscribe"

// The unsubscribe link's form fields: RFC 8058's one-click body, which the
// confirmation page's form sends too, and the undo button's.
const (
	oneClickField = "List-Unsubscribe"
	oneClickValue = "One-Click"
	actionField   = "action"
	actionUndo    = "undo"
)

// unsubscribePage asks whether to unsubscribe; it changes nothing.
func (h *handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	c, ok := h.verifyLink(w, r, links.PurposeUnsubscribe)
	if !ok {
		return
	}
	kind := linkKind(c)
	h.render(w, http.StatusOK, "confirm", view{
		Title: "Unsubscribe", Heading: "Unsubscribe from " + kind + "?", Kind: kind,
		Action: r.URL.Path, PreferencesURL: h.preferencesLink(c),
	})
}

// unsubscribe applies the one-click body or the page's undo button.
func (h *handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	c, ok := h.verifyLink(w, r, links.PurposeUnsubscribe)
	if !ok || !h.readPageForm(w, r) {
		return
	}
	status, page, heading := signals.ConsentOptedOut, "unsubscribed", "You are unsubscribed"
	switch {
	case r.PostForm.Get(oneClickField) == oneClickValue:
	case r.PostForm.Get(actionField) == actionUndo:
		status, page, heading = signals.ConsentOptedIn, "resubscribed", "You are subscribed again"
	default:
		h.badForm(w, r, "neither one-click nor undo")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	if err := h.sendConsentChange(ctx, SourceUnsubscribe, c.CustomerID, linkConsent(c, status)); err != nil {
		h.pageFail(w, r, err, c.CustomerID)
		return
	}
	kind, from := linkKind(c), "us"
	if h.brand != "" {
		from = h.brand
	}
	msg := "You will get no more " + kind + " from " + from + "."
	if status == signals.ConsentOptedIn {
		msg = "You will keep getting " + kind + " from " + from + "."
	}
	h.render(w, http.StatusOK, page, view{Title: heading, Heading: heading, Message: msg, Kind: kind, Action: r.URL.Path, PreferencesURL: h.preferencesLink(c)})
}

// linkConsent is the consent change status makes to what c's link is about.
func linkConsent(c links.Claims, status string) signals.ConsentChangedData {
	d := signals.ConsentChangedData{Channel: signals.ConsentEmail, Status: status, Source: signals.SourceOneClick, Class: emailClass(c)}
	if c.Channel == signals.ConsentSMS {
		d.Channel, d.Class = signals.ConsentSMS, ""
	}
	return d
}

// linkKind names what c's link unsubscribes from, for the pages.
func linkKind(c links.Claims) string {
	switch {
	case c.Channel == signals.ConsentSMS:
		return "text messages"
	case emailClass(c) == signals.ConsentClassLifecycle:
		return "product-update email"
	}
	return "marketing email"
}
