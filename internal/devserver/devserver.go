// Package devserver runs a Temporal server and its Web UI inside the journeys
// process, persisting to a SQLite file, so that one command on a fresh machine
// gives a newcomer the whole stack with no accounts, no Docker and no internet.
//
// It is the only package that links go.temporal.io/server (slow to build),
// so only the worker and the integration tests import it.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"github.com/journeyshq/journeys/internal/searchattr"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Options configures a dev server. The zero value of every field but DataDir
// has a useful default.
type Options struct {
	// DataDir holds the SQLite database (temporal.db) and the server's log
	// (temporal-server.log). It is created if missing.
	DataDir string
	// FrontendAddr is where the Temporal frontend listens; default 127.0.0.1:7233.
	FrontendAddr string
	// UIAddr is where the Web UI listens; default 127.0.0.1:8233. "off" disables it.
	UIAddr string
	// Namespace is created on start if missing; default "default".
	Namespace string
	// SearchAttributes are registered on the namespace (missing ones are added
	// on every start, so a newer binary can add attributes to an old database).
	SearchAttributes map[string]enums.IndexedValueType
	// CodecEndpoint, when set, is the payload codec server the UI calls.
	CodecEndpoint string
}

// Server is a running dev server. Stop it with Stop.
type Server struct {
	opts     Options
	temporal temporal.Server
	ui       *uiserver.Server
	uiDone   chan struct{}
}

// DBFile is the SQLite file a dev server uses under dataDir.
func DBFile(dataDir string) string { return filepath.Join(dataDir, "temporal.db") }

// Start starts the Temporal server, registers the namespace's search attributes
// and, unless disabled, the Web UI. It returns once the frontend answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	host, port, err := splitAddr("frontend", opts.FrontendAddr)
	if err != nil {
		return nil, err
	}
	if err := checkPorts(opts); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("devserver: data dir: %w", err)
	}
	cfg, hosts, err := serverConfig(opts, host, port)
	if err != nil {
		return nil, err
	}
	if err := setupDatabase(cfg, opts); err != nil {
		return nil, err
	}
	srv, err := newTemporalServer(cfg, hosts, opts.DataDir)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("devserver: start server: %w", err)
	}
	s := &Server{opts: opts, temporal: srv}

	if err := s.registerSearchAttributes(ctx); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	if opts.UIAddr != "off" {
		if err := s.startUI(ctx); err != nil {
			_ = srv.Stop()
			return nil, err
		}
	}
	return s, nil
}

// withDefaults fills in the fields left zero, so the rest of Start reads
// each option once; DataDir, which has no default, is required.
func (o Options) withDefaults() (Options, error) {
	if o.DataDir == "" {
		return o, errors.New("devserver: DataDir is required")
	}
	if o.FrontendAddr == "" {
		o.FrontendAddr = "127.0.0.1:7233"
	}
	if o.UIAddr == "" {
		o.UIAddr = "127.0.0.1:8233"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	return o, nil
}

// splitAddr splits the host:port addr of the server part what (frontend,
// UI), so that a bad address fails naming the option it came from.
func splitAddr(what, addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("devserver: %s address %q: %w", what, addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", 0, fmt.Errorf("devserver: %s port %q: %w", what, portStr, err)
	}
	return host, port, nil
}

// checkPorts fails with a clear message when the frontend's or the UI's
// port is taken, instead of deep inside the server (or, for the UI, with
// the log.Fatal its Start calls on a bind error).
func checkPorts(opts Options) error {
	if err := checkFree(opts.FrontendAddr); err != nil {
		return err
	}
	if opts.UIAddr != "off" {
		if err := checkFree(opts.UIAddr); err != nil {
			return err
		}
	}
	return nil
}

// setupDatabase creates the schema in a new database file and the namespace
// when missing, so a fresh machine needs no setup step.
func setupDatabase(cfg *config.Config, opts Options) error {
	sqlCfg := cfg.Persistence.DataStores[sqliteplugin.PluginName].SQL
	dbFile := DBFile(opts.DataDir)
	if _, err := os.Stat(dbFile); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return fmt.Errorf("devserver: create schema in %s: %w", dbFile, err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(cfg.ClusterMetadata.CurrentClusterName, opts.Namespace, false, nil)
	if err != nil {
		return fmt.Errorf("devserver: namespace config: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return fmt.Errorf("devserver: create namespace %q: %w", opts.Namespace, err)
	}
	return nil
}

// newTemporalServer builds (without starting) the one-process server of
// every Temporal service, logging to a file under dataDir.
func newTemporalServer(cfg *config.Config, hosts map[primitives.ServiceName]static.Hosts, dataDir string) (temporal.Server, error) {
	logger, err := serverLogger(filepath.Join(dataDir, "temporal-server.log"))
	if err != nil {
		return nil, err
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		// Static membership: one process holds every service, so there is
		// nothing to discover, and a restart does not wait for the previous
		// process's members (recorded in the database) to answer.
		temporal.WithStaticHosts(hosts),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			// Lets a search attribute registered a moment ago be used at once.
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
			// A stopping worker's polls are answered at once, and the SDK
			// then finishes the tasks it has polled: without it, a workflow
			// task polled as the worker stops is dropped and the journey
			// waits out the task's 10 s timeout (TestShutdownLetsTheSendInFlightFinish).
			dynamicconfig.EnableCancelWorkerPollsOnShutdown.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
			// A run closed a moment ago (continued as new) is deleted once
			// the transfer queue's ack level passes its close: updated
			// every 2 s instead of 30, an erasure takes seconds.
			dynamicconfig.TransferProcessorUpdateAckInterval.Key(): []dynamicconfig.ConstrainedValue{{Value: 2 * time.Second}},
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("devserver: create server: %w", err)
	}
	return srv, nil
}

// serverLogger writes the server's warnings to file, and its fatal errors to
// stderr as well: the server exits the process on those, and a newcomer
// must see why without knowing where the log file is.
func serverLogger(file string) (log.Logger, error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("devserver: server log: %w", err)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	core := zapcore.NewTee(
		zapcore.NewCore(enc, zapcore.AddSync(f), zapcore.WarnLevel),
		zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.Lock(os.Stderr), zapcore.DPanicLevel),
	)
	return log.NewZapLogger(zap.New(core)), nil
}

// FrontendAddr is the host:port of the Temporal frontend.
func (s *Server) FrontendAddr() string { return s.opts.FrontendAddr }

// UIURL is the Web UI's address, or "" when it is disabled.
func (s *Server) UIURL() string {
	if s.opts.UIAddr == "off" {
		return ""
	}
	return "http://" + s.opts.UIAddr
}

// Stop stops the UI and the server. It is safe to call once.
func (s *Server) Stop() error {
	if s.ui != nil {
		s.ui.Stop()
		<-s.uiDone
	}
	return s.temporal.Stop()
}

func serverConfig(opts Options, host string, frontendPort int) (*config.Config, map[primitives.ServiceName]static.Hosts, error) {
	sqlCfg := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: DBFile(opts.DataDir),
		// WAL with synchronous=NORMAL is faster than the default journal
		// and still durable across a process crash.
		ConnectAttributes: map[string]string{"mode": "rwc", "_journal_mode": "wal", "_synchronous": "1"},
	}
	services := map[string]config.Service{}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, name := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		grpcPort := frontendPort
		if name != primitives.FrontendService {
			p, err := freePort(host)
			if err != nil {
				return nil, nil, err
			}
			grpcPort = p
		}
		services[string(name)] = config.Service{RPC: config.RPC{GRPCPort: grpcPort, BindOnIP: host}}
		hosts[name] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(grpcPort)))
	}
	return &config.Config{
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			FailoverVersionIncrement: 10,
			MasterClusterName:        "active",
			CurrentClusterName:       "active",
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: opts.FrontendAddr},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            services,
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: opts.FrontendAddr},
	}, hosts, nil
}

