package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shortTimeouts make the server's limits bite within a test's second.
var shortTimeouts = serverTimeouts{
	readHeader: 100 * time.Millisecond,
	read:       200 * time.Millisecond,
	write:      400 * time.Millisecond,
	idle:       200 * time.Millisecond,
}

// startHTTPServer serves handler on 127.0.0.1 as the worker does, with
// timeouts, and returns its address.
func startHTTPServer(t *testing.T, handler http.Handler, timeouts serverTimeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := newHTTPServer(handler, timeouts)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// echoBody answers 200 with the body it read in full, as the webhooks
// read theirs before they answer, and 400 when the body could not be read.
var echoBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	_, _ = w.Write(body)
})

// trickle writes b to conn a byte every 20ms until it is all sent, the
// connection fails or stop closes.
func trickle(conn net.Conn, b string, stop <-chan struct{}) {
	for i := range len(b) {
		select {
		case <-stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
		if _, err := conn.Write([]byte{b[i]}); err != nil {
			return
		}
	}
}

// requireClosedWithin reads conn until the server closes it, failing if
// that takes longer than d, and returns what the server sent first.
func requireClosedWithin(t *testing.T, conn net.Conn, d time.Duration) string {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(d)))
	got, err := io.ReadAll(conn)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		t.Fatalf("the server still holds the connection after %v (it sent %q)", d, got)
	}
	// EOF or a reset: either way the server let go.
	return string(got)
}

// A client that sends its headers and then a body slower than the read
// timeout loses the connection; it cannot hold one open on the
// unauthenticated webhook routes.
func TestHTTPServerCutsOffASlowBody(t *testing.T) {
	addr := startHTTPServer(t, echoBody, shortTimeouts)

	res, err := http.Post("http://"+addr+"/webhooks/stripe", "application/json", strings.NewReader(`{"ok":true}`))
	require.NoError(t, err, "a request sent at once is served")
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, `{"ok":true}`, string(body))

	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	const bodyLen = 1000 // at a byte per 20ms: 20 s
	_, err = fmt.Fprintf(conn, "POST /webhooks/stripe HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, bodyLen)
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go trickle(conn, strings.Repeat("x", bodyLen), stop)

	start := time.Now()
	sent := requireClosedWithin(t, conn, time.Second)
	assert.Less(t, time.Since(start), time.Second)
	assert.NotContains(t, sent, "200 OK", "the handler never got the whole body")
}

// Headers sent slower than the read-header timeout lose the connection
// before any handler runs.
func TestHTTPServerCutsOffSlowHeaders(t *testing.T) {
	addr := startHTTPServer(t, echoBody, shortTimeouts)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	stop := make(chan struct{})
	defer close(stop)
	go trickle(conn, "POST /webhooks/stripe HTTP/1.1\r\nHost: "+addr+"\r\nX-Padding: "+strings.Repeat("x", 1000)+"\r\n\r\n", stop)
	sent := requireClosedWithin(t, conn, time.Second)
	assert.NotContains(t, sent, "200 OK", "no handler ran")
}

// A handler still busy past the write timeout gets its connection closed
// rather than holding it.
func TestHTTPServerCutsOffASlowAnswer(t *testing.T) {
	addr := startHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(shortTimeouts.write + 100*time.Millisecond)
		_, _ = w.Write([]byte("late"))
	}), shortTimeouts)
	c := &http.Client{Timeout: 2 * time.Second}
	start := time.Now()
	res, err := c.Get("http://" + addr + "/")
	if err == nil {
		_ = res.Body.Close()
	}
	require.Error(t, err, "the late answer is not delivered")
	assert.Less(t, time.Since(start), time.Second)
}

// A kept-alive connection nobody uses is closed after the idle timeout.
func TestHTTPServerClosesIdleConnections(t *testing.T) {
	addr := startHTTPServer(t, echoBody, shortTimeouts)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	require.NoError(t, res.Body.Close())
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.False(t, res.Close, "the connection is kept alive")
	requireClosedWithin(t, conn, time.Second)
}

// Headers over maxHeaderBytes are refused (431), well short of Go's 1 MB
// default.
func TestHTTPServerRefusesHugeHeaders(t *testing.T) {
	addr := startHTTPServer(t, echoBody, defaultServerTimeouts)
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/stripe", strings.NewReader("{}"))
	require.NoError(t, err)
	req.Header.Set("X-Padding", strings.Repeat("x", 2*maxHeaderBytes))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, res.StatusCode)
}

// The worker's own limits: every timeout set, and the write timeout (which
// runs from the end of the headers) leaves room to read the body and then
// wait out the API's 10 s Temporal timeout.
func TestHTTPServerDefaults(t *testing.T) {
	srv := newHTTPServer(echoBody, defaultServerTimeouts)
	assert.Positive(t, srv.ReadHeaderTimeout)
	assert.Positive(t, srv.ReadTimeout)
	assert.Positive(t, srv.WriteTimeout)
	assert.Positive(t, srv.IdleTimeout)
	assert.Positive(t, srv.MaxHeaderBytes)
	assert.LessOrEqual(t, srv.ReadHeaderTimeout, srv.ReadTimeout)
	assert.Greater(t, srv.WriteTimeout, srv.ReadTimeout+10*time.Second)
}
