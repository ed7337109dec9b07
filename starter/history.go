package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/workflows"
)

// exportTimeout bounds each call to Temporal (a page of a query, one run's
// history), so an export of many journeys is not cut off by its length.
const exportTimeout = 60 * time.Second

// exportCmd is a parsed "starter history export".
type exportCmd struct {
	conn          connSettings
	customerID    string
	query         string
	out           string
	outDir        string
	allRuns       bool
	keepEncrypted bool
}

const exportUsage = `Usage: starter history export --customer ID --out FILE [--all-runs] [flags]
       starter history export --query QUERY --out-dir DIR [flags]

Writes workflow histories as JSON, the format worker.NewWorkflowReplayer and
the replay test (workflows/replay_test.go) read. Payloads are decrypted with
the worker's keys, so the file replays without them; --keep-encrypted writes
them as Temporal stores them. A decrypted history holds the customer's data:
export only test customers into the repository.

  --customer ID   the customer's journey; its current run, or every run with
                  --all-runs (FILE-1.json is the first run, FILE-2.json the
                  one it continued as, ...)
  --query QUERY   every execution (run) a visibility query returns, e.g.
                  'WorkflowType = "CustomerJourney" AND JourneyStage = "churned"',
                  one file per run: DIR/<workflow ID>.<run ID>.json

`

func parseExport(args []string, getenv func(string) string) (exportCmd, error) {
	var cmd exportCmd
	fs := flag.NewFlagSet("history export", flag.ContinueOnError)
	var help strings.Builder
	fs.SetOutput(&help)
	conn := addConnFlags(fs, getenv)
	fs.StringVar(&cmd.customerID, "customer", "", "the customer `ID` whose journey to export")
	fs.StringVar(&cmd.query, "query", "", "a visibility `QUERY`; every run it returns is exported")
	fs.StringVar(&cmd.out, "out", "", "with --customer, the `FILE` to write")
	fs.StringVar(&cmd.outDir, "out-dir", "", "with --query, the `DIR` to write into")
	fs.BoolVar(&cmd.allRuns, "all-runs", false, "with --customer, every run of the journey, not only the current one")
	fs.BoolVar(&cmd.keepEncrypted, "keep-encrypted", false, "write payloads as stored, encrypted")
	fs.Usage = func() {
		help.WriteString(exportUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return exportCmd{}, &helpRequest{text: help.String()}
	} else if err != nil {
		return exportCmd{}, usagef("history export", "%v", err)
	}
	cmd.conn = *conn
	switch {
	case fs.NArg() > 0:
		return exportCmd{}, usagef("history export", "unexpected argument %q", fs.Arg(0))
	case (cmd.customerID == "") == (cmd.query == ""):
		return exportCmd{}, usagef("history export", "give exactly one of --customer and --query")
	case cmd.customerID != "" && cmd.out == "":
		return exportCmd{}, usagef("history export", "--customer needs --out FILE")
	case cmd.customerID != "" && cmd.outDir != "":
		return exportCmd{}, usagef("history export", "--out-dir goes with --query; use --out with --customer")
	case cmd.query != "" && cmd.outDir == "":
		return exportCmd{}, usagef("history export", "--query needs --out-dir DIR")
	case cmd.query != "" && (cmd.out != "" || cmd.allRuns):
		return exportCmd{}, usagef("history export", "--out and --all-runs go with --customer; --query writes one file per run")
	}
	return cmd, nil
}

// history runs "starter history <subcommand>".
func (a *app) history(args []string) error {
	if len(args) == 0 || args[0] != "export" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return &helpRequest{text: exportUsage}
		}
		return usagef("history export", "history takes the subcommand export")
	}
	cmd, err := parseExport(args[1:], a.getenv)
	if err != nil {
		return err
	}
	c, err := a.dial(cmd.conn)
	if err != nil {
		return explain(err, cmd.conn, cmd.customerID)
	}
	defer c.Close()
	ex := exporter{c: c, stdout: a.stdout}
	if !cmd.keepEncrypted {
		keys, err := payloadKeys(cmd.conn)
		if err != nil {
			return err
		}
		ex.codec = codec.NewCodec(keys)
	}
	ctx := context.Background()
	if cmd.query != "" {
		return ex.exportQuery(ctx, cmd.query, cmd.outDir)
	}
	return ex.exportCustomer(ctx, workflows.WorkflowID(cmd.customerID), cmd.out, cmd.allRuns)
}

// exporter writes histories read through c, decoding payloads with codec
// when set.
type exporter struct {
	c      client.Client
	codec  converter.PayloadCodec
	stdout io.Writer
}

