package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Outside --dev a channel without vendor credentials does not quietly send
// to the outbox: the operator lists the channels meant for it in
// JOURNEYS_OUTBOX_CHANNELS, or the worker refuses to start and says which
// channels have no credentials.
func TestOutboxChannelsMustBeListedOutsideDev(t *testing.T) {
	sendgrid := map[string]string{"SENDGRID_API_KEY": "SG.key", "SENDGRID_FROM": "Acme <hello@acme.example>"}
	billing := map[string]string{"BILLING_API_URL": "https://billing.example.com", "BILLING_API_TOKEN": "t"}
	over := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	parse := func(args []string, env map[string]string) error {
		_, err := parseConfig(args, func(k string) string { return env[k] }, &bytes.Buffer{})
		return err
	}

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // "" starts
	}{
		{"no credentials, unset", nil, nil, "email, sms, alert, crm, billing"},
		{"some credentials, unset", nil, over(sendgrid), "sms, alert, crm, billing"},
		{"some listed", nil, over(sendgrid, "JOURNEYS_OUTBOX_CHANNELS", "sms,alert"), "crm, billing"},
		{"role worker", []string{"--role", "worker"}, nil, "email, sms, alert, crm, billing"},
		{"every one without credentials listed", nil, over(sendgrid, "JOURNEYS_OUTBOX_CHANNELS", " sms, alert,crm ,billing"), ""},
		{"all", nil, map[string]string{"JOURNEYS_OUTBOX_CHANNELS": "all"}, ""},
		{"listed and with credentials", nil, over(billing, "JOURNEYS_OUTBOX_CHANNELS", "email,sms,alert,crm,billing"), ""},
		// The API process sends nothing: its channels only answer Slack.
		{"role api", []string{"--role", "api"}, nil, ""},
		{"--dev", []string{"--dev"}, nil, ""},
		{"--dev, some listed", []string{"--dev"}, map[string]string{"JOURNEYS_OUTBOX_CHANNELS": "email"}, ""},
		{"unknown channel", nil, map[string]string{"JOURNEYS_OUTBOX_CHANNELS": "email,fax,sms"}, `"fax"`},
		{"unknown channel with --dev", []string{"--dev"}, map[string]string{"JOURNEYS_OUTBOX_CHANNELS": "fax"}, `"fax"`},
		{"unknown channel with role api", []string{"--role", "api"}, map[string]string{"JOURNEYS_OUTBOX_CHANNELS": "Email"}, `"Email"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := parse(tc.args, tc.env)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "JOURNEYS_OUTBOX_CHANNELS")
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	err := parse(nil, over(sendgrid))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "email", "SendGrid has credentials")
}
