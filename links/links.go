// Package links signs the tokens in unsubscribe and preference-page links.
// A token binds a customer, a channel, a message class and a purpose; it is
// encrypted (AES-256-GCM) so the customer ID cannot be read from it, and
// signed (HMAC-SHA256) with the first key of a rotating set. It never
// expires: an unsubscribe link must keep working for years, so a token only
// carries its issue time for a future policy to judge.
//
// Keys come from JOURNEYS_LINK_KEYS (see KeysFromEnv) or, for a local dev
// server, from a key file in the data directory (see LoadOrCreateDevKeys).
package links

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/journeyshq/journeys/internal/keyfile"
	"github.com/journeyshq/journeys/internal/keylist"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
)

// EnvKeys is the environment variable KeysFromEnv reads.
const EnvKeys = "JOURNEYS_LINK_KEYS"

// MinKeySize is the shortest key accepted, in bytes.
const MinKeySize = 32

// DevKeyID is the key ID LoadOrCreateDevKeys gives a key it creates.
const DevKeyID = "dev"

// Purposes a token can be signed for.
const (
	PurposeUnsubscribe = "unsubscribe"
	PurposePreferences = "preferences"
)

// Paths of the pages links open, under JOURNEYS_PUBLIC_URL, each followed
// by a token: the api package serves them, email footers and headers link
// to them.
const (
	UnsubscribePath = "/u/"
	PreferencesPath = "/preferences/"
)

// ErrInvalid is the error for every token that does not verify: malformed,
// truncated, tampered with, signed by a key not in the set, or for another
// purpose. Callers test it with errors.Is and learn nothing more.
var ErrInvalid = errors.New("links: invalid token")

// Claims is what a token binds.
type Claims struct {
	// CustomerID is the customer, in the form signals.ValidateCustomerID accepts.
	CustomerID string
	// Channel is messages.ChannelEmail or messages.ChannelSMS.
	Channel string
	// Class is playbook.ClassMarketing, ClassLifecycle or ClassTransactional.
	Class string
	// Purpose is PurposeUnsubscribe or PurposePreferences.
	Purpose string
	// IssuedAt is when the token was signed, to the second; Sign fills it
	// in from the clock when zero. Nothing checks it today.
	IssuedAt time.Time
}

// The claims' enumerated fields travel as one-byte codes: index+1 here.
// Append only: a reordered list would change what old tokens mean.
var (
	channels = []string{string(messages.ChannelEmail), string(messages.ChannelSMS)}
	classes  = []string{playbook.ClassMarketing, playbook.ClassLifecycle, playbook.ClassTransactional}
	purposes = []string{PurposeUnsubscribe, PurposePreferences}
)

// tokenVersion is the first byte of every token, for a future format.
const tokenVersion = 1

// macSize is the length of the HMAC-SHA256 signature at a token's end.
const macSize = sha256.Size

// encoding is URL-safe base64 without padding; Strict refuses the encodings
// that differ only in unused bits, so every changed character is refused.
var encoding = base64.RawURLEncoding.Strict()

// key is one named key: an AEAD and a MAC key derived from the material,
// which itself is not kept.
type key struct {
	id     string
	aead   cipher.AEAD
	macKey []byte
}

// Keys is an ordered key set: the first key signs, every key verifies. Build
// one with ParseKeys, KeysFromEnv or LoadOrCreateDevKeys; the zero value
// signs and verifies nothing. Printing a Keys shows only the key IDs.
type Keys struct {
	keys []key
}

// ParseKeys parses a key list in the JOURNEYS_LINK_KEYS format:
// comma-separated entries "<keyID>:<base64 of at least 32 bytes>", the first
// of which signs. Key IDs are 1-32 characters of [A-Za-z0-9_-] and unique.
// Errors name the variable and the entry's position, never key material.
func ParseKeys(s string) (Keys, error) { return parseKeys(s, EnvKeys) }

func parseKeys(s, source string) (Keys, error) {
	keys, err := keylist.Build(s, func(raw []byte) error {
		if len(raw) < MinKeySize {
			return fmt.Errorf("key is %d bytes, want at least %d", len(raw), MinKeySize)
		}
		return nil
	}, newKey)
	if err != nil {
		return Keys{}, fmt.Errorf("links: %s: %w", source, err)
	}
	return Keys{keys: keys}, nil
}