// registerSearchAttributes adds the attributes the namespace lacks. It is
// also Start's wait for the frontend: the SDK client retries its calls while
// the frontend comes up, for up to a minute.
func (s *Server) registerSearchAttributes(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: s.opts.FrontendAddr, Namespace: s.opts.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return fmt.Errorf("devserver: connect to frontend %s: %w", s.opts.FrontendAddr, err)
	}
	defer c.Close()
	_, err = searchattr.Ensure(ctx, c, s.opts.Namespace, s.opts.SearchAttributes)
	return err
}

func (s *Server) startUI(ctx context.Context) error {
	host, port, err := splitAddr("UI", s.opts.UIAddr)
	if err != nil {
		return err
	}
	cfg := &uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: s.opts.FrontendAddr,
		EnableUI:            true,
		DefaultNamespace:    s.opts.Namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		// The UI is served over plain HTTP on loopback; a Secure CSRF cookie
		// would be dropped by the browser and break the UI's write actions.
		CORS:  uiconfig.CORS{CookieInsecure: true},
		Codec: uiconfig.Codec{Endpoint: s.opts.CodecEndpoint},
	}
	s.ui = uiserver.NewServer(server_options.WithConfigProvider(cfg))
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		_ = s.ui.Start()
	}()
	return waitHTTP(ctx, "http://"+s.opts.UIAddr+"/healthz")
}

func waitHTTP(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devserver: %s did not answer: %w", url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("devserver: %s is not free (is another dev server running?): %w", addr, err)
	}
	return l.Close()
}

// FreeAddr returns host:port with a port the OS reports free on host.
func FreeAddr(host string) (string, error) {
	p, err := freePort(host)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// freePort finds a free port below the kernel's ephemeral range (32768 and
// up on Linux, 49152 and up elsewhere). A port from that range can be taken
// between our check and the server's bind by any outgoing connection, or by
// a client reconnecting to it during a restart, which the kernel may give
// the very same port as its source (a TCP self-connect). It looks in this
// process's block of the range first (portBlock), and never returns a port
// it returned before: a server's ports are all picked before any is bound.
func freePort(host string) (int, error) {
	given.Lock()
	defer given.Unlock()
	for i := range 400 {
		p := 20000 + rand.IntN(12000)
		if i < 200 {
			p = portBlock() + rand.IntN(portBlockSize)
		}
		if given.ports[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			l.Close()
			given.ports[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("devserver: no free port on %s between 20000 and 32000", host)
}

// given are the ports freePort returned in this process.
var given = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// portBlock is where this process's ports start: one of 24 blocks of
// portBlockSize between 20000 and 32000, drawn once. Two processes starting
// dev servers at once (test packages run in parallel) could otherwise pick
// the same free port and both bind it after their checks: one server then
// fails to start. Now both must also have drawn the same block.
var portBlock = sync.OnceValue(func() int { return 20000 + rand.IntN(24)*portBlockSize })

const portBlockSize = 500
