// Package slack is the CSM alert driver for Slack, built on slack-go, and the
// parser for the answers CSMs give with the alert's buttons.
//
// An alert is a Block Kit message: who the customer is, why they need
// attention, the journey's recent timeline, a link to the journey in the
// Temporal UI, and two buttons, Acknowledge and Snooze 3 days, whose value is
// the alert's idempotency key. Slack posts a click to the app's
// interactivity URL; ParseInteraction verifies and decodes it so the HTTP
// layer can answer the journey's workflow.
//
// Alerts go to the CSM as a direct message from the app: a Slack user ID is
// used as it is, an email is looked up (users.lookupByEmail). An alert with
// no CSM, or whose CSM has no Slack account, goes to the fallback channel
// with a note saying so, so it is never lost to a stale CRM field.
//
// chat.postMessage has no idempotency key: a post whose answer is lost
// (timeout, reset) is reported as transient and its retry may post the alert
// twice, which beats losing it. The activities' ledger keeps completed sends
// from repeating.
//
// Errors never quote an email address: errors end up in logs and in
// Temporal's history.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
	"github.com/journeyshq/journeys/messages"
)

// Action IDs of the alert's buttons. Slack sends them back in block_actions
// payloads, so they must not change while alerts carrying them are unread.
const (
	ActionIDAcknowledge = "journeys_ack"
	ActionIDSnooze      = "journeys_snooze_3d"
)

// Block IDs of an alert's blocks. They are stable so that a later
// chat.update, or a payload's block_id, can name a block.
const (
	BlockIDNote    = "journeys_note"
	BlockIDHeader  = "journeys_header"
	BlockIDReason  = "journeys_reason"
	BlockIDFields  = "journeys_fields"
	BlockIDRecent  = "journeys_recent"
	BlockIDLink    = "journeys_link"
	BlockIDActions = "journeys_actions"
)

// Slack API error codes the driver tells apart; the rest are reported as
// "slack_error:<code>".
const (
	codeUsersNotFound      = "users_not_found"
	codeUserNotFound       = "user_not_found"
	codeChannelNotFound    = "channel_not_found"
	codeNotInChannel       = "not_in_channel"
	codeIsArchived         = "is_archived"
	codeInvalidAuth        = "invalid_auth"
	codeAccountInactive    = "account_inactive"
	codeInvalidBlocks      = "invalid_blocks"
	codeRateLimited        = "ratelimited"
	codeInternalError      = "internal_error"
	codeFatalError         = "fatal_error"
	codeServiceUnavailable = "service_unavailable"
	codeRequestTimeout     = "request_timeout"
)

const (
	errPrefix = "slack: "
	// maxRecent is how many timeline entries an alert shows.
	maxRecent = 5
	// Block Kit limits, in characters: header text, section text, field
	// text, context element text.
	maxHeader  = 150
	maxSection = 3000
	maxField   = 2000
	maxContext = 2000
	// maxFields is how many fields a section block may have.
	maxFields = 10
	// maxRecentEntry keeps maxRecent entries inside one context element.
	maxRecentEntry = 300
)

// userID is the shape of a Slack user ID: U… for workspace users, W… for
// Enterprise Grid ones.
var userID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// permanentCodes are API errors that retrying cannot fix, reported with the
// code itself as the reason.
var permanentCodes = map[string]bool{
	codeChannelNotFound: true,
	codeNotInChannel:    true,
	codeIsArchived:      true,
	codeInvalidAuth:     true,
	codeAccountInactive: true,
	codeUserNotFound:    true,
	codeUsersNotFound:   true,
	codeInvalidBlocks:   true,
}

// transientCodes are API errors Slack answers with HTTP 200 that are worth
// retrying: its own trouble, or a rate limit without a Retry-After.
var transientCodes = map[string]bool{
	codeRateLimited:        true,
	codeInternalError:      true,
	codeFatalError:         true,
	codeServiceUnavailable: true,
	codeRequestTimeout:     true,
}

// Client posts CSM alerts to Slack and parses the answers to them. It is
// safe for concurrent use.
type Client struct {
	cfg  Config
	api  *slackapi.Client
	http *http.Client
}

