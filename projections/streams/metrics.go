package streams

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	positionDesc  = prometheus.NewDesc("accountd_stream_position", "Last log position the stream's destination acknowledged (or the filter passed over).", []string{"stream", "kind"}, nil)
	lagDesc       = prometheus.NewDesc("accountd_stream_lag_events", "Events the log holds that the stream has not finished with (head minus position).", []string{"stream", "kind"}, nil)
	publishedDesc = prometheus.NewDesc("accountd_stream_published_total", "Envelopes the destination acknowledged since start.", []string{"stream", "kind"}, nil)
	failuresDesc  = prometheus.NewDesc("accountd_stream_failures_total", "Failed delivery attempts since start.", []string{"stream", "kind"}, nil)
	pausedDesc    = prometheus.NewDesc("accountd_stream_paused", "1 while the stream is paused after consecutive failures (it probes its destination and resumes on its own).", []string{"stream", "kind"}, nil)
	deadDesc      = prometheus.NewDesc("accountd_stream_dead_letters", "Events the stream could not encode and skipped (stream_dead_letters).", []string{"stream", "kind"}, nil)
)

// Collector exposes every stream's position, lag, published total, failures, pause and dead
// letters, read at scrape time (as the projections' collector does): a stalled stream still
// shows a growing lag.
func (set *Set) Collector() prometheus.Collector { return setCollector{set} }

type setCollector struct{ set *Set }

func (c setCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{positionDesc, lagDesc, publishedDesc, failuresDesc, pausedDesc, deadDesc} {
		ch <- d
	}
}

func (c setCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	list, err := c.set.List(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(lagDesc, err)
		return
	}
	for _, st := range list {
		gauge := func(d *prometheus.Desc, t prometheus.ValueType, v float64) {
			ch <- prometheus.MustNewConstMetric(d, t, v, st.Name, st.Kind)
		}
		paused := 0.0
		if st.Paused {
			paused = 1
		}
		gauge(positionDesc, prometheus.GaugeValue, float64(st.Position))
		gauge(lagDesc, prometheus.GaugeValue, float64(st.Lag))
		gauge(publishedDesc, prometheus.CounterValue, float64(st.Published))
		gauge(failuresDesc, prometheus.CounterValue, float64(st.Failures))
		gauge(pausedDesc, prometheus.GaugeValue, paused)
		gauge(deadDesc, prometheus.GaugeValue, float64(st.DeadLetters))
	}
}
