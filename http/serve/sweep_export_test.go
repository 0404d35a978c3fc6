package serve

import (
	"time"

	"accountd/projections"
)

// SweptHour is the hour of the server's clock the scheduled sweep last completed.
func (s *Server) SweptHour() time.Time { return time.Unix(s.sweptHour.Load(), 0).UTC() }

// SecurityRunner feeds the detectors and the detection timeline.
func (s *Server) SecurityRunner() *projections.Runner { return s.securityRunner }