// exportCustomer writes the journey's current run to out, or with allRuns
// every run of its chain, oldest first, as out-1.json, out-2.json, ...
func (e exporter) exportCustomer(ctx context.Context, workflowID, out string, allRuns bool) error {
	var runs []*historypb.History
	for runID, more := "", true; more; more = allRuns && runID != "" {
		h, previous, err := e.read(ctx, workflowID, runID)
		if err != nil {
			return err
		}
		runs = append([]*historypb.History{h}, runs...)
		runID = previous
	}
	if !allRuns {
		return e.write(out, runs[0], workflowID)
	}
	base := strings.TrimSuffix(out, ".json")
	for i, h := range runs {
		if err := e.write(fmt.Sprintf("%s-%d.json", base, i+1), h, workflowID); err != nil {
			return err
		}
	}
	return nil
}

// exportQuery writes every execution the visibility query returns.
func (e exporter) exportQuery(ctx context.Context, query, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("history export: %w", err)
	}
	var token []byte
	n := 0
	for {
		pageCtx, cancel := context.WithTimeout(ctx, exportTimeout)
		resp, err := e.c.ListWorkflow(pageCtx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		cancel()
		if err != nil {
			return fmt.Errorf("history export: query %q: %w", query, err)
		}
		for _, ex := range resp.GetExecutions() {
			wid, rid := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
			h, _, err := e.read(ctx, wid, rid)
			if err != nil {
				return err
			}
			if err := e.write(filepath.Join(dir, fileSafe(wid)+"."+rid+".json"), h, wid); err != nil {
				return err
			}
			n++
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if n == 0 {
		return fmt.Errorf("history export: query %q returned no executions", query)
	}
	return nil
}

// read returns one run's whole history, payloads decoded when the exporter
// has a codec, and the ID of the run it continued, if any.
func (e exporter) read(ctx context.Context, workflowID, runID string) (*historypb.History, string, error) {
	ctx, cancel := context.WithTimeout(ctx, exportTimeout)
	defer cancel()
	h := &historypb.History{}
	var previous string
	it := e.c.GetWorkflowHistory(ctx, workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, "", fmt.Errorf("history export: read %s: %w", workflowID, err)
		}
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			previous = a.GetContinuedExecutionRunId()
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 {
		return nil, "", fmt.Errorf("history export: %s has no history", workflowID)
	}
	if e.codec != nil {
		err := proxy.VisitPayloads(ctx, h, proxy.VisitPayloadsOptions{
			// Search attributes are never encrypted: Temporal indexes them.
			SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
				return e.decode(p)
			},
		})
		if err != nil {
			return nil, "", fmt.Errorf("history export: decrypt %s: %w", workflowID, err)
		}
	}
	return h, previous, nil
}

// decode decrypts payloads, and the payloads nested in them: the SDK keeps
// a side effect's value (the playbook, say) as an encrypted payload inside a
// json/protobuf Payloads message in the marker's details, out of the
// visitor's sight.
func (e exporter) decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out, err := e.codec.Decode(payloads)
	if err != nil {
		return nil, err
	}
	for i, p := range out {
		md := p.GetMetadata()
		if string(md[converter.MetadataEncoding]) != converter.MetadataEncodingProtoJSON ||
			string(md[converter.MetadataMessageType]) != string((&commonpb.Payloads{}).ProtoReflect().Descriptor().FullName()) {
			continue
		}
		var nested commonpb.Payloads
		if err := protojson.Unmarshal(p.GetData(), &nested); err != nil {
			return nil, fmt.Errorf("nested payloads: %w", err)
		}
		inner, err := e.decode(nested.GetPayloads())
		if err != nil {
			return nil, err
		}
		data, err := protojson.Marshal(&commonpb.Payloads{Payloads: inner})
		if err != nil {
			return nil, fmt.Errorf("nested payloads: %w", err)
		}
		out[i] = &commonpb.Payload{Metadata: md, Data: data}
	}
	return out, nil
}

func (e exporter) write(path string, h *historypb.History, workflowID string) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
	if err != nil {
		return fmt.Errorf("history export: encode %s: %w", workflowID, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("history export: %w", err)
	}
	_, err = fmt.Fprintf(e.stdout, "wrote %s: %s, %d events\n", path, workflowID, len(h.GetEvents()))
	return err
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// fileSafe turns a workflow ID ("customer:c-1") into a file name part.
func fileSafe(id string) string { return unsafeChars.ReplaceAllString(id, "_") }
