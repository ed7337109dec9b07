// Command worker runs journeys: the Temporal worker for CustomerJourney and
// its activities, and the events HTTP API. With --dev it also runs, in the
// same process, a Temporal server on a SQLite file and the Temporal Web UI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/journeyshq/journeys/workflows"
)

const usage = `Usage: worker [flags]

Runs the journeys worker (task queue "journeys") and the events HTTP API.

  go run ./worker --dev                                  everything on one machine, no accounts
  go run ./worker --dev --playbook playbooks/demo.yaml   the same with a 10-second journey day
  go run ./worker                                        against an existing Temporal
  go run ./worker --role worker | --role api             one part only, to scale each apart

Flags (each can also be set by the environment variable in brackets):
`

const envHelp = `
Channels, each configured only by the environment (see docs/configuration.md):
  email  SendGrid with SENDGRID_API_KEY, SENDGRID_FROM [SENDGRID_REPLY_TO, SENDGRID_BASE_URL,
         SENDGRID_UNSUBSCRIBE_GROUPS (marketing:ID,lifecycle:ID)]
  sms    Twilio with TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_MESSAGING_SERVICE_SID
         or TWILIO_FROM_NUMBER [TWILIO_STATUS_CALLBACK_URL, TWILIO_BASE_URL]
  alert  Slack with SLACK_BOT_TOKEN, SLACK_FALLBACK_CHANNEL [SLACK_SIGNING_SECRET,
         SLACK_API_URL, JOURNEYS_UI_URL]
  crm    HubSpot with HUBSPOT_ACCESS_TOKEN [HUBSPOT_BASE_URL]
  billing  your billing API with BILLING_API_URL, BILLING_API_TOKEN (account suspend/restore)
A channel without credentials uses the outbox: one line per message on stdout
and one JSON line in <data-dir>/outbox.jsonl (owner-only). Without --dev the
worker starts only if JOURNEYS_OUTBOX_CHANNELS lists each such channel
(comma-separated, such as email,sms,alert,crm,billing, or all).
Send ledger: PostgreSQL at JOURNEYS_DATABASE_URL, else <data-dir>/ledger.db.
Temporal over TLS: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (mTLS client certificate),
TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME; Temporal Cloud by API key: TEMPORAL_API_KEY.
Consent webhooks: POST /webhooks/twilio/inbound (STOP/START texts) needs TWILIO_AUTH_TOKEN,
JOURNEYS_PUBLIC_URL (the edge's https://host as Twilio calls it) and JOURNEYS_LOOKUP_KEY
(base64 of 32+ bytes, the same in every process; with --dev one is made once in
<data-dir>/lookup.key); POST /webhooks/sendgrid/events needs SENDGRID_WEBHOOK_PUBLIC_KEY.
Email footers' unsubscribe and preference links are signed with JOURNEYS_LINK_KEYS and
start with JOURNEYS_PUBLIC_URL (https); both are required without --dev when the playbook
sends marketing email (with --dev: <data-dir>/links.key and http://<http-addr>).
GET /v1/customers/{id} takes the operators' tokens in JOURNEYS_OPERATOR_TOKENS
(with --dev, also the dev token); the backends' JOURNEYS_API_TOKENS only send events.
Payloads in Temporal are encrypted with JOURNEYS_CODEC_KEYS (required without
--dev; with --dev a key is made once in <data-dir>/codec.key). The codec server
at <http-addr>/codec takes the bearer tokens in JOURNEYS_CODEC_TOKENS and browser
origins in JOURNEYS_CODEC_ORIGINS.
`

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// config is everything the worker is told at start.
type config struct {
	Dev          bool
	PlaybookPath string
	DataDir      string
	HTTPAddr     string
	TemporalAddr string
	Namespace    string
	UIAddr       string
	// Role is what this process runs: RoleAll (worker and events API),
	// RoleWorker or RoleAPI, so each can scale on its own.
	Role string
	// LogLevel is the least severe level logged; default warn with --dev,
	// info without.
	LogLevel string
	// Rates are the vendor queues' fleet-wide activities per second.
	Rates workflows.Rates
	// StageCount is how often a process serving the events API counts
	// the journeys by stage for /metrics: 0 means
	// metrics.DefaultStageCountInterval, negative never.
	StageCount time.Duration
	// Getenv reads the vendor credentials and the ledger's database URL.
	Getenv func(string) string
}

// The roles a process can run.
const (
	RoleAll    = "all"
	RoleWorker = "worker"
	RoleAPI    = "api"
)

func (c config) runsWorker() bool { return c.Role != RoleAPI }
func (c config) runsAPI() bool    { return c.Role != RoleWorker }

