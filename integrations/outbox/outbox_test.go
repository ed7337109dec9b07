package outbox_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	assert.Equal(t, "outbox email → ana@example.com [welcome] \"Welcome\" (c-1 onboarding.welcome)\n", console.String())

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
