package slack_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/integrations/slack"
	"github.com/journeyshq/journeys/messages"
)

const alertKey = "customer:c-42/j-1/health.at_risk/alert"

func alert(csm string) messages.Alert {
	return messages.Alert{
		Meta: messages.Meta{CustomerID: "c-42", Step: "health.at_risk", Template: "at_risk", IdempotencyKey: alertKey},
		CSM:  csm,
		Text: "Acme has not logged in for 14 days and 2 of 5 milestones are done.",
		Data: messages.Data{
			CustomerID:      "c-42",
			Name:            "Acme Corp",
			Email:           "owner@acme.example",
			Plan:            "growth",
			Seats:           25,
			HealthTier:      "at_risk",
			HealthScore:     48,
			MRR:             249_900,
			Currency:        "USD",
			DaysSinceSignup: 30,
			MilestonesDone:  []string{"Invited a teammate", "Connected a data source"},
			MilestonesLeft:  []string{"Built a dashboard", "Shared a report", "Set an alert"},
			MilestonesTotal: 5,
			Recent: []string{
				"day 1: signed up", "day 2: invited a teammate", "day 3: connected a data source",
				"day 10: welcome email opened", "day 16: last login", "day 30: health tier at_risk",
			},
		},
	}
}

func asTransient(t *testing.T, err error) *messages.TransientError {
	t.Helper()
	var te *messages.TransientError
	require.ErrorAs(t, err, &te, "want a TransientError, got %T: %v", err, err)
	return te
}

func asPermanent(t *testing.T, err error) *messages.PermanentError {
	t.Helper()
	var pe *messages.PermanentError
	require.ErrorAs(t, err, &pe, "want a PermanentError, got %T: %v", err, err)
	return pe
}

func TestAlertToUserIDPostsTheFullMessageAsADM(t *testing.T) {
	f := newFake(t)
	rcpt, err := f.client().AlertCSM(context.Background(), alert("U0123ABCD"))
	require.NoError(t, err)
	assert.Equal(t, messages.Receipt{ID: "D123/" + postedTS}, rcpt)

	calls := f.Calls()
	require.Len(t, calls, 1, "a user ID needs no lookup")
	c := calls[0]
	assert.Equal(t, "chat.postMessage", c.Method)
	assert.Equal(t, testToken, c.Form.Get("token"))
	assert.Equal(t, "U0123ABCD", c.Form.Get("channel"))
	assert.Equal(t, alert("").Text, c.Form.Get("text"), "the notification text is the reason")
	assert.Equal(t, "false", c.Form.Get("unfurl_links"))

	order, byID := blocks(t, c)
	assert.Equal(t, []string{
		slack.BlockIDHeader, slack.BlockIDReason, slack.BlockIDFields,
		slack.BlockIDRecent, slack.BlockIDLink, slack.BlockIDActions,
	}, order, "no fallback note for a resolved CSM")

	header := byID[slack.BlockIDHeader]
	assert.Equal(t, "header", header.Type)
	require.NotNil(t, header.Text)
	assert.Equal(t, textObject{Type: "plain_text", Text: "Customer needs attention: Acme Corp"}, *header.Text)

	reason := byID[slack.BlockIDReason]
	assert.Equal(t, "section", reason.Type)
	require.NotNil(t, reason.Text)
	assert.Equal(t, textObject{Type: "mrkdwn", Text: alert("").Text}, *reason.Text)

	assert.Equal(t, []string{
		"*Customer ID*\nc-42",
		"*Plan*\ngrowth",
		"*Seats*\n25",
		"*MRR*\n$2,499.00",
		"*Health tier*\nat_risk",
		"*Health score*\n48/100",
		"*Days since signup*\n30",
		"*Milestones*\n2 of 5 done",
		"*Next milestones*\nBuilt a dashboard, Shared a report, Set an alert",
		"*Journey step*\nhealth.at_risk",
	}, fieldTexts(byID[slack.BlockIDFields]))
	for _, text := range fieldTexts(byID[slack.BlockIDFields]) {
		assert.NotContains(t, text, "owner@acme.example", "the customer's email stays out of Slack")
	}

	recent := byID[slack.BlockIDRecent]
	assert.Equal(t, "context", recent.Type)
	assert.Equal(t, []string{"*Recent*" +
		"\n• day 2: invited a teammate\n• day 3: connected a data source\n• day 10: welcome email opened" +
		"\n• day 16: last login\n• day 30: health tier at_risk"}, contextTexts(t, recent), "the last five entries, oldest first")

	link := byID[slack.BlockIDLink]
	require.NotNil(t, link.Text)
	assert.Equal(t, "<http://ui.example:8233/namespaces/journeys/workflows/customer:c-42|Open the journey in Temporal>", link.Text.Text)

	actions := byID[slack.BlockIDActions]
	assert.Equal(t, "actions", actions.Type)
	assert.Equal(t, []button{
		{Type: "button", ActionID: "journeys_ack", Value: alertKey, Style: "primary", Text: textObject{Type: "plain_text", Text: "Acknowledge"}},
		{Type: "button", ActionID: "journeys_snooze_3d", Value: alertKey, Text: textObject{Type: "plain_text", Text: "Snooze 3 days"}},
	}, buttons(t, actions))
}

