package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/slack"
)

func TestReplyPostsAnEphemeralMessageToTheResponseURL(t *testing.T) {
	var got map[string]any
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		b, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(b, &got))
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	c, err := slack.New(slack.Config{BotToken: "xoxb-test", FallbackChannel: "#csm", APIURL: srv.URL + "/api/"})
	require.NoError(t, err)

	require.NoError(t, c.Reply(context.Background(), srv.URL+"/actions/T01/1/abc", "Done: the alert is acknowledged."))
	assert.Equal(t, "/actions/T01/1/abc", path)
	assert.Equal(t, map[string]any{"response_type": "ephemeral", "replace_original": false, "text": "Done: the alert is acknowledged."}, got)

	err = c.Reply(context.Background(), "https://attacker.example/collect", "x")
	assert.ErrorContains(t, err, "not on hooks.slack.com", "a forged response_url is not followed")
}
