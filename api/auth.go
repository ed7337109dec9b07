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

// EnvOperatorTokens names the variable OperatorTokensFromEnv reads: the
// operators' bearer tokens that read a customer's state, comma-separated.
const EnvOperatorTokens = "JOURNEYS_OPERATOR_TOKENS"

// OperatorTokensFromEnv reads the operators' tokens from
// JOURNEYS_OPERATOR_TOKENS with TokensFromEnv's rules. None is no error: the
// read route is then off.
func OperatorTokensFromEnv(getenv func(string) string) ([]string, error) {
	return ParseTokens(EnvOperatorTokens, getenv(EnvOperatorTokens))
}

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

// role is what a bearer token may do on the /v1 routes.
type role int

const (
	// roleEvents sends events: POST /v1/events.
	roleEvents role = iota
	// roleOperator reads customers' state and erases customers: GET and
	// DELETE /v1/customers/{id}.
	roleOperator
)

// tokenDigests checks tokens and returns their SHA-256 digests. Comparing
// digests makes every comparison the same length, so the time taken does
// not reveal a token's length either. field names the option in errors.
func tokenDigests(field string, tokens []string) ([][sha256.Size]byte, error) {
	out := make([][sha256.Size]byte, len(tokens))
	for i, t := range tokens {
		if err := checkToken(t); err != nil {
			return nil, fmt.Errorf("api: Options.%s[%d] %v", field, i, err)
		}
		out[i] = sha256.Sum256([]byte(t))
	}
	return out, nil
}

// authorized serves next only to a request carrying one of the tokens of
// role need as "Authorization: Bearer <token>". A token of the other role
// gets 403 naming the setting it needs; any other request 401. Neither is
// read.
func (h *handler) authorized(need role, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		given, msg := bearerDigest(r.Header.Get("Authorization"))
		status := http.StatusUnauthorized
		if msg == "" {
			status, msg = h.allowed(need, given)
		}
		switch status {
		case http.StatusOK:
			next(w, r)
		case http.StatusForbidden:
			h.log.Warn("request forbidden", "path", r.URL.Path, "remote_addr", r.RemoteAddr, "reason", msg)
			h.countRejected(r, ReasonForbidden)
			writeJSON(w, http.StatusForbidden, errorBody{Error: msg})
		default:
			h.log.Warn("request unauthorized", "path", r.URL.Path, "remote_addr", r.RemoteAddr, "reason", msg)
			h.countRejected(r, ReasonUnauthorized)
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: msg})
		}
	}
}

// allowed answers a request for role need with the token digest given:
// 200 for a token of that role, 403 and why for one of the other role,
// 401 for anyone else's.
func (h *handler) allowed(need role, given [sha256.Size]byte) (int, string) {
	events, operator := matches(given, h.tokens), matches(given, h.operatorTokens)
	switch {
	case need == roleEvents && events, need == roleOperator && operator:
		return http.StatusOK, ""
	case need == roleOperator && events && len(h.operatorTokens) == 0:
		return http.StatusForbidden, "reading or erasing a customer takes an operator token, and no operator token is configured: set " + EnvOperatorTokens
	case need == roleOperator && events:
		return http.StatusForbidden, "reading or erasing a customer takes an operator token (" + EnvOperatorTokens + "); this token only sends events"
	case need == roleEvents && operator:
		return http.StatusForbidden, "sending events takes an events token (" + EnvTokens + "); this token only reads and erases customers"
	}
	return http.StatusUnauthorized, "invalid bearer token"
}

// matches reports in constant time whether given is one of tokens.
func matches(given [sha256.Size]byte, tokens [][sha256.Size]byte) bool {
	match := 0
	for i := range tokens { // every token, no early exit
		match |= subtle.ConstantTimeCompare(given[:], tokens[i][:])
	}
	return match == 1
}

// bearerDigest returns the digest of header's bearer token, or why header
// carries none.
func bearerDigest(header string) ([sha256.Size]byte, string) {
	if header == "" {
		return [sha256.Size]byte{}, "missing bearer token: send Authorization: Bearer <token>"
	}
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return [sha256.Size]byte{}, "the Authorization header must use the Bearer scheme: Authorization: Bearer <token>"
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return [sha256.Size]byte{}, "missing bearer token: send Authorization: Bearer <token>"
	}
	return sha256.Sum256([]byte(token)), ""
}