func TestAlertToEmailLooksUpTheUserThenPostsToThem(t *testing.T) {
	f := newFake(t)
	f.users["csm@journeys.example"] = "U0EMAIL01"
	rcpt, err := f.client().AlertCSM(context.Background(), alert("csm@journeys.example"))
	require.NoError(t, err)
	assert.Equal(t, "D123/"+postedTS, rcpt.ID)

	calls := f.Calls()
	require.Len(t, calls, 2)
	assert.Equal(t, "users.lookupByEmail", calls[0].Method)
	assert.Equal(t, "csm@journeys.example", calls[0].Form.Get("email"))
	assert.Equal(t, testToken, calls[0].Form.Get("token"))
	assert.Equal(t, "chat.postMessage", calls[1].Method)
	assert.Equal(t, "U0EMAIL01", calls[1].Form.Get("channel"))
	order, _ := blocks(t, calls[1])
	assert.NotContains(t, order, slack.BlockIDNote)
}

func TestUnresolvedCSMGoesToTheFallbackChannelWithANote(t *testing.T) {
	for _, tc := range []struct {
		name, csm   string
		wantLookups int
		wantNote    string
	}{
		{"email not found", "gone@journeys.example", 1, "The CSM gone@journeys.example has no Slack account"},
		{"empty CSM", "", 0, "No CSM is assigned"},
		{"neither ID nor email", "Jane Doe", 0, "neither a Slack user ID nor an email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			rcpt, err := f.client().AlertCSM(context.Background(), alert(tc.csm))
			require.NoError(t, err)
			assert.Equal(t, "C0TEAM01/"+postedTS, rcpt.ID, "the receipt names the channel Slack answered with")

			calls := f.Calls()
			require.Len(t, calls, tc.wantLookups+1)
			for _, c := range calls[:tc.wantLookups] {
				assert.Equal(t, "users.lookupByEmail", c.Method)
			}
			post := calls[len(calls)-1]
			assert.Equal(t, "chat.postMessage", post.Method)
			assert.Equal(t, testFallback, post.Form.Get("channel"))
			assert.Equal(t, alert("").Text, post.Form.Get("text"))

			order, byID := blocks(t, post)
			require.NotEmpty(t, order)
			assert.Equal(t, slack.BlockIDNote, order[0], "the note comes first")
			texts := contextTexts(t, byID[slack.BlockIDNote])
			require.Len(t, texts, 1)
			assert.Contains(t, texts[0], tc.wantNote)
			assert.Contains(t, order, slack.BlockIDActions, "the team can still answer")
		})
	}
}

func TestDeactivatedUserGoesToTheFallbackChannel(t *testing.T) {
	f := newFake(t)
	f.lookup = func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"ok": true, "user": map[string]any{"id": "U0GONE01", "deleted": true}})
	}
	_, err := f.client().AlertCSM(context.Background(), alert("left@journeys.example"))
	require.NoError(t, err)
	calls := f.Calls()
	require.Len(t, calls, 2)
	assert.Equal(t, testFallback, calls[1].Form.Get("channel"))
}

