package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/playbook"
)

// withLinks adds the link settings a production worker whose playbook
// sends marketing email needs to env, and returns env.
func withLinks(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	entry, err := links.GenerateKey("l1")
	require.NoError(t, err)
	env[links.EnvKeys] = entry
	if env[api.EnvPublicURL] == "" {
		env[api.EnvPublicURL] = "https://journeys.acme.example"
	}
	return env
}

// Outside dev mode a playbook with marketing email needs both link
// settings; --dev makes the key file and links to the HTTP address.
func TestLinkSettings(t *testing.T) {
	pb := playbook.Default()
	entry, err := links.GenerateKey("l1")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no keys", map[string]string{api.EnvPublicURL: "https://journeys.acme.example"}, "set JOURNEYS_LINK_KEYS and JOURNEYS_PUBLIC_URL"},
		{"no public URL", map[string]string{links.EnvKeys: entry}, "set JOURNEYS_LINK_KEYS and JOURNEYS_PUBLIC_URL"},
		{"bad keys", map[string]string{links.EnvKeys: "l1:short"}, "JOURNEYS_LINK_KEYS"},
		{"plain http", map[string]string{links.EnvKeys: entry, api.EnvPublicURL: "http://journeys.acme.example"}, "want https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := linkSettings(config{Getenv: envOf(tc.env)}, "127.0.0.1:8080", pb)
			assert.ErrorContains(t, err, tc.want)
		})
	}

	l, err := linkSettings(config{Getenv: envOf(map[string]string{links.EnvKeys: entry, api.EnvPublicURL: "https://journeys.acme.example/"})}, "127.0.0.1:8080", pb)
	require.NoError(t, err)
	require.NotNil(t, l.linker)
	assert.Equal(t, "https://journeys.acme.example", l.linker.BaseURL)
	assert.Equal(t, links.EnvKeys, l.source)

	l, err = linkSettings(config{Role: RoleAPI, Getenv: envOf(nil)}, "127.0.0.1:8080", pb)
	require.NoError(t, err, "an API process sends no email")
	assert.Nil(t, l.linker)

	noMarketing := pb
	noMarketing.Adoption.InactiveEmail, noMarketing.Adoption.UsageDropEmail, noMarketing.Expansion.UpsellEmail = "", "", ""
	noMarketing.NPS.SurveyEmail, noMarketing.NPS.PromoterEmail, noMarketing.WinBack.Steps = "", "", nil
	_, err = linkSettings(config{Getenv: envOf(nil)}, "127.0.0.1:8080", noMarketing)
	assert.NoError(t, err, "without marketing email links are optional")
	var banner bytes.Buffer
	emailLinks{}.print(&banner)
	assert.Contains(t, banner.String(), "none: footers go without unsubscribe and preference links")

	dir := t.TempDir()
	l, err = linkSettings(config{Dev: true, DataDir: dir, Getenv: envOf(nil)}, "127.0.0.1:8080", pb)
	require.NoError(t, err)
	require.NotNil(t, l.linker)
	assert.Equal(t, "http://127.0.0.1:8080", l.linker.BaseURL, "dev links open the HTTP address")
	assert.Equal(t, links.DevKeyFile(dir), l.source)
	banner.Reset()
	l.print(&banner)
	assert.Equal(t, "  Email links      http://127.0.0.1:8080/u/, /preferences/  (keys from "+links.DevKeyFile(dir)+")\n", banner.String())
	_, err = os.Stat(links.DevKeyFile(dir))
	require.NoError(t, err, "--dev makes the key file")
	again, err := linkSettings(config{Dev: true, DataDir: dir, Getenv: envOf(nil)}, "127.0.0.1:8080", pb)
	require.NoError(t, err)
	assert.Equal(t, l.keys.IDs(), again.keys.IDs())
	u, err := l.linker.URL(links.Claims{CustomerID: "c-1", Channel: "email", Class: playbook.ClassMarketing, Purpose: links.PurposeUnsubscribe})
	require.NoError(t, err)
	_, err = again.keys.VerifyPurpose(u[len("http://127.0.0.1:8080"+links.UnsubscribePath):], links.PurposeUnsubscribe)
	assert.NoError(t, err, "a restarted dev worker verifies the links it sent")
}
