package eventstoretest

import (
	"errors"
	"testing"

	"accountd/eventstore"
)

var appendCases = []testCase{
	{"NoStreamCreatesStreamAtRevisionZero", func(t *testing.T, s eventstore.Store) {
		sent := newEvents("Opened", 2)
		res := mustAppend(t, s, "acct-1", eventstore.NoStream, sent...)
		if res.NextRevision != 1 || !equalPositions(res.Positions, []uint64{1, 2}) {
			t.Fatalf("result %+v, want next revision 1 at positions [1 2]", res)
		}
		assertRecorded(t, mustReadStream(t, s, "acct-1"), "acct-1", sent, 0, []uint64{1, 2})
		assertHead(t, s, 2)
	}},
	{"AnyOnNewAndExistingStream", func(t *testing.T, s eventstore.Store) {
		first := mustAppend(t, s, "acct-1", eventstore.Any, newEvent("Opened"))
		second := mustAppend(t, s, "acct-1", eventstore.Any, newEvent("Deposited"))
		if first.NextRevision != 0 || second.NextRevision != 1 || second.LastPosition() != 2 {
			t.Fatalf("results %+v then %+v, want revisions 0 then 1", first, second)
		}
	}},
	{"StreamExists", func(t *testing.T, s eventstore.Store) {
		_, err := s.Append(t.Context(), "acct-1", eventstore.StreamExists, newEvent("Deposited"))
		if !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			t.Fatalf("StreamExists on an empty stream: got %v, want ErrWrongExpectedVersion", err)
		}
		assertHead(t, s, 0)
		mustAppend(t, s, "acct-1", eventstore.NoStream, newEvent("Opened"))
		if res := mustAppend(t, s, "acct-1", eventstore.StreamExists, newEvent("Deposited")); res.NextRevision != 1 {
			t.Fatalf("next revision %d, want 1", res.NextRevision)
		}
	}},
	{"Exact", func(t *testing.T, s eventstore.Store) {
		_, err := s.Append(t.Context(), "acct-1", eventstore.Exact(0), newEvent("Deposited"))
		if !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			t.Fatalf("Exact(0) on an empty stream: got %v, want ErrWrongExpectedVersion", err)
		}
		mustAppend(t, s, "acct-1", eventstore.NoStream, newEvent("Opened"))
		res := mustAppend(t, s, "acct-1", eventstore.Exact(0), newEvents("Deposited", 3)...)
		if res.NextRevision != 3 || !equalPositions(res.Positions, []uint64{2, 3, 4}) {
			t.Fatalf("result %+v, want next revision 3 at positions [2 3 4]", res)
		}
		mustAppend(t, s, "acct-1", eventstore.Exact(3), newEvent("Withdrawn"))
	}},
	{"WrongExpectedVersionWritesNothing", func(t *testing.T, s eventstore.Store) {
		mustAppend(t, s, "existing", eventstore.NoStream, newEvents("Opened", 2)...) // at revision 1
		cases := []struct {
			name     string
			stream   string
			expected eventstore.ExpectedRevision
		}{
			{"NoStreamOnExisting", "existing", eventstore.NoStream},
			{"ExactBehind", "existing", eventstore.Exact(0)},
			{"ExactAhead", "existing", eventstore.Exact(2)},
			{"StreamExistsOnEmpty", "empty", eventstore.StreamExists},
			{"ExactOnEmpty", "empty", eventstore.Exact(0)},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.Append(t.Context(), c.stream, c.expected, newEvents("Deposited", 2)...)
				if !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
					t.Fatalf("got %v, want ErrWrongExpectedVersion", err)
				}
				assertHead(t, s, 2)
				if _, err := s.ReadStream(t.Context(), "empty", 0, 10); !errors.Is(err, eventstore.ErrStreamNotFound) {
					t.Fatalf("a refused append created stream %q: %v", "empty", err)
				}
				if n := len(mustReadStream(t, s, "existing")); n != 2 {
					t.Fatalf("stream %q holds %d events after a refused append, want 2", "existing", n)
				}
			})
		}
	}},
	{"PositionsGaplessAcrossStreamsInCommitOrder", func(t *testing.T, s eventstore.Store) {
		type step struct {
			stream string
			n      int
		}
		steps := []step{{"a", 1}, {"b", 3}, {"a", 2}, {"c", 1}, {"b", 1}, {"a", 4}}
		type want struct {
			stream   string
			revision uint64
		}
		var expected []want
		revisions := map[string]uint64{}
		next := uint64(1)
		for _, st := range steps {
			res := mustAppend(t, s, st.stream, eventstore.Any, newEvents("Moved", st.n)...)
			if !equalPositions(res.Positions, positionsFrom(next, st.n)) {
				t.Fatalf("append of %d to %q got positions %v, want %v", st.n, st.stream, res.Positions, positionsFrom(next, st.n))
			}
			next += uint64(st.n)
			for range st.n {
				expected = append(expected, want{st.stream, revisions[st.stream]})
				revisions[st.stream]++
			}
			if res.NextRevision != revisions[st.stream]-1 {
				t.Fatalf("append to %q: next revision %d, want %d", st.stream, res.NextRevision, revisions[st.stream]-1)
			}
		}
		all := mustReadAll(t, s)
		if len(all) != len(expected) {
			t.Fatalf("read %d events, want %d", len(all), len(expected))
		}
		for i, e := range all {
			if e.Position != uint64(i)+1 || e.Stream != expected[i].stream || e.Revision != expected[i].revision {
				t.Fatalf("event %d: (pos %d, %q rev %d), want (pos %d, %q rev %d)",
					i, e.Position, e.Stream, e.Revision, i+1, expected[i].stream, expected[i].revision)
			}
		}
		assertHead(t, s, uint64(len(expected)))
	}},
}
