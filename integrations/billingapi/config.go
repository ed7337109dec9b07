package billingapi

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvURL   = "BILLING_API_URL"
	EnvToken = "BILLING_API_TOKEN"
)

// DefaultTimeout bounds one API call when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config is what the billing API driver needs. ConfigFromEnv fills it from
// the environment variables named on each field.
type Config struct {
	// BaseURL is the billing API's base URL, such as
	// https://billing.internal.example.com/v1; the account paths are
	// appended to it. BILLING_API_URL.
	BaseURL string
	// Token is the API's bearer token. BILLING_API_TOKEN. It never appears
	// in errors or in Config's String form.
	Token string
	// Timeout bounds each API call, connection to last byte; zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// String shows the configuration with the token redacted, so a config that
// ends up in a log line does not leak the credential.
func (c Config) String() string {
	tok := ""
	if c.Token != "" {
		tok = "[redacted]"
	}
	return fmt.Sprintf("{BaseURL:%s Token:%s Timeout:%s}", c.BaseURL, tok, c.Timeout)
}

// ConfigFromEnv reads the driver's configuration through getenv (os.Getenv
// in production, a map in tests). Without BILLING_API_URL it returns ok=false
// and no error: billing then stays on the outbox driver. With it, the URL
// must be usable and BILLING_API_TOKEN set; otherwise the error names the
// variable, so a misconfigured deploy fails at start-up rather than at the
// first suspension. Values are trimmed of surrounding spaces.
func ConfigFromEnv(getenv func(string) string) (Config, bool, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	cfg := Config{BaseURL: get(EnvURL), Token: get(EnvToken)}
	if cfg.BaseURL == "" {
		return Config{}, false, nil
	}
	if cfg.Token == "" {
		return Config{}, false, fmt.Errorf("%s%s is required when %s is set", errPrefix, EnvToken, EnvURL)
	}
	if err := cfg.validate(); err != nil {
		return Config{}, false, err
	}
	return cfg, true, nil
}

// withDefaults fills the empty fields New has defaults for.
func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// validate checks c as New needs it. Errors name the environment variable
// behind the field, since that is what an operator has to fix, and never
// quote a value: the token is secret and a URL may carry credentials.
func (c Config) validate() error {
	if _, err := vendorhttp.ParseURL(c.BaseURL); err != nil {
		return fmt.Errorf("%s%s %w", errPrefix, EnvURL, err)
	}
	if !vendorhttp.ValidToken(c.Token) {
		return fmt.Errorf("%s%s must be a non-empty token of printable characters without spaces", errPrefix, EnvToken)
	}
	if c.Timeout < 0 {
		return errors.New(errPrefix + "timeout must not be negative")
	}
	return nil
}
