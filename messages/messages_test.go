package messages_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/messages"
)

func sample() messages.Data {
	return messages.Data{
		CustomerID: "c-1", Name: "Ana Lima", FirstName: "Ana", Email: "ana@example.com", Plan: "pro", Seats: 5,
		Product: "Acme", AppURL: "https://app.example.com",
		MilestonesDone: []string{"first project"}, MilestonesLeft: []string{"invited teammate", "connected integration"},
		MilestonesTotal: 3, DaysSinceSignup: 7,
	}
}

// Every template renders every block with a sample profile, with no blank
// where a field should be.
func TestEveryTemplateRenders(t *testing.T) {
	for _, ch := range []messages.Channel{messages.ChannelEmail, messages.ChannelSMS, messages.ChannelAlert} {
		names := messages.Names(ch)
		require.NotEmpty(t, names, ch)
		for _, name := range names {
			t.Run(string(ch)+"/"+name, func(t *testing.T) {
				out, err := messages.Render(ch, name, sample())
				require.NoError(t, err)
				for block, text := range out {
					assert.NotEmpty(t, text, block)
					assert.NotContains(t, text, "<no value>", block)
				}
			})
		}
	}
}

func TestRenderPersonalizes(t *testing.T) {
	out, err := messages.Render(messages.ChannelEmail, "onboarding_nudge", sample())
	require.NoError(t, err)
	assert.Equal(t, "Ana, you're 2 steps from a working Acme setup", out["subject"])
	assert.Contains(t, out["text"], "You've done 1 of 3 setup steps")
	assert.Contains(t, out["text"], "  - invited teammate\n  - connected integration")

	sms, err := messages.Render(messages.ChannelSMS, "onboarding_nudge", sample())
	require.NoError(t, err)
	assert.LessOrEqual(t, len(sms["text"]), 160, "fits one SMS segment")
}

func TestUnknownTemplate(t *testing.T) {
	_, err := messages.Render(messages.ChannelEmail, "nope", sample())
	assert.True(t, errors.Is(err, messages.ErrNoTemplate))
	assert.False(t, messages.Exists(messages.ChannelSMS, "welcome"), "templates are per channel")
}

func TestEmailHTMLIsEscapedAndFollowsTheText(t *testing.T) {
	d := sample()
	d.FirstName = "<script>Ana</script>"
	out, err := messages.Render(messages.ChannelEmail, "onboarding_nudge", d)
	require.NoError(t, err)
	html := out["html"]
	assert.Contains(t, html, "<title>")
	assert.Contains(t, html, "&lt;script&gt;Ana&lt;/script&gt;", "profile fields are escaped")
	assert.NotContains(t, html, "<script>")
	assert.Contains(t, html, "<li>invited teammate</li><li>connected integration</li>", "a list in the text is a list in the HTML")
	assert.Contains(t, html, `<a href="https://app.example.com"`)

	sms, err := messages.Render(messages.ChannelSMS, "onboarding_nudge", sample())
	require.NoError(t, err)
	assert.NotContains(t, sms, "html", "only email has an HTML part")
}

func TestMaskAddress(t *testing.T) {
	for in, want := range map[string]string{
		"ana@example.com":  "a…@example.com",
		"élise@example.fr": "é…@example.fr",
		"@example.com":     "…@example.com",
		"+15551234567":     "+1…67",
		"+1234":            "+1234",
		"#csm-team":        "#csm-team",
		"c-1":              "c-1",
	} {
		if got := messages.MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
