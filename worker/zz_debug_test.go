package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

func TestZZDebugDelete(t *testing.T) {
	cfg := config{
		Dev: true, PlaybookPath: "../playbooks/demo.yaml", DataDir: t.TempDir(),
		HTTPAddr: freeAddr(t), TemporalAddr: freeAddr(t), Namespace: "default", UIAddr: "off",
	}
	startWorker(t, cfg)
	base := "http://" + cfg.HTTPAddr
	c, err := client.Dial(client.Options{HostPort: cfg.TemporalAddr, Namespace: cfg.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	defer c.Close()
	code, body := post(t, base, `{"event_id":"su-1","customer_id":"c-1","type":"signed_up","data":{"email":"ana@example.com"}}`)
	require.Equal(t, http.StatusAccepted, code, body)
	time.Sleep(2 * time.Second)
	code, rep := forget(t, base, "c-1")
	fmt.Println("forget", code, rep)
	for i := 0; i < 40; i++ {
		runs := listRuns(t, c, "customer:c-1")
		d, err := c.DescribeWorkflowExecution(context.Background(), "customer:c-1", "")
		st := ""
		if err == nil {
			st = d.GetWorkflowExecutionInfo().GetStatus().String() + " " + d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		}
		fmt.Println(time.Now().Format("15:04:05.000"), "runs", runs, "describe", st, err)
		time.Sleep(time.Second)
	}
}