// getenv reads the environment through Getenv; nil reads nothing.
func (c config) getenv(name string) string {
	if c.Getenv == nil {
		return ""
	}
	return c.Getenv(name)
}

// logLevel is LogLevel as a slog.Level.
func (c config) logLevel() (slog.Level, error) {
	if c.LogLevel == "" {
		if c.Dev {
			return slog.LevelWarn, nil
		}
		return slog.LevelInfo, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// parseConfig reads flags over environment variables over defaults.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	cfg := config{Getenv: getenv}
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.BoolVar(&cfg.Dev, "dev", false, "run a Temporal server (SQLite in <data-dir>) and its Web UI in this process")
	fs.StringVar(&cfg.PlaybookPath, "playbook", env("JOURNEYS_PLAYBOOK", ""), "playbook file, YAML or JSON (default: the built-in playbook) [JOURNEYS_PLAYBOOK]")
	fs.StringVar(&cfg.DataDir, "data-dir", env("JOURNEYS_DATA_DIR", ".data"), "where the dev server's database and the outbox live [JOURNEYS_DATA_DIR]")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", env("JOURNEYS_HTTP_ADDR", "127.0.0.1:8080"), "events HTTP API address [JOURNEYS_HTTP_ADDR]")
	fs.StringVar(&cfg.TemporalAddr, "temporal-address", env("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend; with --dev, where the embedded server listens [TEMPORAL_ADDRESS]")
	fs.StringVar(&cfg.Namespace, "namespace", env("TEMPORAL_NAMESPACE", "default"), "Temporal namespace [TEMPORAL_NAMESPACE]")
	fs.StringVar(&cfg.UIAddr, "ui-addr", env("JOURNEYS_UI_ADDR", "127.0.0.1:8233"), `with --dev, the Web UI's address, or "off" [JOURNEYS_UI_ADDR]`)
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fs.PrintDefaults()
		fmt.Fprint(out, envHelp)
	}
	fs.StringVar(&cfg.Role, "role", env("JOURNEYS_ROLE", RoleAll), `"all" (worker and events API), "worker" (the worker, with /healthz and /readyz), or "api" (the events API and codec server) [JOURNEYS_ROLE]`)
	fs.StringVar(&cfg.LogLevel, "log-level", env("JOURNEYS_LOG_LEVEL", ""), "debug, info, warn or error (default warn with --dev, else info) [JOURNEYS_LOG_LEVEL]")
	rates := fs.String("rate-limits", env("JOURNEYS_RATE_LIMITS", ""), "fleet-wide activities per second by channel, over the defaults "+formatRates(workflows.DefaultRates())+`; "off" lifts one [JOURNEYS_RATE_LIMITS]`)
	stageCount := fs.String("stage-count-interval", env(EnvStageCountInterval, ""), `how often the events API's process counts the journeys by stage for /metrics (journeys_customers), such as 60s; "off" never (default 60s) [`+EnvStageCountInterval+`]`)
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	if _, err := cfg.logLevel(); err != nil {
		return config{}, err
	}
	var err error
	if cfg.Rates, err = parseRates(*rates); err != nil {
		return config{}, err
	}
	if cfg.StageCount, err = parseStageCountInterval(*stageCount); err != nil {
		return config{}, err
	}
	switch {
	case cfg.Role != RoleAll && cfg.Role != RoleWorker && cfg.Role != RoleAPI:
		return config{}, fmt.Errorf("role %q: want all, worker or api", cfg.Role)
	case cfg.Dev && cfg.Role != RoleAll:
		return config{}, fmt.Errorf("--dev runs everything in one process: drop --role %s, or drop --dev to run roles against your Temporal", cfg.Role)
	case !namespaceRE.MatchString(cfg.Namespace):
		return config{}, fmt.Errorf("namespace %q [TEMPORAL_NAMESPACE]: want letters, digits, '.', '_' and '-'", cfg.Namespace)
	}
	for _, a := range []struct{ flag, env, value string }{
		{"--temporal-address", "TEMPORAL_ADDRESS", cfg.TemporalAddr},
		{"--http-addr", "JOURNEYS_HTTP_ADDR", cfg.HTTPAddr},
		{"--ui-addr", "JOURNEYS_UI_ADDR", cfg.UIAddr},
	} {
		if a.flag == "--ui-addr" && (!cfg.Dev || a.value == "off") {
			continue
		}
		if _, port, err := net.SplitHostPort(a.value); err != nil || port == "" {
			return config{}, fmt.Errorf("%s %q [%s]: want host:port, such as 127.0.0.1:8080", a.flag, a.value, a.env)
		}
	}
	if err := checkOutboxChannels(cfg); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// namespaceRE is what a Temporal namespace name may hold.
var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)
