package twilio

import (
	"errors"
	"fmt"
	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
	"regexp"
	"strings"
	"time"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvAccountSID          = "TWILIO_ACCOUNT_SID"
	EnvAuthToken           = "TWILIO_AUTH_TOKEN"
	EnvMessagingServiceSID = "TWILIO_MESSAGING_SERVICE_SID"
	EnvFromNumber          = "TWILIO_FROM_NUMBER"
	EnvStatusCallbackURL   = "TWILIO_STATUS_CALLBACK_URL"
	EnvBaseURL             = "TWILIO_BASE_URL"
)

// DefaultTimeout bounds one Messages API call when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

var (
	// e164 is the shape Twilio accepts for To and From: a plus, a non-zero
	// country code digit, and 7 to 15 digits in all.
	e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	// alphanumeric is what twilio-go accepts in credentials: it refuses
	// anything else at send time, so we refuse it at start-up instead.
	alphanumeric = regexp.MustCompile(`^[a-zA-Z0-9]+$`)
)

// Config is what the Twilio SMS driver needs. ConfigFromEnv fills it from
// the environment variables named on each field.
type Config struct {
	// AccountSID is the Twilio account SID (AC…), used as the Basic-auth
	// user and in the request path. TWILIO_ACCOUNT_SID.
	AccountSID string
	// AuthToken is the account's auth token. TWILIO_AUTH_TOKEN. It never
	// appears in errors or in Config's String form.
	AuthToken string
	// MessagingServiceSID (MG…) sends through a Messaging Service, which
	// picks the sender number. TWILIO_MESSAGING_SERVICE_SID. Exactly one of
	// MessagingServiceSID and FromNumber is set.
	MessagingServiceSID string
	// FromNumber is the E.164 sender number, such as +14155550100.
	// TWILIO_FROM_NUMBER.
	FromNumber string
	// StatusCallbackURL, when set, is an http(s) URL Twilio posts delivery
	// status changes to. TWILIO_STATUS_CALLBACK_URL.
	StatusCallbackURL string
	// BaseURL replaces Twilio's API origin, such as http://127.0.0.1:8080
	// for a local fake. Empty means the real API (and the SDK's own
	// TWILIO_EDGE/TWILIO_REGION routing). TWILIO_BASE_URL.
	BaseURL string
	// Timeout bounds each API call, connection to last byte; zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// String shows the configuration with the auth token redacted, so a config
// that ends up in a log line does not leak the credential.
func (c Config) String() string {
	token := ""
	if c.AuthToken != "" {
		token = "[redacted]"
	}
	return fmt.Sprintf("{AccountSID:%s AuthToken:%s MessagingServiceSID:%s FromNumber:%s StatusCallbackURL:%s BaseURL:%s Timeout:%s}",
		c.AccountSID, token, c.MessagingServiceSID, c.FromNumber, c.StatusCallbackURL, c.BaseURL, c.Timeout)
}

// ConfigFromEnv reads the driver's configuration through getenv (os.Getenv
// in production, a map in tests). With neither TWILIO_ACCOUNT_SID nor
// TWILIO_AUTH_TOKEN set it returns ok=false and no error: SMS then stays on
// the outbox driver. Anything set but unusable is an error naming the
// variable, so a half-configured deploy fails at start-up rather than at the
// first text. Values are trimmed of surrounding spaces.
func ConfigFromEnv(getenv func(string) string) (Config, bool, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	cfg := Config{
		AccountSID:          get(EnvAccountSID),
		AuthToken:           get(EnvAuthToken),
		MessagingServiceSID: get(EnvMessagingServiceSID),
		FromNumber:          get(EnvFromNumber),
		StatusCallbackURL:   get(EnvStatusCallbackURL),
		BaseURL:             get(EnvBaseURL),
	}
	switch {
	case cfg.AccountSID == "" && cfg.AuthToken == "":
		return Config{}, false, nil
	case cfg.AuthToken == "":
		return Config{}, false, fmt.Errorf("twilio: %s is set but %s is not", EnvAccountSID, EnvAuthToken)
	case cfg.AccountSID == "":
		return Config{}, false, fmt.Errorf("twilio: %s is set but %s is not", EnvAuthToken, EnvAccountSID)
	}
	if err := cfg.validate(); err != nil {
		return Config{}, false, err
	}
	return cfg, true, nil
}

// validate checks cfg as New needs it. Errors name the environment variable
// behind the field, since that is what an operator has to fix, and never
// quote a value (the token is secret, URLs may carry credentials).
func (c Config) validate() error {
	if !alphanumeric.MatchString(c.AccountSID) || !strings.HasPrefix(c.AccountSID, "AC") {
		return fmt.Errorf("twilio: %s must be the account SID, AC followed by letters and digits", EnvAccountSID)
	}
	if !alphanumeric.MatchString(c.AuthToken) {
		return fmt.Errorf("twilio: %s must be a non-empty alphanumeric auth token", EnvAuthToken)
	}
	switch {
	case c.MessagingServiceSID != "" && c.FromNumber != "":
		return fmt.Errorf("twilio: set only one of %s and %s", EnvMessagingServiceSID, EnvFromNumber)
	case c.MessagingServiceSID == "" && c.FromNumber == "":
		return fmt.Errorf("twilio: set one of %s and %s", EnvMessagingServiceSID, EnvFromNumber)
	case c.MessagingServiceSID != "" && (!alphanumeric.MatchString(c.MessagingServiceSID) || !strings.HasPrefix(c.MessagingServiceSID, "MG")):
		return fmt.Errorf("twilio: %s must be a messaging service SID, MG followed by letters and digits", EnvMessagingServiceSID)
	case c.FromNumber != "" && !e164.MatchString(c.FromNumber):
		return fmt.Errorf("twilio: %s must be an E.164 number such as +14155550100", EnvFromNumber)
	}
	if c.StatusCallbackURL != "" {
		if _, err := vendorhttp.ParseCallbackURL(c.StatusCallbackURL); err != nil {
			return fmt.Errorf("twilio: %s %w", EnvStatusCallbackURL, err)
		}
	}
	if c.BaseURL != "" {
		u, err := vendorhttp.ParseURL(c.BaseURL)
		if err != nil {
			return fmt.Errorf("twilio: %s %w", EnvBaseURL, err)
		}
		// The base URL only supplies scheme, host and a path prefix; the
		// SDK builds the rest of every request URL itself.
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("twilio: %s must not carry user info, a query or a fragment", EnvBaseURL)
		}
	}
	if c.Timeout < 0 {
		return errors.New("twilio: timeout must not be negative")
	}
	return nil
}
