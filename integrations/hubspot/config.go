package hubspot

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvAccessToken = "HUBSPOT_ACCESS_TOKEN"
	EnvBaseURL     = "HUBSPOT_BASE_URL"
)

// Defaults New fills in for empty Config fields.
const (
	// DefaultBaseURL is HubSpot's API origin.
	DefaultBaseURL = "https://api.hubapi.com"
	// DefaultTimeout bounds one API call when Config.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// DefaultPropertyPrefix namespaces journeys' contact properties, so
	// "plan" from a journey can never overwrite a HubSpot property or one
	// another integration owns.
	DefaultPropertyPrefix = "journeys_"
)

// propertyPrefix is the start of a HubSpot property's internal name: a
// lowercase letter, then lowercase letters, digits and underscores.
var propertyPrefix = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Config is what the HubSpot CRM driver needs. ConfigFromEnv fills it from
// the environment variables named on each field.
type Config struct {
	// AccessToken is a private app's access token (or an OAuth access
	// token) with the crm.objects.contacts.read and
	// crm.objects.contacts.write scopes. HUBSPOT_ACCESS_TOKEN. It never
	// appears in errors or in Config's String form.
	AccessToken string
	// BaseURL is the API origin, such as http://127.0.0.1:8080 for a local
	// fake, optionally with a path prefix. Empty means DefaultBaseURL.
	// HUBSPOT_BASE_URL.
	BaseURL string
	// Timeout bounds each API call, connection to last byte; zero means
	// DefaultTimeout. An update with a note makes two calls.
	Timeout time.Duration
	// PropertyPrefix is put before every property name of a CRMUpdate:
	// "lifecycle_stage" is written to the contact property
	// "journeys_lifecycle_stage". Empty means DefaultPropertyPrefix.
	//
	// HubSpot refuses to write properties that do not exist, so every
	// prefixed property a journey sets (journeys_lifecycle_stage,
	// journeys_health_tier, journeys_plan, …) must be created in the
	// HubSpot account first, as single-line text or as an enumeration whose
	// options match the values journeys send.
	PropertyPrefix string
}

// String shows the configuration with the access token redacted, so a
// config that ends up in a log line does not leak the credential.
func (c Config) String() string {
	tok := ""
	if c.AccessToken != "" {
		tok = "[redacted]"
	}
	return fmt.Sprintf("{AccessToken:%s BaseURL:%s Timeout:%s PropertyPrefix:%s}",
		tok, c.BaseURL, c.Timeout, c.PropertyPrefix)
}

// ConfigFromEnv reads the driver's configuration through getenv (os.Getenv
// in production, a map in tests). Without HUBSPOT_ACCESS_TOKEN it returns
// ok=false and no error: the CRM then stays on the outbox driver. A token or
// base URL that is set but unusable is an error naming the variable, so a
// misconfigured deploy fails at start-up rather than at the first journey
// step. Values are trimmed of surrounding spaces; an empty HUBSPOT_BASE_URL
// means DefaultBaseURL.
func ConfigFromEnv(getenv func(string) string) (Config, bool, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	cfg := Config{AccessToken: get(EnvAccessToken), BaseURL: get(EnvBaseURL)}
	if cfg.AccessToken == "" {
		return Config{}, false, nil
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if err := cfg.validate(); err != nil {
		return Config{}, false, err
	}
	return cfg, true, nil
}

// withDefaults fills the empty fields New has defaults for.
func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PropertyPrefix == "" {
		c.PropertyPrefix = DefaultPropertyPrefix
	}
	return c
}

// validate checks c as New needs it, after withDefaults. Errors name the
// environment variable behind the field, since that is what an operator has
// to fix, and never quote a value: the token is secret and a URL may carry
// credentials.
func (c Config) validate() error {
	if !vendorhttp.ValidToken(c.AccessToken) {
		return fmt.Errorf("%s%s must be a non-empty access token of printable characters without spaces", errPrefix, EnvAccessToken)
	}
	if _, err := vendorhttp.ParseURL(c.BaseURL); err != nil {
		return fmt.Errorf("%s%s %w", errPrefix, EnvBaseURL, err)
	}
	if c.Timeout < 0 {
		return errors.New(errPrefix + "timeout must not be negative")
	}
	if c.PropertyPrefix != "" && !propertyPrefix.MatchString(c.PropertyPrefix) {
		// Property internal names are lowercase in HubSpot; a prefix that
		// cannot start one would make every update fail.
		return errors.New(errPrefix + "property prefix must start with a lowercase letter and hold only lowercase letters, digits and underscores")
	}
	return nil
}
