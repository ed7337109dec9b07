package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/erasure"
	"github.com/journeyshq/journeys/integrations/billingapi"
	"github.com/journeyshq/journeys/integrations/hubspot"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/integrations/sendgrid"
	"github.com/journeyshq/journeys/integrations/slack"
	"github.com/journeyshq/journeys/integrations/twilio"
	"github.com/journeyshq/journeys/ledger"
	"github.com/journeyshq/journeys/signals/sender"
	"github.com/journeyshq/journeys/workflows"
)

// channels holds the driver each channel uses: the vendor's when its
// credentials are in the environment, the outbox otherwise.
type channels struct {
	acts *activities.Activities
	// slack answers Slack's interactivity callbacks; nil without Slack.
	slack api.AlertAnswers
	// drivers names each channel's driver, for the line printed at start.
	drivers [][2]string
	ledger  *ledger.Ledger
	// outbox is this process's outbox; hubspot the CRM when configured,
	// else nil: erasure reaches both.
	outbox  *outbox.Outbox
	hubspot *hubspot.Client
}

// newChannels reads every channel's configuration from getenv. A channel
// whose configuration is present but invalid is an error: better to refuse
// to start than to send from the outbox while the operator thinks otherwise.
func newChannels(ctx context.Context, getenv func(string) string, dataDir string, box *outbox.Outbox) (*channels, error) {
	ch := &channels{acts: &activities.Activities{Email: box, SMS: box, Alerts: box, CRM: box, Billing: box}, outbox: box}
	use := func(channel, driver string) { ch.drivers = append(ch.drivers, [2]string{channel, driver}) }

	email, err := vendor(getenv, sendgrid.ConfigFromEnv, sendgrid.New)
	if err != nil {
		return nil, err
	}
	if email != nil {
		ch.acts.Email = email
		use("email", "sendgrid")
	} else {
		use("email", "outbox")
	}

	sms, err := vendor(getenv, twilio.ConfigFromEnv, twilio.New)
	if err != nil {
		return nil, err
	}
	if sms != nil {
		ch.acts.SMS = sms
		use("sms", "twilio")
	} else {
		use("sms", "outbox")
	}

	alerts, err := vendor(getenv, slack.ConfigFromEnv, slack.New)
	if err != nil {
		return nil, err
	}
	if alerts != nil {
		ch.acts.Alerts = alerts
		ch.slack = slackAnswers{alerts}
		use("alert", "slack")
	} else {
		use("alert", "outbox")
	}

	crm, err := vendor(getenv, hubspot.ConfigFromEnv, func(c hubspot.Config) (*hubspot.Client, error) { return hubspot.New(c) })
	if err != nil {
		return nil, err
	}
	if crm != nil {
		ch.acts.CRM, ch.hubspot = crm, crm
		use("crm", "hubspot")
	} else {
		use("crm", "outbox")
	}

	billing, err := vendor(getenv, billingapi.ConfigFromEnv, func(c billingapi.Config) (*billingapi.Client, error) { return billingapi.New(c) })
	if err != nil {
		return nil, err
	}
	if billing != nil {
		ch.acts.Billing = billing
		use("billing", "billingapi")
	} else {
		use("billing", "outbox")
	}

	// The send ledger: PostgreSQL for a fleet of workers, a SQLite file for one.
	if url := getenv("JOURNEYS_DATABASE_URL"); url != "" {
		if ch.ledger, err = ledger.OpenPostgres(ctx, url, ledger.DefaultTable); err != nil {
			err = fmt.Errorf("send ledger at JOURNEYS_DATABASE_URL: %w", err)
		}
		use("ledger", "postgresql")
	} else {
		path := filepath.Join(dataDir, "ledger.db")
		ch.ledger, err = ledger.OpenSQLite(ctx, path, ledger.DefaultTable)
		use("ledger", "sqlite "+path)
	}
	if err != nil {
		return nil, err
	}
	ch.acts.Ledger = ch.ledger
	return ch, nil
}

// eraser forgets customers (DELETE /v1/customers/{id}) everywhere this
// process keeps them: Temporal, the send ledger, its outbox and the CRM.
func (ch *channels) eraser(c client.Client, namespace string, logger *slog.Logger) *erasure.Eraser {
	e := &erasure.Eraser{Temporal: c, Journeys: sender.New(c), Namespace: namespace, Ledger: ch.ledger, Outbox: ch.outbox, Logger: logger}
	if ch.hubspot != nil { // a nil *hubspot.Client in the interface would not be nil
		e.CRM = ch.hubspot
	}
	return e
}

// vendor builds a vendor's client from the environment, or returns nil when
// the vendor's credentials are absent.
func vendor[C any, D any](getenv func(string) string, fromEnv func(func(string) string) (C, bool, error), build func(C) (*D, error)) (*D, error) {
	cfg, ok, err := fromEnv(getenv)
	if err != nil || !ok {
		return nil, err
	}
	return build(cfg)
}

// slackAnswers adapts the Slack driver's interaction parser to the API.
type slackAnswers struct{ c *slack.Client }

func (s slackAnswers) ParseAnswer(r *http.Request) (api.AlertAnswer, error) {
	in, err := s.c.ParseInteraction(r)
	switch {
	case errors.Is(err, slack.ErrBadSignature):
		return api.AlertAnswer{}, fmt.Errorf("%w: %v", api.ErrBadSignature, err)
	case errors.Is(err, slack.ErrUnknownAction):
		return api.AlertAnswer{}, fmt.Errorf("%w: %v", api.ErrNotAnAnswer, err)
	case err != nil:
		return api.AlertAnswer{}, err
	}
	action := workflows.AlertActionAcknowledge
	if in.Action == slack.ActionSnooze {
		action = workflows.AlertActionSnooze
	}
	return api.AlertAnswer{
		CustomerID: in.CustomerID,
		Response:   workflows.AlertResponse{AlertKey: in.AlertKey, Action: action, By: in.UserID},
		ReplyTo:    in.ResponseURL,
	}, nil
}

func (s slackAnswers) Reply(ctx context.Context, replyTo, text string) error {
	return s.c.Reply(ctx, replyTo, text)
}
