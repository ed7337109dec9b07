package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/integrations/hubspot"
	"github.com/journeyshq/journeys/integrations/outbox"
	"github.com/journeyshq/journeys/integrations/sendgrid"
	"github.com/journeyshq/journeys/integrations/slack"
	"github.com/journeyshq/journeys/integrations/twilio"
	"github.com/journeyshq/journeys/ledger"
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
}

// newChannels reads every channel's configuration from getenv. A channel
// whose configuration is present but invalid is an error: better to refuse
// to start than to send from the outbox while the operator thinks otherwise.
func newChannels(ctx context.Context, getenv func(string) string, dataDir string, box *outbox.Outbox) (*channels, error) {
	ch := &channels{acts: &activities.Activities{Email: box, SMS: box, Alerts: box, CRM: box}}
	use := func(channel, driver string) { ch.drivers = append(ch.drivers, [2]string{channel, driver}) }

	if cfg, ok, err := sendgrid.ConfigFromEnv(getenv); err != nil {
		return nil, err
	} else if ok {
		c, err := sendgrid.New(cfg)
		if err != nil {
			return nil, err
		}
		ch.acts.Email = c
		use("email", "sendgrid")
	} else {
		use("email", "outbox")
	}

	if cfg, ok, err := twilio.ConfigFromEnv(getenv); err != nil {
		return nil, err
	} else if ok {
		c, err := twilio.New(cfg)
		if err != nil {
			return nil, err
		}
		ch.acts.SMS = c
		use("sms", "twilio")
	} else {
		use("sms", "outbox")
	}

	if cfg, ok, err := slack.ConfigFromEnv(getenv); err != nil {
		return nil, err
	} else if ok {
		c, err := slack.New(cfg)
		if err != nil {
			return nil, err
		}
		ch.acts.Alerts = c
		ch.slack = slackAnswers{c}
		use("alert", "slack")
	} else {
		use("alert", "outbox")
	}

	if cfg, ok, err := hubspot.ConfigFromEnv(getenv); err != nil {
		return nil, err
	} else if ok {
		c, err := hubspot.New(cfg)
		if err != nil {
			return nil, err
		}
		ch.acts.CRM = c
		use("crm", "hubspot")
	} else {
		use("crm", "outbox")
	}

	// The send ledger: PostgreSQL for a fleet of workers, a SQLite file for one.
	var err error
	if url := getenv("JOURNEYS_DATABASE_URL"); url != "" {
		ch.ledger, err = ledger.OpenPostgres(ctx, url, ledger.DefaultTable)
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
