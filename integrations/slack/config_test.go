package slack_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/slack"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnvWithoutTokenIsNotConfigured(t *testing.T) {
	cfg, ok, err := slack.ConfigFromEnv(env(map[string]string{
		slack.EnvFallbackChannel: "#csm-team", // set alone, still off
	}))
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, slack.Config{}, cfg)
}

func TestConfigFromEnvFillsDefaults(t *testing.T) {
	cfg, ok, err := slack.ConfigFromEnv(env(map[string]string{
		slack.EnvBotToken:        " xoxb-1-abc ",
		slack.EnvFallbackChannel: "#csm-team",
	}))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, slack.Config{
		BotToken:        "xoxb-1-abc",
		FallbackChannel: "#csm-team",
		APIURL:          "https://slack.com/api/",
		UIURL:           "http://127.0.0.1:8233",
		Namespace:       "default",
		Timeout:         10 * time.Second,
	}, cfg, "an empty signing secret is allowed: interactions are then refused")
}

func TestConfigFromEnvReadsEverything(t *testing.T) {
	cfg, ok, err := slack.ConfigFromEnv(env(map[string]string{
		slack.EnvBotToken:        "xoxb-1-abc",
		slack.EnvSigningSecret:   "s3cr3t",
		slack.EnvFallbackChannel: "C0123ABCD",
		slack.EnvAPIURL:          "http://127.0.0.1:9999/api",
		slack.EnvUIURL:           "https://temporal.example/",
		slack.EnvNamespace:       "journeys-prod",
	}))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, slack.Config{
		BotToken:        "xoxb-1-abc",
		SigningSecret:   "s3cr3t",
		FallbackChannel: "C0123ABCD",
		APIURL:          "http://127.0.0.1:9999/api/", // the SDK appends method names
		UIURL:           "https://temporal.example",
		Namespace:       "journeys-prod",
		Timeout:         10 * time.Second,
	}, cfg)
}

func TestConfigFromEnvErrorsNameTheVariable(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{
			slack.EnvBotToken:        "xoxb-1-abc",
			slack.EnvFallbackChannel: "#csm-team",
		}
	}
	for _, tc := range []struct {
		name, variable, value string
	}{
		{"no fallback channel", slack.EnvFallbackChannel, ""},
		{"fallback channel with spaces", slack.EnvFallbackChannel, "csm team"},
		{"not a bot token", slack.EnvBotToken, "https://hooks.slack.com/services/T/B/X"},
		{"API URL not http", slack.EnvAPIURL, "ftp://slack.example/api/"},
		{"API URL relative", slack.EnvAPIURL, "/api/"},
		{"UI URL not a URL", slack.EnvUIURL, "temporal-ui:8233"},
		{"namespace with a slash", slack.EnvNamespace, "a/b"},
		{"signing secret with spaces", slack.EnvSigningSecret, "two words"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			m[tc.variable] = tc.value
			_, ok, err := slack.ConfigFromEnv(env(m))
			require.Error(t, err)
			assert.False(t, ok)
			assert.Contains(t, err.Error(), tc.variable)
			assert.Regexp(t, `^slack: `, err.Error())
			if tc.variable == slack.EnvBotToken || tc.variable == slack.EnvSigningSecret {
				assert.NotContains(t, err.Error(), tc.value, "secrets are never quoted")
			}
		})
	}
}

func TestConfigStringRedactsSecrets(t *testing.T) {
	s := slack.Config{BotToken: "xoxb-1-abc", SigningSecret: "s3cr3t", FallbackChannel: "#csm-team"}.String()
	assert.NotContains(t, s, "xoxb-1-abc")
	assert.NotContains(t, s, "s3cr3t")
	assert.Contains(t, s, "[redacted]")
	assert.Contains(t, s, "#csm-team")
}

func TestNewValidates(t *testing.T) {
	_, err := slack.New(slack.Config{BotToken: "xoxb-1-abc"})
	assert.ErrorContains(t, err, slack.EnvFallbackChannel)

	_, err = slack.New(slack.Config{BotToken: "xoxb-1-abc", FallbackChannel: "#csm-team", Timeout: -time.Second})
	assert.Error(t, err)

	c, err := slack.New(slack.Config{BotToken: "xoxb-1-abc", FallbackChannel: "#csm-team"})
	require.NoError(t, err)
	assert.Equal(t, "https://slack.com/api/", c.Config().APIURL)
	assert.Equal(t, 10*time.Second, c.Config().Timeout)
	assert.Equal(t, "http://127.0.0.1:8233/namespaces/default/workflows/customer:c-42", c.JourneyURL("c-42"))
}
