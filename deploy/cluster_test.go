package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// The cluster scripts/cluster.sh brings up on the machine's PostgreSQL:
// the Temporal server built at go.mod's version with SQL visibility, one
// API and two worker processes in production mode. A signup through the
// API is applied by a worker, which sends the welcome email, and the
// operator finds the customer by stage in visibility.
func TestClusterScriptRunsJourneysOnPostgreSQL(t *testing.T) {
	t.Parallel()
	env := clusterEnv(t, "journeys_cluster_test", "127.0.0.1:27233", "127.0.0.1:28080")
	t.Cleanup(func() { runCluster(t, env, "down") }) // also after a failed up
	out := runCluster(t, env, "up")
	assert.Contains(t, out, "cluster is up (Temporal server v1.32.1 on PostgreSQL")

	api := "http://" + env["JOURNEYS_CLUSTER_API"]
	body := `{"event_id":"su-1","customer_id":"c-1","type":"signed_up","data":{"name":"Ana Lima","email":"ana@example.com","plan":"pro"}}`
	req, err := http.NewRequest(http.MethodPost, api+"/v1/events", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer cluster-events-token-0123456789")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	dir := env["JOURNEYS_CLUSTER_DIR"]
	require.Eventually(t, func() bool { return delivered(t, dir, "sendgrid", "onboarding.welcome") }, 30*time.Second, 200*time.Millisecond,
		"a worker sends the welcome email through SendGrid's SDK to the fake")

	c, err := client.Dial(client.Options{HostPort: env["JOURNEYS_CLUSTER_FRONTEND"], Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	defer c.Close()
	require.Eventually(t, func() bool {
		res, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", Query: `JourneyStage = "onboarding" AND Plan = "pro" AND ExecutionStatus = "Running"`,
		})
		return err == nil && len(res.Executions) == 1 && res.Executions[0].Execution.WorkflowId == "customer:c-1"
	}, 30*time.Second, 300*time.Millisecond, "SQL visibility finds the customer by stage and plan")
}

// The cluster tests share one build of the binaries, made by the first.
var clusterBin struct {
	once sync.Once
	dir  string
	err  error
}

// TestMain removes the shared binaries after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if clusterBin.dir != "" {
		os.RemoveAll(clusterBin.dir)
	}
	os.Exit(code)
}

// builtCluster builds the cluster's binaries once for all tests and says
// where they are.
func builtCluster(t *testing.T) string {
	t.Helper()
	clusterBin.once.Do(func() {
		if clusterBin.dir, clusterBin.err = os.MkdirTemp("", "journeys-cluster-bin-"); clusterBin.err != nil {
			return
		}
		cmd := exec.Command("bash", filepath.Join("..", "scripts", "cluster.sh"), "build")
		cmd.Env = append(os.Environ(), "JOURNEYS_CLUSTER_BIN="+clusterBin.dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			clusterBin.err = fmt.Errorf("scripts/cluster.sh build: %w\n%s", err, out)
		}
	})
	require.NoError(t, clusterBin.err)
	return clusterBin.dir
}

// clusterEnv places the cluster in the test's directory, on the frontend
// and API addresses given and databases named by prefix, on the
// PostgreSQL JOURNEYS_TEST_DATABASE_URL names, with the shared binaries.
func clusterEnv(t *testing.T, prefix, frontend, api string) map[string]string {
	t.Helper()
	raw := os.Getenv("JOURNEYS_TEST_DATABASE_URL")
	if raw == "" {
		t.Skip("JOURNEYS_TEST_DATABASE_URL is not set: the cluster needs PostgreSQL (.ci/run sets it)")
	}
	u, err := url.Parse(raw)
	require.NoError(t, err)
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	return map[string]string{
		"JOURNEYS_CLUSTER_BIN":      builtCluster(t),
		"JOURNEYS_CLUSTER_DIR":      t.TempDir(),
		"JOURNEYS_CLUSTER_PREFIX":   prefix,
		"JOURNEYS_CLUSTER_FRONTEND": frontend,
		"JOURNEYS_CLUSTER_API":      api,
		"PGHOST":                    u.Hostname(), "PGPORT": port, "PGUSER": u.User.Username(),
	}
}

