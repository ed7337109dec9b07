package sender

// SetPageSize makes s read visibility n executions at a time, so that a
// test can make a few journeys span pages.
func SetPageSize(s *Sender, n int32) { s.pageSize = n }