// New checks cfg, fills its defaults and returns a Client. It makes no
// request: the token is proven by the first alert.
func New(cfg Config) (*Client, error) {
	if cfg.FallbackChannel == "" {
		return nil, fmt.Errorf("%s%s is required", errPrefix, EnvFallbackChannel)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// The SDK sets no deadline of its own, so the client bounds every call;
	// the token travels in the request body, so a redirect is an answer to
	// report, not something to follow with it.
	hc := vendorhttp.NewClient(vendorhttp.Transport(), cfg.Timeout)
	api := slackapi.New(cfg.BotToken,
		slackapi.OptionAPIURL(cfg.APIURL),
		slackapi.OptionHTTPClient(hc),
	)
	return &Client{cfg: cfg, api: api, http: hc}, nil
}

// Config returns the client's configuration with its defaults filled in.
func (c *Client) Config() Config { return c.cfg }

// AlertCSM posts a to its CSM (or the fallback channel) and answers with
// "<channel>/<ts>", which names the message for chat.update.
//
// Slack's answers are classified: a rate limit (HTTP 429) → Transient with
// its Retry-After; HTTP 5xx, ratelimited, internal_error, fatal_error,
// service_unavailable, transport failures and timeouts → Transient;
// channel_not_found, not_in_channel, is_archived, invalid_auth,
// account_inactive, user(s)_not_found, invalid_blocks → Permanent with the
// code as reason; other API errors → Permanent "slack_error:<code>".
func (c *Client) AlertCSM(ctx context.Context, a messages.Alert) (messages.Receipt, error) {
	if a.IdempotencyKey == "" {
		// The buttons carry the key back to the workflow: without it a
		// CSM's answer could not be routed.
		return messages.Receipt{}, messages.Permanent("no_idempotency_key",
			errors.New(errPrefix+"alert has no idempotency key"))
	}
	if err := ctx.Err(); err != nil {
		return messages.Receipt{}, messages.Transient(fmt.Errorf("%snot sent: %w", errPrefix, err), 0)
	}

	channel, note, err := c.resolve(ctx, a.CSM)
	if err != nil {
		return messages.Receipt{}, err
	}

	text := a.Text
	if strings.TrimSpace(text) == "" {
		// Notifications and screen readers show text, not blocks.
		text = headerText(a)
	}
	respChannel, ts, err := c.api.PostMessageContext(ctx, channel,
		slackapi.MsgOptionText(text, true),
		slackapi.MsgOptionBlocks(c.blocks(a, note)...),
		// The Temporal UI link would unfurl into a preview of a login
		// page; the alert already says what matters.
		slackapi.MsgOptionDisableLinkUnfurl(),
		slackapi.MsgOptionDisableMediaUnfurl(),
	)
	if err != nil {
		return messages.Receipt{}, classify(ctx, "chat.postMessage", err)
	}
	if respChannel == "" {
		respChannel = channel
	}
	return messages.Receipt{ID: respChannel + "/" + ts}, nil
}

// resolve picks where an alert goes. It answers with the channel and, when
// that is the fallback channel, a note telling the team why.
func (c *Client) resolve(ctx context.Context, csm string) (channel, note string, err error) {
	csm = strings.TrimSpace(csm)
	switch {
	case csm == "":
		return c.cfg.FallbackChannel, "No CSM is assigned to this customer, so this alert went to the team channel.", nil
	case userID.MatchString(csm):
		// Posting to a user ID lands in the app's DM with that user.
		return csm, "", nil
	case looksLikeEmail(csm):
		u, err := c.api.GetUserByEmailContext(ctx, csm)
		if err != nil {
			var apiErr slackapi.SlackErrorResponse
			if errors.As(err, &apiErr) && apiErr.Err == codeUsersNotFound {
				return c.cfg.FallbackChannel, fmt.Sprintf(
					"The CSM %s has no Slack account, so this alert went to the team channel.", csm), nil
			}
			return "", "", classify(ctx, "users.lookupByEmail", err)
		}
		if u.Deleted || u.ID == "" {
			return c.cfg.FallbackChannel, fmt.Sprintf(
				"The CSM %s has a deactivated Slack account, so this alert went to the team channel.", csm), nil
		}
		return u.ID, "", nil
	default:
		// Neither an ID nor an email (a typo in the CRM, a display
		// name): the team still hears about the customer.
		return c.cfg.FallbackChannel, fmt.Sprintf(
			"The CSM %q is neither a Slack user ID nor an email, so this alert went to the team channel.", csm), nil
	}
}

// looksLikeEmail is a shape check, not validation: Slack's lookup decides.
func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && !strings.ContainsAny(s, " \t<>")
}

