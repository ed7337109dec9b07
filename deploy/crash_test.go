package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/journeyshq/journeys/workflows"
)

const (
	crashCustomers = 50
	// crashFeatureEvents is how many feature_used events each customer's
	// backend sends, one every crashEventEvery, during the onboarding.
	crashFeatureEvents = 10
	crashEventEvery    = 9 * time.Second
	// doubleWindow is how soon after a vendor accepted a message a worker's
	// death may make its retry send it again: the ledger row is written
	// right after the vendor's answer (docs/delivery.md).
	doubleWindow = 2 * time.Second
	eventsToken  = "cluster-events-token-0123456789"
	opsToken     = "cluster-operator-token-0123456789"
)

// crashOnboarding is what every customer of the crash test receives during
// the demo playbook's onboarding (starter simulate shows the same): five
// emails by step, one text and two Slack alerts.
var crashOnboarding = struct {
	emails []string
	texts  int
	alerts []string
}{
	emails: []string{"onboarding.welcome", "onboarding.getting_started", "onboarding.nudge", "nps.survey.1", "nps.survey.2"},
	texts:  1,
	alerts: []string{"onboarding.escalate", "onboarding.escalate.escalation"},
}

// chaosPlan is when, after the first signup, each process is SIGKILLed and
// restarted: each worker three times (two of them around the day-7 text and
// alert, 70 s in), the API and the Temporal server once.
var chaosPlan = []struct {
	after time.Duration
	name  string
}{
	{8 * time.Second, "worker-1"}, {18 * time.Second, "worker-2"}, {27 * time.Second, "api"},
	{36 * time.Second, "worker-1"}, {46 * time.Second, "temporal"}, {56 * time.Second, "worker-2"},
	{66 * time.Second, "worker-1"}, {74 * time.Second, "worker-2"},
}

// On the cluster scripts/cluster.sh brings up, 50 customers go through the
// demo onboarding while every process but the fake vendors is SIGKILLed and
// restarted and backends keep sending events, retrying as docs/events.md
// tells them. Afterwards every customer has received each onboarding
// message once, every event answered 202 is applied once, and no journey
// failed or is stuck. The only doubles allowed are the named ones: a worker
// died between a vendor's answer and the ledger row.
func TestClusterSurvivesCrashes(t *testing.T) {
	t.Parallel()
	env := clusterEnv(t, "journeys_cluster_crash", "127.0.0.1:25233", "127.0.0.1:26080")
	t.Cleanup(func() { runCluster(t, env, "down") })
	runCluster(t, env, "up")
	dir := env["JOURNEYS_CLUSTER_DIR"]
	b := &backend{api: "http://" + env["JOURNEYS_CLUSTER_API"], http: &http.Client{Timeout: 10 * time.Second}}

	begin := time.Now()
	accepted := make([]atomic.Int64, crashCustomers)
	var wg sync.WaitGroup
	for i := range crashCustomers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.customer(t, i, begin, &accepted[i])
		}()
	}
	deaths := chaos(t, env, begin)
	wg.Wait()

	states := waitForAdoption(t, b, begin.Add(5*time.Minute))
	// Alerts share one queue at Slack's 1 a second: 100 take 100 s.
	r := settledDeliveries(t, dir, deaths, time.Now().Add(150*time.Second))
	b.explainLost(t, r)
	r.processKills = len(chaosPlan)
	for i, st := range states {
		r.eventsAccepted += int(accepted[i].Load())
		r.eventsApplied += st.Counters.EventsApplied - 1 // less the signup
		assert.Equal(t, 1+int(accepted[i].Load()), st.Counters.EventsApplied, "%s: the signup and every accepted event applied once", st.CustomerID)
		assert.Equal(t, int(accepted[i].Load()), st.Usage.Features["reports"], "%s: every accepted feature_used counted once", st.CustomerID)
	}
	r.retries = int(b.retries.Load())
	r.stuck, r.failed = unfinished(t, env, states)
	report(t, r)

	assert.Equal(t, crashCustomers*crashFeatureEvents, r.eventsAccepted, "every event was answered 202 in the end")
	assert.Zero(t, r.lost, "messages lost: %v", r.lostWhat)
	assert.Zero(t, r.doubled, "messages doubled outside the window: %v", r.doubledWhat)
	assert.LessOrEqual(t, r.namedDoubles, 4, "doubles in the named window are rare")
	assert.Zero(t, r.stuck+r.failed, "journeys stuck or failed")
	assert.Positive(t, r.retries, "the crashes made backends retry")
	for _, name := range []string{"worker-1", "worker-2", "api"} {
		log, err := os.ReadFile(filepath.Join(dir, name+".log"))
		require.NoError(t, err)
		assert.NotContains(t, string(log), "panic", "%s's log", name)
	}
}

// backend sends a customer's events as a backend does: each until it is
// answered 202, again with the same event ID after a 503 or a lost answer.
type backend struct {
	api     string
	http    *http.Client
	retries atomic.Int64
}

func crashID(i int) string { return fmt.Sprintf("crash-%02d", i) }

