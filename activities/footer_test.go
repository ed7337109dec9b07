package activities_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/integrations/sendgrid"
	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
)

const (
	publicURL = "https://journeys.acme.example"
	postal    = "Example Inc. & Co, 548 Market St, San Francisco, CA 94104"
)

// mailSend is what the footer test reads of a v3 Mail Send body.
type mailSend struct {
	Headers map[string]string `json:"headers"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
	ASM *struct {
		GroupID int `json:"group_id"`
	} `json:"asm"`
}

// recordingSendGrid accepts every Mail Send and keeps its JSON body.
func recordingSendGrid(t *testing.T) (string, func() []mailSend) {
	var mu sync.Mutex
	var got []mailSend
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m mailSend
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body is not JSON: %v", err)
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		w.Header().Set("X-Message-Id", "sg-msg")
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []mailSend { mu.Lock(); defer mu.Unlock(); return append([]mailSend(nil), got...) }
}

func footerActivities(t *testing.T, baseURL string) (*activities.Activities, links.Keys) {
	entry, err := links.GenerateKey("l1")
	require.NoError(t, err)
	keys, err := links.ParseKeys(entry)
	require.NoError(t, err)
	sg, err := sendgrid.New(sendgrid.Config{APIKey: "SG.key", From: "hello@acme.example", BaseURL: baseURL, Timeout: 2 * time.Second,
		UnsubscribeGroups: sendgrid.Groups{Marketing: 123, Lifecycle: 456}})
	require.NoError(t, err)
	a := &activities.Activities{Email: sg, Links: links.Linker{Keys: keys, BaseURL: publicURL},
		Brand: activities.Brand{Name: "Acme", PostalAddress: postal}}
	return a, keys
}

func sendAs(t *testing.T, a *activities.Activities, class string) {
	in := welcome()
	in.Class = class
	in.IdempotencyKey += "/" + class
	_, err := activityEnv(a).ExecuteActivity(a.SendEmail, in)
	require.NoError(t, err)
}

// linkAfter finds the URL under prefix in s and verifies its token for
// purpose, returning the claims.
func linkAfter(t *testing.T, keys links.Keys, s, prefix, purpose string) links.Claims {
	t.Helper()
	i := strings.Index(s, prefix)
	require.GreaterOrEqual(t, i, 0, "no %s in %q", prefix, s)
	token := s[i+len(prefix):]
	token = token[:strings.IndexFunc(token, func(r rune) bool {
		return !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", r)
	})]
	c, err := keys.VerifyPurpose(token, purpose)
	require.NoError(t, err)
	return c
}

// Marketing email carries the one-click headers, an unsubscribe and a
// preference link, the postal address and its SendGrid group.
func TestMarketingEmailCarriesUnsubscribe(t *testing.T) {
	url, sent := recordingSendGrid(t)
	a, keys := footerActivities(t, url)
	sendAs(t, a, playbook.ClassMarketing)

	require.Len(t, sent(), 1)
	m := sent()[0]
	assert.Equal(t, messages.OneClick, m.Headers["List-Unsubscribe-Post"])
	header := m.Headers["List-Unsubscribe"]
	require.True(t, strings.HasPrefix(header, "<"+publicURL+links.UnsubscribePath) && strings.HasSuffix(header, ">"), header)
	c := linkAfter(t, keys, header, publicURL+links.UnsubscribePath, links.PurposeUnsubscribe)
	assert.Equal(t, "c-1", c.CustomerID)
	assert.Equal(t, playbook.ClassMarketing, c.Class)
	assert.Equal(t, "email", c.Channel)

	require.Len(t, m.Content, 2)
	text, html := m.Content[0].Value, m.Content[1].Value
	for _, body := range []string{text, html} {
		assert.Contains(t, body, strings.Trim(header, "<>"), "the footer's unsubscribe link is the header's")
		pc := linkAfter(t, keys, body, publicURL+links.PreferencesPath, links.PurposePreferences)
		assert.Equal(t, playbook.ClassMarketing, pc.Class)
	}
	assert.Contains(t, text, postal)
	assert.Contains(t, html, "Example Inc. &amp; Co, 548 Market St", "the address is escaped in HTML")
	assert.Contains(t, html, `<a href="`+publicURL+links.UnsubscribePath)
	require.NotNil(t, m.ASM)
	assert.Equal(t, 123, m.ASM.GroupID)
}

// Lifecycle email has the preference link and the address but no
// unsubscribe; transactional email has neither.
func TestLifecycleAndTransactionalFooters(t *testing.T) {
	url, sent := recordingSendGrid(t)
	a, keys := footerActivities(t, url)
	sendAs(t, a, playbook.ClassLifecycle)
	sendAs(t, a, playbook.ClassTransactional)
	require.Len(t, sent(), 2)

	life := sent()[0]
	assert.NotContains(t, life.Headers, "List-Unsubscribe")
	assert.NotContains(t, life.Headers, "List-Unsubscribe-Post")
	for _, c := range life.Content {
		assert.NotContains(t, c.Value, links.UnsubscribePath)
		assert.Contains(t, c.Value, "548 Market St")
		assert.Equal(t, playbook.ClassLifecycle, linkAfter(t, keys, c.Value, publicURL+links.PreferencesPath, links.PurposePreferences).Class)
	}
	require.NotNil(t, life.ASM)
	assert.Equal(t, 456, life.ASM.GroupID)

	tx := sent()[1]
	assert.Empty(t, tx.Headers)
	assert.Nil(t, tx.ASM)
	for _, c := range tx.Content {
		assert.NotContains(t, c.Value, publicURL)
		assert.NotContains(t, c.Value, "548 Market St")
	}
}

// An email without a class (a history older than classes) is treated as
// marketing: it gets its unsubscribe link.
func TestEmailWithoutClassGetsUnsubscribe(t *testing.T) {
	url, sent := recordingSendGrid(t)
	a, _ := footerActivities(t, url)
	sendAs(t, a, "")
	require.Len(t, sent(), 1)
	assert.Contains(t, sent()[0].Headers["List-Unsubscribe"], publicURL+links.UnsubscribePath)
}
