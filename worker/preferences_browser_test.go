package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/internal/browsertest"
	"github.com/journeyshq/journeys/messages"
)

// prefsPlaybook sends two marketing emails, 3 and 24 seconds after signup:
// time enough to change the preferences between them.
const prefsPlaybook = `name: prefs
product: Acme
day_length: 3s
postal_address: "Example Inc., 548 Market St, San Francisco, CA 94104"
onboarding:
  milestones: [first_project]
  welcome_email: welcome
  activated_email: activated
  steps:
    - {name: first_nudge, day: 1, email: onboarding_nudge, class: marketing}
    - {name: second_nudge, day: 8, email: onboarding_nudge, class: marketing}
  ends_after_days: 30
delivery:
  caps: {}
`

var preferenceLink = regexp.MustCompile(`https?://[^\s"<>]+/preferences/[A-Za-z0-9_-]+`)

// From a real marketing email's link, in a real browser: untick marketing
// email, save, and the journey opts out; its next marketing email is not
// sent.
func TestPreferencePageFromAnEmailEndToEnd(t *testing.T) {
	dir := t.TempDir()
	pbFile := filepath.Join(dir, "playbook.yaml")
	require.NoError(t, os.WriteFile(pbFile, []byte(prefsPlaybook), 0o600))
	cfg := config{
		Dev: true, PlaybookPath: pbFile, DataDir: dir, HTTPAddr: freeAddr(t), TemporalAddr: freeAddr(t),
		Namespace: "default", UIAddr: "off", Getenv: func(string) string { return "" },
	}
	startWorker(t, cfg)
	base, box := "http://"+cfg.HTTPAddr, filepath.Join(dir, "outbox.jsonl")
	code, body := post(t, base, `{"event_id":"su-1","customer_id":"c-1","type":"signed_up","data":{"name":"Ana Lima","email":"ana@example.com","timezone":"America/New_York"}}`)
	require.Equal(t, 202, code, body)

	nudge := waitForOutbox(t, box, "onboarding.first_nudge", "email")
	assert.Equal(t, messages.OneClick, nudge.Headers[messages.HeaderListUnsubscribePost])
	assert.Contains(t, nudge.Headers[messages.HeaderListUnsubscribe], base+"/u/")
	link := preferenceLink.FindString(nudge.Body)
	require.NotEmpty(t, link, "the marketing email links to the preference page:\n%s", nudge.Body)

	ctx := browsertest.Start(t)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`//h1[contains(., "Acme")]`),
		chromedp.Click(chromedp.CSS("#marketing")),
		chromedp.Click(`//button[contains(., "Save preferences")]`),
		chromedp.WaitVisible(`//p[@role="status" and contains(., "Your preferences are saved")]`),
	))
	browsertest.Screenshot(t, ctx, "preferences-saved")

	require.Eventually(t, func() bool { return getState(t, base, "c-1").Consent.EmailMarketingOptedOut },
		10*time.Second, 100*time.Millisecond, "the journey heard the preference page")
	require.Eventually(t, func() bool {
		return stateHas(getState(t, base, "c-1"), "onboarding.second_nudge: onboarding_nudge email not sent")
	}, 40*time.Second, 200*time.Millisecond, "the next marketing email is due and suppressed")
	records, err := outbox.ReadFile(box)
	require.NoError(t, err)
	assert.Equal(t, 1, count(records, "onboarding.first_nudge"))
	assert.Zero(t, count(records, "onboarding.second_nudge"), "no marketing email after the opt-out")
}
