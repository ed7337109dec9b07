package workflows_test

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/workflows"
)

// TestReplayRecordedHistories replays every history recorded from real runs
// (testdata/histories/*.json, by scripts/record-histories.sh) against the
// current workflow code. A change to CustomerJourney's command sequence
// fails here, naming the file, before it can fail a journey in flight:
// until 1.0 such a change re-records the corpus in the same commit, from
// 1.0 on it is guarded by workflow.GetVersion (docs/VERSIONING.md).
//
// The histories were recorded on the embedded dev server with
// playbooks/demo.yaml. The worker's playbook does not matter for replay:
// the journey reads the one recorded in its history.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories to replay")
	j := workflows.NewJourneys(playbook.Default())
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			require.NoError(t, replay(j.CustomerJourney, file), "replay of %s", file)
		})
	}
}

// replay replays the history in file against journey registered as
// CustomerJourney.
func replay(journey func(workflow.Context, workflows.Input) (*workflows.Result, error), file string) error {
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(journey, workflows.RegisterOptions)
	logger := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	return replayer.ReplayWorkflowHistoryFromJSONFile(logger, file)
}

// TestReplayGateCatchesAnUnguardedChange shows that the gate above works: a
// copy of the journey with one incompatible change (a timer before
// everything else, as a new "wait a minute before the welcome" would add)
// fails the replay of every recorded history, naming the diverging event;
// the same change behind workflow.GetVersion replays them all.
func TestReplayGateCatchesAnUnguardedChange(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	j := workflows.NewJourneys(playbook.Default())

	unguarded := func(ctx workflow.Context, in workflows.Input) (*workflows.Result, error) {
		if err := workflow.Sleep(ctx, time.Minute); err != nil {
			return nil, err
		}
		return j.CustomerJourney(ctx, in)
	}
	guarded := func(ctx workflow.Context, in workflows.Input) (*workflows.Result, error) {
		// Histories recorded before the change have no marker for this
		// change ID, so they take the old path; new runs take the new one.
		if workflow.GetVersion(ctx, "wait-before-welcome", workflow.DefaultVersion, 1) == 1 {
			if err := workflow.Sleep(ctx, time.Minute); err != nil {
				return nil, err
			}
		}
		return j.CustomerJourney(ctx, in)
	}

	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			err := replay(unguarded, file)
			require.Error(t, err, "the unguarded change replayed %s", file)
			assert.Contains(t, err.Error(), "nondeterministic")
			assert.Regexp(t, `history event position \d+`, err.Error(), "the error names the event where replay diverged")
			assert.NoError(t, replay(guarded, file), "the guarded change must replay %s", file)
		})
	}
}
