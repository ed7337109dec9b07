package links_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
)

// newKeys parses a key set with one fresh key per ID, the first signing.
func newKeys(t testing.TB, ids ...string) (links.Keys, []string) {
	t.Helper()
	entries := make([]string, len(ids))
	for i, id := range ids {
		e, err := links.GenerateKey(id)
		require.NoError(t, err)
		entries[i] = e
	}
	ks, err := links.ParseKeys(strings.Join(entries, ","))
	require.NoError(t, err)
	return ks, entries
}

func claims() links.Claims {
	return links.Claims{
		CustomerID: "cust-8c1e2f40-acme",
		Channel:    string(messages.ChannelEmail),
		Class:      playbook.ClassMarketing,
		Purpose:    links.PurposeUnsubscribe,
		IssuedAt:   time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
	}
}

func TestRoundTrip(t *testing.T) {
	ks, _ := newKeys(t, "k1")
	for _, c := range []links.Claims{
		claims(),
		{CustomerID: "c-1", Channel: string(messages.ChannelSMS), Class: playbook.ClassTransactional, Purpose: links.PurposePreferences, IssuedAt: time.Unix(1, 0).UTC()},
		{CustomerID: "c.2", Channel: string(messages.ChannelEmail), Class: playbook.ClassLifecycle, Purpose: links.PurposeUnsubscribe, IssuedAt: time.Unix(4102444800, 0).UTC()},
	} {
		tok, err := ks.Sign(c)
		require.NoError(t, err)
		assert.NotContains(t, tok, "=", "no padding")
		assert.Equal(t, strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), "", "URL-safe alphabet only")
		got, err := ks.Verify(tok)
		require.NoError(t, err)
		assert.Equal(t, c, got)
		got, err = ks.VerifyPurpose(tok, c.Purpose)
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
}

// A zero IssuedAt is the clock's, to the second.
func TestSignFillsIssuedAt(t *testing.T) {
	ks, _ := newKeys(t, "k1")
	c := claims()
	c.IssuedAt = time.Time{}
	before := time.Now().Truncate(time.Second)
	tok, err := ks.Sign(c)
	require.NoError(t, err)
	got, err := ks.Verify(tok)
	require.NoError(t, err)
	assert.False(t, got.IssuedAt.Before(before))
	assert.False(t, got.IssuedAt.After(time.Now()))
}

// The longest customer ID the edge accepts still makes a short link.
func TestTokenLength(t *testing.T) {
	ks, _ := newKeys(t, "2026-03-a")
	c := claims()
	c.CustomerID = strings.Repeat("a", 64)
	tok, err := ks.Sign(c)
	require.NoError(t, err)
	assert.Less(t, len(tok), 200)
}