// customerID is the alert's customer, from Meta or else from Data.
func customerID(a messages.Alert) string {
	if a.CustomerID != "" {
		return a.CustomerID
	}
	return a.Data.CustomerID
}

func headerText(a messages.Alert) string {
	name := a.Data.Name
	if name == "" {
		name = customerID(a)
	}
	return "Customer needs attention: " + name
}

// JourneyURL is the Temporal UI page of a customer's journey workflow. The
// UI shows the latest run of a workflow ID, which survives continue-as-new.
func (c *Client) JourneyURL(customerID string) string {
	return c.cfg.UIURL + "/namespaces/" + url.PathEscape(c.cfg.Namespace) +
		"/workflows/" + url.PathEscape("customer:"+customerID)
}

// blocks renders an alert as Block Kit. Text from the journey (names,
// reasons, timeline entries) is escaped, so a customer called "<!channel>"
// pings nobody.
func (c *Client) blocks(a messages.Alert, note string) []slackapi.Block {
	var out []slackapi.Block
	if note != "" {
		out = append(out, slackapi.NewContextBlock(BlockIDNote,
			mrkdwn(truncate(":warning: "+esc(note), maxContext))))
	}
	out = append(out, slackapi.NewHeaderBlock(
		slackapi.NewTextBlockObject(slackapi.PlainTextType, truncate(headerText(a), maxHeader), true, false),
		slackapi.HeaderBlockOptionBlockID(BlockIDHeader)))

	reason := strings.TrimSpace(a.Text)
	if reason == "" {
		reason = "(no reason given)"
	}
	out = append(out, slackapi.NewSectionBlock(mrkdwn(truncate(esc(reason), maxSection)), nil, nil,
		slackapi.SectionBlockOptionBlockID(BlockIDReason)))

	out = append(out, slackapi.NewSectionBlock(nil, fields(a), nil,
		slackapi.SectionBlockOptionBlockID(BlockIDFields)))

	if recent := recentText(a.Data.Recent); recent != "" {
		out = append(out, slackapi.NewContextBlock(BlockIDRecent, mrkdwn(recent)))
	}

	out = append(out, slackapi.NewSectionBlock(
		mrkdwn("<"+c.JourneyURL(customerID(a))+"|Open the journey in Temporal>"), nil, nil,
		slackapi.SectionBlockOptionBlockID(BlockIDLink)))

	ack := slackapi.NewButtonBlockElement(ActionIDAcknowledge, a.IdempotencyKey,
		slackapi.NewTextBlockObject(slackapi.PlainTextType, "Acknowledge", false, false)).
		WithStyle(slackapi.StylePrimary)
	snooze := slackapi.NewButtonBlockElement(ActionIDSnooze, a.IdempotencyKey,
		slackapi.NewTextBlockObject(slackapi.PlainTextType, "Snooze 3 days", false, false))
	out = append(out, slackapi.NewActionBlock(BlockIDActions, ack, snooze))
	return out
}

