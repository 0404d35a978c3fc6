package serve

import (
	"time"

	"accountd/projections"
)

// SetSweepPoll shortens the sweeper's poll for a test and returns the restore function.
func SetSweepPoll(d time.Duration) (restore func()) {
	old := sweepPoll
	sweepPoll = d
	return func() { sweepPoll = old }
}

// SweptHour is the hour of the server's clock the scheduled sweep last completed.
func (s *Server) SweptHour() time.Time { return time.Unix(s.sweptHour.Load(), 0).UTC() }

// SecurityRunner feeds the detectors and the detection timeline.
func (s *Server) SecurityRunner() *projections.Runner { return s.securityRunner }
