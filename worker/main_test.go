package main

import (
	"bytes"
	"errors"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/workflows"
)

func TestConfigFlagsOverEnvOverDefaults(t *testing.T) {
	env := map[string]string{"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "prod", "JOURNEYS_HTTP_ADDR": "0.0.0.0:9000", "JOURNEYS_LOG_LEVEL": "debug", "JOURNEYS_OUTBOX_CHANNELS": "all"}
	cfg, err := parseConfig([]string{"--namespace", "staging"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	require.NoError(t, err)
	require.NotNil(t, cfg.Getenv, "run reads vendor credentials through it")
	assert.Equal(t, "temporal:7233", cfg.Getenv("TEMPORAL_ADDRESS"))
	cfg.Getenv = nil
	assert.Equal(t, config{
		TemporalAddr: "temporal:7233", Namespace: "staging", HTTPAddr: "0.0.0.0:9000",
		DataDir: ".data", UIAddr: "127.0.0.1:8233", LogLevel: "debug", Role: RoleAll,
		Rates: workflows.DefaultRates(),
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
		"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_API_KEY", "JOURNEYS_OUTBOX_CHANNELS"} {
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
	cfg, err := parseConfig(nil, func(k string) string {
		return map[string]string{"JOURNEYS_ROLE": "worker", "JOURNEYS_OUTBOX_CHANNELS": "all"}[k]
	}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, RoleWorker, cfg.Role)
}

func TestRateLimits(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			return map[string]string{"JOURNEYS_RATE_LIMITS": v, "JOURNEYS_OUTBOX_CHANNELS": "all"}[k]
		}
	}
	cfg, err := parseConfig(nil, env("sms=5, crm=off,email=0.5"), &bytes.Buffer{})
	require.NoError(t, err)
	want := workflows.DefaultRates()
	want[messages.ChannelSMS], want[messages.ChannelCRM], want[messages.ChannelEmail] = 5, 0, 0.5
	assert.Equal(t, want, cfg.Rates, "each pair overrides its channel's default; off lifts the limit")
	assert.Equal(t, "email=0.5,sms=5,alert=1,crm=off,billing=10", formatRates(cfg.Rates))

	cfg, err = parseConfig([]string{"--rate-limits", "alert=3"}, env("alert=2"), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, 3.0, cfg.Rates[messages.ChannelAlert], "the flag wins over the environment")

	for value, msg := range map[string]string{
		"fax=1":    `rate limits: "fax=1": want channel=per-second with a channel of email, sms, alert, crm, billing`,
		"sms":      `rate limits: "sms": want channel=per-second`,
		"sms=0":    `rate limits: sms="0": want a number of activities per second above 0, or off`,
		"sms=-1":   `rate limits: sms="-1"`,
		"sms=fast": `rate limits: sms="fast"`,
		"sms=NaN":  `rate limits: sms="NaN"`,
	} {
		_, err := parseConfig(nil, env(value), &bytes.Buffer{})
		assert.ErrorContains(t, err, msg, value)
	}
}

func TestStageCountInterval(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			return map[string]string{"JOURNEYS_STAGE_COUNT_INTERVAL": v, "JOURNEYS_OUTBOX_CHANNELS": "all"}[k]
		}
	}
	cfg, err := parseConfig(nil, env(""), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Zero(t, cfg.StageCount, "unset: the default")
	cfg, err = parseConfig(nil, env("90s"), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "1m30s", cfg.StageCount.String())
	cfg, err = parseConfig([]string{"--stage-count-interval", "5m"}, env("90s"), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "5m0s", cfg.StageCount.String(), "the flag wins over the environment")
	for _, off := range []string{"0", "off"} {
		cfg, err = parseConfig(nil, env(off), &bytes.Buffer{})
		require.NoError(t, err)
		assert.Negative(t, cfg.StageCount, "%s: never counted", off)
	}
	for _, bad := range []string{"60", "soon", "500ms", "-1m"} {
		_, err := parseConfig(nil, env(bad), &bytes.Buffer{})
		assert.ErrorContains(t, err, `stage count interval "`+bad+`": want a duration of at least 1s, such as 60s or 5m, or off`)
	}
	var out bytes.Buffer
	_, err = parseConfig([]string{"--help"}, env(""), &out)
	assert.True(t, errors.Is(err, flag.ErrHelp))
	assert.Contains(t, out.String(), "JOURNEYS_STAGE_COUNT_INTERVAL")
}
