package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/workflows"
)

// parseRates reads JOURNEYS_RATE_LIMITS: comma-separated channel=rate
// pairs in activities per second across the fleet, each overriding that
// channel's default; "off" lifts a channel's limit.
func parseRates(s string) (workflows.Rates, error) {
	rates := workflows.DefaultRates()
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		ch := messages.Channel(strings.TrimSpace(name))
		if !ok || !slices.Contains(workflows.Channels, ch) {
			return nil, fmt.Errorf("rate limits: %q: want channel=per-second with a channel of %s", item, channelNames())
		}
		value = strings.TrimSpace(value)
		if value == "off" {
			rates[ch] = 0
			continue
		}
		r, err := strconv.ParseFloat(value, 64)
		if err != nil || !(r > 0 && r <= 1e6) { // NaN fails both
			return nil, fmt.Errorf("rate limits: %s=%q: want a number of activities per second above 0, or off", ch, value)
		}
		rates[ch] = r
	}
	return rates, nil
}

// formatRates is rates as JOURNEYS_RATE_LIMITS would give them.
func formatRates(rates workflows.Rates) string {
	var parts []string
	for _, ch := range workflows.Channels {
		v := "off"
		if r := rates[ch]; r > 0 {
			v = strconv.FormatFloat(r, 'g', -1, 64)
		}
		parts = append(parts, string(ch)+"="+v)
	}
	return strings.Join(parts, ",")
}

func channelNames() string {
	var names []string
	for _, ch := range workflows.Channels {
		names = append(names, string(ch))
	}
	return strings.Join(names, ", ")
}
