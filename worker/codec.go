package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/codec"
)

// The codec server's environment: who may decrypt, and from which browser
// origins (the Temporal UI's).
const (
	envCodecTokens  = "JOURNEYS_CODEC_TOKENS"
	envCodecOrigins = "JOURNEYS_CODEC_ORIGINS"
)

// payloadKeys returns the keys that encrypt every payload this worker
// writes to Temporal, and where they came from. JOURNEYS_CODEC_KEYS wins;
// in dev mode a key is generated once into the data directory; outside dev
// mode there is no default, because a production worker writing customer
// PII in clear text must be a decision nobody can make by omission.
func payloadKeys(cfg config) (codec.Keys, string, error) {
	keys, ok, err := codec.KeysFromEnv(cfg.getenv)
	if err != nil {
		return codec.Keys{}, "", err
	}
	if ok {
		return keys, codec.EnvKeys, nil
	}
	if !cfg.Dev {
		return codec.Keys{}, "", fmt.Errorf("payload encryption: set %s to <keyID>:<base64 32-byte key> (make one with: go run ./starter codec-key)", codec.EnvKeys)
	}
	file := codec.DevKeyFile(cfg.DataDir)
	keys, err = codec.LoadOrCreateDevKeys(file)
	if err != nil {
		return codec.Keys{}, "", err
	}
	return keys, file, nil
}

// codecServer is the codec handler the Temporal UI and CLI call to show
// decrypted payloads, mounted on the events API's listener at /codec/.
//
// Operators' tokens come from JOURNEYS_CODEC_TOKENS, apart from the
// backends' API tokens: sending events must not let a backend read every
// customer's history. In dev mode without tokens it answers without one,
// but only on a loopback address: the embedded UI has no sign-in to get a
// token from, and nothing off this machine can reach it.
func codecServer(cfg config, keys codec.Keys, httpAddr string) (http.Handler, error) {
	tokens, err := api.ParseTokens(envCodecTokens, cfg.getenv(envCodecTokens))
	if err != nil {
		return nil, err
	}
	origins, err := codecOrigins(cfg)
	if err != nil {
		return nil, err
	}
	anonymous := len(tokens) == 0 && cfg.Dev
	if anonymous && !isLoopback(httpAddr) {
		return nil, fmt.Errorf("codec server: the events API listens on %s, beyond this machine; set %s so that only operators can decrypt payloads", httpAddr, envCodecTokens)
	}
	return codec.Handler(codec.NewCodec(keys), codec.HandlerOptions{
		Tokens: tokens, AllowAnonymous: anonymous, AllowedOrigins: origins,
	}), nil
}

// codecOrigins lists the browser origins allowed to call the codec server:
// JOURNEYS_CODEC_ORIGINS, plus in dev mode the embedded UI under both names
// of the loopback address.
func codecOrigins(cfg config) ([]string, error) {
	var origins []string
	for o := range strings.SplitSeq(cfg.getenv(envCodecOrigins), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("%s: %q is not an origin such as https://temporal.example.com", envCodecOrigins, o)
		}
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	if cfg.Dev && cfg.UIAddr != "off" {
		origins = append(origins, "http://"+cfg.UIAddr)
		if host, port, err := net.SplitHostPort(cfg.UIAddr); err == nil && (host == "127.0.0.1" || host == "localhost") {
			origins = append(origins, "http://localhost:"+port, "http://127.0.0.1:"+port)
		}
	}
	return origins, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