// newKey derives separate encryption and MAC keys so that neither use of
// the material can weaken the other.
func newKey(id string, raw []byte) (key, error) {
	encKey := derive(raw, "journeys links v1 aes-256-gcm")
	defer clear(encKey)
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return key{}, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return key{}, fmt.Errorf("gcm: %w", err)
	}
	return key{id: id, aead: aead, macKey: derive(raw, "journeys links v1 hmac-sha256")}, nil
}

func derive(raw []byte, label string) []byte {
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// KeysFromEnv reads JOURNEYS_LINK_KEYS through getenv (os.Getenv in
// production, a map in tests). Unset or blank, it returns ok=false and no
// error; set but unusable is an error naming the variable.
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

// GenerateKey returns one JOURNEYS_LINK_KEYS entry "<id>:<base64>" holding a
// fresh random 32-byte key. To rotate, put the new entry first and keep the
// old ones after it for as long as links signed with them should work.
func GenerateKey(id string) (string, error) {
	entry, err := keylist.Generate(id, MinKeySize)
	if err != nil {
		return "", fmt.Errorf("links: %w", err)
	}
	return entry, nil
}

// DevKeyFile is the key file a dev worker keeps under its data directory.
func DevKeyFile(dataDir string) string { return filepath.Join(dataDir, "links.key") }

// LoadOrCreateDevKeys returns the keys in the file at path, creating it first
// (mode 0600) with one fresh key whose ID is DevKeyID if it does not exist,
// so a dev server's links keep working across restarts. Local development only.
func LoadOrCreateDevKeys(path string) (Keys, error) {
	b, err := keyfile.ReadOrCreate(path, func() ([]byte, error) {
		entry, err := GenerateKey(DevKeyID)
		return []byte(entry + "\n"), err
	})
	if err != nil {
		return Keys{}, fmt.Errorf("links: dev key file: %w", err)
	}
	ks, err := parseKeys(string(b), "key file "+path)
	clear(b)
	return ks, err
}

// Len is the number of keys.
func (ks Keys) Len() int { return len(ks.keys) }

// IDs lists the key IDs, the signing key first.
func (ks Keys) IDs() []string {
	ids := make([]string, len(ks.keys))
	for i, k := range ks.keys {
		ids[i] = k.id
	}
	return ids
}

// String shows the key IDs only, e.g. "links.Keys[B A]".
func (ks Keys) String() string { return fmt.Sprintf("links.Keys%v", ks.IDs()) }

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

// Sign returns the token for c, signed with the first key: URL-safe base64
// without padding, about 94 characters plus 4/3 of the key ID's and customer
// ID's lengths (under 200 for a 64-character customer ID and a key ID of up
// to 14 characters).
func (ks Keys) Sign(c Claims) (string, error) {
	if len(ks.keys) == 0 {
		return "", errors.New("links: sign: no keys")
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	plain, err := encodeClaims(c)
	if err != nil {
		return "", fmt.Errorf("links: sign: %w", err)
	}
	k := ks.keys[0]
	header := append([]byte{tokenVersion, byte(len(k.id))}, k.id...)
	// The header is authenticated twice over: as GCM's additional data and
	// under the MAC, which covers the whole token.
	body := k.aead.Seal(append([]byte(nil), header...), nil, plain, header)
	return encoding.EncodeToString(k.sign(body)), nil
}

// sign appends the HMAC-SHA256 of body to it.
func (k key) sign(body []byte) []byte {
	m := hmac.New(sha256.New, k.macKey)
	m.Write(body)
	return m.Sum(body)
}

// Verify checks token against every key and returns its claims. Any token
// that does not verify gives an error wrapping ErrInvalid and no claims.
func (ks Keys) Verify(token string) (Claims, error) {
	raw, err := encoding.DecodeString(token)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: not base64url", ErrInvalid)
	}
	if len(raw) < 2 || raw[0] != tokenVersion || len(raw) < 2+int(raw[1])+macSize {
		return Claims{}, fmt.Errorf("%w: malformed", ErrInvalid)
	}
	header, body := raw[:2+int(raw[1])], raw[:len(raw)-macSize]
	k, ok := ks.lookup(string(header[2:]))
	if !ok {
		return Claims{}, fmt.Errorf("%w: unknown key", ErrInvalid)
	}
	if !hmac.Equal(k.sign(append([]byte(nil), body...)), raw) {
		return Claims{}, fmt.Errorf("%w: bad signature", ErrInvalid)
	}
	plain, err := k.aead.Open(nil, nil, body[len(header):], header)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: does not decrypt", ErrInvalid)
	}
	c, err := decodeClaims(plain)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return c, nil
}

