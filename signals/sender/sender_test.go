package sender_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/internal/devserver"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// phoneWorkflow stands in for a journey: it upserts the PhoneHash it is
// given, as journeys do, and runs until signalled.
func phoneWorkflow(ctx workflow.Context, hash string) error {
	if err := workflow.UpsertTypedSearchAttributes(ctx, workflows.SearchPhone.ValueSet(hash)); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
	return nil
}

// startDevServer runs the embedded Temporal server with the journeys'
// search attributes and returns a client of it.
func startDevServer(t *testing.T) client.Client {
	t.Helper()
	addr, err := devserver.FreeAddr("127.0.0.1")
	require.NoError(t, err)
	srv, err := devserver.Start(context.Background(), devserver.Options{
		DataDir: t.TempDir(), FrontendAddr: addr, UIAddr: "off", SearchAttributes: workflows.SearchAttributes(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	c, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestCustomersByPhoneHash(t *testing.T) {
	c := startDevServer(t)
	const queue = "phone-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(phoneWorkflow)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	key := []byte("lookup-key-for-tests-0123456789ab")
	hash, otherHash := workflows.PhoneHash(key, "+15551234567"), workflows.PhoneHash(key, "+15557654321")
	ctx := context.Background()
	start := func(id, hash string) client.WorkflowRun {
		t.Helper()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, phoneWorkflow, hash)
		require.NoError(t, err)
		return run
	}
	start(workflows.WorkflowID("c-1"), hash)
	start(workflows.WorkflowID("c-2"), hash)          // a shared phone: both
	start(workflows.WorkflowID("c-3"), otherHash)     // another phone
	start("not-a-journey:c-4", hash)                  // not a customer's journey
	ended := start(workflows.WorkflowID("c-5"), hash) // no longer running
	require.NoError(t, c.SignalWorkflow(ctx, ended.GetID(), "", "done", nil))
	require.NoError(t, ended.Get(ctx, nil))

	s := sender.New(c)
	// Visibility lags the upserts: poll until it has caught up with all of
	// them, the ended run's close included.
	assert.Equal(t, []string{"c-1", "c-2"}, pollCustomers(t, s, hash, []string{"c-1", "c-2"}))
	assert.Equal(t, []string{"c-3"}, pollCustomers(t, s, otherHash, []string{"c-3"}))

	paged := sender.New(c)
	sender.SetPageSize(paged, 1)
	got, err := paged.CustomersByPhoneHash(ctx, hash)
	require.NoError(t, err)
	slices.Sort(got)
	assert.Equal(t, []string{"c-1", "c-2"}, got, "every page is read")

	none, err := s.CustomersByPhoneHash(ctx, workflows.PhoneHash(key, "+15550000000"))
	require.NoError(t, err)
	assert.Empty(t, none, "no journey with that phone is not an error")

	_, err = s.CustomersByPhoneHash(ctx, "x' OR WorkflowId != '")
	assert.ErrorContains(t, err, "not lowercase hex", "the hash goes into a query: nothing else may")
}

func TestCustomersByPhoneHashUnavailable(t *testing.T) {
	addr, err := devserver.FreeAddr("127.0.0.1")
	require.NoError(t, err)
	c, err := client.NewLazyClient(client.Options{HostPort: addr}) // nothing listens there
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = sender.New(c).CustomersByPhoneHash(ctx, "0123abcd")
	assert.True(t, errors.Is(err, sender.ErrUnavailable), "got %v", err)
}

// pollCustomers asks for hash's customers, sorted, until they are want or
// 20 seconds have passed, and returns the last answer.
func pollCustomers(t *testing.T, s *sender.Sender, hash string, want []string) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := s.CustomersByPhoneHash(context.Background(), hash)
		require.NoError(t, err)
		slices.Sort(got)
		if slices.Equal(got, want) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}
