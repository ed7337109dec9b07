package stopper

import (
	"errors"
	"testing"
)

func TestStopAllStopsNewestFirstAndJoinsErrors(t *testing.T) {
	var order []int
	var s Stack
	failed := errors.New("close failed")
	s.Push(func() error { order = append(order, 1); return nil })
	s.Push(func() error { order = append(order, 2); return failed })
	s.Push(func() error { order = append(order, 3); return nil })
	err := s.StopAll()
	if !errors.Is(err, failed) {
		t.Errorf("err = %v, want it to hold %v", err, failed)
	}
	if len(order) != 3 || order[0] != 3 || order[1] != 2 || order[2] != 1 {
		t.Errorf("stopped in order %v, want [3 2 1]: every stop runs, newest first", order)
	}
	if err := s.StopAll(); err != nil || len(order) != 3 {
		t.Errorf("a second StopAll stopped again: err %v, order %v", err, order)
	}
}
