package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/integrations/sendgrid"
	"github.com/journeyshq/journeys/integrations/twilio"
	"github.com/journeyshq/journeys/internal/devserver"
	"github.com/journeyshq/journeys/internal/metrics"
	"github.com/journeyshq/journeys/internal/searchattr"
	"github.com/journeyshq/journeys/internal/stopper"
	"github.com/journeyshq/journeys/internal/temporalconn"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// activityDrainTimeout is how long a stopping worker waits for the
// activities it runs.
const activityDrainTimeout = 30 * time.Second

// startJourneyWorker starts polling the journeys' task queue and the
// channels' activity queues, with polling kept true while they do.
// lookupKey, when set, makes journeys index their phone (SearchPhone) for
// the Twilio inbound webhook; outside dev mode, signals with unencrypted
// payloads are refused. The stack stops the worker.
func startJourneyWorker(c client.Client, pb playbook.Playbook, cfg config, ch *channels, lookupKey []byte, logger *slog.Logger, polling *atomic.Bool, stack *stopper.Stack) error {
	wopts := workflows.WorkerOptions()
	if !cfg.Dev {
		// An event signalled without the codec would be applied, and stored,
		// in clear; --dev accepts it from a local client or the CLI.
		wopts.Interceptors = append(wopts.Interceptors, codec.RefuseUnencryptedSignals())
	}
	// On shutdown the worker stops polling at once and gives the
	// activities running (a send in flight) this long to finish, so a
	// deploy does not cut a send off and leave it to a retry.
	wopts.WorkerStopTimeout = activityDrainTimeout
	wopts.OnFatalError = func(err error) {
		polling.Store(false)
		logger.Error("worker stopped polling", "error", err)
	}
	journeys := workflows.NewJourneys(pb)
	if lookupKey != nil {
		journeys.SetLookupKey(lookupKey)
	}
	ws := workflows.NewWorkers(c, journeys, ch.acts, cfg.Rates, wopts)
	if err := ws.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	polling.Store(true)
	stack.Push(func() error { polling.Store(false); ws.Stop(); return nil })
	return nil
}

// apiTokens are the events API's bearer tokens from the environment, or in
// dev mode the documented dev token.
func apiTokens(cfg config) ([]string, error) {
	tokens, err := api.TokensFromEnv(cfg.getenv)
	if err != nil {
		return nil, err
	}
	if len(tokens) == 0 && cfg.Dev {
		tokens = []string{api.DevToken} // documented, for this machine only
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("events API: set %s to the bearer tokens backends use (several, comma-separated, for rotation)", api.EnvTokens)
	}
	if secret := cfg.getenv(api.EnvStripeWebhookSecret); secret != "" && !strings.HasPrefix(secret, "whsec_") {
		return nil, fmt.Errorf("events API: %s must be the endpoint's signing secret, whsec_…", api.EnvStripeWebhookSecret)
	}
	if err := consentSettings(cfg); err != nil {
		return nil, err
	}
	return tokens, nil
}

// operatorTokens are the tokens that read a customer's state from the
// environment, or in dev mode the documented dev token, so that the dev
// token both sends and reads there. None outside dev mode turns reading off.
func operatorTokens(cfg config) ([]string, error) {
	tokens, err := api.OperatorTokensFromEnv(cfg.getenv)
	if err != nil {
		return nil, err
	}
	if len(tokens) == 0 && cfg.Dev {
		tokens = []string{api.DevToken} // documented, for this machine only
	}
	return tokens, nil
}

// eventsAPI is the events edge with set's tokens; set.phoneKey (nil when unset)
// finds the journeys of an inbound text's phone.
func eventsAPI(cfg config, set settings, c client.Client, ch *channels, logger *slog.Logger, ready func(context.Context) error, metrics client.MetricsHandler) (http.Handler, error) {
	handler, err := api.New(sender.New(c), api.Options{
		Logger: logger, Slack: ch.slack, Tokens: set.tokens, OperatorTokens: set.operatorTokens,
		StripeWebhookSecret:      cfg.getenv(api.EnvStripeWebhookSecret),
		TwilioAuthToken:          cfg.getenv(twilio.EnvAuthToken),
		PublicURL:                cfg.getenv(api.EnvPublicURL),
		LookupKey:                set.phoneKey,
		SMSProgram:               set.brand,
		SMSHelpText:              set.smsHelp,
		SMSReplyKeywords:         set.smsConfirm,
		LinkKeys:                 set.links.keys,
		Brand:                    set.brand,
		SendGridWebhookPublicKey: cfg.getenv(api.EnvSendGridWebhookPublicKey),
		SendGridLifecycleGroup:   set.sendgridGroups.Lifecycle,
		Ready:                    ready,
		Metrics:                  metrics,
		Forget:                   ch.eraser(c, cfg.Namespace, logger),
	})
	if err != nil {
		return nil, fmt.Errorf("events API: %w", err)
	}
	return handler, nil
}

