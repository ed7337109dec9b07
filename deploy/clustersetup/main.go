// Command clustersetup readies a fresh Temporal cluster for journeys, as
// the compose stack's temporal-setup service does: it waits for the
// frontend, then registers the namespace (closed runs kept 30 days) unless
// it exists, and waits until the frontend serves it. The worker registers
// its search attributes itself. scripts/cluster.sh runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Retention is how long the cluster keeps a closed run, as in docker-compose.yml.
const Retention = 720 * time.Hour

func main() {
	addr := flag.String("address", "127.0.0.1:7233", "the Temporal frontend")
	namespace := flag.String("namespace", "default", "the namespace journeys runs in")
	wait := flag.Duration("wait", 2*time.Minute, "how long the cluster may take to come up")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *wait)
	defer cancel()
	if err := setup(ctx, *addr, *namespace); err != nil {
		fmt.Fprintln(os.Stderr, "clustersetup:", err)
		os.Exit(1)
	}
	fmt.Printf("namespace %s is ready on %s\n", *namespace, *addr)
}

func setup(ctx context.Context, addr, namespace string) error {
	quiet := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	nc, err := client.NewNamespaceClient(client.Options{HostPort: addr, Logger: quiet})
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer nc.Close()
	return retry(ctx, func() error {
		if _, err := nc.Describe(ctx, namespace); err == nil {
			return nil
		}
		err := nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(Retention),
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("register namespace %s: %w", namespace, err)
		}
		return fmt.Errorf("namespace %s registered, not yet served", namespace)
	})
}

// retry calls f every second until it succeeds or ctx ends.
func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %v)", err, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
