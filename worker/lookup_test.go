package main

import (
	"encoding/base64"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/internal/keyfile"
)

func TestLookupKey(t *testing.T) {
	key, err := lookupKey(config{DataDir: t.TempDir(), Getenv: envOf(nil)})
	require.NoError(t, err)
	assert.Nil(t, key, "production has no default: the inbound webhook is off")

	want := []byte(strings.Repeat("k", 32))
	key, err = lookupKey(config{Dev: true, DataDir: t.TempDir(), Getenv: envOf(map[string]string{api.EnvLookupKey: base64.StdEncoding.EncodeToString(want)})})
	require.NoError(t, err)
	assert.Equal(t, want, key, "the environment wins over the dev key file")

	dir := t.TempDir()
	key, err = lookupKey(config{Dev: true, DataDir: dir})
	require.NoError(t, err)
	assert.Len(t, key, api.MinLookupKeyBytes)
	info, err := os.Stat(lookupKeyFile(dir))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the key file is the owner's only")
	again, err := lookupKey(config{Dev: true, DataDir: dir})
	require.NoError(t, err)
	assert.Equal(t, key, again, "a restart keeps the key, so the phone hashes journeys set still match")
	other, err := lookupKey(config{Dev: true, DataDir: t.TempDir()})
	require.NoError(t, err)
	assert.NotEqual(t, key, other, "each data dir makes its own random key")

	err = keyfile.CreateExclusive(lookupKeyFile(dir), []byte("another key\n"))
	assert.ErrorIs(t, err, fs.ErrExist, "a key file is never overwritten")
	again, err = lookupKey(config{Dev: true, DataDir: dir})
	require.NoError(t, err)
	assert.Equal(t, key, again)

	require.NoError(t, os.WriteFile(lookupKeyFile(dir), []byte("short\n"), 0o600))
	_, err = lookupKey(config{Dev: true, DataDir: dir})
	assert.ErrorContains(t, err, "lookup key file")
}

func TestInboundSMSMissing(t *testing.T) {
	twilio := map[string]string{"TWILIO_AUTH_TOKEN": "token"}
	key := []byte(strings.Repeat("k", 32))
	assert.Nil(t, inboundSMSMissing(config{Getenv: envOf(nil)}, nil), "no Twilio, nothing to warn of")
	assert.Equal(t, []string{api.EnvLookupKey, api.EnvPublicURL}, inboundSMSMissing(config{Role: RoleAll, Getenv: envOf(twilio)}, nil))
	assert.Equal(t, []string{api.EnvLookupKey}, inboundSMSMissing(config{Role: RoleWorker, Getenv: envOf(twilio)}, nil), "a worker serves no webhook")
	twilio[api.EnvPublicURL] = "https://journeys.acme.com"
	assert.Nil(t, inboundSMSMissing(config{Role: RoleAll, Getenv: envOf(twilio)}, key))
}