// run starts everything cfg asks for, prints where each part is, and runs
// until ctx ends; then it stops the parts in reverse order: the API first so
// no event is accepted that the worker will not see, the Temporal server last.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	logger := newLogger(cfg, stderr)
	pb, err := loadPlaybook(cfg)
	if err != nil {
		return err
	}

	var stack stopper.Stack
	defer func() { err = errors.Join(err, stack.StopAll()) }()

	ln, err := listen(cfg, &stack)
	if err != nil {
		return err
	}
	httpAddr := ln.Addr().String()
	set, err := readSettings(cfg, httpAddr, pb, logger)
	if err != nil {
		return err
	}
	set.brand, set.smsHelp = brandOf(pb), api.SMSHelpText(brandOf(pb), pb.AppURL)
	ch, err := openChannels(ctx, cfg, stdout, &stack)
	if err != nil {
		return err
	}
	set.links.wire(ch.acts, activities.Brand{Name: set.brand, PostalAddress: pb.PostalAddress})
	if cfg.Dev {
		if err := startDevServer(ctx, cfg, httpAddr, &stack); err != nil {
			return err
		}
	}

	// The SDK's metrics and journeys' own (the workflows', activities' and
	// events API's, all recorded through the client's handler) go to one
	// registry, served at GET /metrics. It closes after the client.
	reg := newMetrics(logger)
	stack.Push(reg.Close)
	c, err := connectTemporal(ctx, cfg, set, reg.Handler(), logger, &stack)
	if err != nil {
		return err
	}
	if stop := startStageCount(cfg, c, reg.Handler(), logger); stop != nil {
		stack.Push(stop)
	}

	// polling is what readiness reports of the worker: true from its start
	// until it stops or fails for good.
	var polling atomic.Bool
	if cfg.runsWorker() {
		if err := startJourneyWorker(c, pb, cfg, ch, set.phoneKey, logger, &polling, &stack); err != nil {
			return err
		}
	}
	handler, err := httpHandler(cfg, set, c, ch, logger, readiness(cfg, c, &polling), reg)
	if err != nil {
		return err
	}
	served := serve(ln, handler, &stack)

	printBanner(stdout, cfg, pb, httpAddr, set.keySource, set.links, ch.drivers)
	return waitForStop(ctx, served, stdout)
}

// brandOf is the name texts, footers and pages give the sender: the
// playbook's product, else its name.
func brandOf(pb playbook.Playbook) string {
	if pb.Product != "" {
		return pb.Product
	}
	return pb.Name
}

// loadPlaybook is the playbook cfg names, or the default one: it is read
// first, so a bad playbook fails before anything starts.
func loadPlaybook(cfg config) (playbook.Playbook, error) {
	if cfg.PlaybookPath == "" {
		return playbook.Default(), nil
	}
	return playbook.Load(cfg.PlaybookPath)
}

// listen binds the HTTP address before anything starts: a taken port fails
// at once, and the embedded UI needs the codec server's address, which is
// on this listener.
func listen(cfg config, stack *stopper.Stack) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("events API: %w", err)
	}
	stack.Push(func() error { ln.Close(); return nil })
	return ln, nil
}

// settings are what run reads from the environment before it dials
// Temporal.
type settings struct {
	keys      codec.Keys
	keySource string
	codec     http.Handler
	security  temporalconn.Security
	tokens    []string // nil unless the role runs the events API
	// operatorTokens read customers' state; nil unless the role runs the
	// events API, or when none is set.
	operatorTokens []string
	phoneKey       []byte // nil when no lookup key is set
	brand          string // the playbook's product or name: SMS keyword replies, pages
	smsHelp        string // the reply to an inbound HELP, from the playbook
	smsConfirm     bool   // journeys, not Twilio, confirms STOP and START
	links          emailLinks
	sendgridGroups sendgrid.Groups // which SendGrid unsubscribe group is lifecycle email's
}