// runCluster runs scripts/cluster.sh with args and env, failing the test
// with its output when it fails.
func runCluster(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join("..", "scripts", "cluster.sh")}, args...)...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "scripts/cluster.sh %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// delivered says whether the fake vendors accepted a message of step from vendor.
func delivered(t *testing.T, dir, vendor, step string) bool {
	t.Helper()
	for _, d := range deliveries(t, dir) {
		if d.Vendor == vendor && d.Step == step {
			return true
		}
	}
	return false
}

// deliveries reads what the cluster's fake vendors accepted.
func deliveries(t *testing.T, dir string) []delivery {
	t.Helper()
	fh, err := os.Open(filepath.Join(dir, "vendors.jsonl"))
	require.NoError(t, err)
	defer fh.Close()
	var all []delivery
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var d delivery
		require.NoError(t, json.Unmarshal(sc.Bytes(), &d), "a whole line")
		all = append(all, d)
	}
	require.NoError(t, sc.Err())
	return all
}

// delivery is a line of deploy/fakevendors' log.
type delivery struct {
	At     time.Time `json:"at"`
	Vendor string    `json:"vendor"`
	Key    string    `json:"key"`
	Step   string    `json:"step"`
	To     string    `json:"to"`
	Text   string    `json:"text"`
}

// scripts/cluster.sh and the compose stack run the same cluster: the
// server go.mod pins (TestTemporalImagesMatchGoMod checks the images), the
// same PostgreSQL plugin, schemas and dynamic config, 4 history shards
// (the image's default), and the same namespace and retention; both leave
// the search attributes to the same list (the worker ensures
// workflows.SearchAttributes() at start; TestSetupRegistersTheWorkflowsSearchAttributes).
func TestClusterScriptAgreesWithCompose(t *testing.T) {
	read := func(path string) string {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return string(b)
	}
	script, setup := read("../scripts/cluster.sh"), read("clustersetup/main.go")
	c := loadCompose(t)
	schema := resolve(words(c.Services[svcSchema].Entrypoint) + "\n" + words(c.Services[svcSchema].Command))
	temporal := env(t, c.Services[svcTemporal])
	setupCmd := resolve(words(c.Services[svcSetup].Command))

	assert.Equal(t, "postgres12", env(t, c.Services[svcSchema])["SQL_PLUGIN"])
	assert.Equal(t, "postgres12", temporal["DB"])
	assert.Contains(t, script, "--plugin postgres12")
	assert.Contains(t, script, "pluginName: postgres12")
	for _, s := range []string{"temporal", "visibility"} {
		assert.Contains(t, schema, "/schema/postgresql/v12/"+s+"/versioned", "compose migrates %s with the v12 schema", s)
	}
	assert.Contains(t, script, "schema/postgresql/v12")
	assert.Contains(t, script, `"$SCHEMA/$2/versioned"`)

	assert.Contains(t, script, "go build -o \"$BIN/temporal-server\" go.temporal.io/server/cmd/server", "the server go.mod pins (a tool there)")
	assert.Contains(t, read("../go.mod"), "go.temporal.io/server/cmd/server")
	assert.Contains(t, script, "numHistoryShards: 4")
	assert.Empty(t, temporal["NUM_HISTORY_SHARDS"], "compose keeps the image's 4 history shards")
	assert.Contains(t, script, "deploy/temporal-dynamicconfig.yaml")
	assert.Contains(t, temporal["DYNAMIC_CONFIG_FILE_PATH"], "journeys.yaml")

	assert.Contains(t, setupCmd, "--namespace default --retention 720h")
	assert.Contains(t, script, "--namespace default")
	assert.Contains(t, setup, "Retention = 720 * time.Hour")
}
