// Package codec encrypts Temporal payloads so that customer PII (emails,
// phone numbers, names) carried in workflow inputs, signals, activity
// inputs/results, query results and failure messages is stored in Temporal
// only as AES-256-GCM ciphertext.
//
// Keys come from JOURNEYS_CODEC_KEYS (see KeysFromEnv) or, for a local dev
// server, from a key file (see LoadOrCreateDevKeys). DataConverter and
// FailureConverter go into client.Options; a worker created from that client
// uses them too. Handler is a codec server for the Temporal UI and CLI.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/journeyshq/journeys/internal/keyfile"
	"github.com/journeyshq/journeys/internal/keylist"
)

// EnvKeys is the environment variable KeysFromEnv reads.
const EnvKeys = "JOURNEYS_CODEC_KEYS"

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// DevKeyID is the key ID LoadOrCreateDevKeys gives a key it creates.
const DevKeyID = "dev"

// key is one named AES-256-GCM key. The raw material is not kept: only the
// AEAD built from it, so nothing in Keys can be printed as key bytes.
type key struct {
	id   string
	aead cipher.AEAD
}

// Keys is an ordered key set: the first key encrypts, every key decrypts.
// Build one with ParseKeys, KeysFromEnv or LoadOrCreateDevKeys; the zero
// value holds no keys and cannot encrypt or decrypt. Printing a Keys (%v,
// %+v, %#v) shows only the key IDs.
type Keys struct {
	keys []key
}

// ParseKeys parses a key list in the JOURNEYS_CODEC_KEYS format:
// comma-separated entries "<keyID>:<base64 of 32 bytes>", the first of which
// encrypts. Key IDs are 1-32 characters of [A-Za-z0-9_-] and unique.
// Whitespace around entries is ignored. Standard and URL-safe base64 are
// accepted, with or without padding. Errors give the entry's 1-based position
// (and its key ID once that has been checked) but never key material.
func ParseKeys(s string) (Keys, error) {
	return parseKeys(s, "key list")
}

func parseKeys(s, source string) (Keys, error) {
	keys, err := keylist.Build(s, func(raw []byte) error {
		if len(raw) != KeySize {
			return fmt.Errorf("key is %d bytes, want %d (AES-256)", len(raw), KeySize)
		}
		return nil
	}, newKey)
	if err != nil {
		return Keys{}, fmt.Errorf("codec: %s: %w", source, err)
	}
	return Keys{keys: keys}, nil
}

// KeysFromEnv reads JOURNEYS_CODEC_KEYS through getenv (os.Getenv in
// production, a map in tests). Unset or blank, it returns ok=false and no
// error, and the caller decides whether running without encryption is
// acceptable. Set but unusable is an error naming the variable and the
// entry's position.
func KeysFromEnv(getenv func(string) string) (Keys, bool, error) {
	v := getenv(EnvKeys)
	if strings.TrimSpace(v) == "" {
		return Keys{}, false, nil
	}
	ks, err := parseKeys(v, EnvKeys)
	if err != nil {
		return Keys{}, false, err
	}
	return ks, true, nil
}

// GenerateKey returns one JOURNEYS_CODEC_KEYS entry "<id>:<base64>" holding a
// fresh random 32-byte key. To rotate, put the new entry first and keep the
// old ones after it until no history still needs them.
func GenerateKey(id string) (string, error) {
	entry, err := keylist.Generate(id, KeySize)
	if err != nil {
		return "", fmt.Errorf("codec: %w", err)
	}
	return entry, nil
}

// LoadOrCreateDevKeys returns the keys in the file at path, creating it first
// (mode 0600, parent directories 0700) with one fresh key whose ID is
// DevKeyID if it does not exist. The file holds the JOURNEYS_CODEC_KEYS
// format, so a dev server's encrypted histories stay readable across
// restarts. Concurrent callers agree on one key: the file is published
// atomically and never overwritten. Meant for local development only.
func LoadOrCreateDevKeys(path string) (Keys, error) {
	b, err := keyfile.ReadOrCreate(path, func() ([]byte, error) {
		entry, err := GenerateKey(DevKeyID)
		return []byte(entry + "\n"), err
	})
	if err != nil {
		return Keys{}, fmt.Errorf("codec: dev key file: %w", err)
	}
	return parseKeyFile(b, path)
}

// DevKeyFile is the key file a dev worker keeps under its data directory;
// the starter run from the same directory reads it.
func DevKeyFile(dataDir string) string { return filepath.Join(dataDir, "codec.key") }

// LoadDevKeys reads a key file that LoadOrCreateDevKeys wrote, and never
// creates one: a client that made its own key could not read what the
// worker encrypted. A missing file is an error wrapping fs.ErrNotExist.
func LoadDevKeys(path string) (Keys, error) { return readKeyFile(path) }

func readKeyFile(path string) (Keys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Keys{}, fmt.Errorf("codec: read key file: %w", err)
	}
	return parseKeyFile(b, path)
}

// parseKeyFile parses the contents b of the key file at path, and clears b.
func parseKeyFile(b []byte, path string) (Keys, error) {
	ks, err := parseKeys(string(b), "key file "+path)
	clear(b)
	return ks, err
}

func newKey(id string, raw []byte) (key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return key{}, err
	}
	// Seal prepends a random 12-byte nonce; Open expects it there.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return key{}, err
	}
	return key{id: id, aead: aead}, nil
}

// Len is the number of keys.
func (ks Keys) Len() int { return len(ks.keys) }

// IDs lists the key IDs, the encrypting key first.
func (ks Keys) IDs() []string {
	ids := make([]string, len(ks.keys))
	for i, k := range ks.keys {
		ids[i] = k.id
	}
	return ids
}

// EncryptionKeyID is the ID of the key new payloads are encrypted with, or ""
// for an empty key set.
func (ks Keys) EncryptionKeyID() string {
	if len(ks.keys) == 0 {
		return ""
	}
	return ks.keys[0].id
}

// String shows the key IDs only, e.g. "codec.Keys[B A]".
func (ks Keys) String() string { return fmt.Sprintf("codec.Keys%v", ks.IDs()) }

// GoString is String, so %#v does not dump key state either.
func (ks Keys) GoString() string { return ks.String() }

func (ks Keys) lookup(id string) (key, bool) {
	for _, k := range ks.keys {
		if k.id == id {
			return k, true
		}
	}
	return key{}, false
}
