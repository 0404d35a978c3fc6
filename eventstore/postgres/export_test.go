package postgres

import "time"

// AppendLockKey is the advisory-lock key of a schema's append lock, for tests that hold it
// to make a node wait.
func AppendLockKey(schema string) int64 { return lockKey("append", schema) }

// SetTellEvery sets how often s tells the nodes that its durable head rose (tell.go).
func SetTellEvery(s *Store, every time.Duration) {
	s.tell.mu.Lock()
	defer s.tell.mu.Unlock()
	s.tell.every = every
}
