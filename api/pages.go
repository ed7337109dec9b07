package api

// The recipient's pages: the unsubscribe link's page (unsubscribe.go) and
// the preference page (preferences.go). They are server-rendered HTML that
// works without JavaScript; the token in the URL is the only credential.

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"html/template"
	"net/http"

	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
)

//go:embed pages/*.html
var pageFiles embed.FS

// pageTemplates holds one template per page, each the layout around the
// page's "content".
var pageTemplates = parsePages("message", "confirm", "unsubscribed", "resubscribed", "preferences")

func parsePages(names ...string) map[string]*template.Template {
	out := make(map[string]*template.Template, len(names))
	for _, name := range names {
		out[name] = template.Must(template.ParseFS(pageFiles, "pages/layout.html", "pages/"+name+".html"))
	}
	return out
}

// pageCSP allows the page's inline style and nothing else: no scripts, no
// images, forms only to this origin, no framing.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// view is what a page shows. Brand, Title and Heading are on every page.
type view struct {
	Brand, Title, Heading string
	// Message is the page's text; on a result page, its role="status" message.
	Message string
	// Kind names the email an unsubscribe link is about ("marketing email").
	Kind string
	// Action is the URL the page's forms post to (relative).
	Action string
	// PreferencesURL links to the preference page (relative); empty hides it.
	PreferencesURL string
	Toggles        []toggle
}

// toggle is one checkbox of the preference page.
type toggle struct {
	Name, Label, Hint string
	On                bool
}

// render writes page with v and status, with the headers every page
// carries: not cached, no referrer (the URL holds the token), no framing.
func (h *handler) render(w http.ResponseWriter, status int, page string, v view) {
	if v.Brand == "" {
		v.Brand = h.brand
	}
	var b bytes.Buffer
	if err := pageTemplates[page].ExecuteTemplate(&b, "layout", v); err != nil {
		h.log.Error("page failed to render", "page", page, "error", err)
		status, b = http.StatusInternalServerError, *bytes.NewBufferString("internal error\n")
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// message renders the plain message page.
func (h *handler) message(w http.ResponseWriter, status int, heading, text string) {
	h.render(w, status, "message", view{Title: heading, Heading: heading, Message: text})
}

// verifyLink returns the claims of the request's token for purpose, or
// answers 404 (no keys, or a token that does not verify) and false. The
// token is never logged: it is the recipient's credential.
func (h *handler) verifyLink(w http.ResponseWriter, r *http.Request, purpose string) (links.Claims, bool) {
	if h.linkKeys.Len() == 0 {
		h.countRejected(r, ReasonNotConfigured)
		h.message(w, http.StatusNotFound, "Not configured", "Unsubscribe and preference links are not configured: set "+links.EnvKeys+".")
		return links.Claims{}, false
	}
	c, err := h.linkKeys.VerifyPurpose(r.PathValue("token"), purpose)
	if err != nil {
		h.countRejected(r, ReasonBadRequest)
		h.log.Info("link refused", "route", r.Pattern, "reason", err)
		h.message(w, http.StatusNotFound, "This link is not valid", "This link is not valid. Please use the link from one of our most recent emails.")
		return links.Claims{}, false
	}
	return c, true
}

// sendConsentChange sends one consent change the recipient made on a
// page, under a fresh event ID (an undo must not be taken for a repeat of
// the unsubscribe) and the handler's clock to the nanosecond, so that two
// changes within one second keep their order.
func (h *handler) sendConsentChange(ctx context.Context, source, customerID string, d signals.ConsentChangedData) error {
	now := h.now()
	ev, err := signals.NewEvent(d.Source+"-"+rand.Text(), customerID, signals.ConsentChanged, now.UTC(), d)
	if err == nil {
		err = ev.Validate(now)
	}
	if err == nil {
		err = h.journeys.Send(ctx, ev)
	}
	if err != nil {
		return err
	}
	h.log.Info("consent change accepted", "event_id", ev.EventID, "customer_id", customerID, "channel", d.Channel, "class", d.Class, "status", d.Status, "source", d.Source)
	h.countReceived(source, ev.Type)
	return nil
}

// pageFail answers err from Journeys on a page: 404 for a customer without
// a journey, 503 with Retry-After when Temporal is down, else 500.
func (h *handler) pageFail(w http.ResponseWriter, r *http.Request, err error, customerID string) {
	switch {
	case errors.Is(err, sender.ErrUnknownCustomer):
		h.countRejected(r, ReasonUnknownCustomer)
		h.log.Info("unknown customer", "route", r.Pattern, "customer_id", customerID)
		h.message(w, http.StatusNotFound, "Nothing to unsubscribe from", "There is nothing to unsubscribe from: we no longer send you email from this list.")
	case errors.Is(err, sender.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		h.countRejected(r, ReasonUnavailable)
		h.log.Warn("temporal unavailable", "route", r.Pattern, "error", err)
		w.Header().Set("Retry-After", retryAfterSeconds)
		h.message(w, http.StatusServiceUnavailable, "Please try again", "We could not save or load your choice just now; nothing was changed. Please try again in a minute.")
	default:
		h.countRejected(r, ReasonInternal)
		h.log.Error("page request failed", "route", r.Pattern, "customer_id", customerID, "error", err)
		h.message(w, http.StatusInternalServerError, "Something went wrong", "Something went wrong; nothing was changed. Please try again later.")
	}
}

// readPageForm parses a page's POST body, urlencoded or multipart (RFC
// 8058 allows both), up to MaxWebhookBody; false means it answered 400.
func (h *handler) readPageForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxWebhookBody)
	if err := r.ParseMultipartForm(MaxWebhookBody); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		h.badForm(w, r, "body unreadable")
		return false
	}
	return true
}

// badForm answers a POST whose form is not one the pages send.
func (h *handler) badForm(w http.ResponseWriter, r *http.Request, reason string) {
	h.countRejected(r, ReasonBadRequest)
	h.log.Info("page form refused", "route", r.Pattern, "reason", reason)
	h.message(w, http.StatusBadRequest, "That did not work", "The form was not one this page sends; nothing was changed. Please open the link from your email again.")
}

// emailClass is the consent class of an email link's claims: lifecycle for
// a lifecycle link, marketing for any other.
func emailClass(c links.Claims) string {
	if c.Class == signals.ConsentClassLifecycle {
		return signals.ConsentClassLifecycle
	}
	return signals.ConsentClassMarketing
}

// preferencesLink signs a preference-page link for c's customer; "" when
// signing fails, which hides the link.
func (h *handler) preferencesLink(c links.Claims) string {
	c.Purpose, c.IssuedAt = links.PurposePreferences, h.now()
	token, err := h.linkKeys.Sign(c)
	if err != nil {
		h.log.Error("preference link not signed", "customer_id", c.CustomerID, "error", err)
		return ""
	}
	return links.PreferencesPath + token
}
