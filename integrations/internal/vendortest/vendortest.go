// Package vendortest holds the scaffolding of the fake vendor APIs that the
// driver tests call: a server on 127.0.0.1, a record of what it received,
// scripted replies, and answering with a vendor's status, headers and error
// body. Each fake keeps what is its vendor's own: paths, authentication and
// the shape of its bodies.
package vendortest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hang holds a reply back longer than any test's client waits, so the
// client gives up first.
const Hang = 5 * time.Second

// Reply is what a fake answers to one request.
type Reply struct {
	// Status is the HTTP status; zero is 200, as net/http answers for a
	// handler that writes nothing.
	Status int
	Body   string
	Header map[string]string
	// Delay holds the answer back that long, or until the client gives up,
	// which then gets nothing.
	Delay time.Duration
}

// Server is a fake vendor API on 127.0.0.1 that records what it received
// as T and hands out scripted replies in order. It is safe for the
// concurrent requests of a test.
type Server[T any] struct {
	*httptest.Server
	t           testing.TB
	name        string
	contentType string

	mu     sync.Mutex
	script []Reply
	got    []T
}

// Start serves h until the test ends. name is the vendor as the test's
// errors call it; contentType goes on every answer with a body whose
// Header sets none; script is the replies Next hands out.
func Start[T any](t testing.TB, name, contentType string, h http.HandlerFunc, script ...Reply) *Server[T] {
	t.Helper()
	s := &Server[T]{t: t, name: name, contentType: contentType, script: script}
	s.Server = httptest.NewServer(h)
	t.Cleanup(s.Close)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("fake %s listens on %s, want 127.0.0.1", name, s.URL)
	}
	return s
}

// Record keeps v as one request received.
func (s *Server[T]) Record(v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, v)
}

// Received is what Record kept so far, in order.
func (s *Server[T]) Received() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]T(nil), s.got...)
}

// Next takes the next scripted reply; false when the script is done.
func (s *Server[T]) Next() (Reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) == 0 {
		return Reply{}, false
	}
	rep := s.script[0]
	s.script = s.script[1:]
	return rep, true
}

// Answer writes rep after its Delay, unless the client gave up first.
func (s *Server[T]) Answer(w http.ResponseWriter, r *http.Request, rep Reply) {
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if rep.Body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", s.contentType)
	}
	status := rep.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, rep.Body)
}

// Fail reports a request the fake did not expect to the test, and answers
// it with rep, the vendor's error, so the client fails too and the request
// cannot pass unnoticed.
func (s *Server[T]) Fail(w http.ResponseWriter, r *http.Request, rep Reply, why string) {
	s.t.Errorf("fake %s: %s %s: %s", s.name, r.Method, r.URL.EscapedPath(), why)
	s.Answer(w, r, rep)
}
