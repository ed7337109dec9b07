package workflows_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/workflows"
)

// TestReplayRecordedHistories replays every history recorded from real runs
// (testdata/histories/*.json) against the current workflow code. A change
// to CustomerJourney's command sequence that is not guarded by
// workflow.GetVersion fails here, naming the file, before it can fail a
// journey in flight.
//
// The histories were recorded on the embedded dev server with
// playbooks/demo.yaml. The worker's playbook does not matter for replay:
// the journey reads the one recorded in its history.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories to replay")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			j := &workflows.Journeys{Playbook: playbook.Default()}
			replayer.RegisterWorkflowWithOptions(j.CustomerJourney, workflows.RegisterOptions)
			logger := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(logger, file), "replay of %s", file)
		})
	}
}
