package messages_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/messages"
)

// richSample is a customer well into their lifecycle: every field a
// template may use is set, as the workflow would set it.
func richSample() messages.Data {
	d := sample()
	d.Stage = "adoption"
	d.HealthTier = "at_risk"
	d.HealthScore = 42
	d.MRR = 249_900
	d.Currency = "USD"
	d.HighValue = true
	d.DaysSinceSignup = 200
	d.DaysSinceLogin = 15
	d.LoginsLast30Days = 9
	d.Tip = "Saved views keep the reports you check every week one click away."
	d.Usage = messages.Usage{Known: true, ActiveUsers: 4, KeyActions: 1240, SeatsUsed: 5,
		KeyActionsBefore: 2067, DropPercent: 40, SeatsPercent: 100}
	d.TopFeatures = []string{"saved views", "csv export"}
	d.OpenTickets = 2
	d.NPS = messages.NPS{Answered: true, Score: 3, Comment: "Reports are too slow to load",
		SurveyURL: "https://survey.example.com/nps/c-1"}
	d.Payment = messages.Payment{InvoiceID: "in_1001", Amount: 123_450, Currency: "usd", Attempt: 3,
		Reason: "card_declined", UpdateURL: "https://billing.example.com/update/c-1",
		SuspendOn: "March 12", DaysLeft: 3}
	d.Renewal = messages.Renewal{Date: "March 12, 2027", DaysLeft: 30, Amount: 2_998_800, Currency: "USD"}
	d.Cancellation = messages.Cancellation{Reason: "missing_feature", Comment: "We need a Salesforce sync",
		EffectiveDate: "April 1, 2027"}
	d.Offer = "30% off your next three months"
	d.Recent = []string{"day 180: usage dropped 40%", "day 199: NPS 3"}
	d.Undelivered = messages.Undelivered{Message: "payment reminder",
		Why: []string{"email: the address bounced", "sms: the customer texted STOP"}}
	return d
}

// lifecycle are the templates the default playbook's lifecycle sections
// (adoption, NPS, expansion, renewal, dunning, cancellation, win-back) name.
var lifecycle = map[messages.Channel][]string{
	messages.ChannelEmail: {
		"re_engagement", "usage_drop", "nps_survey", "referral_ask", "upsell",
		"renewal_value_recap", "renewal_whats_new", "renewal_reminder", "renewal_final_reminder",
		"payment_failed", "payment_reminder", "payment_final_reminder", "account_suspended", "payment_recovered",
		"exit_survey", "save_offer_discount", "save_offer_roadmap", "save_offer_onboarding_help",
		"winback_whats_new", "winback_offer", "winback_last_note", "welcome_back",
	},
	messages.ChannelSMS: {"payment_reminder"},
	messages.ChannelAlert: {
		"inactive_customer", "usage_drop", "health_critical", "nps_detractor",
		"expansion_opportunity", "renewal_at_risk", "payment_failing", "cancellation_high_value",
		"customer_unreachable",
	},
}

var lifecycleChannels = []messages.Channel{messages.ChannelEmail, messages.ChannelSMS, messages.ChannelAlert}

// The playbook's lifecycle templates all exist, so a default playbook
// validates.
func TestLifecycleTemplatesExist(t *testing.T) {
	for ch, names := range lifecycle {
		for _, name := range names {
			assert.True(t, messages.Exists(ch, name), "%s/%s", ch, name)
		}
	}
}

