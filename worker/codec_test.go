package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/internal/temporalconn"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func payloadsOf(v any) []*commonpb.Payload {
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		panic(err)
	}
	return []*commonpb.Payload{p}
}

func TestPayloadKeys(t *testing.T) {
	_, _, err := payloadKeys(config{DataDir: t.TempDir(), Getenv: envOf(nil)})
	assert.ErrorContains(t, err, "set JOURNEYS_CODEC_KEYS", "production has no default key")

	entry, err := codec.GenerateKey("k1")
	require.NoError(t, err)
	keys, source, err := payloadKeys(config{Dev: true, DataDir: t.TempDir(), Getenv: envOf(map[string]string{codec.EnvKeys: entry})})
	require.NoError(t, err)
	assert.Equal(t, "k1", keys.EncryptionKeyID())
	assert.Equal(t, codec.EnvKeys, source, "the environment wins over the dev key file")

	_, _, err = payloadKeys(config{Getenv: envOf(map[string]string{codec.EnvKeys: "k1:short"})})
	assert.ErrorContains(t, err, codec.EnvKeys)

	dir := t.TempDir()
	keys, source, err = payloadKeys(config{Dev: true, DataDir: dir})
	require.NoError(t, err)
	assert.Equal(t, codec.DevKeyFile(dir), source)
	info, err := os.Stat(source)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the key file is the owner's only")
	again, _, err := payloadKeys(config{Dev: true, DataDir: dir})
	require.NoError(t, err)
	assert.Equal(t, keys.IDs(), again.IDs())
	sealed, err := codec.NewCodec(keys).Encode(payloadsOf("ana@example.com"))
	require.NoError(t, err)
	_, err = codec.NewCodec(again).Decode(sealed)
	assert.NoError(t, err, "a restart reads what the last run encrypted")
}

func TestCodecServerAccess(t *testing.T) {
	dir := t.TempDir()
	keys, err := codec.LoadOrCreateDevKeys(codec.DevKeyFile(dir))
	require.NoError(t, err)
	decode := func(h http.Handler, origin, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, codec.DecodePath, strings.NewReader(`{"payloads":[]}`))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	// Dev on loopback: the embedded UI, which has no sign-in, decodes.
	dev := config{Dev: true, DataDir: dir, UIAddr: "127.0.0.1:8233"}
	h, err := codecServer(dev, keys, "127.0.0.1:8080")
	require.NoError(t, err)
	rec := decode(h, "http://localhost:8233", "")
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "http://localhost:8233", rec.Header().Get("Access-Control-Allow-Origin"))
	rec = decode(h, "https://evil.example", "")
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "no CORS grant for another origin")

	// Dev listening beyond loopback without tokens would hand anyone the
	// plain text of every history.
	_, err = codecServer(dev, keys, "0.0.0.0:8080")
	assert.ErrorContains(t, err, envCodecTokens)

	// Production: operators' tokens, not the backends' API tokens.
	prod := config{Getenv: envOf(map[string]string{
		envCodecTokens:        "operator-token-0123456789",
		envCodecOrigins:       "https://temporal.acme.example, https://cloud.temporal.io/",
		"JOURNEYS_API_TOKENS": "backend-token-0123456789",
	})}
	h, err = codecServer(prod, keys, "0.0.0.0:8080")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, decode(h, "", "").Code)
	assert.Equal(t, http.StatusUnauthorized, decode(h, "", "backend-token-0123456789").Code)
	rec = decode(h, "https://cloud.temporal.io", "operator-token-0123456789")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "https://cloud.temporal.io", rec.Header().Get("Access-Control-Allow-Origin"))

	// Without tokens outside dev mode, the handler refuses everyone.
	h, err = codecServer(config{Getenv: envOf(nil)}, keys, "127.0.0.1:8080")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, decode(h, "", "").Code)

	for _, bad := range []string{"temporal.acme.example", "ftp://x.example", "https://x.example/ui"} {
		_, err := codecServer(config{Getenv: envOf(map[string]string{envCodecOrigins: bad})}, keys, "127.0.0.1:8080")
		assert.ErrorContains(t, err, envCodecOrigins, bad)
	}
	_, err = codecServer(config{Getenv: envOf(map[string]string{envCodecTokens: "short"})}, keys, "127.0.0.1:8080")
	assert.ErrorContains(t, err, envCodecTokens)
}

// Connection settings are checked before anything connects: a bad one stops
// the worker at start with the variable named.
func TestTemporalSecurityIsCheckedAtStart(t *testing.T) {
	base := func(env map[string]string, dev bool) config {
		return config{Dev: dev, DataDir: t.TempDir(), HTTPAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "off", Getenv: envOf(env)}
	}
	err := run(context.Background(), base(map[string]string{"TEMPORAL_API_KEY": "cloud-key"}, true), io.Discard, io.Discard)
	assert.ErrorIs(t, err, temporalconn.ErrDevServer)

	entry, err := codec.GenerateKey("k1")
	require.NoError(t, err)
	prod := base(map[string]string{codec.EnvKeys: entry, "TEMPORAL_TLS_CERT": "/nonexistent/client.pem"}, false)
	err = run(context.Background(), prod, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not")
}
