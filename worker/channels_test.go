package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/billingapi"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/playbook"
)

// testChannels builds the channels from env, with the outbox and the
// SQLite ledger in a temporary data dir.
func testChannels(t *testing.T, env map[string]string) (*channels, *outbox.Outbox, error) {
	t.Helper()
	dir := t.TempDir()
	box, err := outbox.Open(filepath.Join(dir, "outbox.jsonl"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { box.Close() })
	ch, err := newChannels(context.Background(), func(k string) string { return env[k] }, dir, box)
	if ch != nil && ch.ledger != nil {
		t.Cleanup(func() { ch.ledger.Close() })
	}
	return ch, box, err
}

func TestBillingDefaultsToTheOutbox(t *testing.T) {
	ch, box, err := testChannels(t, nil)
	require.NoError(t, err)
	assert.Same(t, box, ch.acts.Billing)
	assert.Contains(t, ch.drivers, [2]string{"billing", "outbox"})
	for name, driver := range map[string]any{"email": ch.acts.Email, "sms": ch.acts.SMS, "alert": ch.acts.Alerts, "crm": ch.acts.CRM, "billing": ch.acts.Billing} {
		assert.NotNil(t, driver, "%s has no driver", name)
	}

	var out bytes.Buffer
	printBanner(&out, config{DataDir: "/data"}, playbook.Playbook{Name: "test"}, "127.0.0.1:8080", "JOURNEYS_CODEC_KEYS", emailLinks{}, ch.drivers)
	assert.Contains(t, out.String(), "  Channel billing  outbox\n")
	assert.Contains(t, out.String(), "(email, sms, alert, crm, billing: no vendor credentials set)")
}

func TestBillingAPIWhenItsURLIsSet(t *testing.T) {
	ch, _, err := testChannels(t, map[string]string{
		billingapi.EnvURL:   "https://billing.internal.example.com/v1",
		billingapi.EnvToken: "bk_test_token",
	})
	require.NoError(t, err)
	assert.IsType(t, &billingapi.Client{}, ch.acts.Billing)
	assert.Contains(t, ch.drivers, [2]string{"billing", "billingapi"})

	var out bytes.Buffer
	printBanner(&out, config{DataDir: "/data"}, playbook.Playbook{Name: "test"}, "127.0.0.1:8080", "JOURNEYS_CODEC_KEYS", emailLinks{}, ch.drivers)
	assert.Contains(t, out.String(), "  Channel billing  billingapi\n")
	assert.NotContains(t, out.String(), "billing: no vendor credentials set")
}

// A billing URL without its token stops the worker rather than suspending
// accounts in the outbox.
func TestBillingAPIURLWithoutTokenIsAnError(t *testing.T) {
	_, _, err := testChannels(t, map[string]string{billingapi.EnvURL: "https://billing.internal.example.com/v1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), billingapi.EnvToken)
}
