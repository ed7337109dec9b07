package codec

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKey is a deterministic key entry for tests: 32 bytes of fill.
func testKey(id string, fill byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(fill), KeySize)))
}

func mustKeys(t *testing.T, s string) Keys {
	t.Helper()
	ks, err := ParseKeys(s)
	require.NoError(t, err)
	return ks
}

func TestKeysFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(name string) string {
			if name == EnvKeys {
				return v
			}
			return ""
		}
	}

	_, ok, err := KeysFromEnv(env(""))
	require.NoError(t, err)
	assert.False(t, ok, "unset means no encryption configured")
	_, ok, err = KeysFromEnv(env("   "))
	require.NoError(t, err)
	assert.False(t, ok, "blank counts as unset")

	ks, ok, err := KeysFromEnv(env(" " + testKey("new", 'b') + " , " + testKey("old_1", 'a') + " "))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []string{"new", "old_1"}, ks.IDs())
	assert.Equal(t, "new", ks.EncryptionKeyID())
	assert.Equal(t, 2, ks.Len())

	raw := make([]byte, KeySize)
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		_, ok, err := KeysFromEnv(env("k:" + enc.EncodeToString(raw)))
		require.NoError(t, err)
		assert.True(t, ok)
	}
}

func TestKeysFromEnvErrors(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	short := base64.StdEncoding.EncodeToString([]byte("only sixteen byt"))
	tests := []struct {
		name    string
		value   string
		wantPos string
		want    string
	}{
		{"bad base64", testKey("a", 'a') + ",b:" + secret[:10] + "!!!" + secret[13:], "entry 2", "not valid base64"},
		{"wrong length", "a:" + short, "entry 1", "16 bytes, want 32"},
		{"duplicate id", testKey("a", 'a') + "," + testKey("b", 'b') + "," + "a:" + secret, "entry 3", `"a" already used by entry 1`},
		{"empty entry", testKey("a", 'a') + ",," + testKey("b", 'b'), "entry 2", "empty"},
		{"trailing comma", testKey("a", 'a') + ",", "entry 2", "empty"},
		{"no colon", secret, "entry 1", "<keyID>:<base64 key>"},
		{"empty id", ":" + secret, "entry 1", "key ID must be"},
		{"id too long", strings.Repeat("x", 33) + ":" + secret, "entry 1", "key ID must be"},
		{"id bad chars", "key.1:" + secret, "entry 1", "key ID must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok, err := KeysFromEnv(func(string) string { return tt.value })
			require.Error(t, err)
			assert.False(t, ok)
			msg := err.Error()
			assert.Contains(t, msg, EnvKeys)
			assert.Contains(t, msg, tt.wantPos)
			assert.Contains(t, msg, tt.want)
			assert.NotContains(t, msg, secret[:12], "key material must not appear in errors")
			assert.NotContains(t, msg, short[:12], "key material must not appear in errors")
		})
	}
}

func TestKeyIDLimits(t *testing.T) {
	ks := mustKeys(t, testKey(strings.Repeat("A", 32), 'a')+","+testKey("a-b_C9", 'b'))
	assert.Equal(t, []string{strings.Repeat("A", 32), "a-b_C9"}, ks.IDs())
}

func TestKeysPrintOnlyIDs(t *testing.T) {
	entry := testKey("k1", 'z')
	ks := mustKeys(t, entry)
	material := strings.TrimPrefix(entry, "k1:")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, ks)
		assert.Contains(t, out, "k1", verb)
		assert.NotContains(t, out, material, verb)
		assert.NotContains(t, out, "zzzz", verb)
	}
}

func TestGenerateKey(t *testing.T) {
	e1, err := GenerateKey("k2026")
	require.NoError(t, err)
	e2, err := GenerateKey("k2026")
	require.NoError(t, err)
	assert.NotEqual(t, e1, e2, "each key is random")
	assert.True(t, strings.HasPrefix(e1, "k2026:"))
	ks := mustKeys(t, e1)
	assert.Equal(t, "k2026", ks.EncryptionKeyID())

	_, err = GenerateKey("bad id")
	assert.Error(t, err)
	_, err = GenerateKey("")
	assert.Error(t, err)
}

func TestLoadOrCreateDevKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "codec.key")

	first, err := LoadOrCreateDevKeys(path)
	require.NoError(t, err)
	assert.Equal(t, []string{DevKeyID}, first.IDs())
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	content, err := os.ReadFile(path)
	require.NoError(t, err)

	second, err := LoadOrCreateDevKeys(path)
	require.NoError(t, err)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, content, after, "an existing key file is reused, not rewritten")

	// What the first run encrypted, the second run decrypts.
	enc, err := NewCodec(first).Encode(samplePayloads())
	require.NoError(t, err)
	dec, err := NewCodec(second).Decode(enc)
	require.NoError(t, err)
	assertPayloadsEqual(t, samplePayloads(), dec)

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")
}

func TestLoadOrCreateDevKeysConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "codec.key")
	const n = 8
	got := make([]Keys, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = LoadOrCreateDevKeys(path)
		}()
	}
	wg.Wait()
	enc, err := NewCodec(mustKeysFromFile(t, path)).Encode(samplePayloads())
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, errs[i])
		_, err := NewCodec(got[i]).Decode(enc)
		assert.NoError(t, err, "caller %d ended up with a different key", i)
	}
}

func mustKeysFromFile(t *testing.T, path string) Keys {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return mustKeys(t, string(b))
}

func TestLoadOrCreateDevKeysBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "codec.key")
	require.NoError(t, os.WriteFile(path, []byte("dev:not-a-key\n"), 0o600))
	_, err := LoadOrCreateDevKeys(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "entry 1")
	b, _ := os.ReadFile(path)
	assert.Equal(t, "dev:not-a-key\n", string(b), "a broken key file is never replaced")
}
