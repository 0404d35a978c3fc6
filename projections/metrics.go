package projections

import (
	"context"
	"time"

	"accountd/eventstore"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	positionDesc = prometheus.NewDesc("accountd_projection_position",
		"Last log position the projection applied.", []string{"runner", "projection"}, nil)
	lagDesc = prometheus.NewDesc("accountd_projection_lag_events",
		"Events the log holds that the projection has not applied yet (counted, not a difference of positions).", []string{"runner", "projection"}, nil)
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

// maxCountedLag bounds the events a scrape counts on a log whose positions are not gapless
// (KurrentDB: a read of $all); a lag that large reads as this many.
const maxCountedLag = 1_000_000

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
			// Counted in events, not positions (not gapless on every backend); a failed
			// count leaves the lag out like a failed head does.
			if lag, err := eventstore.EventsBetween(ctx, r.store, pos, head, maxCountedLag); err == nil {
				ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(lag), label, name)
			}
		}
	}
}
