package outbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/messages"
)

func mailFor(customerID, key string) messages.Email {
	return messages.Email{Meta: messages.Meta{CustomerID: customerID, Step: "s", IdempotencyKey: key}, To: customerID + "@example.com", Subject: "Hi"}
}

// DeleteCustomer removes one customer's records while other sends go on,
// and the outbox keeps working on the rewritten file.
func TestDeleteCustomerRewritesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	o, err := outbox.Open(path, nil)
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 3 {
		_, err := o.SendEmail(ctx, mailFor("c-1", fmt.Sprintf("customer:c-1/j/%d/email", i)))
		require.NoError(t, err)
		_, err = o.SendEmail(ctx, mailFor("c-10", fmt.Sprintf("customer:c-10/j/%d/email", i)))
		require.NoError(t, err)
	}

	// Another customer's sends race the rewrite; none may be lost.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := o.SendEmail(ctx, mailFor("c-2", fmt.Sprintf("customer:c-2/j/%d/email", i)))
			assert.NoError(t, err)
		}()
	}
	n, err := o.DeleteCustomer("c-1")
	wg.Wait()
	require.NoError(t, err)
	assert.Equal(t, 3, n)

	// Writes after the rewrite land in the new file, with fresh IDs.
	after, err := o.SendEmail(ctx, mailFor("c-2", "customer:c-2/j/last/email"))
	require.NoError(t, err)
	require.NoError(t, o.Close())

	records, err := outbox.ReadFile(path)
	require.NoError(t, err)
	count, ids := map[string]int{}, map[string]bool{}
	for _, r := range records {
		count[r.CustomerID]++
		assert.False(t, ids[r.ID], "record ID %s used twice", r.ID)
		ids[r.ID] = true
	}
	assert.Equal(t, map[string]int{"c-10": 3, "c-2": 21}, count)
	assert.True(t, ids[after.ID])
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "still owner-only")
	left, err := filepath.Glob(path + ".erase-*")
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file left behind")

	// A second delete finds nothing; a reopened outbox keeps IDs unique.
	o, err = outbox.Open(path, nil)
	require.NoError(t, err)
	defer o.Close()
	n, err = o.DeleteCustomer("c-1")
	require.NoError(t, err)
	assert.Zero(t, n)
	next, err := o.SendEmail(ctx, mailFor("c-3", "customer:c-3/j/0/email"))
	require.NoError(t, err)
	assert.False(t, ids[next.ID], "a reopened outbox reuses no ID")
}
