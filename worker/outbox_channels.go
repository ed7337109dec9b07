package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/journeyshq/journeys/integrations/billingapi"
	"github.com/journeyshq/journeys/integrations/hubspot"
	"github.com/journeyshq/journeys/integrations/sendgrid"
	"github.com/journeyshq/journeys/integrations/slack"
	"github.com/journeyshq/journeys/integrations/twilio"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/workflows"
)

// EnvOutboxChannels lists the channels meant to send to the outbox when
// their vendor has no credentials: comma-separated channel names, or "all".
// Without --dev, a worker with a channel that has neither credentials nor
// a place in this list refuses to start, so a forgotten credential cannot
// turn real messages into lines in outbox.jsonl.
const EnvOutboxChannels = "JOURNEYS_OUTBOX_CHANNELS"

// channelVendors tells, for each channel, whether its vendor's credentials
// are in the environment: newChannels then uses the vendor, not the outbox.
var channelVendors = map[messages.Channel]func(getenv func(string) string) bool{
	messages.ChannelEmail:   hasCredentials(sendgrid.ConfigFromEnv),
	messages.ChannelSMS:     hasCredentials(twilio.ConfigFromEnv),
	messages.ChannelAlert:   hasCredentials(slack.ConfigFromEnv),
	messages.ChannelCRM:     hasCredentials(hubspot.ConfigFromEnv),
	messages.ChannelBilling: hasCredentials(billingapi.ConfigFromEnv),
}

// hasCredentials is whether fromEnv finds a vendor's credentials. An
// invalid configuration counts as present: it is not the outbox's, and
// newChannels refuses it with the vendor's own error.
func hasCredentials[C any](fromEnv func(func(string) string) (C, bool, error)) func(func(string) string) bool {
	return func(getenv func(string) string) bool {
		_, ok, err := fromEnv(getenv)
		return ok || err != nil
	}
}

// parseOutboxChannels reads JOURNEYS_OUTBOX_CHANNELS.
func parseOutboxChannels(s string) (map[messages.Channel]bool, error) {
	listed := map[messages.Channel]bool{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		switch ch := messages.Channel(item); {
		case item == "":
		case item == "all":
			for _, ch := range workflows.Channels {
				listed[ch] = true
			}
		case slices.Contains(workflows.Channels, ch):
			listed[ch] = true
		default:
			return nil, fmt.Errorf("outbox channels: %q [%s]: want all, or channels of %s", item, EnvOutboxChannels, channelNames())
		}
	}
	return listed, nil
}

// checkOutboxChannels checks JOURNEYS_OUTBOX_CHANNELS and, without --dev
// in a process that runs the worker, that every channel without vendor
// credentials is listed in it. With --dev every such channel uses the
// outbox, listed or not; the API process sends nothing.
func checkOutboxChannels(cfg config) error {
	listed, err := parseOutboxChannels(cfg.getenv(EnvOutboxChannels))
	if err != nil || cfg.Dev || !cfg.runsWorker() {
		return err
	}
	var unlisted []string
	for _, ch := range workflows.Channels {
		if has, ok := channelVendors[ch]; !listed[ch] && (!ok || !has(cfg.getenv)) {
			unlisted = append(unlisted, string(ch))
		}
	}
	if len(unlisted) == 0 {
		return nil
	}
	return fmt.Errorf("%s: no vendor credentials, so their messages would only be written to the outbox (<data-dir>/outbox.jsonl): set the vendors' credentials, or set %s to the channels meant for the outbox, such as %s=%s (or all)",
		strings.Join(unlisted, ", "), EnvOutboxChannels, EnvOutboxChannels, strings.Join(unlisted, ","))
}
