package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/api"
)

const (
	firstToken  = "first-token-0a1b2c3d4e"
	secondToken = "second-token-5f6a7b8c9d"
	loginEvent  = `{"event_id":"e1","customer_id":"c-1","type":"login"}`

	firstOperator  = "first-operator-7d8e9f0a1b"
	secondOperator = "second-operator-2c3d4e5f6a"
)

// Every request without a valid bearer token gets 401 with a JSON body and
// WWW-Authenticate, and nothing reaches the journeys: untouchable fails the
// test otherwise.
func TestAPIRoutesRefuseRequestsWithoutAValidBearerToken(t *testing.T) {
	h := newHandler(t, untouchable{t}, api.Options{Tokens: []string{firstToken, secondToken}})
	cases := map[string]string{
		"no header":                 "",
		"wrong scheme":              "Basic " + firstToken,
		"token without scheme":      firstToken,
		"empty bearer":              "Bearer ",
		"wrong token":               "Bearer not-the-token-0123456789",
		"prefix of a token":         "Bearer " + firstToken[:len(firstToken)-1],
		"token with extra":          "Bearer " + firstToken + "x",
		"two tokens concatenated":   "Bearer " + firstToken + secondToken,
		"token of another scheme":   "Token " + firstToken,
		"case-changed token":        "Bearer " + strings.ToUpper(firstToken),
		"bearer with two tokens":    "Bearer " + firstToken + " " + secondToken,
		"token in the scheme place": firstToken + " " + firstToken,
	}
	for name, header := range cases {
		t.Run(name, func(t *testing.T) {
			for _, req := range []*http.Request{
				httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(loginEvent)),
				httptest.NewRequest(http.MethodGet, "/v1/customers/c-1", nil),
			} {
				if header != "" {
					req.Header.Set("Authorization", header)
				}
				rec, e := serve(t, h, req)
				assert.Equal(t, http.StatusUnauthorized, rec.Code, "%s %s", req.Method, req.URL.Path)
				assert.Equal(t, "Bearer", rec.Header().Get("WWW-Authenticate"))
				assert.NotEmpty(t, e.Error)
				assert.NotContains(t, rec.Body.String(), firstToken[:10], "the answer never echoes a token")
			}
		})
	}
}

func TestEveryConfiguredTokenIsAccepted(t *testing.T) {
	j := &recorder{}
	h := newHandler(t, j, api.Options{Tokens: []string{firstToken, secondToken}, OperatorTokens: []string{firstOperator, secondOperator}, CoalesceLogins: -1})
	for _, header := range []string{"Bearer " + firstToken, "Bearer " + secondToken, "bearer " + secondToken} {
		req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(loginEvent))
		req.Header.Set("Authorization", header)
		rec, _ := serve(t, h, req)
		assert.Equal(t, http.StatusAccepted, rec.Code, "%s: %s", header, rec.Body)
	}
	for _, header := range []string{"Bearer " + firstOperator, "Bearer " + secondOperator, "bearer " + secondOperator} {
		req := httptest.NewRequest(http.MethodGet, "/v1/customers/c-1", nil)
		req.Header.Set("Authorization", header)
		rec, _ := serve(t, h, req)
		assert.Equal(t, http.StatusOK, rec.Code, "%s: %s", header, rec.Body)
	}
	assert.Len(t, j.sent(), 3)
}

// An events token sends events and reads nothing: a customer's state holds
// their email and phone. Reading takes an operator token, which in turn
// sends no events; each wrong one is 403 naming the setting it needs.
func TestReadingAStateTakesAnOperatorToken(t *testing.T) {
	h := newHandler(t, untouchable{t}, api.Options{Tokens: []string{firstToken}, OperatorTokens: []string{firstOperator}})
	req := httptest.NewRequest(http.MethodGet, "/v1/customers/c-1", nil)
	req.Header.Set("Authorization", "Bearer "+firstToken)
	rec, e := serve(t, h, req)
	assert.Equal(t, http.StatusForbidden, rec.Code, "an events token reads no state")
	assert.Contains(t, e.Error, "operator token")
	assert.Contains(t, e.Error, api.EnvOperatorTokens)
	assert.NotContains(t, rec.Body.String(), firstToken[:10], "the answer never echoes a token")

	req = httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(loginEvent))
	req.Header.Set("Authorization", "Bearer "+firstOperator)
	rec, e = serve(t, h, req)
	assert.Equal(t, http.StatusForbidden, rec.Code, "an operator token sends no events")
	assert.Contains(t, e.Error, api.EnvTokens)

	j := &recorder{}
	h = newHandler(t, j, api.Options{Tokens: []string{firstToken}, OperatorTokens: []string{firstOperator}})
	req = httptest.NewRequest(http.MethodGet, "/v1/customers/c-1", nil)
	req.Header.Set("Authorization", "Bearer "+firstOperator)
	rec, _ = serve(t, h, req)
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// Without operator tokens the read route is off: an events token gets 403
// saying none is configured, and nothing reaches a journey.
func TestWithoutOperatorTokensNoStateIsRead(t *testing.T) {
	h := newHandler(t, untouchable{t}, api.Options{Tokens: []string{firstToken}, OperatorTokens: []string{}})
	req := httptest.NewRequest(http.MethodGet, "/v1/customers/c-1", nil)
	req.Header.Set("Authorization", "Bearer "+firstToken)
	rec, e := serve(t, h, req)
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Contains(t, e.Error, "no operator token is configured")
	assert.Contains(t, e.Error, api.EnvOperatorTokens)

	req = httptest.NewRequest(http.MethodGet, "/v1/customers/c-1", nil)
	rec, _ = serve(t, h, req)
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "no token is still 401")
}

