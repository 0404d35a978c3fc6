package eventstoretest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"accountd/eventstore"

	"github.com/google/uuid"
)

var concurrencyCases = []testCase{
	{"OneStreamEachRevisionHasOneWinner", testOneWinnerPerRevision},
	{"OneStreamFreeRunningWriters", testFreeRunningWriters},
	{"DistinctStreamsAllSucceedGapless", testDistinctStreams},
}

// testOneWinnerPerRevision releases all writers at once against the same expected
// revision: a backend that checks the revision outside its write lock lets two of them in.
func testOneWinnerPerRevision(t *testing.T, s eventstore.Store) {
	writers, rounds := scale(16, 6), scale(30, 10)
	const stream = "contended"
	for round := range rounds {
		expected := eventstore.NoStream
		if round > 0 {
			expected = eventstore.Exact(uint64(round - 1))
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range writers {
			wg.Go(func() {
				<-start
				res, err := s.Append(t.Context(), stream, expected, newEvent("Ticked"))
				switch {
				case err == nil:
					wins.Add(1)
					if res.NextRevision != uint64(round) {
						t.Errorf("round %d: winner got next revision %d", round, res.NextRevision)
					}
				case !errors.Is(err, eventstore.ErrWrongExpectedVersion):
					t.Errorf("round %d: got %v, want success or ErrWrongExpectedVersion", round, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d (expecting %s): %d appends succeeded, want exactly 1", round, expected, n)
		}
	}
	assertStreamDense(t, s, stream, rounds)
	assertHead(t, s, uint64(rounds))
}

// testFreeRunningWriters lets writers race without rounds, catching up after every
// conflict, and checks that every success is a distinct revision that is really stored.
func testFreeRunningWriters(t *testing.T, s eventstore.Store) {
	writers, target := scale(8, 4), int64(scale(200, 60))
	const stream = "contended"
	var successes atomic.Int64
	var mu sync.Mutex
	winners := map[uint64]uuid.UUID{}

	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			var current uint64
			exists := false
			for successes.Load() < target {
				expected := eventstore.NoStream
				if exists {
					expected = eventstore.Exact(current)
				}
				e := newEvent("Ticked")
				res, err := s.Append(t.Context(), stream, expected, e)
				if err == nil {
					successes.Add(1)
					mu.Lock()
					if prev, taken := winners[res.NextRevision]; taken {
						t.Errorf("revision %d won twice: by %s and by %s", res.NextRevision, prev, e.ID)
					}
					winners[res.NextRevision] = e.ID
					mu.Unlock()
					current, exists = res.NextRevision, true
					continue
				}
				if !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
					t.Errorf("append expecting %s: %v", expected, err)
					return
				}
				from := uint64(0)
				if exists {
					from = current + 1
				}
				newer, err := s.ReadStream(t.Context(), stream, from, 100_000)
				if err != nil {
					t.Errorf("catch up from %d: %v", from, err)
					return
				}
				if len(newer) > 0 {
					current, exists = newer[len(newer)-1].Revision, true
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	stored := assertStreamDense(t, s, stream, int(successes.Load()))
	for _, e := range stored {
		if winners[e.Revision] != e.ID {
			t.Fatalf("revision %d holds %s, but the append that reported it sent %s", e.Revision, e.ID, winners[e.Revision])
		}
	}
}

// testDistinctStreams checks that writers on different streams never conflict and that
// the global positions they get are exactly 1..N.
func testDistinctStreams(t *testing.T, s eventstore.Store) {
	writers, perWriter := scale(16, 6), scale(25, 10)
	positions := make([][]uint64, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("acct-%d", w)
			for i := range perWriter {
				expected := eventstore.NoStream
				if i > 0 {
					expected = eventstore.Exact(uint64(i - 1))
				}
				res, err := s.Append(t.Context(), stream, expected, newEvent("Deposited"))
				if err != nil {
					t.Errorf("append %d to %q: %v", i, stream, err)
					return
				}
				positions[w] = append(positions[w], res.Positions...)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	total := writers * perWriter
	var got []uint64
	for _, p := range positions {
		if !slices.IsSorted(p) {
			t.Fatalf("one writer's sequential appends got decreasing positions %v", p)
		}
		got = append(got, p...)
	}
	slices.Sort(got)
	if !equalPositions(got, positionsFrom(1, total)) {
		t.Fatalf("positions handed out are not a permutation of 1..%d: %v", total, got)
	}
	all := mustReadAll(t, s)
	if len(all) != total {
		t.Fatalf("read %d events, want %d", len(all), total)
	}
	next := map[string]uint64{}
	for i, e := range all {
		if e.Position != uint64(i)+1 {
			t.Fatalf("event %d at position %d", i, e.Position)
		}
		if e.Revision != next[e.Stream] {
			t.Fatalf("stream %q: revision %d at position %d, want %d", e.Stream, e.Revision, e.Position, next[e.Stream])
		}
		next[e.Stream]++
	}
	assertHead(t, s, uint64(total))
}

// assertStreamDense checks that stream holds exactly revisions 0..n-1.
func assertStreamDense(t *testing.T, s eventstore.Store, stream string, n int) []eventstore.RecordedEvent {
	t.Helper()
	stored := mustReadStream(t, s, stream)
	if len(stored) != n {
		t.Fatalf("stream %q holds %d events, but %d appends succeeded", stream, len(stored), n)
	}
	for i, e := range stored {
		if e.Revision != uint64(i) {
			t.Fatalf("stream %q: event %d has revision %d", stream, i, e.Revision)
		}
	}
	return stored
}
