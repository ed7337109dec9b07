// Package stopper stops what a program started, in reverse order, so that
// each part stops before the parts it depends on (the API before the
// worker, the worker before its client, the client before the server).
package stopper

import "errors"

// Stack holds the stop functions of what was started. The zero value is
// ready to use.
type Stack struct{ stops []func() error }

// Push adds the stop function of something just started.
func (s *Stack) Push(stop func() error) { s.stops = append(s.stops, stop) }

// StopAll calls every stop function, newest first, even when some fail,
// and returns their errors joined. The stack is empty afterwards.
func (s *Stack) StopAll() error {
	var errs []error
	for i := len(s.stops) - 1; i >= 0; i-- {
		errs = append(errs, s.stops[i]())
	}
	s.stops = nil
	return errors.Join(errs...)
}