func TestJourneyTextIsEscaped(t *testing.T) {
	f := newFake(t)
	a := alert("U0123ABCD")
	a.Text = "Ping <!channel> & <https://evil.example|click>"
	a.Data.Name = "Acme <Corp>"
	a.Data.Recent = []string{"note: <@U999> said hi"}
	_, err := f.client().AlertCSM(context.Background(), a)
	require.NoError(t, err)

	post := f.Calls()[0]
	assert.Equal(t, "Ping &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;", post.Form.Get("text"))
	_, byID := blocks(t, post)
	assert.Equal(t, "Ping &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;", byID[slack.BlockIDReason].Text.Text)
	assert.Equal(t, "Customer needs attention: Acme <Corp>", byID[slack.BlockIDHeader].Text.Text, "plain_text is shown as is")
	assert.Equal(t, []string{"*Recent*\n• note: &lt;@U999&gt; said hi"}, contextTexts(t, byID[slack.BlockIDRecent]))
}

func TestAlertWithoutRecentOrNameStillRenders(t *testing.T) {
	f := newFake(t)
	a := alert("U0123ABCD")
	a.Data = messages.Data{}
	_, err := f.client().AlertCSM(context.Background(), a)
	require.NoError(t, err)
	order, byID := blocks(t, f.Calls()[0])
	assert.NotContains(t, order, slack.BlockIDRecent)
	assert.Equal(t, "Customer needs attention: c-42", byID[slack.BlockIDHeader].Text.Text)
	assert.Equal(t, []string{"*Customer ID*\nc-42", "*Journey step*\nhealth.at_risk"}, fieldTexts(byID[slack.BlockIDFields]))
}

func TestAlertFieldsShowMRRInTheCustomersCurrencyAndTheHealthScore(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mrr      int64
		currency string
		score    int
		want     []string
	}{
		{"euro", 120_000, "EUR", 35, []string{"*MRR*\n€1,200.00", "*Health score*\n35/100"}},
		{"no currency is USD", 9_900, "", 100, []string{"*MRR*\n$99.00", "*Health score*\n100/100"}},
		{"zero-decimal currency", 50_000, "JPY", 1, []string{"*MRR*\n50,000 JPY", "*Health score*\n1/100"}},
		{"unknown MRR and score are left out", 0, "USD", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			a := alert("U0123ABCD")
			a.Data.MRR, a.Data.Currency, a.Data.HealthScore = tc.mrr, tc.currency, tc.score
			_, err := f.client().AlertCSM(context.Background(), a)
			require.NoError(t, err)
			_, byID := blocks(t, f.Calls()[0])
			var got []string
			for _, text := range fieldTexts(byID[slack.BlockIDFields]) {
				if strings.HasPrefix(text, "*MRR*") || strings.HasPrefix(text, "*Health score*") {
					got = append(got, text)
				}
			}
			assert.Equal(t, tc.want, got)
			assert.LessOrEqual(t, len(fieldTexts(byID[slack.BlockIDFields])), 10, "Slack allows ten fields")
		})
	}
}

func TestAlertWithoutKeyIsRefusedBeforeAnyRequest(t *testing.T) {
	f := newFake(t)
	a := alert("U0123ABCD")
	a.IdempotencyKey = ""
	_, err := f.client().AlertCSM(context.Background(), a)
	assert.Equal(t, "no_idempotency_key", asPermanent(t, err).Reason)
	assert.Empty(t, f.Calls())
}

func TestRateLimitIsTransientWithRetryAfter(t *testing.T) {
	f := newFake(t)
	f.post = rateLimit(4)
	_, err := f.client().AlertCSM(context.Background(), alert("U0123ABCD"))
	te := asTransient(t, err)
	assert.Equal(t, 4*time.Second, te.RetryAfter)
	assert.True(t, strings.HasPrefix(err.Error(), "slack: "), err.Error())
}