// customer signs customer i up, then sends its feature_used events, one every
// crashEventEvery, counting in accepted those answered 202.
func (b *backend) customer(t *testing.T, i int, begin time.Time, accepted *atomic.Int64) {
	id := crashID(i)
	time.Sleep(time.Duration(i) * 100 * time.Millisecond) // 5 s of signups
	b.send(t, id+"-signup", id, "signed_up", map[string]any{
		"name": "Crash Customer", "email": id + "@example.com", "phone": fmt.Sprintf("+1555010%04d", i),
		"sms_consent": true, "plan": "pro", "seats": 5, "csm": "U0CSM01", "timezone": "America/New_York",
	})
	for n := 1; n <= crashFeatureEvents; n++ {
		time.Sleep(time.Until(begin.Add(time.Duration(n)*crashEventEvery + time.Duration(i)*100*time.Millisecond)))
		if b.send(t, fmt.Sprintf("%s-feature-%d", id, n), id, "feature_used", map[string]any{"feature": "reports"}) {
			accepted.Add(1)
		}
	}
}

// send posts one event until it is answered 202 (true), honouring
// Retry-After, for at most two minutes; any other 4xx fails the test.
func (b *backend) send(t *testing.T, eventID, customer, typ string, data map[string]any) bool {
	body, err := json.Marshal(map[string]any{"event_id": eventID, "customer_id": customer, "type": typ, "data": data})
	require.NoError(t, err)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); b.retries.Add(1) {
		req, err := http.NewRequest(http.MethodPost, b.api+"/v1/events", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+eventsToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := b.http.Do(req)
		if err != nil { // the API is down, or its answer was lost
			time.Sleep(500 * time.Millisecond)
			continue
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			return true
		case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
			time.Sleep(retryAfter(resp))
		default:
			t.Errorf("%s: POST /v1/events answered %s", eventID, resp.Status)
			return false
		}
	}
	t.Errorf("%s: not accepted within two minutes", eventID)
	return false
}

// retryAfter is the answer's Retry-After, at most 5 s.
func retryAfter(resp *http.Response) time.Duration {
	s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || s < 1 {
		return time.Second
	}
	return min(time.Duration(s)*time.Second, 5*time.Second)
}

// death is when a process was killed.
type death struct {
	name string
	at   time.Time
}

// chaos follows chaosPlan: SIGKILL, a second's pause, then a restart that
// waits until the process answers.
func chaos(t *testing.T, env map[string]string, begin time.Time) []death {
	var deaths []death
	for _, step := range chaosPlan {
		time.Sleep(time.Until(begin.Add(step.after)))
		runCluster(t, env, "kill", step.name)
		deaths = append(deaths, death{step.name, time.Now()})
		time.Sleep(time.Second)
		runCluster(t, env, "start", step.name)
	}
	return deaths
}

// waitForAdoption waits until every customer's onboarding is over (their
// stage is adoption) and returns their states.
func waitForAdoption(t *testing.T, b *backend, deadline time.Time) []workflows.State {
	states := make([]workflows.State, crashCustomers)
	for i := range crashCustomers {
		for {
			st, err := b.state(crashID(i))
			if err == nil && st.Stage == workflows.StageAdoption {
				states[i] = st
				break
			}
			require.True(t, time.Now().Before(deadline), "%s still in %q (%v) at the deadline", crashID(i), st.Stage, err)
			time.Sleep(time.Second)
		}
	}
	return states
}