// fields are the facts a CSM wants before opening anything: who, how big
// (seats, MRR), how healthy (tier, score), how far along. Empty facts are
// left out; Slack allows ten, which is what all of them make.
func fields(a messages.Alert) []*slackapi.TextBlockObject {
	d := a.Data
	var out []*slackapi.TextBlockObject
	add := func(label, value string) {
		if strings.TrimSpace(value) == "" {
			return
		}
		out = append(out, mrkdwn(truncate("*"+label+"*\n"+esc(value), maxField)))
	}
	add("Customer ID", customerID(a))
	add("Plan", d.Plan)
	if d.Seats > 0 {
		add("Seats", strconv.Itoa(d.Seats))
	}
	if d.MRR > 0 {
		add("MRR", messages.Money(d.MRR, d.Currency))
	}
	add("Health tier", d.HealthTier)
	if d.HealthScore > 0 {
		add("Health score", strconv.Itoa(d.HealthScore)+"/100")
	}
	if d.DaysSinceSignup > 0 {
		add("Days since signup", strconv.Itoa(d.DaysSinceSignup))
	}
	if total := milestonesTotal(d); total > 0 {
		add("Milestones", fmt.Sprintf("%d of %d done", len(d.MilestonesDone), total))
	}
	if len(d.MilestonesLeft) > 0 {
		add("Next milestones", strings.Join(d.MilestonesLeft, ", "))
	}
	add("Journey step", a.Step)
	if len(out) > maxFields {
		// Slack refuses the whole message otherwise (invalid_blocks);
		// the last facts are the least needed.
		out = out[:maxFields]
	}
	return out
}

func milestonesTotal(d messages.Data) int {
	if d.MilestonesTotal > 0 {
		return d.MilestonesTotal
	}
	return len(d.MilestonesDone) + len(d.MilestonesLeft)
}

// recentText is the last maxRecent timeline entries, oldest first as the
// journey keeps them, one per line.
func recentText(recent []string) string {
	if len(recent) > maxRecent {
		recent = recent[len(recent)-maxRecent:]
	}
	var b strings.Builder
	for _, e := range recent {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("*Recent*")
		}
		b.WriteString("\n• " + truncate(esc(e), maxRecentEntry))
	}
	return truncate(b.String(), maxContext)
}

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
}

// esc escapes &, < and >, which Slack reads as control sequences
// (<!channel>, <url|label>).
func esc(s string) string { return slackutilsx.EscapeMessage(s) }

// truncate keeps s within max characters (Slack counts characters, not
// bytes), marking a cut with an ellipsis. A cut may split an escape such as
// "&amp;", which Slack then shows literally: harmless at a text's end.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// classify turns a slack-go error into the messages error kinds. op names
// the Web API method for the error text.
func classify(ctx context.Context, op string, err error) error {
	var (
		rateLimited *slackapi.RateLimitedError
		status      slackapi.StatusCodeError
		apiErr      slackapi.SlackErrorResponse
	)
	switch {
	case errors.As(err, &rateLimited):
		return messages.Transient(fmt.Errorf("%s%s: rate limited: %w", errPrefix, op, err), vendorhttp.Cap(rateLimited.RetryAfter))
	case errors.As(err, &status):
		e := fmt.Errorf("%s%s: http %d: %w", errPrefix, op, status.Code, err)
		switch {
		case status.Code >= http.StatusInternalServerError,
			status.Code == http.StatusTooManyRequests, // without a Retry-After
			status.Code == http.StatusRequestTimeout:
			return messages.Transient(e, 0)
		default:
			// A 404 or 403 here is a wrong SLACK_API_URL or a proxy
			// refusing us: retrying will not change its mind.
			return messages.Permanent("slack_http:"+strconv.Itoa(status.Code), e)
		}
	case errors.As(err, &apiErr):
		code := apiErr.Err
		e := fmt.Errorf("%s%s: %w", errPrefix, op, err)
		switch {
		case transientCodes[code]:
			return messages.Transient(e, 0)
		case permanentCodes[code]:
			return messages.Permanent(code, e)
		default:
			return messages.Permanent("slack_error:"+code, e)
		}
	case ctx.Err() != nil:
		return messages.Transient(fmt.Errorf("%s%s: request abandoned: %w", errPrefix, op, ctx.Err()), 0)
	default:
		// No answer (refused connection, reset, the client's timeout) or
		// one that could not be read. The URL in a *url.Error adds
		// nothing the op does not say.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return messages.Transient(fmt.Errorf("%s%s: request failed: %w", errPrefix, op, err), 0)
	}
}
