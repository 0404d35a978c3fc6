package eventstoretest

import (
	"errors"
	"testing"

	"accountd/eventstore"
)

var idempotencyCases = []testCase{
	{"RetryReturnsFirstResultAndWritesNothing", func(t *testing.T, s eventstore.Store) {
		batch := newEvents("Opened", 2)
		first := mustAppend(t, s, "acct", eventstore.NoStream, batch...)
		single := newEvent("Deposited")
		second := mustAppend(t, s, "acct", eventstore.Exact(1), single)
		mustAppend(t, s, "other", eventstore.NoStream, newEvent("Opened"))

		retries := []struct {
			name     string
			expected eventstore.ExpectedRevision
			events   []eventstore.EventData
			want     eventstore.AppendResult
		}{
			// The stream has moved on since: the expectation would now fail, yet a retry
			// must still be recognised, as EventStoreDB does.
			{"SameExpectation", eventstore.NoStream, batch, first},
			{"AnyExpectation", eventstore.Any, batch, first},
			{"NowWrongExact", eventstore.Exact(7), batch, first},
			{"SingleEvent", eventstore.Exact(1), []eventstore.EventData{single}, second},
		}
		for _, r := range retries {
			t.Run(r.name, func(t *testing.T) {
				res, err := s.Append(t.Context(), "acct", r.expected, r.events...)
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				if res.NextRevision != r.want.NextRevision || !equalPositions(res.Positions, r.want.Positions) {
					t.Fatalf("retry returned %+v, want the first result %+v", res, r.want)
				}
				assertHead(t, s, 4)
				if n := len(mustReadStream(t, s, "acct")); n != 3 {
					t.Fatalf("stream holds %d events after a retry, want 3", n)
				}
			})
		}
	}},
	{"StoredIDMixedWithNewFails", func(t *testing.T, s eventstore.Store) {
		batch := newEvents("Opened", 2)
		mustAppend(t, s, "acct", eventstore.NoStream, batch...)
		cases := []struct {
			name   string
			events []eventstore.EventData
		}{
			{"StoredThenNew", []eventstore.EventData{batch[0], newEvent("Deposited")}},
			{"NewThenStored", []eventstore.EventData{newEvent("Deposited"), batch[1]}},
			{"AllStoredReordered", []eventstore.EventData{batch[1], batch[0]}},
			{"StoredPlusMore", []eventstore.EventData{batch[0], batch[1], newEvent("Deposited")}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.Append(t.Context(), "acct", eventstore.Any, c.events...)
				if !errors.Is(err, eventstore.ErrDuplicateEventID) {
					t.Fatalf("got %v, want ErrDuplicateEventID", err)
				}
				assertHead(t, s, 2)
			})
		}
	}},
	{"IDStoredInAnotherStreamFails", func(t *testing.T, s eventstore.Store) {
		e := newEvent("Opened")
		mustAppend(t, s, "acct-1", eventstore.NoStream, e)
		for _, expected := range []eventstore.ExpectedRevision{eventstore.NoStream, eventstore.Any} {
			_, err := s.Append(t.Context(), "acct-2", expected, e)
			if !errors.Is(err, eventstore.ErrDuplicateEventID) {
				t.Fatalf("expecting %s: got %v, want ErrDuplicateEventID", expected, err)
			}
		}
		assertHead(t, s, 1)
		if _, err := s.ReadStream(t.Context(), "acct-2", 0, 10); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Fatalf("a refused append created the stream: %v", err)
		}
	}},
}
