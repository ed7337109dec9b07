package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// EnvTokens names the variable TokensFromEnv reads: the bearer tokens of
// the events API, comma-separated.
const EnvTokens = "JOURNEYS_API_TOKENS"

// MinTokenLength is the shortest bearer token accepted.
const MinTokenLength = 16

// DevToken is a well-known token for development only (the worker's --dev
// mode). It is public: never configure it in production.
const DevToken = "journeys-dev-token-not-a-secret"

// TokensFromEnv reads the events API's bearer tokens from JOURNEYS_API_TOKENS:
// comma-separated, each at least MinTokenLength printable ASCII characters
// without spaces. Several tokens allow rotation: add the new one, move the
// clients, remove the old one. Unset or empty, it returns no tokens and no
// error; New refuses an empty list, so the caller decides (a dev token in
// dev mode, an error otherwise). Errors name the variable and the token's
// position, never its value.
func TokensFromEnv(getenv func(string) string) ([]string, error) {
	return ParseTokens(EnvTokens, getenv(EnvTokens))
}

// ParseTokens parses the comma-separated bearer tokens in the value of the
// environment variable name, with TokensFromEnv's rules; the worker reads
// the codec server's tokens with it too. Empty, it returns none.
func ParseTokens(name, value string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	tokens := strings.Split(value, ",")
	for i, t := range tokens {
		if err := checkToken(t); err != nil {
			return nil, fmt.Errorf("%s: token %d of %d %v (tokens are comma-separated, without spaces)", name, i+1, len(tokens), err)
		}
	}
	return tokens, nil
}

// checkToken returns why t is not an acceptable token, as a phrase that
// follows "token N".
func checkToken(t string) error {
	if t == "" {
		return errors.New("is empty")
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c >= 0x7f {
			return errors.New("contains a space, a control character or a non-ASCII character")
		}
	}
	if len(t) < MinTokenLength {
		return fmt.Errorf("is %d characters long; the minimum is %d", len(t), MinTokenLength)
	}
	return nil
}

// tokenDigests checks tokens and returns their SHA-256 digests. Comparing
// digests makes every comparison the same length, so the time taken does
// not reveal a token's length either.
func tokenDigests(tokens []string) ([][sha256.Size]byte, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("api: no bearer tokens: the events API needs at least one (set %s)", EnvTokens)
	}
	out := make([][sha256.Size]byte, len(tokens))
	for i, t := range tokens {
		if err := checkToken(t); err != nil {
			return nil, fmt.Errorf("api: Options.Tokens[%d] %v", i, err)
		}
		out[i] = sha256.Sum256([]byte(t))
	}
	return out, nil
}

// authorized serves next only to a request carrying one of the tokens as
// "Authorization: Bearer <token>"; any other gets 401 and is not read.
func (h *handler) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if msg := h.checkBearer(r.Header.Get("Authorization")); msg != "" {
			h.log.Warn("request unauthorized", "path", r.URL.Path, "remote_addr", r.RemoteAddr, "reason", msg)
			h.countRejected(r, ReasonUnauthorized)
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: msg})
			return
		}
		next(w, r)
	}
}

// checkBearer returns why header does not authorize the request, or "".
func (h *handler) checkBearer(header string) string {
	if header == "" {
		return "missing bearer token: send Authorization: Bearer <token>"
	}
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "the Authorization header must use the Bearer scheme: Authorization: Bearer <token>"
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "missing bearer token: send Authorization: Bearer <token>"
	}
	given := sha256.Sum256([]byte(token))
	match := 0
	for i := range h.tokens { // every token, no early exit
		match |= subtle.ConstantTimeCompare(given[:], h.tokens[i][:])
	}
	if match != 1 {
		return "invalid bearer token"
	}
	return ""
}
