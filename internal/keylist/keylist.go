// Package keylist parses and makes the key lists journeys reads from the
// environment (JOURNEYS_CODEC_KEYS, JOURNEYS_LINK_KEYS): comma-separated
// entries "<keyID>:<base64 key>", the first of which is the one in use.
package keylist

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Entry is one key of a list: its ID and its raw material, which the
// caller clears once it has built its key.
type Entry struct {
	ID  string
	Raw []byte
}

// ValidID reports whether id is 1-32 characters of A-Z a-z 0-9 _ -.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Parse splits the list s into its entries, in order. Key IDs are unique;
// whitespace around entries is ignored; standard and URL-safe base64 are
// accepted, with or without padding; check vets each key's material.
// Errors give the entry's 1-based position (and its key ID once that has
// been checked) but never key material.
func Parse(s string, check func(raw []byte) error) ([]Entry, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no keys")
	}
	parts := strings.Split(s, ",")
	entries := make([]Entry, 0, len(parts))
	seen := make(map[string]int, len(parts))
	for i, part := range parts {
		e, err := parseEntry(strings.TrimSpace(part), i+1, seen, check)
		if err != nil {
			for _, done := range entries {
				clear(done.Raw)
			}
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// Build parses s as Parse does, then makes each entry's key with newKey, in
// order, clearing all raw material before it returns. An error of newKey
// gives the entry's position and key ID.
func Build[K any](s string, check func(raw []byte) error, newKey func(id string, raw []byte) (K, error)) ([]K, error) {
	entries, err := Parse(s, check)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, e := range entries {
			clear(e.Raw)
		}
	}()
	keys := make([]K, 0, len(entries))
	for i, e := range entries {
		k, err := newKey(e.ID, e.Raw)
		if err != nil {
			return nil, fmt.Errorf("entry %d (key ID %q): %w", i+1, e.ID, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// parseEntry parses the entry at 1-based position pos, recording its ID in seen.
func parseEntry(entry string, pos int, seen map[string]int, check func([]byte) error) (Entry, error) {
	if entry == "" {
		return Entry{}, fmt.Errorf("entry %d is empty", pos)
	}
	id, material, found := strings.Cut(entry, ":")
	if !found {
		return Entry{}, fmt.Errorf("entry %d: want <keyID>:<base64 key>", pos)
	}
	id = strings.TrimSpace(id)
	if !ValidID(id) {
		// The ID may be mistyped key material: do not quote it.
		return Entry{}, fmt.Errorf("entry %d: key ID must be 1-32 characters of A-Z a-z 0-9 _ -", pos)
	}
	if prev, dup := seen[id]; dup {
		return Entry{}, fmt.Errorf("entry %d: key ID %q already used by entry %d", pos, id, prev)
	}
	seen[id] = pos
	raw, err := decodeBase64(strings.TrimSpace(material))
	if err != nil {
		return Entry{}, fmt.Errorf("entry %d (key ID %q): key is not valid base64", pos, id)
	}
	if err := check(raw); err != nil {
		clear(raw)
		return Entry{}, fmt.Errorf("entry %d (key ID %q): %w", pos, id, err)
	}
	return Entry{ID: id, Raw: raw}, nil
}

func decodeBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// Generate returns one entry "<id>:<base64>" holding size fresh random bytes.
func Generate(id string, size int) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("key ID %q must be 1-32 characters of A-Z a-z 0-9 _ -", id)
	}
	raw := make([]byte, size)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	entry := id + ":" + base64.StdEncoding.EncodeToString(raw)
	clear(raw)
	return entry, nil
}