// Every template of every channel renders a rich profile, and a sparse one
// (the optional parts left out), within its channel's limits.
func TestEveryTemplateRendersWithinLimits(t *testing.T) {
	sparse := richSample()
	sparse.Tip, sparse.TopFeatures, sparse.Offer = "", nil, ""
	sparse.NPS.Comment, sparse.NPS.SurveyURL = "", ""
	sparse.Payment.Reason, sparse.Payment.InvoiceID, sparse.Payment.SuspendOn = "", "", ""
	sparse.Cancellation = messages.Cancellation{}
	sparse.Usage.Known, sparse.MilestonesLeft = false, []string{}

	for name, d := range map[string]messages.Data{"rich": richSample(), "sparse": sparse} {
		for _, ch := range lifecycleChannels {
			for _, tmpl := range messages.Names(ch) {
				t.Run(name+"/"+string(ch)+"/"+tmpl, func(t *testing.T) {
					out, err := messages.Render(ch, tmpl, d)
					require.NoError(t, err)
					for block, text := range out {
						assert.NotEmpty(t, text, block)
						assert.NotContains(t, text, "<no value>", block)
						assert.NotContains(t, text, " .", "no gap where an optional part was left out")
						assert.NotContains(t, text, " ,", block)
						assert.NotContains(t, text, "\n\n\n", "one blank line between paragraphs")
					}
					switch ch {
					case messages.ChannelEmail:
						subject := out["subject"]
						assert.NotEmpty(t, subject)
						assert.Less(t, len([]rune(subject)), 80, "subject %q", subject)
						assert.NotContains(t, subject, "\n")
						assert.True(t, strings.HasPrefix(out["text"], "Hi Ana,"), "greets by first name")
						assert.True(t, strings.HasSuffix(out["text"], "The Acme team"), "signs off")
					case messages.ChannelSMS:
						assert.Less(t, len(out["text"]), 300)
						assert.True(t, strings.HasSuffix(out["text"], "Reply STOP to opt out."))
					case messages.ChannelAlert:
						if !slices.Contains(lifecycle[ch], tmpl) {
							break // onboarding alerts predate MRR and health scores
						}
						text := out["text"]
						assert.Contains(t, text, "Ana Lima (c-1, pro, $2,499.00 MRR", "who, with plan and MRR")
						assert.Contains(t, text, "42/100", "health score")
						assert.LessOrEqual(t, strings.Count(text, ". "), 2, "one or two sentences: %q", text)
					}
				})
			}
		}
	}
}

func TestPaymentFailedSaysWhatHowAndWhen(t *testing.T) {
	out, err := messages.Render(messages.ChannelEmail, "payment_failed", richSample())
	require.NoError(t, err)
	text := out["text"]
	assert.Equal(t, "Your Acme payment didn't go through", out["subject"])
	assert.Contains(t, text, "We tried to charge $1,234.50 for invoice in_1001")
	assert.Contains(t, text, "The reason we were given: card declined.")
	assert.Contains(t, text, "https://billing.example.com/update/c-1")
	assert.Contains(t, text, "by March 12")
	assert.Contains(t, out["html"], `https://billing.example.com/update/c-1`)

	d := richSample()
	d.Payment.Reason = ""
	out, err = messages.Render(messages.ChannelEmail, "payment_failed", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], "This usually happens when a card expires")
}

func TestPaymentRemindersCountTheDaysLeft(t *testing.T) {
	d := richSample()
	out, err := messages.Render(messages.ChannelEmail, "payment_reminder", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], "You have 3 days left, until March 12, to update your payment method")
	out, err = messages.Render(messages.ChannelEmail, "payment_final_reminder", d)
	require.NoError(t, err)
	assert.Equal(t, "Action needed: update your Acme payment by March 12", out["subject"])
	assert.Contains(t, out["text"], "updated by March 12 (3 days from now), your pro account will be suspended")

	d.Payment.DaysLeft = 0 // the last day, or a demo clock
	out, err = messages.Render(messages.ChannelEmail, "payment_reminder", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], "Please update your payment method by March 12, or we'll have to suspend your account.")
	out, err = messages.Render(messages.ChannelEmail, "payment_final_reminder", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], "updated by March 12, your pro account will be suspended")
}

func TestPaymentReminderSMSFitsAndLinks(t *testing.T) {
	out, err := messages.Render(messages.ChannelSMS, "payment_reminder", richSample())
	require.NoError(t, err)
	assert.Equal(t, "Acme: Hi Ana, your $1,234.50 payment didn't go through. Please update it by March 12 "+
		"to keep your account active: https://billing.example.com/update/c-1 Reply STOP to opt out.", out["text"])
}

