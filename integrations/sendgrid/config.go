package sendgrid

import (
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvAPIKey  = "SENDGRID_API_KEY"
	EnvFrom    = "SENDGRID_FROM"
	EnvReplyTo = "SENDGRID_REPLY_TO"
	EnvBaseURL = "SENDGRID_BASE_URL"
	// EnvUnsubscribeGroups maps message classes to the account's
	// unsubscribe groups: "marketing:123,lifecycle:456".
	EnvUnsubscribeGroups = "SENDGRID_UNSUBSCRIBE_GROUPS"
)

// Classes an unsubscribe group can be set for (the playbook's message
// classes; transactional email has none: nobody may opt out of it).
const (
	ClassMarketing = "marketing"
	ClassLifecycle = "lifecycle"
)

// Defaults ConfigFromEnv and New fill in for empty fields.
const (
	// DefaultBaseURL is SendGrid's global API host. Accounts pinned to EU
	// data residency use EUBaseURL instead.
	DefaultBaseURL = "https://api.sendgrid.com"
	// EUBaseURL is SendGrid's EU data-residency API host.
	EUBaseURL = "https://api.eu.sendgrid.com"
	// DefaultTimeout bounds one Mail Send call when Config.Timeout is zero.
	DefaultTimeout = 10 * time.Second
)

// Config is what the SendGrid email driver needs. ConfigFromEnv fills it
// from the environment variables named on each field.
type Config struct {
	// APIKey is a SendGrid API key with the Mail Send permission, sent as a
	// bearer token. SENDGRID_API_KEY. It never appears in errors or in
	// Config's String form.
	APIKey string
	// From is the sender address, which must be a verified sender or on an
	// authenticated domain in SendGrid. SENDGRID_FROM, which may also be
	// given as "Name <address>": ConfigFromEnv then splits it into From and
	// FromName.
	From string
	// FromName is the sender's display name; empty sends the bare address
	// (or the name in From, when From is "Name <address>").
	FromName string
	// ReplyTo, when set, is where replies go instead of From: a plain
	// address or "Name <address>". SENDGRID_REPLY_TO.
	ReplyTo string
	// BaseURL is the API origin, such as EUBaseURL or http://127.0.0.1:8080
	// for a local fake; "/v3/mail/send" is appended to it. Empty means
	// DefaultBaseURL. SENDGRID_BASE_URL.
	BaseURL string
	// Timeout bounds each API call, connection to last byte; zero means
	// DefaultTimeout. The SDK's own HTTP client has no timeout at all, so a
	// stalled connection would otherwise hold an activity until Temporal's
	// start-to-close timeout.
	Timeout time.Duration
	// UnsubscribeGroups are the SendGrid unsubscribe groups (asm.group_id)
	// of marketing and lifecycle email; zero sends without one.
	// SENDGRID_UNSUBSCRIBE_GROUPS.
	UnsubscribeGroups Groups
}

// Groups are unsubscribe group IDs by message class; 0 is none.
type Groups struct {
	Marketing int
	Lifecycle int
}

// Of is the group of class, 0 for none.
func (g Groups) Of(class string) int {
	switch class {
	case ClassMarketing:
		return g.Marketing
	case ClassLifecycle:
		return g.Lifecycle
	}
	return 0
}

// ParseGroups parses SENDGRID_UNSUBSCRIBE_GROUPS: comma-separated
// "class:groupID" entries for the classes marketing and lifecycle.
func ParseGroups(s string) (Groups, error) {
	var g Groups
	for _, entry := range strings.Split(s, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		class, idText, _ := strings.Cut(entry, ":")
		class = strings.TrimSpace(class)
		id, err := strconv.Atoi(strings.TrimSpace(idText))
		if err != nil || id <= 0 {
			return Groups{}, fmt.Errorf("sendgrid: %s entry %q: want class:groupID with a positive group ID", EnvUnsubscribeGroups, strings.TrimSpace(entry))
		}
		switch class {
		case ClassMarketing:
			g.Marketing = id
		case ClassLifecycle:
			g.Lifecycle = id
		default:
			return Groups{}, fmt.Errorf("sendgrid: %s entry %q: class must be %s or %s", EnvUnsubscribeGroups, strings.TrimSpace(entry), ClassMarketing, ClassLifecycle)
		}
	}
	if g.Marketing != 0 && g.Marketing == g.Lifecycle {
		return Groups{}, fmt.Errorf("sendgrid: %s: marketing and lifecycle need different groups", EnvUnsubscribeGroups)
	}
	return g, nil
}

