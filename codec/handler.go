package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"
)

// Paths served by Handler. Configure the Temporal UI's codec endpoint (or
// the CLI's --codec-endpoint) as "<base URL>/codec"; they append /encode and
// /decode.
const (
	EncodePath = "/codec/encode"
	DecodePath = "/codec/decode"
)

// DefaultMaxBodyBytes bounds a request body when HandlerOptions.MaxBodyBytes
// is zero.
const DefaultMaxBodyBytes = 8 << 20

// HandlerOptions configures Handler.
type HandlerOptions struct {
	// Tokens are the accepted bearer tokens: a request needs
	// "Authorization: Bearer <one of them>". Compared in constant time.
	// Empty strings are ignored.
	Tokens []string
	// AllowAnonymous lets requests through without a token, but only when
	// Tokens is empty. For a local dev server only. With no Tokens and
	// AllowAnonymous unset every request is refused (fail closed).
	AllowAnonymous bool
	// AllowedOrigins are the browser origins (scheme://host[:port], exactly
	// as the browser sends Origin) allowed to call the codec server, e.g.
	// the Temporal UI's origin. Other origins get no CORS headers.
	AllowedOrigins []string
	// MaxBodyBytes bounds the request body; DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
}

// Handler serves the remote codec protocol of the Temporal UI and CLI: POST
// /codec/encode and /codec/decode with a JSON body {"payloads":[...]},
// answering with the encoded or decoded payloads in the same shape. It wraps
// the SDK's converter.NewPayloadCodecHTTPHandler with bearer-token
// authentication and CORS for opts.AllowedOrigins. CORS preflight (OPTIONS)
// needs no token, as browsers send none with it.
//
// With the UI's codec.passAccessToken option the UI sends the signed-in
// user's access token as the bearer token, so Tokens must then hold that
// token; static tokens suit the CLI (--codec-auth "Bearer <token>") and a UI
// behind a proxy that adds the header.
func Handler(c converter.PayloadCodec, opts HandlerOptions) http.Handler {
	h := &handler{
		inner:          converter.NewPayloadCodecHTTPHandler(c),
		allowAnonymous: opts.AllowAnonymous,
		origins:        make(map[string]bool, len(opts.AllowedOrigins)),
		maxBody:        opts.MaxBodyBytes,
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	for _, t := range opts.Tokens {
		if t != "" {
			h.tokenHashes = append(h.tokenHashes, sha256.Sum256([]byte(t)))
		}
	}
	for _, o := range opts.AllowedOrigins {
		if o != "" {
			h.origins[o] = true
		}
	}
	return h
}

type handler struct {
	inner          http.Handler
	tokenHashes    [][sha256.Size]byte
	allowAnonymous bool
	origins        map[string]bool
	maxBody        int64
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Decoded payloads are customer PII: keep them out of caches.
	w.Header().Set("Cache-Control", "no-store")
	if len(h.origins) > 0 {
		w.Header().Add("Vary", "Origin")
	}
	origin := r.Header.Get("Origin")
	corsOK := origin != "" && h.origins[origin]
	if corsOK {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}

	if r.Method == http.MethodOptions {
		w.Header().Set("Allow", "OPTIONS, POST")
		if corsOK {
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Namespace")
			w.Header().Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}

	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="journeys-codec"`)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}

	if r.URL.Path != EncodePath && r.URL.Path != DecodePath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "OPTIONS, POST")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
	h.inner.ServeHTTP(w, r)
}

func (h *handler) authorized(r *http.Request) bool {
	if len(h.tokenHashes) == 0 {
		return h.allowAnonymous
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return false
	}
	// Compare fixed-length hashes so neither the token's length nor which
	// configured token matched shows in the timing.
	got := sha256.Sum256([]byte(token))
	match := 0
	for _, want := range h.tokenHashes {
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}
