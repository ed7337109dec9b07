package billingapi_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/billingapi"
)

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestConfigFromEnvWithoutURLStaysOnTheOutbox(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"nothing set": {},
		"blank url":   {billingapi.EnvURL: "  ", billingapi.EnvToken: testToken},
		"only token":  {billingapi.EnvToken: testToken},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, ok, err := billingapi.ConfigFromEnv(env(vars))
			require.NoError(t, err)
			assert.False(t, ok)
			assert.Equal(t, billingapi.Config{}, cfg)
		})
	}
}

func TestConfigFromEnvReadsURLAndToken(t *testing.T) {
	cfg, ok, err := billingapi.ConfigFromEnv(env(map[string]string{
		billingapi.EnvURL:   " https://billing.internal.example.com/v1\n",
		billingapi.EnvToken: " " + testToken + " ",
	}))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, billingapi.Config{BaseURL: "https://billing.internal.example.com/v1", Token: testToken}, cfg)
	_, err = billingapi.New(cfg)
	assert.NoError(t, err)
}

func TestConfigFromEnvErrorsNameTheVariable(t *testing.T) {
	for name, tc := range map[string]struct {
		vars    map[string]string
		varName string
	}{
		"url without token": {map[string]string{billingapi.EnvURL: "https://billing.example.com"}, billingapi.EnvToken},
		"url, blank token":  {map[string]string{billingapi.EnvURL: "https://billing.example.com", billingapi.EnvToken: " \t"}, billingapi.EnvToken},
		"token with space":  {map[string]string{billingapi.EnvURL: "https://billing.example.com", billingapi.EnvToken: "bk s3cret"}, billingapi.EnvToken},
		"token with ctl":    {map[string]string{billingapi.EnvURL: "https://billing.example.com", billingapi.EnvToken: "bk\x00s3cret"}, billingapi.EnvToken},
		"ftp url":           {map[string]string{billingapi.EnvURL: "ftp://billing.example.com", billingapi.EnvToken: testToken}, billingapi.EnvURL},
		"relative url":      {map[string]string{billingapi.EnvURL: "billing.example.com/v1", billingapi.EnvToken: testToken}, billingapi.EnvURL},
		"url with password": {map[string]string{billingapi.EnvURL: "https://svc:s3cret@billing.example.com", billingapi.EnvToken: testToken}, billingapi.EnvURL},
		"url with query":    {map[string]string{billingapi.EnvURL: "https://billing.example.com/?key=s3cret", billingapi.EnvToken: testToken}, billingapi.EnvURL},
		"not a url":         {map[string]string{billingapi.EnvURL: "https://billing example com/%zz", billingapi.EnvToken: testToken}, billingapi.EnvURL},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, ok, err := billingapi.ConfigFromEnv(env(tc.vars))
			require.Error(t, err)
			assert.False(t, ok)
			assert.Equal(t, billingapi.Config{}, cfg)
			assert.Contains(t, err.Error(), tc.varName)
			assert.Regexp(t, `^billingapi: `, err.Error())
			assert.NotContains(t, err.Error(), "s3cret", "errors never quote values")
		})
	}
}

func TestConfigFromEnvMissingTokenSaysWhy(t *testing.T) {
	_, _, err := billingapi.ConfigFromEnv(env(map[string]string{billingapi.EnvURL: "https://billing.example.com"}))
	assert.EqualError(t, err, "billingapi: BILLING_API_TOKEN is required when BILLING_API_URL is set")
}

func TestConfigStringRedactsTheToken(t *testing.T) {
	cfg := billingapi.Config{BaseURL: "https://billing.example.com", Token: testToken}
	for _, s := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg)} {
		assert.NotContains(t, s, testToken)
		assert.Contains(t, s, "[redacted]")
		assert.Contains(t, s, "https://billing.example.com")
	}
}