func TestSignRefusesBadClaims(t *testing.T) {
	ks, _ := newKeys(t, "k1")
	for name, edit := range map[string]func(*links.Claims){
		"no customer":      func(c *links.Claims) { c.CustomerID = "" },
		"bad customer":     func(c *links.Claims) { c.CustomerID = "a b" },
		"channel":          func(c *links.Claims) { c.Channel = string(messages.ChannelAlert) },
		"class":            func(c *links.Claims) { c.Class = "internal" },
		"purpose":          func(c *links.Claims) { c.Purpose = "login" },
		"before the epoch": func(c *links.Claims) { c.IssuedAt = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		c := claims()
		edit(&c)
		_, err := ks.Sign(c)
		assert.Error(t, err, name)
	}
	_, err := links.Keys{}.Sign(claims())
	assert.Error(t, err, "the zero Keys signs nothing")
}

// refused asserts that token does not verify, with ErrInvalid and no claims.
func refused(t *testing.T, ks links.Keys, token, what string) {
	t.Helper()
	c, err := ks.Verify(token)
	if !errors.Is(err, links.ErrInvalid) || c != (links.Claims{}) {
		t.Fatalf("%s: Verify(%q) = %+v, %v; want no claims and ErrInvalid", what, token, c, err)
	}
}

// Every character of a token replaced by every other, and every bit of its
// bytes flipped, is refused; so is every truncation and extension.
// Customer IDs of three lengths give tokens with 0, 2 and 4 unused bits.
func TestTamperedTokensRefused(t *testing.T) {
	ks, _ := newKeys(t, "k1")
	for _, id := range []string{"c-1", "c-12", "c-123"} {
		c := claims()
		c.CustomerID = id
		tok, err := ks.Sign(c)
		require.NoError(t, err)
		tamper(t, ks, tok)
	}
}

// tamper asserts that every change to token is refused.
func tamper(t *testing.T, ks links.Keys, tok string) {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. "
	for i := range len(tok) {
		for _, r := range alphabet {
			if byte(r) != tok[i] {
				refused(t, ks, tok[:i]+string(r)+tok[i+1:], "character replaced")
			}
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	require.NoError(t, err)
	for i := range raw {
		for bit := range 8 {
			b := append([]byte(nil), raw...)
			b[i] ^= 1 << bit
			refused(t, ks, base64.RawURLEncoding.EncodeToString(b), "bit flipped")
		}
	}
	for n := range len(tok) {
		refused(t, ks, tok[:n], "truncated")
	}
	refused(t, ks, tok+"A", "extended")
	refused(t, ks, tok+"=", "padded")
	refused(t, links.Keys{}, tok, "zero Keys")
}

// A token signed by another key set is refused, even under the same key ID.
func TestForeignKeyRefused(t *testing.T) {
	ks, _ := newKeys(t, "k1")
	other, _ := newKeys(t, "k1")
	tok, err := other.Sign(claims())
	require.NoError(t, err)
	refused(t, ks, tok, "same key ID, other key")
	elsewhere, _ := newKeys(t, "k9")
	tok, err = elsewhere.Sign(claims())
	require.NoError(t, err)
	refused(t, ks, tok, "unknown key ID")
}

func TestWrongPurposeRefused(t *testing.T) {
	ks, _ := newKeys(t, "k1")
	tok, err := ks.Sign(claims())
	require.NoError(t, err)
	c, err := ks.VerifyPurpose(tok, links.PurposePreferences)
	assert.ErrorIs(t, err, links.ErrInvalid)
	assert.Equal(t, links.Claims{}, c)
	_, err = ks.VerifyPurpose(tok, links.PurposeUnsubscribe)
	assert.NoError(t, err)
}

// After a new key is put first, old links verify and new ones use the new key.
func TestRotation(t *testing.T) {
	old, oldEntries := newKeys(t, "2025")
	oldTok, err := old.Sign(claims())
	require.NoError(t, err)
	fresh, err := links.GenerateKey("2026")
	require.NoError(t, err)
	rotated, err := links.ParseKeys(fresh + "," + oldEntries[0])
	require.NoError(t, err)
	assert.Equal(t, []string{"2026", "2025"}, rotated.IDs())

	got, err := rotated.Verify(oldTok)
	require.NoError(t, err)
	assert.Equal(t, claims(), got)
	newTok, err := rotated.Sign(claims())
	require.NoError(t, err)
	refused(t, old, newTok, "signed by the new first key")
}

// The token carries no readable customer ID, in its text or its bytes.
func TestNoCustomerIDInToken(t *testing.T) {
	ks, _ := newKeys(t, "k1")
	c := claims()
	for range 50 {
		tok, err := ks.Sign(c)
		require.NoError(t, err)
		assert.NotContains(t, strings.ToLower(tok), c.CustomerID)
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), c.CustomerID)
		for _, part := range strings.Split(c.CustomerID, "-") {
			assert.NotContains(t, string(raw), part)
		}
	}
	one, err := ks.Sign(c)
	require.NoError(t, err)
	two, err := ks.Sign(c)
	require.NoError(t, err)
	assert.NotEqual(t, one, two, "a fresh nonce each time: equal tokens would show equal customers")
}

func TestParseKeysErrors(t *testing.T) {
	short := "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 31))
	good, err := links.GenerateKey("k1")
	require.NoError(t, err)
	for name, in := range map[string]string{
		"empty":       "",
		"blank entry": good + ", ",
		"no colon":    "k1",
		"bad id":      "k 1:" + strings.SplitN(good, ":", 2)[1],
		"dup id":      good + "," + good,
		"not base64":  "k1:!!!",
		"short key":   short,
	} {
		_, err := links.ParseKeys(in)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "JOURNEYS_LINK_KEYS", name)
		assert.NotContains(t, err.Error(), strings.SplitN(good, ":", 2)[1], "%s: no key material", name)
	}
	long := "k2:" + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
	ks, err := links.ParseKeys(" " + good + " , " + long)
	require.NoError(t, err)
	assert.Equal(t, "links.Keys[k1 k2]", ks.String())
	assert.Equal(t, "links.Keys[k1 k2]", fmt.Sprintf("%#v", ks), "%#v shows no key state")
}

func TestKeysFromEnv(t *testing.T) {
	_, ok, err := links.KeysFromEnv(func(string) string { return " " })
	assert.False(t, ok)
	assert.NoError(t, err)
	_, ok, err = links.KeysFromEnv(func(string) string { return "k1:short" })
	assert.False(t, ok)
	require.Error(t, err)
	assert.Contains(t, err.Error(), links.EnvKeys)
	good, err := links.GenerateKey("k1")
	require.NoError(t, err)
	ks, ok, err := links.KeysFromEnv(func(k string) string { return map[string]string{links.EnvKeys: good}[k] })
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 1, ks.Len())
}

// The dev key file is made once, owner-only; a restart verifies old links.
func TestDevKeys(t *testing.T) {
	path := links.DevKeyFile(filepath.Join(t.TempDir(), "data"))
	ks, err := links.LoadOrCreateDevKeys(path)
	require.NoError(t, err)
	assert.Equal(t, []string{links.DevKeyID}, ks.IDs())
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	tok, err := ks.Sign(claims())
	require.NoError(t, err)
	again, err := links.LoadOrCreateDevKeys(path)
	require.NoError(t, err)
	_, err = again.Verify(tok)
	assert.NoError(t, err)
}

func BenchmarkSignVerify(b *testing.B) {
	ks, _ := newKeys(b, "k1")
	c := claims()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok, err := ks.Sign(c)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ks.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
