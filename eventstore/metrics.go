package eventstore

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Instrument wraps a Store so that every append is timed and counted in reg. It measures
// from outside the backend on purpose: the numbers mean the same thing for SQLite,
// PostgreSQL and KurrentDB, and no backend has to know about Prometheus. Reads are not
// instrumented: they are the projections' and the command cache's business, and their
// lag is what matters (projections.Runner.Collector).
//
// The wrapper keeps ChainVerifier when the wrapped store has it, so callers that
// type-assert for it (the compliance evidence, accountd verify) see no difference.
func Instrument(s Store, reg prometheus.Registerer) (Store, error) {
	m := &storeMetrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "accountd_eventstore_append_duration_seconds",
			Help: "Latency of Store.Append as the caller sees it (queueing, group commit and fsync included), by result.",
			// From a lone append with synchronous=NORMAL (tens of µs) to a stalled fsync.
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"result"}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "accountd_eventstore_events_appended_total",
			Help: "Events the log accepted through Append (an idempotent retry of an earlier append counts again).",
		}),
	}
	for _, c := range []prometheus.Collector{m.latency, m.events} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Resolved once: WithLabelValues hashes its labels on every call.
	m.ok = m.latency.WithLabelValues("ok")
	m.conflict = m.latency.WithLabelValues("wrong_expected_version")
	m.failed = m.latency.WithLabelValues("error")
	base := &instrumentedStore{Store: s, m: m}
	if v, ok := s.(ChainVerifier); ok {
		return &instrumentedVerifier{instrumentedStore: base, v: v}, nil
	}
	return base, nil
}

type storeMetrics struct {
	latency              *prometheus.HistogramVec
	ok, conflict, failed prometheus.Observer
	events               prometheus.Counter
}

type instrumentedStore struct {
	Store
	m *storeMetrics
}

func (s *instrumentedStore) Append(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error) {
	start := time.Now()
	res, err := s.Store.Append(ctx, stream, expected, events...)
	d := time.Since(start).Seconds()
	switch {
	case err == nil:
		s.m.ok.Observe(d)
		s.m.events.Add(float64(len(res.Positions)))
	case errors.Is(err, ErrWrongExpectedVersion):
		// A conflict is the optimistic-concurrency protocol working, not a fault: kept
		// apart so an alert on errors does not fire on contention.
		s.m.conflict.Observe(d)
	default:
		s.m.failed.Observe(d)
	}
	return res, err
}

type instrumentedVerifier struct {
	*instrumentedStore
	v ChainVerifier
}

func (s *instrumentedVerifier) VerifyChain(ctx context.Context) (ChainHead, error) {
	return s.v.VerifyChain(ctx)
}

// Unwrap returns the instrumented store, so optional capabilities of the store underneath
// (CommittedHeads) stay reachable through the decorator.
func (s *instrumentedStore) Unwrap() Store { return s.Store }
