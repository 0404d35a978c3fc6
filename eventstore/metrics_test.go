package eventstore_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"accountd/eventstore"
	"accountd/eventstore/memory"
	"accountd/eventstore/sqlite"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// countingReporter counts the group commits its store reports, passing them on to the
// callback Instrument installs: the histograms must agree with it.
type countingReporter struct {
	eventstore.Store
	batches atomic.Int64
}

func (c *countingReporter) ReportGroupCommits(report func(eventstore.GroupCommit)) {
	c.Store.(eventstore.GroupCommitReporter).ReportGroupCommits(func(gc eventstore.GroupCommit) {
		c.batches.Add(1)
		report(gc)
	})
}

// decorator is another store wrapper that only unwraps, as a logging or tracing
// decorator would: Instrument must find the reporter underneath it.
type decorator struct{ eventstore.Store }

func (d decorator) Unwrap() eventstore.Store { return d.Store }

// TestInstrumentExportsSQLiteGroupCommits: under concurrent appenders, the two histograms
// hold one observation per group commit, and their sums are the appends and the events.
func TestInstrumentExportsSQLiteGroupCommits(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	counted := &countingReporter{Store: s}
	reg := prometheus.NewRegistry()
	store, err := eventstore.Instrument(decorator{counted}, reg)
	if err != nil {
		t.Fatal(err)
	}

	const writers, perWriter = 32, 20
	var events atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				batch := []eventstore.EventData{event()}
				if i%3 == 0 {
					batch = append(batch, event())
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

	batches := uint64(counted.batches.Load())
	families := gather(t, reg)
	for _, c := range []struct {
		name string
		sum  int64
	}{
		{"accountd_eventstore_group_commit_appends", writers * perWriter},
		{"accountd_eventstore_group_commit_events", events.Load()},
	} {
		h, ok := families[c.name]
		if !ok {
			t.Errorf("%s is not exported", c.name)
			continue
		}
		if h.count != batches || h.sum != float64(c.sum) {
			t.Errorf("%s: count %d, sum %g; want %d group commits, sum %d", c.name, h.count, h.sum, batches, c.sum)
		}
	}
	t.Logf("%d appends in %d group commits", writers*perWriter, batches)
}

// TestInstrumentWithoutGroupCommit: a store that does not batch appends gets no
// group-commit series, not empty ones.
func TestInstrumentWithoutGroupCommit(t *testing.T) {
	reg := prometheus.NewRegistry()
	store, err := eventstore.Instrument(memory.New(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(t.Context(), "acct", eventstore.NoStream, event()); err != nil {
		t.Fatal(err)
	}
	families := gather(t, reg)
	if _, ok := families["accountd_eventstore_events_appended_total"]; !ok {
		t.Fatal("the append metrics are missing")
	}
	for name := range families {
		if strings.HasPrefix(name, "accountd_eventstore_group_commit_") {
			t.Errorf("memory store exports %s", name)
		}
	}
}

type histogram struct {
	count uint64
	sum   float64
}

// gather returns every family in reg by name, with the count and sum of the first series
// (all that an unlabelled histogram has).
func gather(t *testing.T, reg *prometheus.Registry) map[string]histogram {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]histogram, len(mfs))
	for _, mf := range mfs {
		var h histogram
		if ms := mf.GetMetric(); len(ms) > 0 {
			h.count, h.sum = ms[0].GetHistogram().GetSampleCount(), ms[0].GetHistogram().GetSampleSum()
		}
		out[mf.GetName()] = h
	}
	return out
}

func event() eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "Deposited", Data: []byte(`{"amount":1}`)}
}
