package codec

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	testToken = "s3cret-codec-token"
	uiOrigin  = "https://temporal-ui.journeys.example"
)

func newTestServer(t *testing.T, opts HandlerOptions) (*httptest.Server, converter.PayloadCodec) {
	t.Helper()
	c := NewCodec(mustKeys(t, testKey("A", 'a')))
	srv := httptest.NewServer(Handler(c, opts))
	t.Cleanup(srv.Close)
	return srv, c
}

func defaultOpts() HandlerOptions {
	return HandlerOptions{Tokens: []string{"other-token", testToken}, AllowedOrigins: []string{uiOrigin}}
}

// post sends body to the codec server the way the Temporal UI does.
func post(t *testing.T, url, auth string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "journeys")
	req.Header.Set("Origin", uiOrigin)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func payloadsJSON(t *testing.T, ps []*commonpb.Payload) []byte {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	require.NoError(t, err)
	return b
}

func TestHandlerDecode(t *testing.T) {
	srv, c := newTestServer(t, defaultOpts())
	enc, err := c.Encode(samplePayloads())
	require.NoError(t, err)

	resp := post(t, srv.URL+DecodePath, "Bearer "+testToken, payloadsJSON(t, enc))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var got commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &got))
	assertPayloadsEqual(t, samplePayloads(), got.Payloads)

	// The UI-style body, written by hand: {"payloads":[{metadata,data}]}.
	handJSON, err := json.Marshal(map[string]any{"payloads": []map[string]any{{
		"metadata": map[string][]byte{"encoding": enc[0].Metadata["encoding"], "encryption-key-id": enc[0].Metadata["encryption-key-id"]},
		"data":     enc[0].Data,
	}}})
	require.NoError(t, err)
	resp = post(t, srv.URL+DecodePath, "bearer "+testToken, handJSON)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), `"data"`)
	require.NoError(t, protojson.Unmarshal(body, &got))
	assertPayloadsEqual(t, samplePayloads()[:1], got.Payloads)
}

func TestHandlerWithSDKRemoteCodec(t *testing.T) {
	srv, local := newTestServer(t, defaultOpts())
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL + "/codec",
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+testToken)
			return nil
		},
	})

	enc, err := remote.Encode(samplePayloads())
	require.NoError(t, err)
	assert.Equal(t, "binary/encrypted", string(enc[0].Metadata["encoding"]))
	dec, err := local.Decode(enc)
	require.NoError(t, err)
	assertPayloadsEqual(t, samplePayloads(), dec)

	dec, err = remote.Decode(enc)
	require.NoError(t, err)
	assertPayloadsEqual(t, samplePayloads(), dec)
}

func TestHandlerDecodeErrorNamesKey(t *testing.T) {
	srv, _ := newTestServer(t, defaultOpts())
	enc, err := NewCodec(mustKeys(t, testKey("retired", 'r'))).Encode(samplePayloads()[:1])
	require.NoError(t, err)
	resp := post(t, srv.URL+DecodePath, "Bearer "+testToken, payloadsJSON(t, enc))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(body), `unknown key ID "retired"`)
}

func TestHandlerUnauthorized(t *testing.T) {
	srv, c := newTestServer(t, defaultOpts())
	enc, err := c.Encode(samplePayloads())
	require.NoError(t, err)
	body := payloadsJSON(t, enc)

	for name, auth := range map[string]string{
		"no header":        "",
		"wrong token":      "Bearer not-the-token",
		"token prefix":     "Bearer " + testToken[:5],
		"token suffix":     "Bearer " + testToken + "x",
		"basic scheme":     "Basic " + testToken,
		"bare token":       testToken,
		"empty bearer":     "Bearer ",
		"bearer no space":  "Bearer" + testToken,
		"configured other": "Bearer other-token-2",
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{DecodePath, EncodePath} {
				resp := post(t, srv.URL+path, auth, body)
				assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
				assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))
				// The UI's origin still gets CORS headers so it can show the 401.
				assert.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
				got, _ := io.ReadAll(resp.Body)
				assert.NotContains(t, string(got), "payloads")
			}
		})
	}

	resp := post(t, srv.URL+DecodePath, "Bearer other-token", body)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "every configured token is accepted")
}

