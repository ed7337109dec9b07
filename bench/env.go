package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/internal/stopper"
	"github.com/journeyshq/journeys/ledger"
	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// The bare path's workflow: its own task queue, so its worker and the
// journeys' worker do not share pollers.
const (
	noopQueue = "bench-noop"
	noopType  = "BenchNoop"
	noopQuery = "count"
)

// noopWorkflow counts the events signalled to it and nothing else: the
// floor of what Temporal costs per event.
func noopWorkflow(ctx workflow.Context) error {
	count := 0
	if err := workflow.SetQueryHandler(ctx, noopQuery, func() (int, error) { return count, nil }); err != nil {
		return err
	}
	events := workflow.GetSignalChannel(ctx, signals.SignalName)
	for {
		var raw json.RawMessage // what the journey receives into, too
		events.Receive(ctx, &raw)
		count++
	}
}

// env is everything both phases run against.
type env struct {
	plain   client.Client // default data converter: the bare path
	coded   client.Client // payload codec on: the edge path
	edgeURL string
	token   string
	http    *http.Client
}

// start brings up the Temporal server, one client and worker per path, and
// the events edge.
func start(ctx context.Context, dir string, cfg config, st *stopper.Stack) (*env, error) {
	addr, err := startServer(ctx, dir, st)
	if err != nil {
		return nil, err
	}
	e := &env{}
	if e.plain, err = dial(ctx, addr, client.Options{}, st); err != nil {
		return nil, err
	}
	// A fresh key, as JOURNEYS_CODEC_KEYS would hold one.
	entry, err := codec.GenerateKey("bench")
	if err != nil {
		return nil, fmt.Errorf("codec key: %w", err)
	}
	keys, err := codec.ParseKeys(entry)
	if err != nil {
		return nil, fmt.Errorf("codec key: %w", err)
	}
	dc := codec.DataConverter(keys)
	if e.coded, err = dial(ctx, addr, client.Options{DataConverter: dc, FailureConverter: codec.FailureConverter(dc)}, st); err != nil {
		return nil, err
	}
	// Both workers run as the journeys worker does.
	opts := workflows.WorkerOptions()
	if err := startNoopWorker(e.plain, opts, st); err != nil {
		return nil, err
	}
	if err := startJourneyWorker(ctx, e.coded, opts, dir, st); err != nil {
		return nil, err
	}
	if err := e.startEdge(max(cfg.Customers, cfg.Warmup), st); err != nil {
		return nil, err
	}
	return e, nil
}

// dial connects a client. SDK logs go to stderr at warning level only: they
// say why a workflow task failed, and the journeys' info logs are noise here.
func dial(ctx context.Context, addr string, opts client.Options, st *stopper.Stack) (client.Client, error) {
	opts.HostPort, opts.Namespace = addr, "default"
	opts.Logger = sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", addr, err)
	}
	st.Push(func() error { c.Close(); return nil })
	return c, nil
}

func startNoopWorker(c client.Client, opts worker.Options, st *stopper.Stack) error {
	w := worker.New(c, noopQueue, opts)
	w.RegisterWorkflowWithOptions(noopWorkflow, workflow.RegisterOptions{Name: noopType})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start no-op worker: %w", err)
	}
	st.Push(func() error { w.Stop(); return nil })
	return nil
}

// startJourneyWorker runs CustomerJourney as the worker does without vendor
// credentials: every channel on the outbox, the send ledger on SQLite. The
// outbox echoes nothing: its lines carry customers' email addresses.
func startJourneyWorker(ctx context.Context, c client.Client, opts worker.Options, dir string, st *stopper.Stack) error {
	box, err := outbox.Open(filepath.Join(dir, "outbox.jsonl"), nil)
	if err != nil {
		return fmt.Errorf("open outbox: %w", err)
	}
	st.Push(box.Close)
	led, err := ledger.OpenSQLite(ctx, filepath.Join(dir, "ledger.db"), ledger.DefaultTable)
	if err != nil {
		return fmt.Errorf("open ledger: %w", err)
	}
	st.Push(led.Close)

	// Emails are signed their footers' links as in production.
	entry, err := links.GenerateKey("bench")
	if err != nil {
		return err
	}
	keys, err := links.ParseKeys(entry)
	if err != nil {
		return err
	}
	pb := playbook.Default()
	acts := &activities.Activities{Email: box, SMS: box, Alerts: box, CRM: box, Billing: box, Ledger: led,
		Links: links.Linker{Keys: keys, BaseURL: "http://127.0.0.1"}, Brand: activities.Brand{Name: pb.Product, PostalAddress: pb.PostalAddress}}
	// The outbox has no vendor limits to keep to: no rate on its queues.
	ws := workflows.NewWorkers(c, workflows.NewJourneys(pb), acts, nil, opts)
	if err := ws.Start(); err != nil {
		return fmt.Errorf("start journeys worker: %w", err)
	}
	st.Push(func() error { ws.Stop(); return nil })
	return nil
}

// startEdge serves the events API on a loopback port with a fresh token.
func (e *env) startEdge(conns int, st *stopper.Stack) error {
	e.token = rand.Text() // 26 random characters, a valid bearer token
	h, err := api.New(sender.New(e.coded), api.Options{
		Tokens: []string{e.token}, Logger: slog.New(slog.DiscardHandler),
		CoalesceLogins: -1, // every event reaches its journey
	})
	if err != nil {
		return fmt.Errorf("events edge: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("events edge: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends with Shutdown below
	e.edgeURL = "http://" + ln.Addr().String() + "/v1/events"

	st.Push(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	})
	e.http = edgeClient(conns, st)
	return nil
}

// edgeClient keeps one connection alive per call in flight, as a backend's
// pool would: the default of 2 idle connections per host would make most
// requests pay for a new TCP connection.
func edgeClient(conns int, st *stopper.Stack) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	st.Push(func() error { tr.CloseIdleConnections(); return nil })
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
