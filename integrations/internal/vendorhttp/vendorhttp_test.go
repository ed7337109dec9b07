package vendorhttp_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for header, want := range map[string]time.Duration{
		"":             0,
		"7":            7 * time.Second,
		" 3 ":          3 * time.Second,
		"0":            0,
		"-5":           0,
		"999999999999": vendorhttp.MaxRetryAfter,
		"soon":         0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
		now.Add(48 * time.Hour).Format(http.TimeFormat):   vendorhttp.MaxRetryAfter,
	} {
		assert.Equal(t, want, vendorhttp.RetryAfter(header, now), "Retry-After: %q", header)
	}
}

func TestParseURL(t *testing.T) {
	for _, ok := range []string{"https://api.eu.sendgrid.com", "http://127.0.0.1:8080/slack/"} {
		_, err := vendorhttp.ParseURL(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"api.sendgrid.com", "ftp://x.example", "https://user:pw@x.example", "https://x.example/?a=1", "https://x.example/#f"} {
		_, err := vendorhttp.ParseURL(bad)
		assert.Error(t, err, bad)
		assert.NotContains(t, err.Error(), "pw", "errors leave the value out")
	}
	_, err := vendorhttp.ParseCallbackURL("https://hooks.example.com/twilio?tenant=7")
	assert.NoError(t, err, "a callback keeps its query")
}

func TestReplaceFoldAndShorten(t *testing.T) {
	assert.Equal(t, "bad address [contact] for [contact]", vendorhttp.ReplaceFold("bad address Ana@Example.com for ana@example.COM", "ana@example.com", "[contact]"))
	assert.Equal(t, "na…", vendorhttp.Shorten("naïve text", 3), "byte 3 is inside ï: cut before it")
	assert.Equal(t, "short", vendorhttp.Shorten("short", 10))
}

func TestEscapeSegment(t *testing.T) {
	for in, want := range map[string]string{
		"c-1":                   "c-1",
		"ana+trial@example.com": "ana%2Btrial@example.com",
		"a/b":                   "a%2Fb",
		"with space":            "with%20space",
	} {
		if got := vendorhttp.EscapeSegment(in); got != want {
			t.Errorf("EscapeSegment(%q) = %q, want %q", in, got, want)
		}
	}
}
