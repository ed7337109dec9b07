package devserver

import (
	"net"
	"strconv"
	"testing"
)

// Ports come from this process's block while it has free ones, so that
// parallel test processes rarely draw the same port; they are free, and
// never the same twice, as a server picks all its ports before it binds.
func TestFreePortsComeFromThisProcesssBlock(t *testing.T) {
	from, to := portBlock(), portBlock()+portBlockSize
	seen := map[int]bool{}
	for range 100 {
		p, err := freePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d returned twice", p)
		}
		seen[p] = true
		if p < from || p >= to {
			t.Fatalf("port %d is outside this process's block [%d, %d)", p, from, to)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
}