// The health check and the webhooks carry no bearer token: the webhooks
// are authenticated by their signatures.
func TestHealthzAndWebhooksNeedNoBearerToken(t *testing.T) {
	h := newHandler(t, untouchable{t}, api.Options{})
	rec, _ := serve(t, h, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	for _, path := range []string{"/webhooks/slack/interactions", "/webhooks/stripe"} {
		rec, _ = serve(t, h, httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}")))
		assert.Equal(t, http.StatusNotFound, rec.Code, "%s is not configured: 404, not 401", path)
	}
}

func TestNewRequiresAcceptableTokens(t *testing.T) {
	cases := map[string][]string{
		"no tokens":    nil,
		"empty list":   {},
		"empty token":  {firstToken, ""},
		"short token":  {"short-token-123"}, // 15 characters
		"space inside": {"a token with spaces"},
		"non-ASCII":    {"tökén-0123456789abc"},
	}
	for name, tokens := range cases {
		t.Run(name, func(t *testing.T) {
			h, err := api.New(untouchable{t}, api.Options{Tokens: tokens})
			assert.Error(t, err)
			assert.Nil(t, h)
		})
	}
	for name, tokens := range map[string][]string{
		"empty operator token": {firstOperator, ""},
		"short operator token": {"short-token-123"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := api.New(untouchable{t}, api.Options{Tokens: []string{firstToken}, OperatorTokens: tokens})
			assert.ErrorContains(t, err, "OperatorTokens")
		})
	}
	_, err := api.New(untouchable{t}, api.Options{Tokens: []string{"exactly-16-chars"}})
	assert.NoError(t, err, "16 characters is enough")
	_, err = api.New(untouchable{t}, api.Options{Tokens: []string{api.DevToken}})
	assert.NoError(t, err, "the dev token is acceptable")
}

func TestTokensFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(name string) string {
			if name == api.EnvTokens {
				return v
			}
			return ""
		}
	}
	tokens, err := api.TokensFromEnv(env(firstToken + "," + secondToken))
	require.NoError(t, err)
	assert.Equal(t, []string{firstToken, secondToken}, tokens)

	tokens, err = api.TokensFromEnv(env(firstToken))
	require.NoError(t, err)
	assert.Equal(t, []string{firstToken}, tokens)

	tokens, err = api.TokensFromEnv(env(""))
	require.NoError(t, err, "unset is no tokens; New refuses an empty list")
	assert.Empty(t, tokens)

	for name, v := range map[string]string{
		"short":           firstToken + ",short",
		"space after ','": firstToken + ", " + secondToken,
		"trailing comma":  firstToken + ",",
		"empty middle":    firstToken + ",," + secondToken,
		"only a space":    " ",
		"tab inside":      "token-with\ttab-0123456789",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := api.TokensFromEnv(env(v))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "JOURNEYS_API_TOKENS")
			assert.NotContains(t, err.Error(), firstToken, "the error never shows a token")
			assert.NotContains(t, err.Error(), secondToken, "the error never shows a token")
		})
	}
}

func TestOperatorTokensFromEnv(t *testing.T) {
	env := func(name string) string {
		if name == api.EnvOperatorTokens {
			return firstOperator + "," + secondOperator
		}
		return firstToken
	}
	tokens, err := api.OperatorTokensFromEnv(env)
	require.NoError(t, err)
	assert.Equal(t, []string{firstOperator, secondOperator}, tokens)
	_, err = api.OperatorTokensFromEnv(func(string) string { return "short" })
	assert.ErrorContains(t, err, api.EnvOperatorTokens)
}

// Readiness is what a load balancer polls: open, and 503 with the reason
// while the process cannot take traffic.
func TestReadyzAnswersWhatReadySays(t *testing.T) {
	h := newHandler(t, untouchable{t}, api.Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code, "no readiness check configured")

	var down error
	h = newHandler(t, untouchable{t}, api.Options{Ready: func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline on the check")
		}
		return down
	}})
	rec, _ = serve(t, h, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"status":"ready"}`, rec.Body.String())

	down = errors.New("temporal: connection refused")
	rec, _ = serve(t, h, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.JSONEq(t, `{"status":"not ready","error":"temporal: connection refused"}`, rec.Body.String())
}
