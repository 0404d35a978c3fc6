package serve

import "time"

// SetSweepPoll shortens the sweeper's poll for a test and returns the restore function.
func SetSweepPoll(d time.Duration) (restore func()) {
	old := sweepPoll
	sweepPoll = d
	return func() { sweepPoll = old }
}
