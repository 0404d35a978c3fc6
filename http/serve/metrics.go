package serve

import (
	"accountd/eventstore/snapshot"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"accountd/eventstore"
	"accountd/projections"
)

// instrumentStore makes the server's Prometheus registry and wraps the event log so
// appends are measured (eventstore.Instrument). The registry is the server's own, not
// prometheus.DefaultRegisterer: tests and tools run several servers in one process, and a
// global registry would refuse the second one's series. On error it returns the store it
// was given, so New still closes it.
func (s *Server) instrumentStore(store eventstore.Store) (eventstore.Store, error) {
	if s.cfg.DisableMetrics {
		return store, nil
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return store, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return store, err
	}
	wrapped, err := eventstore.Instrument(store, reg)
	if err != nil {
		return store, err
	}
	s.metrics = reg
	return wrapped, nil
}

// registerRunnerMetrics exposes both runners' positions and lag, told apart by the runner
// label: "main" feeds the status and compliance read models, "security" the detectors and
// the detection timeline.
func (s *Server) registerRunnerMetrics() error {
	if s.metrics == nil {
		return nil
	}
	for _, c := range append(append(snapshot.Collectors(), projections.OffHeapCollector()), hashCollectors(&s.hashCPU)...) {
		if err := s.metrics.Register(c); err != nil {
			return err
		}
	}
	return s.metrics.Register(projections.Collector(map[string]*projections.Runner{
		"main": s.runner, "security": s.securityRunner,
	}))
}

// registerOutboxMetrics exposes the mails the outbox skipped as older than its horizon: a
// rise after a restore or a new node's start is expected, at any other time it means the
// outbox fell more than the horizon behind.
func (s *Server) registerOutboxMetrics() error {
	if s.metrics == nil {
		return nil
	}
	if err := s.metrics.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "accountd_outbox_stale_mails_total",
		Help: "Mails not sent because their event was older than --mail-max-age.",
	}, func() float64 { return float64(s.outbox.Stale()) })); err != nil {
		return err
	}
	// Above zero only when two outboxes ran on one log (or a record's append timed out
	// after it landed): each such message may have gone out twice.
	return s.metrics.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "accountd_outbox_record_conflicts_total",
		Help: "Messages whose delivery record another outbox had already appended to the log.",
	}, func() float64 { return float64(s.outbox.Conflicts()) }))
}
