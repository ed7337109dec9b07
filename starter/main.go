// Command starter is the operator's and developer's way into journeys from a
// terminal: it signs customers up, sends them events and prints the state of
// their journey, all through the same sender backends use, so what works here
// works for them.
//
//	go run ./starter signup --customer c-1 --email ana@example.com --tz America/New_York
//	go run ./starter event --customer c-1 --type milestone_reached --data milestone=first_project
//	go run ./starter status c-1
//
// Run it with no arguments, or "help", for the full usage text.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/journeyshq/journeys/codec"
	"github.com/journeyshq/journeys/signals/sender"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the whole program minus the process: it takes the arguments and the
// writers and returns the exit code, so tests can drive it end to end.
func run(args []string, stdout, stderr io.Writer) int {
	a := &app{
		stdin:   os.Stdin,
		stdout:  stdout,
		stderr:  stderr,
		getenv:  os.Getenv,
		now:     time.Now,
		newID:   uuid.NewString,
		connect: dialTemporal,
		dial:    dialClient,
	}
	return a.run(args)
}

// dialTimeout bounds how long a command waits for Temporal to answer its
// first call; a CLI that hangs on a stopped server is worse than one that
// says so after a few seconds.
const dialTimeout = 3 * time.Second

// dialTemporal connects to Temporal and returns a sender over the connection
// and the function that closes it. A failure to connect is reported as
// sender.ErrUnavailable so it gets the same advice as a failed call.
func dialTemporal(conn connSettings) (journeys, func(), error) {
	c, err := dialClient(conn)
	if err != nil {
		return nil, nil, err
	}
	return sender.New(c), c.Close, nil
}

// dialClient connects a Temporal client that encrypts and decrypts payloads
// with the worker's keys.
func dialClient(conn connSettings) (client.Client, error) {
	keys, err := payloadKeys(conn)
	if err != nil {
		return nil, err
	}
	dc, fc := codec.Converters(keys)
	opts := client.Options{
		HostPort:         conn.Address,
		Namespace:        conn.Namespace,
		DataConverter:    dc,
		FailureConverter: fc,
		// The SDK's default logger writes connection retries to stderr,
		// drowning the one line of advice the user needs.
		Logger:            sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		ConnectionOptions: client.ConnectionOptions{GetSystemInfoTimeout: dialTimeout},
	}
	if err := conn.Security.Apply(&opts); err != nil {
		return nil, err
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w: %v", conn.Address, sender.ErrUnavailable, err)
	}
	return c, nil
}