func TestHandlerAnonymous(t *testing.T) {
	body := payloadsJSON(t, samplePayloads())

	srv, _ := newTestServer(t, HandlerOptions{AllowAnonymous: true})
	resp := post(t, srv.URL+EncodePath, "", body)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "dev: no tokens and AllowAnonymous")

	srv, _ = newTestServer(t, HandlerOptions{})
	resp = post(t, srv.URL+EncodePath, "", body)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no tokens and no AllowAnonymous fails closed")
	resp = post(t, srv.URL+EncodePath, "Bearer ", body)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	srv, _ = newTestServer(t, HandlerOptions{Tokens: []string{"", testToken}, AllowAnonymous: true})
	resp = post(t, srv.URL+EncodePath, "", body)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "AllowAnonymous does not apply once tokens are set")
	resp = post(t, srv.URL+EncodePath, "Bearer "+testToken, body)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	srv, _ = newTestServer(t, HandlerOptions{Tokens: []string{""}})
	resp = post(t, srv.URL+EncodePath, "Bearer ", body)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "an empty configured token matches nothing")
}

func preflight(t *testing.T, url, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, url, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestHandlerCORSPreflight(t *testing.T) {
	srv, _ := newTestServer(t, defaultOpts())
	for _, path := range []string{DecodePath, EncodePath} {
		resp := preflight(t, srv.URL+path, uiOrigin)
		assert.Equal(t, http.StatusNoContent, resp.StatusCode, "preflight needs no token")
		h := resp.Header
		assert.Equal(t, uiOrigin, h.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "POST", h.Get("Access-Control-Allow-Methods"))
		assert.Equal(t, "Content-Type, Authorization, X-Namespace", h.Get("Access-Control-Allow-Headers"))
		assert.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))
		assert.Contains(t, h.Values("Vary"), "Origin")
	}
}

func TestHandlerNoCORSForOtherOrigins(t *testing.T) {
	srv, c := newTestServer(t, defaultOpts())
	for _, origin := range []string{"https://evil.example", uiOrigin + ".evil.example", "http://temporal-ui.journeys.example", strings.ToUpper(uiOrigin), "null"} {
		resp := preflight(t, srv.URL+DecodePath, origin)
		for name := range resp.Header {
			assert.False(t, strings.HasPrefix(name, "Access-Control-"), "origin %s got %s", origin, name)
		}

		enc, err := c.Encode(samplePayloads()[:1])
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, srv.URL+DecodePath, strings.NewReader(string(payloadsJSON(t, enc))))
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		for name := range resp.Header {
			assert.False(t, strings.HasPrefix(name, "Access-Control-"), "origin %s got %s", origin, name)
		}
	}
}

func TestHandlerRoutes(t *testing.T) {
	srv, _ := newTestServer(t, defaultOpts())
	body := payloadsJSON(t, samplePayloads())

	for _, path := range []string{"/decode", "/encode", "/codec/decodex", "/other/decode", "/codec/", "/"} {
		resp := post(t, srv.URL+path, "Bearer "+testToken, body)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}

	req, err := http.NewRequest(http.MethodGet, srv.URL+DecodePath, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	resp = post(t, srv.URL+DecodePath, "Bearer "+testToken, []byte("not json"))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestHandlerBodyLimit(t *testing.T) {
	opts := defaultOpts()
	opts.MaxBodyBytes = 1024
	srv, _ := newTestServer(t, opts)
	big := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: make([]byte, 4096)}}
	resp := post(t, srv.URL+EncodePath, "Bearer "+testToken, payloadsJSON(t, big))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
