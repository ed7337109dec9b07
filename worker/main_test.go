package main

import (
	"bytes"
	"errors"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigFlagsOverEnvOverDefaults(t *testing.T) {
	env := map[string]string{"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "prod", "JOURNEYS_HTTP_ADDR": "0.0.0.0:9000", "JOURNEYS_LOG_LEVEL": "debug"}
	cfg, err := parseConfig([]string{"--namespace", "staging"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	require.NoError(t, err)
	require.NotNil(t, cfg.Getenv, "run reads vendor credentials through it")
	assert.Equal(t, "temporal:7233", cfg.Getenv("TEMPORAL_ADDRESS"))
	cfg.Getenv = nil
	assert.Equal(t, config{
		TemporalAddr: "temporal:7233", Namespace: "staging", HTTPAddr: "0.0.0.0:9000",
		DataDir: ".data", UIAddr: "127.0.0.1:8233", LogLevel: "debug", Role: RoleAll,
	}, cfg)

	cfg, err = parseConfig([]string{"--dev", "--playbook", "playbooks/demo.yaml"}, func(string) string { return "" }, &bytes.Buffer{})
	require.NoError(t, err)
	assert.True(t, cfg.Dev)
	assert.Equal(t, "playbooks/demo.yaml", cfg.PlaybookPath)
	assert.Equal(t, "127.0.0.1:7233", cfg.TemporalAddr)
	assert.Equal(t, "127.0.0.1:8080", cfg.HTTPAddr)
}

func TestHelpListsFlagsAndEnv(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"--help"}, func(string) string { return "" }, &out)
	assert.True(t, errors.Is(err, flag.ErrHelp))
	for _, want := range []string{"--dev", "-playbook", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "JOURNEYS_HTTP_ADDR", "JOURNEYS_DATA_DIR", "outbox.jsonl",
		"JOURNEYS_LOG_LEVEL", "JOURNEYS_CODEC_KEYS", "JOURNEYS_CODEC_TOKENS", "JOURNEYS_CODEC_ORIGINS",
		"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_API_KEY"} {
		assert.Contains(t, out.String(), want)
	}
}

func TestBadArgs(t *testing.T) {
	_, err := parseConfig([]string{"--nope"}, func(string) string { return "" }, &bytes.Buffer{})
	assert.Error(t, err)
	_, err = parseConfig([]string{"dev"}, func(string) string { return "" }, &bytes.Buffer{})
	assert.ErrorContains(t, err, `unexpected argument "dev"`)
	_, err = parseConfig([]string{"--log-level", "loud"}, func(string) string { return "" }, &bytes.Buffer{})
	assert.ErrorContains(t, err, `log level "loud": want debug, info, warn or error`)
	_, err = parseConfig([]string{"--role", "both"}, func(string) string { return "" }, &bytes.Buffer{})
	assert.ErrorContains(t, err, `role "both": want all, worker or api`)
	_, err = parseConfig([]string{"--dev", "--role", "api"}, func(string) string { return "" }, &bytes.Buffer{})
	assert.ErrorContains(t, err, "--dev runs everything in one process")
	cfg, err := parseConfig(nil, func(k string) string { return map[string]string{"JOURNEYS_ROLE": "worker"}[k] }, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, RoleWorker, cfg.Role)
}
