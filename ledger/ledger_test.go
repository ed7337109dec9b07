package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/ledger"
	"github.com/journeyshq/journeys/messages"
)

// DatabaseURLEnv names the PostgreSQL database the tests use; .ci/run sets it.
const DatabaseURLEnv = "JOURNEYS_TEST_DATABASE_URL"

func exercise(t *testing.T, l *ledger.Ledger) {
	ctx := context.Background()
	_, found, err := l.Lookup(ctx, "customer:c-1/run/onboarding.welcome/email")
	require.NoError(t, err)
	assert.False(t, found)

	require.NoError(t, l.Record(ctx, "customer:c-1/run/onboarding.welcome/email", messages.ChannelEmail, messages.Receipt{ID: "sg-1"}))
	require.NoError(t, l.Record(ctx, "customer:c-1/run/onboarding.welcome/email", messages.ChannelEmail, messages.Receipt{ID: "sg-2"}), "recording twice is not an error")

	r, found, err := l.Lookup(ctx, "customer:c-1/run/onboarding.welcome/email")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "sg-1", r.ID, "the first receipt is kept")

	// Concurrent writers, as a worker's activities are.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, l.Record(ctx, fmt.Sprintf("key-%d", i%5), messages.ChannelSMS, messages.Receipt{ID: fmt.Sprint(i)}))
		}()
	}
	wg.Wait()
	for i := range 5 {
		_, found, err := l.Lookup(ctx, fmt.Sprintf("key-%d", i))
		require.NoError(t, err)
		assert.True(t, found)
	}
}

func TestSQLiteLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := ledger.OpenSQLite(context.Background(), path, "")
	require.NoError(t, err)
	exercise(t, l)
	require.NoError(t, l.Close())

	// The ledger outlives the process.
	l, err = ledger.OpenSQLite(context.Background(), path, "")
	require.NoError(t, err)
	defer l.Close()
	_, found, err := l.Lookup(context.Background(), "customer:c-1/run/onboarding.welcome/email")
	require.NoError(t, err)
	assert.True(t, found)
}

func TestPostgresLedger(t *testing.T) {
	l, url, table := openPostgres(t)
	exercise(t, l)

	// A second process sees the first one's sends.
	other, err := ledger.OpenPostgres(context.Background(), url, table)
	require.NoError(t, err)
	defer other.Close()
	_, found, err := other.Lookup(context.Background(), "key-3")
	require.NoError(t, err)
	assert.True(t, found)
}

func TestBadTableName(t *testing.T) {
	_, err := ledger.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "l.db"), "sends; DROP TABLE x")
	assert.ErrorContains(t, err, "lower_snake_case")
}

func dropTable(url, table string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("DROP TABLE IF EXISTS " + table)
	return err
}

// deleteCustomer checks that a customer's sends go and everyone else's stay,
// including a customer whose ID the first one's is a prefix of.
func deleteCustomer(t *testing.T, l *ledger.Ledger) {
	ctx := context.Background()
	for _, k := range []string{"customer:c_1/j1/onboarding.welcome/email", "customer:c_1/j2/adoption.tip/sms", "customer:c_10/j1/onboarding.welcome/email", "customer:cx1/j1/onboarding.welcome/email"} {
		require.NoError(t, l.Record(ctx, k, messages.ChannelEmail, messages.Receipt{ID: k}))
	}
	n, err := l.DeleteKeyPrefix(ctx, "customer:c_1/")
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	for k, want := range map[string]bool{"customer:c_1/j1/onboarding.welcome/email": false, "customer:c_1/j2/adoption.tip/sms": false, "customer:c_10/j1/onboarding.welcome/email": true, "customer:cx1/j1/onboarding.welcome/email": true} {
		_, found, err := l.Lookup(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, want, found, k)
	}
	n, err = l.DeleteKeyPrefix(ctx, "customer:c_1/")
	require.NoError(t, err)
	assert.Zero(t, n, "a second delete finds nothing")
	_, err = l.DeleteKeyPrefix(ctx, "")
	assert.Error(t, err, "an empty prefix would empty the ledger")
}

func TestSQLiteDeleteKeyPrefix(t *testing.T) {
	l, err := ledger.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), "")
	require.NoError(t, err)
	defer l.Close()
	deleteCustomer(t, l)
}

func TestPostgresDeleteKeyPrefix(t *testing.T) {
	l, _, _ := openPostgres(t)
	deleteCustomer(t, l)
}

// openPostgres opens a ledger in a fresh table of the test database, which
// the test drops at its end; it skips the test when none is set.
func openPostgres(t *testing.T) (l *ledger.Ledger, url, table string) {
	t.Helper()
	url = os.Getenv(DatabaseURLEnv)
	if url == "" {
		t.Skipf("%s is not set: skipped the PostgreSQL ledger test (.ci/run sets it)", DatabaseURLEnv)
	}
	table = fmt.Sprintf("ledger_test_%d", time.Now().UnixNano())
	l, err := ledger.OpenPostgres(context.Background(), url, table)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close(); _ = dropTable(url, table) })
	return l, url, table
}
