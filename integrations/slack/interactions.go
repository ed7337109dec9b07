package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
)

// Actions an Interaction reports. They match the workflow's alert actions.
const (
	ActionAcknowledge = "acknowledge"
	ActionSnooze      = "snooze"
)

// SnoozeDuration is how long the Snooze button snoozes an alert.
const SnoozeDuration = 72 * time.Hour

// MaxInteractionBody caps an interactivity request body. Slack's
// block_actions payloads repeat the whole message and run to a few KiB.
const MaxInteractionBody = 64 << 10

// Errors ParseInteraction returns, for errors.Is. The HTTP layer answers
// ErrBadSignature with 401, ErrBadPayload with 400, and ErrUnknownAction with
// 200 (the request is Slack's, about some other control, and a non-200 makes
// Slack show the user an error).
var (
	// ErrBadSignature: no signing secret is configured, or the request's
	// signature is missing, wrong or more than five minutes old.
	ErrBadSignature = errors.New("slack: bad request signature")
	// ErrBadPayload: a signed request whose body is too large, is not a
	// block_actions payload, or carries an alert key that names no
	// customer.
	ErrBadPayload = errors.New("slack: bad interaction payload")
	// ErrUnknownAction: a signed block_actions payload for an action that
	// is not one of the alert's buttons.
	ErrUnknownAction = errors.New("slack: unknown action")
)

// Interaction is a CSM's click on an alert's button.
type Interaction struct {
	// Action is ActionAcknowledge or ActionSnooze.
	Action string
	// AlertKey is the button's value: the alert's idempotency key.
	AlertKey string
	// CustomerID is parsed from AlertKey ("customer:<id>/…"); the journey's
	// workflow ID is "customer:<CustomerID>".
	CustomerID string
	// UserID and UserName are the Slack user who clicked.
	UserID, UserName string
	// SnoozeFor is SnoozeDuration for a snooze and zero otherwise.
	SnoozeFor time.Duration
	// ResponseURL lets the HTTP layer update the message (say, replace
	// the buttons with "Acknowledged by …") for 30 minutes.
	ResponseURL string
}

// ParseInteraction verifies and decodes a request Slack posted to the
// interactivity URL, with the client's signing secret. See the function
// ParseInteraction.
func (c *Client) ParseInteraction(r *http.Request) (Interaction, error) {
	return ParseInteraction(r, c.cfg.SigningSecret)
}

// ParseInteraction verifies a request Slack posted to the interactivity URL
// against signingSecret and decodes the button click it carries. It reads
// r.Body (at most MaxInteractionBody bytes) and does not restore it: call it
// before anything else reads the body, since the signature covers the raw
// bytes. It makes no request, so the handler can answer within Slack's three
// seconds and signal the workflow afterwards.
func ParseInteraction(r *http.Request, signingSecret string) (Interaction, error) {
	if signingSecret == "" {
		// Unverifiable requests are refused, not trusted: anyone could
		// post a snooze otherwise.
		return Interaction{}, fmt.Errorf("%w: no signing secret configured (%s)", ErrBadSignature, EnvSigningSecret)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxInteractionBody+1))
	if err != nil {
		return Interaction{}, fmt.Errorf("%w: read body: %v", ErrBadPayload, err)
	}
	if len(body) > MaxInteractionBody {
		return Interaction{}, fmt.Errorf("%w: body over %d bytes", ErrBadPayload, MaxInteractionBody)
	}

	sv, err := slackapi.NewSecretsVerifier(r.Header, signingSecret)
	if err != nil {
		// Missing headers, a malformed signature, or a timestamp more
		// than five minutes off: a replay or not Slack.
		return Interaction{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if _, err := sv.Write(body); err != nil {
		return Interaction{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if err := sv.Ensure(); err != nil {
		return Interaction{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}

	// The body is parsed from the verified bytes rather than with
	// slackapi.InteractionCallbackParse, which would read r.Body again
	// (now empty) and depend on the Content-Type header.
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Interaction{}, fmt.Errorf("%w: form: %v", ErrBadPayload, err)
	}
	payload := form.Get("payload")
	if payload == "" {
		return Interaction{}, fmt.Errorf("%w: no payload field", ErrBadPayload)
	}
	var ic slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &ic); err != nil {
		return Interaction{}, fmt.Errorf("%w: payload: %v", ErrBadPayload, err)
	}
	return fromCallback(ic)
}

// fromCallback picks the alert's button out of a verified payload.
func fromCallback(ic slackapi.InteractionCallback) (Interaction, error) {
	if ic.Type != slackapi.InteractionTypeBlockActions {
		return Interaction{}, fmt.Errorf("%w: type %q, want %q", ErrUnknownAction, ic.Type, slackapi.InteractionTypeBlockActions)
	}
	for _, act := range ic.ActionCallback.BlockActions {
		if act == nil {
			continue
		}
		var in Interaction
		switch act.ActionID {
		case ActionIDAcknowledge:
			in.Action = ActionAcknowledge
		case ActionIDSnooze:
			in.Action, in.SnoozeFor = ActionSnooze, SnoozeDuration
		default:
			continue
		}
		id, ok := CustomerIDFromAlertKey(act.Value)
		if !ok {
			return Interaction{}, fmt.Errorf("%w: alert key names no customer", ErrBadPayload)
		}
		in.AlertKey, in.CustomerID = act.Value, id
		in.UserID = ic.User.ID
		in.UserName = ic.User.Username
		if in.UserName == "" {
			in.UserName = ic.User.Name
		}
		in.ResponseURL = ic.ResponseURL
		return in, nil
	}
	ids := make([]string, 0, len(ic.ActionCallback.BlockActions))
	for _, act := range ic.ActionCallback.BlockActions {
		if act != nil {
			ids = append(ids, act.ActionID)
		}
	}
	return Interaction{}, fmt.Errorf("%w: %s", ErrUnknownAction, strings.Join(ids, ","))
}

// CustomerIDFromAlertKey reads the customer from an alert's idempotency key,
// "customer:<id>/<journey>/<step>/<channel>". ok is false for a key of
// another shape.
func CustomerIDFromAlertKey(key string) (id string, ok bool) {
	rest, ok := strings.CutPrefix(key, "customer:")
	if !ok {
		return "", false
	}
	id, _, ok = strings.Cut(rest, "/")
	if !ok || id == "" {
		return "", false
	}
	return id, true
}
