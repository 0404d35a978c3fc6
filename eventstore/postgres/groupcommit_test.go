package postgres_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"accountd/eventstore"
	"accountd/eventstore/postgres"

	"github.com/prometheus/client_golang/prometheus"
)

// TestGroupCommitReports: one report per batch; a refusal counts as an append that wrote
// no event, and a batch of refusals only is reported although it commits nothing.
func TestGroupCommitReports(t *testing.T) {
	url := testURL(t)
	s := open(t, url, freshSchema(t, url))
	var mu sync.Mutex
	var got []eventstore.GroupCommit
	s.ReportGroupCommits(func(gc eventstore.GroupCommit) {
		mu.Lock()
		got = append(got, gc)
		mu.Unlock()
	})
	ctx := t.Context()
	if _, err := s.Append(ctx, "acct", eventstore.NoStream, event(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "acct", eventstore.NoStream, event(`{}`)); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
		t.Fatalf("second NoStream append: %v, want ErrWrongExpectedVersion", err)
	}
	if _, err := s.Append(ctx, "acct", eventstore.Exact(0), event(`{}`), event(`{}`), event(`{}`)); err != nil {
		t.Fatal(err)
	}
	s.ReportGroupCommits(nil)
	if _, err := s.Append(ctx, "acct", eventstore.Any, event(`{}`)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []eventstore.GroupCommit{{Appends: 1, Events: 1}, {Appends: 1, Events: 0}, {Appends: 1, Events: 3}}
	if !slices.Equal(got, want) {
		t.Fatalf("group commits %+v, want %+v", got, want)
	}
}

// TestInstrumentExportsGroupCommits: under concurrent appenders, the histograms hold one
// observation per group commit, and their sums are the appends and the events.
func TestInstrumentExportsGroupCommits(t *testing.T) {
	url := testURL(t)
	s := open(t, url, freshSchema(t, url))
	counted := &countingReporter{Store: s, s: s}
	reg := prometheus.NewRegistry()
	store, err := eventstore.Instrument(counted, reg)
	if err != nil {
		t.Fatal(err)
	}
	const writers, perWriter = 16, 20
	var events atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				batch := []eventstore.EventData{event(`{}`)}
				if i%3 == 0 {
					batch = append(batch, event(`{}`))
				}
				if _, err := store.Append(t.Context(), fmt.Sprintf("acct-%d", w), eventstore.Any, batch...); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				events.Add(int64(len(batch)))
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	batches := uint64(counted.batches.Load())
	sums := map[string]float64{
		"accountd_eventstore_group_commit_appends": writers * perWriter,
		"accountd_eventstore_group_commit_events":  float64(events.Load()),
	}
	for _, mf := range mfs {
		want, ok := sums[mf.GetName()]
		if !ok {
			continue
		}
		delete(sums, mf.GetName())
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != batches || h.GetSampleSum() != want {
			t.Errorf("%s: count %d, sum %g; want %d group commits, sum %g", mf.GetName(), h.GetSampleCount(), h.GetSampleSum(), batches, want)
		}
	}
	for name := range sums {
		t.Errorf("%s is not exported", name)
	}
	t.Logf("%d appends in %d group commits", writers*perWriter, batches)
}

// countingReporter counts the group commits its store reports, passing them on to the
// callback Instrument installs.
type countingReporter struct {
	eventstore.Store
	s       *postgres.Store
	batches atomic.Int64
}

func (c *countingReporter) ReportGroupCommits(report func(eventstore.GroupCommit)) {
	c.s.ReportGroupCommits(func(gc eventstore.GroupCommit) {
		c.batches.Add(1)
		report(gc)
	})
}
