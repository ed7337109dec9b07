package main

// This file is "starter forget": a customer's erasure through the events
// API, whose process holds the outbox file and the send ledger.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/erasure"
	"github.com/journeyshq/journeys/signals"
)

// defaultAPI is the events API a dev worker serves.
const defaultAPI = "http://127.0.0.1:8080"

// forgetTimeout bounds one DELETE: the edge waits up to about a minute and
// a half for Temporal's deletion (api's forgetTimeout).
const forgetTimeout = 100 * time.Second

// forgetAttempts is how often forget asks again after a 503: an erasure
// that outlasted its wait finishes on the next call.
const forgetAttempts = 4

// forgetCmd is a parsed forget command.
type forgetCmd struct {
	customerID string
	api        string
	// token is the first of JOURNEYS_OPERATOR_TOKENS, else the dev token.
	token string
	json  bool
}

// parseForget reads the customer from the one argument, as status does.
func parseForget(args []string, getenv func(string) string) (forgetCmd, error) {
	const name = "forget"
	fs := newFlagSet(name)
	var cmd forgetCmd
	fs.StringVar(&cmd.api, "api", defaultAPI, "the events API's base `URL`")
	fs.BoolVar(&cmd.json, "json", false, "print the erasure report as indented JSON")
	pos, err := parseFlags(fs, args, forgetHelp)
	if err != nil {
		return forgetCmd{}, err
	}
	if len(pos) != 1 {
		return forgetCmd{}, usagef(name, "expected one customer ID: starter forget <customer-id>")
	}
	cmd.customerID = pos[0]
	if err := signals.ValidateCustomerID(cmd.customerID); err != nil {
		return forgetCmd{}, usagef(name, "customer %q: %v", cmd.customerID, err)
	}
	if !strings.HasPrefix(cmd.api, "http://") && !strings.HasPrefix(cmd.api, "https://") {
		return forgetCmd{}, usagef(name, "--api %q: want an http:// or https:// URL", cmd.api)
	}
	tokens, err := api.OperatorTokensFromEnv(getenv)
	if err != nil {
		return forgetCmd{}, usagef(name, "%v", err)
	}
	cmd.token = api.DevToken // a --dev worker accepts it; no other does
	if len(tokens) > 0 {
		cmd.token = tokens[0]
	}
	return cmd, nil
}

// forget runs "starter forget" and prints what the erasure deleted.
func (a *app) forget(args []string) error {
	cmd, err := parseForget(args, a.getenv)
	if err != nil {
		return err
	}
	var rep erasure.Report
	for attempt := 1; ; attempt++ {
		var retryIn time.Duration
		rep, retryIn, err = deleteCustomer(cmd)
		if retryIn < 0 || attempt == forgetAttempts {
			break
		}
		fmt.Fprintf(a.stderr, "starter: %v; asking again in %s\n", err, retryIn)
		time.Sleep(retryIn)
	}
	if err != nil {
		return err
	}
	if cmd.json {
		return writeJSON(a.stdout, rep)
	}
	_, err = io.WriteString(a.stdout, renderErasure(rep))
	return err
}

// deleteCustomer sends one DELETE /v1/customers/{id}. retryIn is how long
// to wait before asking again after a 503, and negative otherwise.
func deleteCustomer(cmd forgetCmd) (erasure.Report, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), forgetTimeout)
	defer cancel()
	url := strings.TrimSuffix(cmd.api, "/") + "/v1/customers/" + cmd.customerID
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, url, nil)
	if err != nil {
		return erasure.Report{}, -1, fmt.Errorf("forget: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+cmd.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return erasure.Report{}, -1, &userError{msg: fmt.Sprintf("the events API at %s is not reachable: is the worker running (go run ./worker --dev)? (%v)", cmd.api, err), cause: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return erasure.Report{}, -1, fmt.Errorf("forget: read the answer: %w", err)
	}
	return readErasure(resp, body)
}

// readErasure reads the edge's answer: the report on 200, else its error.
func readErasure(resp *http.Response, body []byte) (erasure.Report, time.Duration, error) {
	var rep erasure.Report
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &rep); err != nil {
			return rep, -1, fmt.Errorf("forget: the answer is not an erasure report: %w", err)
		}
		return rep, -1, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(body))
	}
	err := fmt.Errorf("forget: the events API answered %s: %s", resp.Status, e.Error)
	switch resp.StatusCode {
	case http.StatusServiceUnavailable:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return rep, time.Duration(max(secs, 0)) * time.Second, err
	case http.StatusUnauthorized, http.StatusForbidden:
		return rep, -1, &userError{msg: err.Error() + " (set " + api.EnvOperatorTokens + " to an operator token the worker accepts)", cause: err}
	}
	return rep, -1, err
}

// renderErasure is the report for a person.
func renderErasure(r erasure.Report) string {
	ended := ""
	if r.Terminated {
		ended = "; its running journey was ended"
	}
	return fmt.Sprintf("forgot customer %s (workflow %s%s)\n  runs:         %d\n  ledger rows:  %d\n  outbox lines: %d\n  CRM contact:  %s\n",
		r.CustomerID, r.WorkflowID, ended, r.Runs, r.LedgerRows, r.OutboxLines, strings.ReplaceAll(r.CRMContact, "_", " "))
}

var forgetHelp = commandHelp{
	name:     "forget",
	synopsis: "starter forget [--api URL] [--json] CUSTOMER-ID",
	about: "Erase a customer: ends their journey, deletes every run of it from\n" +
		"Temporal, their send-ledger rows and outbox lines, and archives their\n" +
		"HubSpot contact when HubSpot is configured; then prints what it deleted.\n" +
		"It calls the events API (DELETE /v1/customers/{id}), whose process holds\n" +
		"the outbox and the ledger, with the first of $" + api.EnvOperatorTokens + ",\n" +
		"or the dev token a --dev worker accepts. Forgetting twice is fine: the\n" +
		"second time finds nothing and reports zeros. See docs/security.md.",
}
