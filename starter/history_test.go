package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/internal/devserver"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/workflows"
)

// TestHistoryExportReplays signs a customer up through the starter on the
// embedded Temporal server, exports the journey's history, and replays the
// file as the replay test does: what the command writes is what the gate
// reads.
func TestHistoryExportReplays(t *testing.T) {
	dir := t.TempDir()
	cli := startJourneys(t, dir)
	if code, _, stderr := cli("signup", "--customer", "c-1", "--email", "ana@example.com", "--tz", "America/New_York"); code != 0 {
		t.Fatalf("signup: exit %d: %s", code, stderr)
	}
	waitFor(t, func() bool { code, _, _ := cli("status", "c-1"); return code == 0 }, "the journey answers its state query")

	plain := filepath.Join(dir, "c-1.json")
	code, stdout, stderr := cli("history", "export", "--customer", "c-1", "--out", plain)
	if code != 0 || !strings.Contains(stdout, "wrote "+plain+": customer:c-1, ") {
		t.Fatalf("export: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if enc, data := signalPayload(t, plain); enc != "json/plain" || !strings.Contains(data, "ana@example.com") {
		t.Errorf("exported signal payload: encoding %q, data %q; want it decrypted", enc, data)
	}
	if err := replayFile(plain); err != nil {
		t.Errorf("the exported history does not replay: %v", err)
	}

	sealed := filepath.Join(dir, "sealed.json")
	if code, _, stderr := cli("history", "export", "--customer", "c-1", "--out", sealed, "--keep-encrypted"); code != 0 {
		t.Fatalf("export --keep-encrypted: exit %d: %s", code, stderr)
	}
	if enc, data := signalPayload(t, sealed); enc != codec.EncodingEncrypted || strings.Contains(data, "ana@example.com") {
		t.Errorf("--keep-encrypted signal payload: encoding %q; want %s", enc, codec.EncodingEncrypted)
	}

	byQuery := filepath.Join(dir, "q")
	waitFor(t, func() bool {
		code, _, _ := cli("history", "export", "--query", `WorkflowType = "CustomerJourney" AND ExecutionStatus = "Running"`, "--out-dir", byQuery)
		return code == 0
	}, "visibility lists the journey")
	files, _ := filepath.Glob(filepath.Join(byQuery, "customer_c-1.*.json"))
	if len(files) != 1 {
		t.Fatalf("query export wrote %v, want one customer_c-1.<run>.json", files)
	}
	if err := replayFile(files[0]); err != nil {
		t.Errorf("%s does not replay: %v", files[0], err)
	}
}

func TestHistoryExportUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"history"}, "history takes the subcommand export"},
		{[]string{"history", "export", "--out", "x.json"}, "give exactly one of --customer and --query"},
		{[]string{"history", "export", "--customer", "c-1"}, "--customer needs --out FILE"},
		{[]string{"history", "export", "--query", "x"}, "--query needs --out-dir DIR"},
		{[]string{"history", "export", "--query", "x", "--out-dir", "d", "--all-runs"}, "--out and --all-runs go with --customer"},
	} {
		code, _, stderr := runCLI(tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	if code, stdout, _ := runCLI("help", "history"); code != 0 || !strings.Contains(stdout, "worker.NewWorkflowReplayer") {
		t.Errorf("help history: exit %d, stdout %q", code, stdout)
	}
}

// signalPayload returns the encoding and data of the first signal's payload
// in an exported history file.
func signalPayload(t *testing.T, file string) (encoding, data string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, ev := range h.GetEvents() {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			p := a.GetInput().GetPayloads()[0]
			return string(p.GetMetadata()["encoding"]), string(p.GetData())
		}
	}
	t.Fatalf("%s has no signal", file)
	return "", ""
}

func replayFile(file string) error {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.NewJourneys(playbook.Default()).CustomerJourney, workflows.RegisterOptions)
	return r.ReplayWorkflowHistoryFromJSONFile(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)), file)
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startJourneys starts the embedded Temporal server with data in dir and a
// journeys worker on it, and returns a runner of starter commands against
// it: exit code, stdout, stderr.
func startJourneys(t *testing.T, dir string) func(args ...string) (int, string, string) {
	t.Helper()
	addr, err := devserver.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := devserver.Start(context.Background(), devserver.Options{
		DataDir: dir, FrontendAddr: addr, UIAddr: "off", SearchAttributes: workflows.SearchAttributes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	env := mapEnv(map[string]string{envAddress: addr, envDataDir: dir})

	// The worker the dev server would have: journeys only. No activity
	// worker, so the welcome email stays scheduled; the history up to it is
	// enough to export and replay.
	if _, err := codec.LoadOrCreateDevKeys(codec.DevKeyFile(dir)); err != nil {
		t.Fatal(err)
	}
	c, err := dialClient(connSettings{Address: addr, Namespace: "default", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.NewJourneys(playbook.Default()).CustomerJourney, workflows.RegisterOptions)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		a := &app{stdout: &out, stderr: &errOut, getenv: env, now: time.Now, newID: uuid.NewString, connect: dialTemporal, dial: dialClient}
		return a.run(args), out.String(), errOut.String()
	}
}
