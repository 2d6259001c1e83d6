package scheduler

// SetAfterCommit installs a function that runs right after each commit,
// before the committed messages are published, to simulate crashes there.
func SetAfterCommit(s *Service, f func()) { s.afterCommit = f }