func TestNPSDetractorAlertQuotesTheComment(t *testing.T) {
	out, err := messages.Render(messages.ChannelAlert, "nps_detractor", richSample())
	require.NoError(t, err)
	assert.Equal(t, `Ana Lima (c-1, pro, $2,499.00 MRR, health 42/100) scored us 3/10 on NPS: "Reports are too slow to load". `+
		`Reply personally within two days: thank them, acknowledge the problem and offer a call.`, out["text"])

	d := richSample()
	d.NPS.Comment = ""
	out, err = messages.Render(messages.ChannelAlert, "nps_detractor", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], "scored us 3/10 on NPS with no comment. Reply")
}

func TestRenewalValueRecapListsUsage(t *testing.T) {
	out, err := messages.Render(messages.ChannelEmail, "renewal_value_recap", richSample())
	require.NoError(t, err)
	text := out["text"]
	assert.Contains(t, text, "Your pro plan renews on March 12, 2027, for $29,988.00")
	assert.Contains(t, text, "  - 9 days with a login in the last 30 days\n"+
		"  - 4 active users and 1,240 key actions in your latest week\n"+
		"  - 5 of 5 seats in use\n")
	assert.Contains(t, text, "The features your team relies on most: saved views, csv export.")
	assert.Contains(t, out["html"], "<li>9 days with a login in the last 30 days</li><li>4 active users")

	d := richSample()
	d.Usage.Known, d.TopFeatures = false, nil
	out, err = messages.Render(messages.ChannelEmail, "renewal_value_recap", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], "  - 9 days with a login in the last 30 days\n\nThere's nothing")
	assert.NotContains(t, out["text"], "relies on most")
}

func TestCancellationTemplatesUseTheCustomersWords(t *testing.T) {
	d := richSample()
	out, err := messages.Render(messages.ChannelEmail, "save_offer_roadmap", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], "You wrote:\n\n\"We need a Salesforce sync\"")
	assert.NotContains(t, out["text"], d.Offer, "the discount is the price reason's offer; the workflow sets Offer for every save offer")

	out, err = messages.Render(messages.ChannelEmail, "save_offer_onboarding_help", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], "  - finish the setup steps still open: invited teammate, connected integration\n")
	assert.NotContains(t, out["text"], d.Offer)

	out, err = messages.Render(messages.ChannelEmail, "save_offer_discount", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], "  - 30% off your next three months\n\nTo take it, just reply to this email before April 1, 2027")

	out, err = messages.Render(messages.ChannelAlert, "cancellation_high_value", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], `asked to cancel (reason: missing feature): "We need a Salesforce sync", effective April 1, 2027.`)

	d.Cancellation.EffectiveDate = ""
	out, err = messages.Render(messages.ChannelEmail, "exit_survey", d)
	require.NoError(t, err)
	assert.Contains(t, out["text"], "stays active until the end of your current billing period")
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{123450, "USD", "$1,234.50"},
		{123450, "", "$1,234.50"},
		{123450, "usd", "$1,234.50"},
		{1200, "EUR", "€12.00"},
		{300, "GBP", "£3.00"},
		{1200, "CHF", "12.00 CHF"},
		{1200, "JPY", "1,200 JPY"},
		{1500000, "KRW", "1,500,000 KRW"},
		{1234, "KWD", "1.234 KWD"},
		{0, "USD", "$0.00"},
		{5, "USD", "$0.05"},
		{99, "EUR", "€0.99"},
		{100000, "USD", "$1,000.00"},
		{99999999, "USD", "$999,999.99"},
		{123456789012, "USD", "$1,234,567,890.12"},
		{-2500, "USD", "-$25.00"},
		{-2500, "SEK", "-25.00 SEK"},
		{math.MaxInt64, "USD", "$92,233,720,368,547,758.07"},
		{math.MinInt64, "USD", "-$92,233,720,368,547,758.08"},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.amount, tc.currency), func(t *testing.T) {
			assert.Equal(t, tc.want, messages.Money(tc.amount, tc.currency))
		})
	}
}