func (b *backend) state(customer string) (workflows.State, error) {
	var st workflows.State
	req, err := http.NewRequest(http.MethodGet, b.api+"/v1/customers/"+customer, nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("Authorization", "Bearer "+opsToken)
	resp, err := b.http.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// settledDeliveries counts the deliveries once none is missing, or at the
// deadline: a send retried after a worker's death lands up to an activity
// timeout late.
func settledDeliveries(t *testing.T, dir string, deaths []death, deadline time.Time) crashReport {
	for {
		r := countDeliveries(deliveries(t, dir), deaths)
		if r.lost == 0 || time.Now().After(deadline) {
			return r
		}
		time.Sleep(2 * time.Second)
	}
}

// explainLost logs the timeline of the first customers a message is
// missing for.
func (b *backend) explainLost(t *testing.T, r crashReport) {
	seen := map[string]bool{}
	for _, what := range r.lostWhat {
		id, _, _ := strings.Cut(what, ":")
		if seen[id] || len(seen) == 3 {
			continue
		}
		seen[id] = true
		st, err := b.state(id)
		if err != nil {
			t.Logf("%s: %v", id, err)
			continue
		}
		var lines []string
		for _, e := range st.Timeline {
			lines = append(lines, fmt.Sprintf("  %s %-8s %s", e.At.Format("15:04:05.000"), e.Kind, e.Text))
		}
		t.Logf("%s lost %s; its timeline:\n%s", id, what, strings.Join(lines, "\n"))
	}
}

// crashReport is what the crash test counts.
type crashReport struct {
	processKills, retries         int
	eventsAccepted, eventsApplied int
	expected, deliveredOnce       int
	lost, doubled, namedDoubles   int
	lostWhat, doubledWhat         []string
	byVendor                      map[string]int
	stuck, failed                 int
}

// countDeliveries compares what the fake vendors accepted with every
// customer's onboarding. A message is known by its idempotency key (a text,
// which carries none, by its number); a copy after the first is a named
// double when a worker died within doubleWindow of the copy before it.
func countDeliveries(all []delivery, deaths []death) crashReport {
	r := crashReport{byVendor: map[string]int{}}
	copies := map[string][]time.Time{}
	for _, d := range all {
		r.byVendor[d.Vendor]++
		id := d.Vendor + " " + d.Key
		if d.Vendor == "twilio" {
			id = d.Vendor + " " + d.To
		}
		copies[id] = append(copies[id], d.At)
	}
	for i := range crashCustomers {
		c := crashID(i)
		var want []string
		for _, step := range crashOnboarding.emails {
			want = append(want, messageID(copies, "sendgrid", c, step))
		}
		for _, step := range crashOnboarding.alerts {
			want = append(want, messageID(copies, "slack", c, step))
		}
		want = append(want, fmt.Sprintf("twilio +1555010%04d", i))
		for _, id := range want {
			r.expected++
			switch n := len(copies[id]); {
			case n == 0:
				r.lost++
				r.lostWhat = append(r.lostWhat, c+": "+id)
			case n == 1:
				r.deliveredOnce++
			}
		}
	}
	ids := make([]string, 0, len(copies))
	for id := range copies {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		at := copies[id]
		for k := 1; k < len(at); k++ {
			if workerDiedWithin(deaths, at[k-1], doubleWindow) {
				r.namedDoubles++
			} else {
				r.doubled++
				r.doubledWhat = append(r.doubledWhat, id)
			}
		}
	}
	return r
}

// messageID finds the key of customer's message of step from vendor among
// those delivered ("" when none was), as the message's id in copies.
func messageID(copies map[string][]time.Time, vendor, customer, step string) string {
	prefix := vendor + " " + workflows.IdempotencyKeyPrefix(customer)
	for id := range copies {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		// customer:<id>/<journey>/<step>/<channel>
		parts := strings.Split(strings.TrimPrefix(id, prefix), "/")
		if len(parts) == 3 && parts[1] == step {
			return id
		}
	}
	return fmt.Sprintf("%s %s… %s", vendor, customer, step)
}

func workerDiedWithin(deaths []death, after time.Time, window time.Duration) bool {
	for _, d := range deaths {
		if strings.HasPrefix(d.name, "worker-") && !d.at.Before(after) && d.at.Sub(after) <= window {
			return true
		}
	}
	return false
}

// unfinished counts the customers' journeys with an activity retried again
// and again (stuck) and the closed runs that did not continue as new
// (failed, terminated or timed out).
func unfinished(t *testing.T, env map[string]string, states []workflows.State) (stuck, failed int) {
	c, err := client.Dial(client.Options{HostPort: env["JOURNEYS_CLUSTER_FRONTEND"], Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	for _, st := range states {
		d, err := c.DescribeWorkflowExecution(ctx, workflows.WorkflowID(st.CustomerID), "")
		require.NoError(t, err)
		for _, a := range d.PendingActivities {
			if a.Attempt > 3 {
				stuck++
				t.Logf("%s: %s at attempt %d: %v", st.CustomerID, a.ActivityType.GetName(), a.Attempt, a.LastFailure.GetMessage())
			}
		}
	}
	res, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: "default",
		Query:     `ExecutionStatus = "Failed" OR ExecutionStatus = "Terminated" OR ExecutionStatus = "TimedOut"`,
	})
	require.NoError(t, err)
	return stuck, len(res.Executions)
}

// report logs the counts and, when JOURNEYS_CLUSTER_REPORT names a file
// (.ci/run sets it), writes them there too: a passing test's log is not
// shown by go test ./...
func report(t *testing.T, r crashReport) {
	text := fmt.Sprintf(`cluster crash test: %d customers, %d SIGKILLs and restarts (%s)
  events       %d answered 202 after %d retries, %d applied
  messages     %d expected, %d delivered once, %d lost, %d doubled outside the window, %d doubled in the named window
  by vendor    sendgrid %d, twilio %d, slack %d, hubspot %d
  journeys     %d stuck, %d failed
`, crashCustomers, r.processKills, chaosNames(), r.eventsAccepted, r.retries, r.eventsApplied,
		r.expected, r.deliveredOnce, r.lost, r.doubled, r.namedDoubles,
		r.byVendor["sendgrid"], r.byVendor["twilio"], r.byVendor["slack"], r.byVendor["hubspot"], r.stuck, r.failed)
	t.Log("\n" + text)
	if path := os.Getenv("JOURNEYS_CLUSTER_REPORT"); path != "" {
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	}
}

func chaosNames() string {
	n := map[string]int{}
	for _, s := range chaosPlan {
		n[s.name]++
	}
	names := make([]string, 0, len(n))
	for name, k := range n {
		names = append(names, fmt.Sprintf("%s ×%d", name, k))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
