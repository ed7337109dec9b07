package outbox_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/messages"
)

func email(key string) messages.Email {
	return messages.Email{
		Meta: messages.Meta{CustomerID: "c-1", Step: "onboarding.welcome", Template: "welcome", IdempotencyKey: key},
		To:   "ana@example.com", Subject: "Welcome", Text: "Hi Ana",
	}
}

func TestWritesOneReadableLineAndOneJSONRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	var console bytes.Buffer
	o, err := outbox.Open(path, &console)
	require.NoError(t, err)
	defer o.Close()

	rcpt, err := o.SendEmail(context.Background(), email("k1"))
	require.NoError(t, err)
	assert.False(t, rcpt.Duplicate)
	assert.Equal(t, "outbox email → a…@example.com [welcome] \"Welcome\" (c-1 onboarding.welcome)\n", console.String())

	records, err := outbox.ReadFile(path)
	require.NoError(t, err)
	require.Len(t, records, 1)
	r := records[0]
	assert.Equal(t, messages.ChannelEmail, r.Channel)
	assert.Equal(t, "ana@example.com", r.To)
	assert.Equal(t, "Welcome", r.Subject)
	assert.Equal(t, "Hi Ana", r.Body)
	assert.Equal(t, "k1", r.IdempotencyKey)
	assert.Equal(t, rcpt.ID, r.ID)
}

// A retried send, even from a new process, is not written again.
func TestIdempotentAcrossRetriesAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	o, err := outbox.Open(path, nil)
	require.NoError(t, err)
	first, err := o.SendEmail(context.Background(), email("k1"))
	require.NoError(t, err)
	again, err := o.SendEmail(context.Background(), email("k1"))
	require.NoError(t, err)
	assert.True(t, again.Duplicate)
	assert.Equal(t, first.ID, again.ID)
	require.NoError(t, o.Close())

	o, err = outbox.Open(path, nil)
	require.NoError(t, err)
	defer o.Close()
	reopened, err := o.SendEmail(context.Background(), email("k1"))
	require.NoError(t, err)
	assert.True(t, reopened.Duplicate)
	_, err = o.SendSMS(context.Background(), messages.SMS{Meta: messages.Meta{IdempotencyKey: "k2"}, To: "+15551234567", Text: "hi"})
	require.NoError(t, err)

	records, err := outbox.ReadFile(path)
	require.NoError(t, err)
	assert.Len(t, records, 2)
	assert.NotEqual(t, records[0].ID, records[1].ID, "IDs stay unique across reopen")
}

func TestRefusesAMessageWithoutKey(t *testing.T) {
	o, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.jsonl"), nil)
	require.NoError(t, err)
	defer o.Close()
	_, err = o.SendEmail(context.Background(), email(""))
	var perm *messages.PermanentError
	assert.ErrorAs(t, err, &perm)
}

// The worker plugs the outbox in where activities want a billing system.
var _ activities.Billing = (*outbox.Outbox)(nil)

func suspension(key string) messages.AccountAction {
	return messages.AccountAction{
		Meta:      messages.Meta{CustomerID: "c-1", Step: "dunning.suspend", IdempotencyKey: key},
		Action:    messages.AccountSuspend,
		InvoiceID: "in_42",
		Reason:    "invoice in_42 unpaid after the 14-day grace period",
	}
}

func TestAccountActionsWriteBillingRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	var console bytes.Buffer
	o, err := outbox.Open(path, &console)
	require.NoError(t, err)
	defer o.Close()

	suspended, err := o.SuspendAccount(context.Background(), suspension("k-suspend"))
	require.NoError(t, err)
	assert.False(t, suspended.Duplicate)
	restore := messages.AccountAction{
		Meta:   messages.Meta{CustomerID: "c-1", Step: "dunning.restore", IdempotencyKey: "k-restore"},
		Action: messages.AccountRestore, InvoiceID: "in_42", Reason: "invoice in_42 paid",
	}
	restored, err := o.RestoreAccount(context.Background(), restore)
	require.NoError(t, err)
	assert.NotEqual(t, suspended.ID, restored.ID)

	assert.Equal(t,
		"outbox billing → c-1 suspend invoice=in_42 reason=\"invoice in_42 unpaid after the 14-day grace period\" (c-1 dunning.suspend)\n"+
			"outbox billing → c-1 restore invoice=in_42 reason=\"invoice in_42 paid\" (c-1 dunning.restore)\n",
		console.String())

	records, err := outbox.ReadFile(path)
	require.NoError(t, err)
	require.Len(t, records, 2)
	r := records[0]
	assert.Equal(t, suspended.ID, r.ID)
	assert.Equal(t, messages.ChannelBilling, r.Channel)
	assert.Equal(t, "c-1", r.To)
	assert.Equal(t, "c-1", r.CustomerID)
	assert.Equal(t, "dunning.suspend", r.Step)
	assert.Equal(t, messages.AccountSuspend, r.Action)
	assert.Equal(t, "in_42", r.InvoiceID)
	assert.Equal(t, "invoice in_42 unpaid after the 14-day grace period", r.Body)
	assert.Equal(t, "k-suspend", r.IdempotencyKey)
	assert.Equal(t, messages.AccountRestore, records[1].Action)
	assert.Equal(t, "invoice in_42 paid", records[1].Body)
}

// The method decides the action, as a billing API's endpoint does.
func TestAccountActionIsTheMethods(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	o, err := outbox.Open(path, nil)
	require.NoError(t, err)
	defer o.Close()
	a := suspension("k1")
	a.Action = ""
	_, err = o.SuspendAccount(context.Background(), a)
	require.NoError(t, err)
	a = suspension("k2")
	_, err = o.RestoreAccount(context.Background(), a)
	require.NoError(t, err)

	records, err := outbox.ReadFile(path)
	require.NoError(t, err)
	require.Len(t, records, 2)
	assert.Equal(t, messages.AccountSuspend, records[0].Action)
	assert.Equal(t, messages.AccountRestore, records[1].Action)
}

// A retried suspension, even from a new process, is not written again.
func TestAccountActionIdempotentAcrossRetriesAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	var console bytes.Buffer
	o, err := outbox.Open(path, &console)
	require.NoError(t, err)
	first, err := o.SuspendAccount(context.Background(), suspension("k1"))
	require.NoError(t, err)
	again, err := o.SuspendAccount(context.Background(), suspension("k1"))
	require.NoError(t, err)
	assert.True(t, again.Duplicate)
	assert.Equal(t, first.ID, again.ID)
	require.NoError(t, o.Close())

	o, err = outbox.Open(path, &console)
	require.NoError(t, err)
	defer o.Close()
	reopened, err := o.SuspendAccount(context.Background(), suspension("k1"))
	require.NoError(t, err)
	assert.True(t, reopened.Duplicate)
	assert.Equal(t, first.ID, reopened.ID)

	records, err := outbox.ReadFile(path)
	require.NoError(t, err)
	assert.Len(t, records, 1)
	assert.Equal(t, 1, bytes.Count(console.Bytes(), []byte("\n")), "a duplicate prints nothing")
}

func TestAccountActionWithoutKeyIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	o, err := outbox.Open(path, nil)
	require.NoError(t, err)
	defer o.Close()
	_, err = o.RestoreAccount(context.Background(), suspension(""))
	var perm *messages.PermanentError
	require.ErrorAs(t, err, &perm)
	assert.Equal(t, "no_idempotency_key", perm.Reason)
	records, err := outbox.ReadFile(path)
	require.NoError(t, err)
	assert.Empty(t, records)
}

