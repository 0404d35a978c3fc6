package projections

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	positionDesc = prometheus.NewDesc("accountd_projection_position",
		"Last log position the projection applied.", []string{"runner", "projection"}, nil)
	lagDesc = prometheus.NewDesc("accountd_projection_lag_events",
		"Events the log holds that the projection has not applied yet (head minus position).", []string{"runner", "projection"}, nil)
	headDesc = prometheus.NewDesc("accountd_eventstore_head_position",
		"Global position of the last committed event, as the runner sees it.", []string{"runner"}, nil)
)

// Collector exposes the runners' positions and their lag behind the log's head, labelled
// by runner (its key in runners: main, security...). One collector covers every runner
// because Prometheus refuses two collectors describing the same series. Values are read at
// scrape time rather than fed from applyBatch: the apply loop stays untouched, and a
// stalled projection still shows a growing lag, which a hook that only fires when a batch
// applies never would.
func Collector(runners map[string]*Runner) prometheus.Collector {
	return runnerCollector(runners)
}

type runnerCollector map[string]*Runner

func (c runnerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- positionDesc
	ch <- lagDesc
	ch <- headDesc
}

func (c runnerCollector) Collect(ch chan<- prometheus.Metric) {
	for label, r := range c {
		r.collect(ch, label)
	}
}

func (r *Runner) collect(ch chan<- prometheus.Metric, label string) {
	// A scrape must not hang on a slow log: without the head, positions are still worth
	// reporting, and the lag is left out rather than made up.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	head, err := r.store.HeadPosition(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(headDesc, err)
	} else {
		ch <- prometheus.MustNewConstMetric(headDesc, prometheus.GaugeValue, float64(head), label)
	}
	for _, name := range r.order {
		pos := r.Position(name)
		ch <- prometheus.MustNewConstMetric(positionDesc, prometheus.GaugeValue, float64(pos), label, name)
		if err == nil {
			lag := uint64(0)
			if head > pos {
				lag = head - pos
			}
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(lag), label, name)
		}
	}
}
