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
//
// When the store, or a store it wraps (Unwrap), is a GroupCommitReporter, Instrument also
// exports the size of every group commit, in appends and in events, and takes over the
// store's report callback: instrument a store once. Other stores get no such series.
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
	collectors := []prometheus.Collector{m.latency, m.events}
	gcr := groupCommitReporter(s)
	var batchAppends, batchEvents prometheus.Histogram
	if gcr != nil {
		batchAppends = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "accountd_eventstore_group_commit_appends",
			Help: "Append calls decided by one group commit (written, retried or refused).",
			// 1 to 512: the largest batch SQLite takes by default (PostgreSQL's is 256).
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		})
		batchEvents = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "accountd_eventstore_group_commit_events",
			Help: "Events written to the log by one group commit.",
			// An append may carry several events: up to 8 per append of a full batch.
			Buckets: prometheus.ExponentialBuckets(1, 2, 13),
		})
		collectors = append(collectors, batchAppends, batchEvents)
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	if gcr != nil {
		// Runs on the backend's writer goroutine, once per batch: two lock-free observations.
		gcr.ReportGroupCommits(func(gc GroupCommit) {
			batchAppends.Observe(float64(gc.Appends))
			batchEvents.Observe(float64(gc.Events))
		})
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

// groupCommitReporter finds the group-commit reports of s or of a store it decorates; nil
// when the backend has no group commit.
func groupCommitReporter(s Store) GroupCommitReporter {
	for s != nil {
		if r, ok := s.(GroupCommitReporter); ok {
			return r
		}
		u, ok := s.(interface{ Unwrap() Store })
		if !ok {
			return nil
		}
		s = u.Unwrap()
	}
	return nil
}
