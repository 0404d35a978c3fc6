package serve

import (
	"time"

	"accountd/eventstore"
	"accountd/projections"
)

// SweptHour is the hour of the server's clock the scheduled sweep last completed.
func (s *Server) SweptHour() time.Time { return time.Unix(s.sweptHour.Load(), 0).UTC() }

// SecurityRunner feeds the detectors and the detection timeline.
func (s *Server) SecurityRunner() *projections.Runner { return s.securityRunner }

// SetStoreWrapper makes the server wrap its event log with wrap as it opens it: the fault
// injection of the storage tests.
func SetStoreWrapper(c *Config, wrap func(eventstore.Store) eventstore.Store) { c.wrapStore = wrap }
