package api

// The preference page (links.PreferencesPath): the recipient's own choice
// of marketing email, product-update (lifecycle) email and, when a phone is
// known, SMS. Saving sends one consent_changed per changed choice.

import (
	"context"
	"net/http"

	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// SourcePreferencesPage is the source tag of the preference page's requests.
const SourcePreferencesPage = "preferences"

// The preference page's checkbox names and its two buttons' actions.
const (
	prefMarketing        = "marketing"
	prefLifecycle        = "lifecycle"
	prefSMS              = "sms"
	actionSave           = "save"
	actionUnsubscribeAll = "unsubscribe_all"
)

// prefs is one state of the page's toggles; HasSMS says whether the SMS
// toggle is shown (a phone is known).
type prefs struct {
	Marketing, Lifecycle, SMS, HasSMS bool
	// held names, per toggle, what other than the recipient's own word
	// keeps it off (a STOP, a spam report, the app's setting), or "".
	held held
}

type held struct{ Marketing, Lifecycle, SMS string }

// currentPrefs reads the toggles from a journey's state.
func currentPrefs(st workflows.State) prefs {
	c, phone := st.Consent, st.Profile.Phone
	return prefs{
		Marketing: !c.EmailMarketingOptedOut,
		Lifecycle: !c.EmailLifecycleOptedOut,
		HasSMS:    phone != "",
		SMS:       phone != "" && st.Profile.SMSConsent && !c.SMSOptedOut,
		held: held{
			Marketing: heldBy(c.OptedOutBy(signals.ConsentEmail, signals.ConsentClassMarketing, phone)),
			Lifecycle: heldBy(c.OptedOutBy(signals.ConsentEmail, signals.ConsentClassLifecycle, phone)),
			SMS:       heldBy(c.OptedOutBy(signals.ConsentSMS, "", phone)),
		},
	}
}

// heldBy says in the recipient's words the first opt-out among sources
// that is not their own on these pages, which this page cannot lift.
func heldBy(sources []string) string {
	for _, s := range sources {
		switch s {
		case signals.SourcePreferences, signals.SourceOneClick:
		case signals.SourceTwilioInbound:
			return "a STOP you texted us: reply START to turn texts back on"
		case signals.SourceSendGrid:
			return "an unsubscribe or spam report at our email provider"
		default:
			return "a setting in your account"
		}
	}
	return ""
}

// keepHeld turns off, in want, every toggle something else holds off:
// the recipient's word is still sent, but it changes nothing yet.
func keepHeld(want prefs, h held) prefs {
	want.held = h
	want.Marketing = want.Marketing && h.Marketing == ""
	want.Lifecycle = want.Lifecycle && h.Lifecycle == ""
	want.SMS = want.SMS && h.SMS == ""
	return want
}

func (h *handler) preferencesPage(w http.ResponseWriter, r *http.Request) {
	c, ok := h.verifyLink(w, r, links.PurposePreferences)
	if !ok {
		return
	}
	cur, ok := h.loadPrefs(w, r, c.CustomerID)
	if !ok {
		return
	}
	h.renderPrefs(w, r, cur, "")
}

// savePreferences sends a consent change for each toggle that differs
// from the journey's state, then shows the saved choice: the journey
// applies the changes asynchronously, so its state may not show them yet.
func (h *handler) savePreferences(w http.ResponseWriter, r *http.Request) {
	c, ok := h.verifyLink(w, r, links.PurposePreferences)
	if !ok || !h.readPageForm(w, r) {
		return
	}
	cur, ok := h.loadPrefs(w, r, c.CustomerID)
	if !ok {
		return
	}
	want, reason := submittedPrefs(r, cur.HasSMS)
	if reason != "" {
		h.badForm(w, r, reason)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	for _, d := range prefChanges(cur, want) {
		if err := h.sendConsentChange(ctx, SourcePreferencesPage, c.CustomerID, d); err != nil {
			h.pageFail(w, r, err, c.CustomerID)
			return
		}
	}
	h.renderPrefs(w, r, keepHeld(want, cur.held), "Your preferences are saved.")
}

// loadPrefs reads the customer's toggles, or answers the failure and false.
func (h *handler) loadPrefs(w http.ResponseWriter, r *http.Request, customerID string) (prefs, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	st, err := h.journeys.State(ctx, customerID)
	if err != nil {
		h.pageFail(w, r, err, customerID)
		return prefs{}, false
	}
	return currentPrefs(st), true
}

// submittedPrefs reads the posted form: the checked boxes for Save, all
// off for "Unsubscribe from all marketing". reason says what is wrong with
// a form the page does not send.
func submittedPrefs(r *http.Request, hasSMS bool) (prefs, string) {
	form := r.PostForm
	for _, name := range []string{prefMarketing, prefLifecycle, prefSMS} {
		if v, ok := form[name]; ok && (len(v) != 1 || v[0] != "on") {
			return prefs{}, "bad checkbox value"
		}
	}
	switch form.Get(actionField) {
	case actionUnsubscribeAll:
		return prefs{HasSMS: hasSMS}, ""
	case actionSave:
		p := prefs{Marketing: form.Has(prefMarketing), Lifecycle: form.Has(prefLifecycle), HasSMS: hasSMS}
		p.SMS = hasSMS && form.Has(prefSMS) // no phone: no SMS choice to make
		return p, ""
	}
	return prefs{}, "no known action"
}

// prefChanges are the consent changes that turn cur into want.
func prefChanges(cur, want prefs) []signals.ConsentChangedData {
	var out []signals.ConsentChangedData
	add := func(was, is bool, channel, class string) {
		if was == is {
			return
		}
		status := signals.ConsentOptedOut
		if is {
			status = signals.ConsentOptedIn
		}
		out = append(out, signals.ConsentChangedData{Channel: channel, Status: status, Source: signals.SourcePreferences, Class: class})
	}
	add(cur.Marketing, want.Marketing, signals.ConsentEmail, signals.ConsentClassMarketing)
	add(cur.Lifecycle, want.Lifecycle, signals.ConsentEmail, signals.ConsentClassLifecycle)
	if want.HasSMS {
		add(cur.SMS, want.SMS, signals.ConsentSMS, "")
	}
	return out
}

// heldHint adds to a toggle's hint why it stays off, when something holds it.
func heldHint(hint, by string) string {
	if by == "" {
		return hint
	}
	return hint + " Off because of " + by + "; ticking it here does not change that."
}

// renderPrefs shows the form with p's toggles and status as its status message.
func (h *handler) renderPrefs(w http.ResponseWriter, r *http.Request, p prefs, status string) {
	toggles := []toggle{
		{Name: prefMarketing, Label: "Marketing email", Hint: heldHint("News, offers and announcements.", p.held.Marketing), On: p.Marketing},
		{Name: prefLifecycle, Label: "Product-update email", Hint: heldHint("Tips and updates about the product you use.", p.held.Lifecycle), On: p.Lifecycle},
	}
	if p.HasSMS {
		toggles = append(toggles, toggle{Name: prefSMS, Label: "Text messages (SMS)", Hint: heldHint("Texts to the phone number on your account.", p.held.SMS), On: p.SMS})
	}
	heading := "Email preferences"
	if h.brand != "" {
		heading = h.brand + " email preferences"
	}
	h.render(w, http.StatusOK, "preferences", view{Title: "Email preferences", Heading: heading, Message: status, Action: r.URL.Path, Toggles: toggles})
}