// String shows the configuration with the API key redacted, so a config that
// ends up in a log line does not leak the credential.
func (c Config) String() string {
	key := ""
	if c.APIKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("{APIKey:%s From:%s FromName:%s ReplyTo:%s BaseURL:%s Timeout:%s UnsubscribeGroups:%+v}",
		key, c.From, c.FromName, c.ReplyTo, c.BaseURL, c.Timeout, c.UnsubscribeGroups)
}

// ConfigFromEnv reads the driver's configuration through getenv (os.Getenv
// in production, a map in tests). Without SENDGRID_API_KEY it returns
// ok=false and no error: email then stays on the outbox driver. With the
// key, anything missing or unusable is an error naming the variable, so a
// half-configured deploy fails at start-up rather than at the first email.
// Values are trimmed of surrounding spaces; defaults are filled in.
func ConfigFromEnv(getenv func(string) string) (Config, bool, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	key := get(EnvAPIKey)
	if key == "" {
		return Config{}, false, nil
	}
	from := get(EnvFrom)
	if from == "" {
		return Config{}, false, fmt.Errorf("sendgrid: %s is set but %s is not: every email needs a verified sender", EnvAPIKey, EnvFrom)
	}
	addr, err := parseAddress(from)
	if err != nil {
		return Config{}, false, fmt.Errorf("sendgrid: %s %w", EnvFrom, err)
	}
	groups, err := ParseGroups(get(EnvUnsubscribeGroups))
	if err != nil {
		return Config{}, false, err
	}
	cfg := Config{
		APIKey:            key,
		From:              addr.Address,
		FromName:          addr.Name,
		ReplyTo:           get(EnvReplyTo),
		BaseURL:           get(EnvBaseURL),
		UnsubscribeGroups: groups,
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Config{}, false, err
	}
	return cfg, true, nil
}

// withDefaults fills empty fields. The base URL loses any trailing slash
// because the SDK appends "/v3/mail/send" to it as a string.
func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// validate checks a config that has its defaults. Errors name the variable
// behind the field, since that is what an operator has to fix, and never
// quote the key.
func (c Config) validate() error {
	if c.APIKey == "" {
		return fmt.Errorf("sendgrid: %s is empty", EnvAPIKey)
	}
	// The key goes into a header; whitespace means a paste went wrong, and
	// Go's HTTP client would refuse a control character at every send.
	if strings.ContainsFunc(c.APIKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("sendgrid: %s must not contain spaces or control characters", EnvAPIKey)
	}
	if c.From == "" {
		return fmt.Errorf("sendgrid: %s is empty", EnvFrom)
	}
	if _, err := parseAddress(c.From); err != nil {
		return fmt.Errorf("sendgrid: %s %w", EnvFrom, err)
	}
	if c.ReplyTo != "" {
		if _, err := parseAddress(c.ReplyTo); err != nil {
			return fmt.Errorf("sendgrid: %s %w", EnvReplyTo, err)
		}
	}
	if _, err := vendorhttp.ParseURL(c.BaseURL); err != nil {
		return fmt.Errorf("sendgrid: %s %w", EnvBaseURL, err)
	}
	if c.Timeout < 0 {
		return errors.New("sendgrid: timeout must not be negative")
	}
	return nil
}

// parseAddress parses "address" or "Name <address>". Its errors complete a
// sentence that starts with the variable name.
func parseAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, errors.New(`must be an email address or "Name <address>"`)
	}
	return a, nil
}
