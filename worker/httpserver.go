package main

import (
	"net/http"
	"time"
)

// The HTTP port's limits. Its webhook routes are open to anyone until the
// signature is checked, which needs the whole body: without these, a client
// that sends slowly (or not at all) holds a connection and a goroutine for
// as long as it likes.
const (
	// readHeaderTimeout: every genuine client sends its headers at once.
	readHeaderTimeout = 5 * time.Second
	// readTimeout covers headers and body: 15 s reads the largest body
	// (a 1 MiB SendGrid batch) at 70 KB/s.
	readTimeout = 15 * time.Second
	// writeTimeout runs from the end of the headers: time to read the body,
	// wait out the API's 10 s Temporal timeout and answer.
	writeTimeout = 30 * time.Second
	// idleTimeout outlasts the 60 s idle timeout of common load balancers,
	// so the balancer closes a kept-alive connection first and never sends
	// a request on one this server is closing.
	idleTimeout = 90 * time.Second
	// maxHeaderBytes: headers carry a bearer token or a signature, not
	// Go's default megabyte.
	maxHeaderBytes = 64 << 10
)

// serverTimeouts are the limits on a connection's phases; tests shorten them.
type serverTimeouts struct {
	readHeader, read, write, idle time.Duration
}

var defaultServerTimeouts = serverTimeouts{
	readHeader: readHeaderTimeout,
	read:       readTimeout,
	write:      writeTimeout,
	idle:       idleTimeout,
}

// newHTTPServer is the HTTP port's server of handler, with t's timeouts
// and maxHeaderBytes.
func newHTTPServer(handler http.Handler, t serverTimeouts) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}
