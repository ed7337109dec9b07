package slack

import (
	"errors"
	"fmt"
	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
	"regexp"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvBotToken        = "SLACK_BOT_TOKEN"
	EnvSigningSecret   = "SLACK_SIGNING_SECRET"
	EnvFallbackChannel = "SLACK_FALLBACK_CHANNEL"
	EnvAPIURL          = "SLACK_API_URL"
	EnvUIURL           = "JOURNEYS_UI_URL"
	EnvNamespace       = "TEMPORAL_NAMESPACE"
)

// Defaults ConfigFromEnv and New fill in for empty fields.
const (
	// DefaultTimeout bounds one Web API call when Config.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// DefaultAPIURL is Slack's Web API.
	DefaultAPIURL = slackapi.APIURL
	// DefaultUIURL is where the local Temporal Web UI listens.
	DefaultUIURL = "http://127.0.0.1:8233"
	// DefaultNamespace is Temporal's default namespace.
	DefaultNamespace = "default"
)

var (
	// channelName is a channel name as Slack allows it (lowercase, digits,
	// hyphens, underscores, periods; at most 80), with or without its '#'.
	channelName = regexp.MustCompile(`^#?[a-z0-9][a-z0-9._-]{0,79}$`)
	// conversationID is a public or private channel, DM or user ID;
	// chat.postMessage takes any of them as its channel.
	conversationID = regexp.MustCompile(`^[CGDUW][A-Z0-9]{2,20}$`)
)

// Config is what the Slack alert driver and the interactivity endpoint need.
// ConfigFromEnv fills it from the environment variables named on each field.
type Config struct {
	// BotToken is the app's bot token (xoxb-…), with the chat:write scope,
	// and users:read.email for CSMs given by email. SLACK_BOT_TOKEN. It
	// never appears in errors or in Config's String form.
	BotToken string
	// SigningSecret verifies that interactivity requests come from Slack.
	// SLACK_SIGNING_SECRET. Empty refuses every interaction.
	SigningSecret string
	// FallbackChannel gets alerts whose CSM is unset or has no Slack
	// account: "#csm-team" or a channel ID. SLACK_FALLBACK_CHANNEL.
	FallbackChannel string
	// APIURL is the Web API base URL, ending in "/" (the SDK appends the
	// method name to it). Empty means DefaultAPIURL. SLACK_API_URL.
	APIURL string
	// UIURL is the Temporal Web UI's origin, for links to a journey.
	// Empty means DefaultUIURL. JOURNEYS_UI_URL.
	UIURL string
	// Namespace is the Temporal namespace the journeys run in, for those
	// links. Empty means DefaultNamespace. TEMPORAL_NAMESPACE.
	Namespace string
	// Timeout bounds each Web API call, connection to last byte; zero
	// means DefaultTimeout.
	Timeout time.Duration
}

// String shows the configuration with the token and the signing secret
// redacted, so a config that ends up in a log line leaks neither.
func (c Config) String() string {
	return fmt.Sprintf("{BotToken:%s SigningSecret:%s FallbackChannel:%s APIURL:%s UIURL:%s Namespace:%s Timeout:%s}",
		redacted(c.BotToken), redacted(c.SigningSecret), c.FallbackChannel, c.APIURL, c.UIURL, c.Namespace, c.Timeout)
}

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// ConfigFromEnv reads the driver's configuration through getenv (os.Getenv
// in production, a map in tests). Without SLACK_BOT_TOKEN it returns
// ok=false and no error: CSM alerts then stay on the outbox driver. With the
// token, anything missing or unusable is an error naming the variable, so a
// half-configured deploy fails at start-up rather than at the first alert.
// Values are trimmed of surrounding spaces; defaults are filled in.
func ConfigFromEnv(getenv func(string) string) (Config, bool, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	cfg := Config{
		BotToken:        get(EnvBotToken),
		SigningSecret:   get(EnvSigningSecret),
		FallbackChannel: get(EnvFallbackChannel),
		APIURL:          get(EnvAPIURL),
		UIURL:           get(EnvUIURL),
		Namespace:       get(EnvNamespace),
	}
	if cfg.BotToken == "" {
		return Config{}, false, nil
	}
	if cfg.FallbackChannel == "" {
		return Config{}, false, fmt.Errorf("slack: %s is set but %s is not: alerts without a reachable CSM need a channel", EnvBotToken, EnvFallbackChannel)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Config{}, false, err
	}
	return cfg, true, nil
}

// withDefaults fills empty fields and normalises the URLs: the SDK builds
// method URLs as APIURL+method, so a missing trailing slash would call
// "…/apichat.postMessage"; the UI URL gets paths appended, so it loses its.
func (c Config) withDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	if c.UIURL == "" {
		c.UIURL = DefaultUIURL
	}
	c.UIURL = strings.TrimRight(c.UIURL, "/")
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// validate checks a config that has its defaults. Errors name the variable
// behind the field, since that is what an operator has to fix, and never
// quote a secret.
func (c Config) validate() error {
	if c.BotToken == "" {
		return fmt.Errorf("slack: %s is empty", EnvBotToken)
	}
	// Slack tokens are xox<type>-…; anything else (a pasted signing
	// secret, a webhook URL) would fail every call with invalid_auth.
	if !strings.HasPrefix(c.BotToken, "xox") || strings.ContainsAny(c.BotToken, " \t\r\n") {
		return fmt.Errorf("slack: %s must be a Slack bot token (xoxb-…)", EnvBotToken)
	}
	if strings.ContainsAny(c.SigningSecret, " \t\r\n") {
		return fmt.Errorf("slack: %s must not contain spaces", EnvSigningSecret)
	}
	if !channelName.MatchString(c.FallbackChannel) && !conversationID.MatchString(c.FallbackChannel) {
		return fmt.Errorf("slack: %s must be a channel name such as #csm-team or a channel ID such as C0123ABCD", EnvFallbackChannel)
	}
	if _, err := vendorhttp.ParseURL(c.APIURL); err != nil {
		return fmt.Errorf("slack: %s %w", EnvAPIURL, err)
	}
	if _, err := vendorhttp.ParseURL(c.UIURL); err != nil {
		return fmt.Errorf("slack: %s %w", EnvUIURL, err)
	}
	if strings.ContainsAny(c.Namespace, "/?# \t") {
		return fmt.Errorf("slack: %s is not a valid namespace name", EnvNamespace)
	}
	if c.Timeout < 0 {
		return errors.New("slack: timeout must not be negative")
	}
	return nil
}