// VerifyPurpose is Verify for a token that must have been signed for
// purpose: an unsubscribe page refuses a preferences token and the reverse.
func (ks Keys) VerifyPurpose(token, purpose string) (Claims, error) {
	c, err := ks.Verify(token)
	if err != nil {
		return Claims{}, err
	}
	if c.Purpose != purpose {
		return Claims{}, fmt.Errorf("%w: signed for another purpose", ErrInvalid)
	}
	return c, nil
}

// encodeClaims lays c out as channel, class and purpose codes, the issue
// time in Unix seconds (uvarint), then the customer ID's bytes.
func encodeClaims(c Claims) ([]byte, error) {
	if err := signals.ValidateCustomerID(c.CustomerID); err != nil {
		return nil, fmt.Errorf("customer ID: %w", err)
	}
	codes := make([]byte, 0, 3)
	for _, f := range []struct {
		name, value string
		known       []string
	}{{"channel", c.Channel, channels}, {"class", c.Class, classes}, {"purpose", c.Purpose, purposes}} {
		code := index(f.known, f.value)
		if code == 0 {
			return nil, fmt.Errorf("%s %q: want one of %v", f.name, f.value, f.known)
		}
		codes = append(codes, code)
	}
	if c.IssuedAt.Unix() < 0 {
		return nil, errors.New("issued-at is before 1970")
	}
	b := binary.AppendUvarint(codes, uint64(c.IssuedAt.Unix()))
	return append(b, c.CustomerID...), nil
}

// decodeClaims is encodeClaims' inverse; it refuses codes it does not know.
func decodeClaims(b []byte) (Claims, error) {
	if len(b) < 4 {
		return Claims{}, errors.New("claims too short")
	}
	var c Claims
	var ok [3]bool
	c.Channel, ok[0] = name(channels, b[0])
	c.Class, ok[1] = name(classes, b[1])
	c.Purpose, ok[2] = name(purposes, b[2])
	if ok != [3]bool{true, true, true} {
		return Claims{}, errors.New("unknown claim code")
	}
	secs, n := binary.Uvarint(b[3:])
	if n <= 0 || secs > 1<<40 {
		return Claims{}, errors.New("bad issued-at")
	}
	c.IssuedAt = time.Unix(int64(secs), 0).UTC()
	c.CustomerID = string(b[3+n:])
	if signals.ValidateCustomerID(c.CustomerID) != nil {
		return Claims{}, errors.New("bad customer ID")
	}
	return c, nil
}

// index is v's 1-based position in known, or 0.
func index(known []string, v string) byte {
	for i, k := range known {
		if k == v {
			return byte(i + 1)
		}
	}
	return 0
}

// name is the value whose code is code.
func name(known []string, code byte) (string, bool) {
	if code == 0 || int(code) > len(known) {
		return "", false
	}
	return known[code-1], true
}

// Linker makes the URLs of signed links: BaseURL (JOURNEYS_PUBLIC_URL,
// scheme and host) + the purpose's path + a token signed with Keys.
type Linker struct {
	Keys    Keys
	BaseURL string
}

// URL signs c and returns the page's URL for c.Purpose.
func (l Linker) URL(c Claims) (string, error) {
	path := UnsubscribePath
	if c.Purpose == PurposePreferences {
		path = PreferencesPath
	}
	token, err := l.Keys.Sign(c)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(l.BaseURL, "/") + path + token, nil
}
