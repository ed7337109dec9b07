package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/journeyshq/journeys/internal/metrics"
)

// EnvStageCountInterval names the variable of --stage-count-interval.
const EnvStageCountInterval = "JOURNEYS_STAGE_COUNT_INTERVAL"

// parseStageCountInterval reads --stage-count-interval: a duration of at
// least a second, or "0" or "off" for never (-1); empty is the default (0).
func parseStageCountInterval(s string) (time.Duration, error) {
	switch s = strings.TrimSpace(s); s {
	case "":
		return 0, nil
	case "0", "off":
		return -1, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("stage count interval %q: want a duration of at least 1s, such as 60s or 5m, or off", s)
	}
	return d, nil
}

// newMetrics is the process's metrics registry: the Temporal client
// records into it and GET /metrics serves it.
func newMetrics(logger *slog.Logger) *metrics.Registry {
	return metrics.New(metrics.Options{OnError: func(err error) {
		logger.Warn("metric not exported", "error", err)
	}})
}

// startStageCount keeps the journeys_customers{stage} gauge current with a
// visibility count every cfg.StageCount, and returns how to stop it; nil
// when this process does not count.
//
// Only processes serving the events API count (roles all and api), and
// every one of them does, so that each replica's /metrics has the gauge:
// aggregate it with max by (stage), not sum. Worker replicas scale with
// the journeys' load, and each would add the same queries to visibility
// (one per stage per interval) for the same numbers; API replicas are
// fewer, and a deployment without the API runs no count at all.
func startStageCount(cfg config, c client.Client, h client.MetricsHandler, logger *slog.Logger) func() error {
	every := cfg.StageCount
	switch {
	case !cfg.runsAPI() || every < 0:
		return nil
	case every == 0:
		every = metrics.DefaultStageCountInterval
	}
	return metrics.StartStageCount(c, h, every, func(err error) {
		logger.Warn("journeys by stage not counted", "error", err)
	})
}