func TestRateLimitOnLookupIsTransientToo(t *testing.T) {
	f := newFake(t)
	f.lookup = rateLimit(7)
	_, err := f.client().AlertCSM(context.Background(), alert("csm@journeys.example"))
	assert.Equal(t, 7*time.Second, asTransient(t, err).RetryAfter)
	require.Len(t, f.Calls(), 1, "nothing is posted when the lookup fails")
}

func TestServerErrorIsTransient(t *testing.T) {
	f := newFake(t)
	f.post = func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<html>oops</html>", http.StatusInternalServerError)
	}
	_, err := f.client().AlertCSM(context.Background(), alert("U0123ABCD"))
	te := asTransient(t, err)
	assert.Zero(t, te.RetryAfter)
	assert.True(t, strings.HasPrefix(err.Error(), "slack: "), err.Error())
}

func TestLookupErrorsNeverQuoteTheEmail(t *testing.T) {
	f := newFake(t)
	f.lookup = func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}
	_, err := f.client().AlertCSM(context.Background(), alert("csm@journeys.example"))
	asTransient(t, err)
	assert.NotContains(t, err.Error(), "csm@journeys.example")
	assert.NotContains(t, err.Error(), "journeys.example")
}

func TestAPIErrorsAreClassified(t *testing.T) {
	for _, tc := range []struct {
		code       string
		transient  bool
		wantReason string
	}{
		{"channel_not_found", false, "channel_not_found"},
		{"not_in_channel", false, "not_in_channel"},
		{"is_archived", false, "is_archived"},
		{"account_inactive", false, "account_inactive"},
		{"user_not_found", false, "user_not_found"},
		{"invalid_blocks", false, "invalid_blocks"},
		{"msg_too_long", false, "slack_error:msg_too_long"},
		{"missing_scope", false, "slack_error:missing_scope"},
		{"ratelimited", true, ""},
		{"internal_error", true, ""},
		{"fatal_error", true, ""},
		{"service_unavailable", true, ""},
	} {
		t.Run(tc.code, func(t *testing.T) {
			f := newFake(t)
			f.post = apiError(tc.code)
			_, err := f.client().AlertCSM(context.Background(), alert("U0123ABCD"))
			require.Error(t, err)
			assert.Equal(t, "slack: chat.postMessage: "+tc.code, errors.Unwrap(err).Error())
			if tc.transient {
				asTransient(t, err)
				return
			}
			assert.Equal(t, tc.wantReason, asPermanent(t, err).Reason)
		})
	}
}

func TestWrongTokenIsPermanentInvalidAuth(t *testing.T) {
	f := newFake(t)
	cfg := f.config()
	cfg.BotToken = "xoxb-wrong"
	c, err := slack.New(cfg)
	require.NoError(t, err)
	_, err = c.AlertCSM(context.Background(), alert("U0123ABCD"))
	assert.Equal(t, "invalid_auth", asPermanent(t, err).Reason)
	assert.NotContains(t, err.Error(), "xoxb-wrong")
}

func TestTimeoutIsTransient(t *testing.T) {
	f := newFake(t)
	f.post = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	cfg := f.config()
	cfg.Timeout = 100 * time.Millisecond
	c, err := slack.New(cfg)
	require.NoError(t, err)

	start := time.Now()
	_, err = c.AlertCSM(context.Background(), alert("U0123ABCD"))
	te := asTransient(t, err)
	assert.Zero(t, te.RetryAfter)
	assert.Less(t, time.Since(start), 2*time.Second, "cfg.Timeout bounds the call")
	assert.True(t, strings.HasPrefix(err.Error(), "slack: "), err.Error())
}

func TestCancelledContextIsTransient(t *testing.T) {
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client().AlertCSM(ctx, alert("U0123ABCD"))
	asTransient(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, f.Calls())
}

func TestUnreachableSlackIsTransient(t *testing.T) {
	f := newFake(t)
	cfg := f.config()
	f.srv.Close() // nothing listens at the URL any more
	c, err := slack.New(cfg)
	require.NoError(t, err)
	_, err = c.AlertCSM(context.Background(), alert("U0123ABCD"))
	asTransient(t, err)
}
