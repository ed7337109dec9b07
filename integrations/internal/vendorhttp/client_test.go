package vendorhttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
	"github.com/journeyshq/journeys/integrations/internal/vendortest"
	"github.com/journeyshq/journeys/messages"
)

// got is one request as the test server saw it.
type got struct {
	Method, RawPath, Query, Auth, ContentType, Key, Body string
}

func TestCallSendsJSONAndSortsAnswers(t *testing.T) {
	policy := vendorhttp.Policy{
		Done:          []int{http.StatusConflict},
		Passing:       []int{http.StatusLocked},
		RateLimitWait: 10 * time.Second,
		Reasons:       map[int]string{http.StatusNotFound: "not_found"},
		Parse:         func(status int, body []byte) error { return fmt.Errorf("http %d: %s", status, body) },
		Wrap:          func(err error) error { return fmt.Errorf("vendor: act: %w", err) },
	}
	for _, tc := range []struct {
		name   string
		reply  vendortest.Reply
		reason string        // empty: transient, unless done
		done   bool          // the answer is returned
		wait   time.Duration // a transient error's RetryAfter
	}{
		{"created", vendortest.Reply{Status: http.StatusCreated, Body: `{"id":"1"}`}, "", true, 0},
		{"done status", vendortest.Reply{Status: http.StatusConflict}, "", true, 0},
		{"rate limit without Retry-After", vendortest.Reply{Status: http.StatusTooManyRequests}, "", false, 10 * time.Second},
		{"rate limit with Retry-After", vendortest.Reply{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "3"}}, "", false, 3 * time.Second},
		{"passing status", vendortest.Reply{Status: http.StatusLocked}, "", false, 0},
		{"outage", vendortest.Reply{Status: http.StatusServiceUnavailable, Header: map[string]string{"Retry-After": "5"}}, "", false, 5 * time.Second},
		{"request timeout", vendortest.Reply{Status: http.StatusRequestTimeout}, "", false, 0},
		{"status with a reason", vendortest.Reply{Status: http.StatusNotFound, Body: "gone"}, "not_found", false, 0},
		{"other status", vendortest.Reply{Status: http.StatusBadRequest, Body: "bad"}, "rejected", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srv *vendortest.Server[got]
			srv = vendortest.Start[got](t, "vendor", "application/json", func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				srv.Record(got{r.Method, r.URL.RawPath, r.URL.RawQuery, r.Header.Get("Authorization"),
					r.Header.Get("Content-Type"), r.Header.Get("Idempotency-Key"), string(body)})
				srv.Answer(w, r, tc.reply)
			})
			c, err := vendorhttp.New(srv.URL+"/v1/", "tok_1", time.Second)
			require.NoError(t, err)
			ans, err := c.Call(context.Background(), vendorhttp.Request{
				Method: http.MethodPost,
				URL:    c.URL("/things", "a=1", "x/y+z", "go"),
				Header: map[string]string{"Idempotency-Key": "k1"},
				Body:   map[string]string{"n": "v"},
			}, policy)
			assert.Equal(t, []got{{http.MethodPost, "/v1/things/x%2Fy%2Bz/go", "a=1", "Bearer tok_1", "application/json", "k1", `{"n":"v"}`}}, srv.Received())
			if tc.done {
				require.NoError(t, err)
				assert.Equal(t, tc.reply.Status, ans.Status)
				assert.Equal(t, tc.reply.Body, string(ans.Body))
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf("vendor: act: http %d", tc.reply.Status))
			var perm *messages.PermanentError
			if tc.reason != "" {
				require.True(t, errors.As(err, &perm), "%T: %v", err, err)
				assert.Equal(t, tc.reason, perm.Reason)
				return
			}
			var tr *messages.TransientError
			require.True(t, errors.As(err, &tr), "%T: %v", err, err)
			assert.Equal(t, tc.wait, tr.RetryAfter)
		})
	}
}

func TestCallWithoutAnswerIsTransient(t *testing.T) {
	srv := vendortest.Start[got](t, "vendor", "application/json", func(http.ResponseWriter, *http.Request) {})
	c, err := vendorhttp.New(srv.URL, "tok_1", time.Second)
	require.NoError(t, err)
	srv.Close()
	_, err = c.Call(context.Background(), vendorhttp.Request{Method: http.MethodGet, URL: c.URL("/things", "")},
		vendorhttp.Policy{Wrap: func(err error) error { return fmt.Errorf("vendor: act: %w", err) }})
	var tr *messages.TransientError
	require.True(t, errors.As(err, &tr), "%T: %v", err, err)
	assert.Contains(t, err.Error(), "vendor: act: request failed: ")
	assert.NotContains(t, err.Error(), srv.URL, "the URL stays out")
}