// readSettings checks every setting from the environment before Temporal is
// dialed, so a bad one fails at once with its name, not after a connection
// timeout (TestEveryVariableIsCheckedAtStart).
func readSettings(cfg config, httpAddr string, pb playbook.Playbook, logger *slog.Logger) (settings, error) {
	var s settings
	var err error
	if s.keys, s.keySource, err = payloadKeys(cfg); err != nil {
		return s, err
	}
	if s.codec, err = codecServer(cfg, s.keys, httpAddr); err != nil {
		return s, err
	}
	if s.security, err = temporalconn.FromEnv(cfg.getenv); err != nil {
		return s, err
	}
	if cfg.Dev && s.security.Enabled() {
		return s, temporalconn.ErrDevServer
	}
	if cfg.runsAPI() {
		if s.tokens, err = apiTokens(cfg); err != nil {
			return s, err
		}
		if s.operatorTokens, err = operatorTokens(cfg); err != nil {
			return s, err
		}
	}
	if s.phoneKey, err = lookupKey(cfg); err != nil {
		return s, err
	}
	if s.smsConfirm, err = api.SMSReplyKeywordsFromEnv(cfg.getenv); err != nil {
		return s, err
	}
	if s.links, err = linkSettings(cfg, httpAddr, pb); err != nil {
		return s, err
	}
	if s.sendgridGroups, err = sendgrid.ParseGroups(cfg.getenv(sendgrid.EnvUnsubscribeGroups)); err != nil {
		return s, err
	}
	if missing := inboundSMSMissing(cfg, s.phoneKey); missing != nil {
		logger.Warn("Twilio SMS is configured, but inbound STOP and START texts cannot reach the journeys", "set", strings.Join(missing, ", "))
	}
	return s, nil
}

// openChannels opens the outbox and the channels' vendors, which sends
// need, closing them with the stack.
func openChannels(ctx context.Context, cfg config, stdout io.Writer, stack *stopper.Stack) (*channels, error) {
	box, err := outbox.Open(filepath.Join(cfg.DataDir, "outbox.jsonl"), stdout)
	if err != nil {
		return nil, err
	}
	stack.Push(box.Close)
	ch, err := newChannels(ctx, cfg.getenv, cfg.DataDir, box)
	if err != nil {
		return nil, err
	}
	stack.Push(ch.ledger.Close)
	return ch, nil
}

// startDevServer starts the embedded Temporal server and UI of dev mode,
// stopping them last with the stack; the UI decodes payloads through the
// codec server on httpAddr.
func startDevServer(ctx context.Context, cfg config, httpAddr string, stack *stopper.Stack) error {
	srv, err := devserver.Start(ctx, devserver.Options{
		DataDir:          cfg.DataDir,
		FrontendAddr:     cfg.TemporalAddr,
		UIAddr:           cfg.UIAddr,
		Namespace:        cfg.Namespace,
		SearchAttributes: workflows.SearchAttributes(),
		CodecEndpoint:    "http://" + httpAddr + "/codec",
	})
	if err != nil {
		return err
	}
	stack.Push(srv.Stop)
	return nil
}

// connectTemporal dials Temporal with encrypted payloads and registers the
// search attributes the namespace lacks, so journeys can index themselves.
func connectTemporal(ctx context.Context, cfg config, set settings, mh client.MetricsHandler, logger *slog.Logger, stack *stopper.Stack) (client.Client, error) {
	// Every payload this client writes (workflow inputs, signals, activity
	// inputs and results, query answers, failure messages) is encrypted.
	dc, fc := codec.Converters(set.keys)
	opts := client.Options{
		HostPort:         cfg.TemporalAddr,
		Namespace:        cfg.Namespace,
		Logger:           sdklog.NewStructuredLogger(logger),
		DataConverter:    dc,
		FailureConverter: fc,
		MetricsHandler:   mh,
	}
	if err := set.security.Apply(&opts); err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", cfg.TemporalAddr, cfg.Namespace, err)
	}
	stack.Push(func() error { c.Close(); return nil })
	if added, err := searchattr.Ensure(ctx, c, cfg.Namespace, workflows.SearchAttributes()); err != nil {
		return nil, err
	} else if len(added) > 0 {
		logger.Info("registered search attributes", "names", added)
	}
	return c, nil
}

// readiness is what /readyz asks: that the worker (when the role runs one)
// polls and that Temporal answers.
func readiness(cfg config, c client.Client, polling *atomic.Bool) func(context.Context) error {
	return func(ctx context.Context) error {
		if cfg.runsWorker() && !polling.Load() {
			return errors.New("the worker is not polling")
		}
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("Temporal at %s does not answer: %w", cfg.TemporalAddr, err)
		}
		return nil
	}
}

// httpHandler routes the HTTP port: metrics always, and either the events
// API with its codec server or, for a worker-only role, just the health
// checks.
func httpHandler(cfg config, set settings, c client.Client, ch *channels, logger *slog.Logger, ready func(context.Context) error, reg *metrics.Registry) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.HTTPHandler())
	if !cfg.runsAPI() {
		mux.Handle("/", api.Health(ready))
		return mux, nil
	}
	handler, err := eventsAPI(cfg, set, c, ch, logger, ready, reg.Handler())
	if err != nil {
		return nil, err
	}
	mux.Handle("/codec/", set.codec)
	mux.Handle("/", handler)
	return mux, nil
}