// The console is a log: no phone number, email address or message body.
// The file keeps them, as the vendor would.
func TestConsoleLinesHoldNoContactDetailsOrBodies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	var console bytes.Buffer
	o, err := outbox.Open(path, &console)
	require.NoError(t, err)
	defer o.Close()
	ctx := context.Background()
	meta := func(key string) messages.Meta {
		return messages.Meta{CustomerID: "c-1", Step: "dunning.day3", Template: "payment_failed", IdempotencyKey: key}
	}
	_, err = o.SendSMS(ctx, messages.SMS{Meta: meta("s1"), To: "+15551234567", Text: "Acme: your card was declined"})
	require.NoError(t, err)
	_, err = o.AlertCSM(ctx, messages.Alert{Meta: meta("a1"), Text: "Ana Lima (ana@example.com) has not paid"})
	require.NoError(t, err)
	_, err = o.UpdateContact(ctx, messages.CRMUpdate{Meta: meta("c1"), Email: "ana@example.com", Note: "called ana@example.com", Properties: map[string]string{"journey_stage": "adoption"}})
	require.NoError(t, err)

	out := console.String()
	for _, secret := range []string{"+15551234567", "ana@example.com", "declined", "has not paid"} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, "outbox sms   → +1…67 [payment_failed] (28 chars)")
	assert.Contains(t, out, "outbox crm   → a…@example.com [payment_failed] journey_stage=adoption note=(22 chars)")

	records, err := outbox.ReadFile(path)
	require.NoError(t, err)
	require.Len(t, records, 3)
	assert.Equal(t, "+15551234567", records[0].To)
	assert.Equal(t, "Acme: your card was declined", records[0].Body)
}

// The outbox holds whole messages, addresses and bodies: only its owner
// reads it, whether Open creates the file or finds it with wider
// permissions (made by an older version, or by hand).
func TestFileIsOwnerOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := t.TempDir()
	created := filepath.Join(dir, "new", "outbox.jsonl")
	o, err := outbox.Open(created, nil)
	require.NoError(t, err)
	_, err = o.SendEmail(context.Background(), email("k1"))
	require.NoError(t, err)
	require.NoError(t, o.Close())
	assertMode(t, created, 0o600)

	existing := filepath.Join(dir, "outbox.jsonl")
	require.NoError(t, os.WriteFile(existing, nil, 0o644))
	require.NoError(t, os.Chmod(existing, 0o666)) // past the umask
	o, err = outbox.Open(existing, nil)
	require.NoError(t, err)
	defer o.Close()
	assertMode(t, existing, 0o600)
	_, err = o.SendEmail(context.Background(), email("k2"))
	require.NoError(t, err)
	assertMode(t, existing, 0o600)
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, want, fi.Mode().Perm(), "%s is %v", path, fi.Mode().Perm())
}

// An email's headers and class are in its record, so List-Unsubscribe can
// be read from the file; a line from before they existed still reads.
func TestEmailHeadersAndClassAreRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	old := `{"id":"outbox-1","at":"2026-01-02T03:04:05Z","channel":"email","to":"ana@example.com","subject":"Hi","body":"Hi","customer":"c-1","step":"s","idempotency_key":"k0"}` + "\n"
	require.NoError(t, os.WriteFile(path, []byte(old), 0o600))
	o, err := outbox.Open(path, nil)
	require.NoError(t, err)
	defer o.Close()
	e := email("k1")
	e.Class = "marketing"
	e.Headers = map[string]string{messages.HeaderListUnsubscribe: "<https://journeys.acme.example/u/t>", messages.HeaderListUnsubscribePost: messages.OneClick}
	_, err = o.SendEmail(context.Background(), e)
	require.NoError(t, err)

	records, err := outbox.ReadFile(path)
	require.NoError(t, err)
	require.Len(t, records, 2)
	assert.Empty(t, records[0].Headers)
	assert.Equal(t, e.Headers, records[1].Headers)
	assert.Equal(t, "marketing", records[1].Class)
}
