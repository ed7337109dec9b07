package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/links"
)

// TestEveryVariableIsCheckedAtStart gives the worker one bad setting at a
// time, with no Temporal to connect to: each must stop it at once with an
// error naming what is wrong, before it dials Temporal. A setting checked
// only after dialing would fail here with "connect to Temporal" instead.
func TestEveryVariableIsCheckedAtStart(t *testing.T) {
	key, err := codec.GenerateKey("k1")
	require.NoError(t, err)
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o600))
	pem := filepath.Join(t.TempDir(), "empty.pem")
	require.NoError(t, os.WriteFile(pem, []byte("not a certificate"), 0o600))
	sendgrid := map[string]string{"SENDGRID_API_KEY": "SG.key", "SENDGRID_FROM": "Acme <hello@acme.example>"}
	twilio := map[string]string{"TWILIO_ACCOUNT_SID": "AC" + strings.Repeat("0", 32), "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM_NUMBER": "+15550001111"}
	slack := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_FALLBACK_CHANNEL": "C0TEAM"}
	with := func(base map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for bk, bv := range base {
			if bk != k {
				out[bk] = bv
			}
		}
		return out
	}
	without := func(base map[string]string, k string) map[string]string {
		out := with(base, k, "")
		delete(out, k)
		return out
	}

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string // over a valid production environment
		want string
	}{
		{"TEMPORAL_ADDRESS", nil, map[string]string{"TEMPORAL_ADDRESS": "temporal"}, `"temporal" [TEMPORAL_ADDRESS]: want host:port`},
		{"TEMPORAL_NAMESPACE", nil, map[string]string{"TEMPORAL_NAMESPACE": "my namespace"}, `namespace "my namespace" [TEMPORAL_NAMESPACE]`},
		{"JOURNEYS_HTTP_ADDR", nil, map[string]string{"JOURNEYS_HTTP_ADDR": "8080"}, `"8080" [JOURNEYS_HTTP_ADDR]: want host:port`},
		{"JOURNEYS_UI_ADDR", []string{"--dev"}, map[string]string{"JOURNEYS_UI_ADDR": "ui"}, `"ui" [JOURNEYS_UI_ADDR]: want host:port`},
		{"JOURNEYS_ROLE", nil, map[string]string{"JOURNEYS_ROLE": "both"}, `role "both": want all, worker or api`},
		{"JOURNEYS_SMS_REPLY_KEYWORDS", nil, map[string]string{"JOURNEYS_SMS_REPLY_KEYWORDS": "yes"}, `JOURNEYS_SMS_REPLY_KEYWORDS "yes": want true`},
		{"JOURNEYS_LOG_LEVEL", nil, map[string]string{"JOURNEYS_LOG_LEVEL": "loud"}, `log level "loud"`},
		{"JOURNEYS_RATE_LIMITS", nil, map[string]string{"JOURNEYS_RATE_LIMITS": "sms=fast"}, `rate limits: sms="fast"`},
		{"JOURNEYS_STAGE_COUNT_INTERVAL", nil, map[string]string{"JOURNEYS_STAGE_COUNT_INTERVAL": "soon"}, `stage count interval "soon": want a duration`},
		{"JOURNEYS_PLAYBOOK", nil, map[string]string{"JOURNEYS_PLAYBOOK": "/no/such/playbook.yaml"}, "/no/such/playbook.yaml"},
		{"JOURNEYS_DATA_DIR", nil, map[string]string{"JOURNEYS_DATA_DIR": notADir}, notADir},
		{"JOURNEYS_API_TOKENS missing", nil, map[string]string{api.EnvTokens: ""}, "set JOURNEYS_API_TOKENS"},
		{"JOURNEYS_API_TOKENS short", nil, map[string]string{api.EnvTokens: "short"}, "JOURNEYS_API_TOKENS"},
		{"JOURNEYS_OPERATOR_TOKENS short", nil, map[string]string{api.EnvOperatorTokens: "short"}, "JOURNEYS_OPERATOR_TOKENS"},
		{"STRIPE_WEBHOOK_SECRET", nil, map[string]string{"STRIPE_WEBHOOK_SECRET": "sk_live_123"}, "STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret"},
		{"JOURNEYS_PUBLIC_URL", nil, map[string]string{"JOURNEYS_PUBLIC_URL": "journeys.acme.com"}, `JOURNEYS_PUBLIC_URL "journeys.acme.com": want an absolute http(s) URL`},
		{"JOURNEYS_LINK_KEYS missing", nil, map[string]string{links.EnvKeys: ""}, "set JOURNEYS_LINK_KEYS and JOURNEYS_PUBLIC_URL"},
		{"JOURNEYS_LINK_KEYS bad", nil, map[string]string{links.EnvKeys: "l1:c2hvcnQ="}, "JOURNEYS_LINK_KEYS"},
		{"JOURNEYS_LINK_KEYS bad with --dev", []string{"--dev"}, map[string]string{links.EnvKeys: "l1:c2hvcnQ="}, "JOURNEYS_LINK_KEYS"},
		{"JOURNEYS_PUBLIC_URL missing for links", nil, map[string]string{api.EnvPublicURL: ""}, "set JOURNEYS_LINK_KEYS and JOURNEYS_PUBLIC_URL"},
		{"JOURNEYS_PUBLIC_URL not https for links", nil, map[string]string{api.EnvPublicURL: "http://journeys.acme.com"}, "want https"},
		{"SENDGRID_UNSUBSCRIBE_GROUPS", nil, with(sendgrid, "SENDGRID_UNSUBSCRIBE_GROUPS", "marketing:abc"), "SENDGRID_UNSUBSCRIBE_GROUPS"},
		{"JOURNEYS_PUBLIC_URL with a path", nil, map[string]string{"JOURNEYS_PUBLIC_URL": "https://acme.com/journeys"}, "JOURNEYS_PUBLIC_URL"},
		{"SENDGRID_WEBHOOK_PUBLIC_KEY", nil, map[string]string{"SENDGRID_WEBHOOK_PUBLIC_KEY": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"}, "SENDGRID_WEBHOOK_PUBLIC_KEY: not a public key"},
		{"SENDGRID_WEBHOOK_PUBLIC_KEY not base64", nil, map[string]string{"SENDGRID_WEBHOOK_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----"}, "SENDGRID_WEBHOOK_PUBLIC_KEY: not base64"},
		{"JOURNEYS_LOOKUP_KEY short", nil, map[string]string{"JOURNEYS_LOOKUP_KEY": "c2hvcnQta2V5LTE2Ynl0ZQ=="}, "JOURNEYS_LOOKUP_KEY: 16 bytes, want at least 32"},
		{"JOURNEYS_LOOKUP_KEY not base64", []string{"--dev"}, map[string]string{"JOURNEYS_LOOKUP_KEY": "not base64!"}, "JOURNEYS_LOOKUP_KEY: not base64"},
		{"JOURNEYS_CODEC_KEYS missing", nil, map[string]string{codec.EnvKeys: ""}, "JOURNEYS_CODEC_KEYS"},
		{"JOURNEYS_CODEC_KEYS bad", nil, map[string]string{codec.EnvKeys: "k1:not-base64"}, "JOURNEYS_CODEC_KEYS"},
		{"JOURNEYS_CODEC_TOKENS", nil, map[string]string{"JOURNEYS_CODEC_TOKENS": "short"}, "JOURNEYS_CODEC_TOKENS"},
		{"JOURNEYS_CODEC_ORIGINS", nil, map[string]string{"JOURNEYS_CODEC_ORIGINS": "temporal.acme.com"}, "JOURNEYS_CODEC_ORIGINS"},
		{"JOURNEYS_DATABASE_URL", nil, map[string]string{"JOURNEYS_DATABASE_URL": "mysql://ledger"}, "JOURNEYS_DATABASE_URL"},
		{"TEMPORAL_TLS_CERT", nil, map[string]string{"TEMPORAL_TLS_CERT": "/no/cert.pem"}, "TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not"},
		{"TEMPORAL_TLS_KEY", nil, map[string]string{"TEMPORAL_TLS_CERT": pem, "TEMPORAL_TLS_KEY": "/no/key.pem"}, "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY"},
		{"TEMPORAL_TLS_CA", nil, map[string]string{"TEMPORAL_TLS_CA": pem}, "TEMPORAL_TLS_CA"},
		{"TEMPORAL_API_KEY with --dev", []string{"--dev"}, map[string]string{"TEMPORAL_API_KEY": "key"}, "--dev server speaks plain gRPC"},
		{"SENDGRID_FROM missing", nil, without(sendgrid, "SENDGRID_FROM"), "SENDGRID_FROM"},
		{"SENDGRID_FROM", nil, with(sendgrid, "SENDGRID_FROM", "hello"), "SENDGRID_FROM"},
		{"SENDGRID_REPLY_TO", nil, with(sendgrid, "SENDGRID_REPLY_TO", "support"), "SENDGRID_REPLY_TO"},
		{"SENDGRID_BASE_URL", nil, with(sendgrid, "SENDGRID_BASE_URL", "ftp://sendgrid"), "SENDGRID_BASE_URL"},
		{"TWILIO_AUTH_TOKEN missing", nil, without(twilio, "TWILIO_AUTH_TOKEN"), "TWILIO_AUTH_TOKEN"},
		{"TWILIO_ACCOUNT_SID", nil, with(twilio, "TWILIO_ACCOUNT_SID", "nope"), "TWILIO_ACCOUNT_SID"},
		{"TWILIO_FROM_NUMBER", nil, with(twilio, "TWILIO_FROM_NUMBER", "555-0001"), "TWILIO_FROM_NUMBER"},
		{"TWILIO_MESSAGING_SERVICE_SID", nil, without(with(twilio, "TWILIO_MESSAGING_SERVICE_SID", "XX1"), "TWILIO_FROM_NUMBER"), "TWILIO_MESSAGING_SERVICE_SID must be a messaging service SID"},
		{"TWILIO_STATUS_CALLBACK_URL", nil, with(twilio, "TWILIO_STATUS_CALLBACK_URL", "callback"), "TWILIO_STATUS_CALLBACK_URL"},
		{"TWILIO_BASE_URL", nil, with(twilio, "TWILIO_BASE_URL", "ftp://twilio"), "TWILIO_BASE_URL"},
		{"SLACK_FALLBACK_CHANNEL missing", nil, without(slack, "SLACK_FALLBACK_CHANNEL"), "SLACK_FALLBACK_CHANNEL"},
		{"SLACK_API_URL", nil, with(slack, "SLACK_API_URL", "slack"), "SLACK_API_URL"},
		{"JOURNEYS_UI_URL", nil, with(slack, "JOURNEYS_UI_URL", "temporal-ui"), "JOURNEYS_UI_URL"},
		{"HUBSPOT_BASE_URL", nil, map[string]string{"HUBSPOT_ACCESS_TOKEN": "pat-na1-1", "HUBSPOT_BASE_URL": "hubspot"}, "HUBSPOT_BASE_URL"},
		{"BILLING_API_TOKEN missing", nil, map[string]string{"BILLING_API_URL": "https://billing.example.com"}, "BILLING_API_TOKEN"},
		{"BILLING_API_URL", nil, map[string]string{"BILLING_API_URL": "billing", "BILLING_API_TOKEN": "t"}, "BILLING_API_URL"},
		{"JOURNEYS_OUTBOX_CHANNELS missing", nil, map[string]string{"JOURNEYS_OUTBOX_CHANNELS": ""}, "set JOURNEYS_OUTBOX_CHANNELS"},
		{"JOURNEYS_OUTBOX_CHANNELS partial", nil, with(sendgrid, "JOURNEYS_OUTBOX_CHANNELS", "sms,alert"), "crm, billing: no vendor credentials"},
		{"JOURNEYS_OUTBOX_CHANNELS unknown", nil, map[string]string{"JOURNEYS_OUTBOX_CHANNELS": "email,fax"}, `"fax" [JOURNEYS_OUTBOX_CHANNELS]`},
		{"JOURNEYS_OUTBOX_CHANNELS unknown with --dev", []string{"--dev"}, map[string]string{"JOURNEYS_OUTBOX_CHANNELS": "fax"}, `"fax" [JOURNEYS_OUTBOX_CHANNELS]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{
				"TEMPORAL_ADDRESS":   freeAddr(t), // nothing listens there
				"JOURNEYS_HTTP_ADDR": "127.0.0.1:0", "JOURNEYS_DATA_DIR": t.TempDir(),
				api.EnvTokens: "backend-token-0123456789", codec.EnvKeys: key,
				"JOURNEYS_OUTBOX_CHANNELS": "all",
			}
			withLinks(t, env)
			for k, v := range tc.env {
				env[k] = v
			}
			cfg, err := parseConfig(tc.args, func(k string) string { return env[k] }, &bytes.Buffer{})
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				err = run(ctx, cfg, &bytes.Buffer{}, &bytes.Buffer{})
			}
			require.Error(t, err, "the worker started with %v", tc.env)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "connect to Temporal", "checked only after dialing Temporal")
		})
	}
}
