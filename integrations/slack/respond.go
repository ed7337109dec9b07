package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
)

// slackHooksHost is where Slack's response_url values point.
const slackHooksHost = "hooks.slack.com"

// Reply tells the CSM who clicked an alert's button what became of it, with
// an ephemeral message through the interaction's response_url: Slack shows
// nothing for the click otherwise. The URL must be Slack's (or, for tests,
// on the configured API host), so a forged payload cannot make the worker
// post elsewhere.
func (c *Client) Reply(ctx context.Context, responseURL, text string) error {
	u, err := vendorhttp.ParseCallbackURL(responseURL)
	if err != nil {
		return fmt.Errorf("%sresponse_url %w", errPrefix, err)
	}
	api, _ := url.Parse(c.cfg.APIURL)
	if !(u.Scheme == "https" && u.Host == slackHooksHost) && (api == nil || u.Host != api.Host) {
		return fmt.Errorf("%sresponse_url is not on %s", errPrefix, slackHooksHost)
	}
	body, err := json.Marshal(map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text})
	if err != nil {
		return fmt.Errorf("%sencode reply: %w", errPrefix, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%sreply: %w", errPrefix, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%sreply: %w", errPrefix, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%sreply: http %d", errPrefix, resp.StatusCode)
	}
	return nil
}
