package hubspot_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/hubspot"
)

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestConfigFromEnvWithoutTokenStaysOnTheOutbox(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"nothing set":      {},
		"blank token":      {hubspot.EnvAccessToken: "  "},
		"only a base url":  {hubspot.EnvBaseURL: "https://api.hubapi.com"},
		"bad url no token": {hubspot.EnvBaseURL: "not a url"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, ok, err := hubspot.ConfigFromEnv(env(vars))
			require.NoError(t, err)
			assert.False(t, ok)
			assert.Equal(t, hubspot.Config{}, cfg)
		})
	}
}

func TestConfigFromEnvDefaultsTheBaseURL(t *testing.T) {
	cfg, ok, err := hubspot.ConfigFromEnv(env(map[string]string{hubspot.EnvAccessToken: " " + testToken + "\n"}))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, hubspot.Config{AccessToken: testToken, BaseURL: "https://api.hubapi.com"}, cfg)
}

func TestConfigFromEnvReadsTheBaseURL(t *testing.T) {
	cfg, ok, err := hubspot.ConfigFromEnv(env(map[string]string{
		hubspot.EnvAccessToken: testToken,
		hubspot.EnvBaseURL:     "http://127.0.0.1:8089",
	}))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "http://127.0.0.1:8089", cfg.BaseURL)
	_, err = hubspot.New(cfg)
	assert.NoError(t, err)
}

func TestConfigFromEnvErrorsNameTheVariable(t *testing.T) {
	for name, tc := range map[string]struct {
		vars    map[string]string
		varName string
	}{
		"ftp base url":      {map[string]string{hubspot.EnvAccessToken: testToken, hubspot.EnvBaseURL: "ftp://api.hubapi.com"}, hubspot.EnvBaseURL},
		"relative base url": {map[string]string{hubspot.EnvAccessToken: testToken, hubspot.EnvBaseURL: "api.hubapi.com"}, hubspot.EnvBaseURL},
		"base url with key": {map[string]string{hubspot.EnvAccessToken: testToken, hubspot.EnvBaseURL: "https://user:s3cret@api.hubapi.com"}, hubspot.EnvBaseURL},
		"base url query":    {map[string]string{hubspot.EnvAccessToken: testToken, hubspot.EnvBaseURL: "https://api.hubapi.com/?hapikey=s3cret"}, hubspot.EnvBaseURL},
		"token with space":  {map[string]string{hubspot.EnvAccessToken: "pat-na1 s3cret"}, hubspot.EnvAccessToken},
		"token with ctl":    {map[string]string{hubspot.EnvAccessToken: "pat-na1\x00s3cret"}, hubspot.EnvAccessToken},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, ok, err := hubspot.ConfigFromEnv(env(tc.vars))
			require.Error(t, err)
			assert.False(t, ok)
			assert.Equal(t, hubspot.Config{}, cfg)
			assert.Contains(t, err.Error(), tc.varName)
			assert.Regexp(t, `^hubspot: `, err.Error())
			assert.NotContains(t, err.Error(), "s3cret", "errors never quote values")
		})
	}
}

func TestConfigStringRedactsTheToken(t *testing.T) {
	cfg := hubspot.Config{AccessToken: testToken, BaseURL: hubspot.DefaultBaseURL}
	for _, s := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%v", cfg)} {
		assert.NotContains(t, s, testToken)
		assert.Contains(t, s, "[redacted]")
	}
}
