package api_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/internal/browsertest"
	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/signals"
)

// heading waits for the page whose h1 contains text.
func heading(text string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(`//h1[contains(., "` + text + `")]`)
}

// isChecked reads whether the checkbox with id is ticked.
func isChecked(t *testing.T, ctx context.Context, id string) bool {
	t.Helper()
	on, err := chromedp.Run(ctx, chromedp.JavascriptAttribute[bool](chromedp.CSS("#"+id), "checked"))
	require.NoError(t, err)
	return on
}

// openInBrowser serves the pages for j and opens path with a token
// signed for purpose in a fresh headless Chromium.
func openInBrowser(t *testing.T, j api.Journeys, path, purpose string) context.Context {
	t.Helper()
	keys := testLinkKeys(t, "k1", 1)
	srv := httptest.NewServer(newPageHandler(t, j, keys, nil))
	t.Cleanup(srv.Close)
	ctx := browsertest.Start(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+path+signLink(t, keys, purpose, "marketing"))))
	return ctx
}

// In a real browser, without JavaScript of the page's own: untick marketing
// with the keyboard, save, and see the saved choice.
func TestPreferencePageInABrowser(t *testing.T) {
	j := &pageJourneys{state: subscribedState()}
	ctx := openInBrowser(t, j, links.PreferencesPath, links.PurposePreferences)
	require.NoError(t, chromedp.Do(ctx,
		heading("Acme email preferences"),
		chromedp.Focus(chromedp.CSS("#marketing")),
		chromedp.KeyEvent(" "),
	))
	assert.False(t, isChecked(t, ctx, "marketing"), "space unticks the focused checkbox")
	outline, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle`))
	require.NoError(t, err)
	assert.Equal(t, "solid", outline, "the focused control shows its focus")
	browsertest.Screenshot(t, ctx, "preferences-before-save")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.KeyEvent(kb.Tab), // to product updates
		chromedp.KeyEvent(kb.Tab), // to SMS
		chromedp.KeyEvent(kb.Tab), // to Save
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(`//p[@role="status" and contains(., "Your preferences are saved")]`),
	))
	browsertest.Screenshot(t, ctx, "preferences-saved")
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[role="status"]`)))
	require.NoError(t, err)
	assert.Equal(t, "Your preferences are saved.", status)
	assert.False(t, isChecked(t, ctx, "marketing"))
	assert.True(t, isChecked(t, ctx, "lifecycle"))
	evs := j.sent()
	require.Len(t, evs, 1)
	assert.Equal(t, signals.ConsentChangedData{Channel: "email", Status: "opted_out", Source: signals.SourcePreferences, Class: "marketing"}, pageConsent(t, evs[0]))
}

// The unsubscribe link in a browser: the page asks, the button
// unsubscribes, and Undo takes it back.
func TestUnsubscribeLinkInABrowser(t *testing.T) {
	rec := &recorder{}
	ctx := openInBrowser(t, rec, links.UnsubscribePath, links.PurposeUnsubscribe)
	require.NoError(t, chromedp.Do(ctx, heading("Unsubscribe from marketing email?")))
	assert.Empty(t, rec.sent(), "opening the link changes nothing")
	browsertest.Screenshot(t, ctx, "unsubscribe-confirm")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`//button[contains(., "Unsubscribe")]`),
		heading("You are unsubscribed"),
	))
	browsertest.Screenshot(t, ctx, "unsubscribed")
	require.Len(t, rec.sent(), 1)
	assert.Equal(t, "opted_out", pageConsent(t, rec.sent()[0]).Status)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`//button[contains(., "Undo")]`),
		heading("You are subscribed again"),
		chromedp.WaitVisible(`//a[contains(., "Manage your email preferences")]`),
	))
	evs := rec.sent()
	require.Len(t, evs, 2)
	assert.Equal(t, signals.ConsentChangedData{Channel: "email", Status: "opted_in", Source: signals.SourceOneClick, Class: "marketing"}, pageConsent(t, evs[1]))
}