// serve serves handler on ln until the stack shuts it down, first of all
// the parts, so no event is accepted that the worker will not see. The
// channel gets why it stopped serving.
func serve(ln net.Listener, handler http.Handler, stack *stopper.Stack) <-chan error {
	httpSrv := newHTTPServer(handler, defaultServerTimeouts)
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	stack.Push(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return httpSrv.Shutdown(ctx)
	})
	return served
}

// waitForStop runs until ctx ends, a clean stop, or the HTTP server fails,
// which stops everything else too.
func waitForStop(ctx context.Context, served <-chan error, stdout io.Writer) error {
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "stopping…")
		return nil
	case err := <-served:
		return fmt.Errorf("events API stopped: %w", err)
	}
}

// printBanner tells the person who started journeys where each part is
// and what it runs with.
func printBanner(out io.Writer, cfg config, pb playbook.Playbook, httpAddr, keySource string, links emailLinks, drivers [][2]string) {
	fmt.Fprintln(out, "journeys is running")
	if cfg.Dev {
		fmt.Fprintf(out, "  Temporal server  %s  (namespace %s, data %s)\n", cfg.TemporalAddr, cfg.Namespace, devserver.DBFile(cfg.DataDir))
		if cfg.UIAddr != "off" {
			fmt.Fprintf(out, "  Temporal Web UI  http://%s/namespaces/%s/workflows\n", cfg.UIAddr, cfg.Namespace)
		}
	} else {
		fmt.Fprintf(out, "  Temporal         %s  (namespace %s)\n", cfg.TemporalAddr, cfg.Namespace)
	}
	if cfg.runsWorker() {
		fmt.Fprintf(out, "  Worker           task queue %s, playbook %s (a journey day lasts %s)\n", workflows.TaskQueue, pb.Name, pb.DayLength.D())
		fmt.Fprintf(out, "  Vendor queues    %s  (activities per second, fleet-wide)\n", formatRates(cfg.Rates))
		links.print(out)
	}
	if cfg.runsAPI() {
		fmt.Fprintf(out, "  Events API       http://%s  (POST /v1/events, GET and DELETE /v1/customers/{id})\n", httpAddr)
		if cfg.Dev && cfg.getenv(api.EnvTokens) == "" {
			fmt.Fprintf(out, "  API token        Authorization: Bearer %s  (dev only; set %s for real tokens)\n", api.DevToken, api.EnvTokens)
		} else {
			fmt.Fprintf(out, "  API tokens       from %s\n", api.EnvTokens)
		}
		printOperatorTokens(out, cfg)
	} else {
		fmt.Fprintf(out, "  Health           http://%s/healthz, /readyz  (role worker: no events API)\n", httpAddr)
	}
	fmt.Fprintf(out, "  Metrics          http://%s/metrics  (Prometheus)\n", httpAddr)
	fmt.Fprintf(out, "  Payloads         encrypted (AES-256-GCM, keys from %s)", keySource)
	if cfg.runsAPI() {
		fmt.Fprintf(out, "; codec server http://%s/codec", httpAddr)
	}
	fmt.Fprintln(out)
	var outboxed []string
	for _, d := range drivers {
		label := "Channel " + d[0]
		if d[0] == "ledger" {
			label = "Send ledger"
		}
		fmt.Fprintf(out, "  %-16s %s\n", label, d[1])
		if d[1] == "outbox" {
			outboxed = append(outboxed, d[0])
		}
	}
	if len(outboxed) > 0 {
		fmt.Fprintf(out, "  Outbox           %s  (%s: no vendor credentials set)\n", filepath.Join(cfg.DataDir, "outbox.jsonl"), strings.Join(outboxed, ", "))
	}
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
}

// printOperatorTokens tells who can read a customer's state, and that
// nobody can when no operator token is set.
func printOperatorTokens(out io.Writer, cfg config) {
	switch {
	case cfg.getenv(api.EnvOperatorTokens) != "":
		fmt.Fprintf(out, "  Operator tokens  from %s  (GET and DELETE /v1/customers/{id})\n", api.EnvOperatorTokens)
	case cfg.Dev:
		fmt.Fprintf(out, "  Operator token   the API token reads and erases customers too  (dev only; set %s for real tokens)\n", api.EnvOperatorTokens)
	default:
		fmt.Fprintf(out, "  Operator tokens  none: GET and DELETE /v1/customers/{id} are off (set %s)\n", api.EnvOperatorTokens)
	}
}

// newLogger logs text for a person in dev mode and JSON for a log
// pipeline otherwise.
func newLogger(cfg config, w io.Writer) *slog.Logger {
	level, _ := cfg.logLevel() // parseConfig has checked it
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Dev {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
