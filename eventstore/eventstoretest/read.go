package eventstoretest

import (
	"errors"
	"testing"

	"accountd/eventstore"
)

var readCases = []testCase{
	{"EmptyStore", func(t *testing.T, s eventstore.Store) {
		assertHead(t, s, 0)
		all, err := s.ReadAll(t.Context(), 0, 10)
		if err != nil || len(all) != 0 {
			t.Fatalf("read all of an empty store: %d events, %v", len(all), err)
		}
		if _, err := s.ReadStream(t.Context(), "absent", 0, 10); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Fatalf("read of an absent stream: got %v, want ErrStreamNotFound", err)
		}
	}},
	{"StreamFromRevisionWithLimit", func(t *testing.T, s eventstore.Store) {
		sent := newEvents("Deposited", 10)
		mustAppend(t, s, "other", eventstore.NoStream, newEvent("Opened"))
		mustAppend(t, s, "acct", eventstore.NoStream, sent...) // positions 2..11
		got, err := s.ReadStream(t.Context(), "acct", 3, 4)
		if err != nil {
			t.Fatal(err)
		}
		assertRecorded(t, got, "acct", sent[3:7], 3, positionsFrom(5, 4))

		got, err = s.ReadStream(t.Context(), "acct", 8, 10)
		if err != nil {
			t.Fatal(err)
		}
		assertRecorded(t, got, "acct", sent[8:], 8, positionsFrom(10, 2))

		got, err = s.ReadStream(t.Context(), "acct", 10, 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("read past the end of a stream: %d events, %v; want none and no error", len(got), err)
		}
		if _, err := s.ReadStream(t.Context(), "absent", 0, 10); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Fatalf("read of an absent stream: got %v, want ErrStreamNotFound", err)
		}
	}},
	{"AllAfterPositionWithLimit", func(t *testing.T, s eventstore.Store) {
		for i := range 10 {
			mustAppend(t, s, []string{"a", "b", "c"}[i%3], eventstore.Any, newEvent("Moved"))
		}
		cases := []struct {
			after     uint64
			limit     int
			wantFirst uint64
			wantN     int
		}{
			{0, 3, 1, 3},
			{3, 100, 4, 7},
			{9, 5, 10, 1},
			{10, 5, 0, 0},
			{42, 5, 0, 0},
		}
		for _, c := range cases {
			got, err := s.ReadAll(t.Context(), c.after, c.limit)
			if err != nil {
				t.Fatalf("read all after %d limit %d: %v", c.after, c.limit, err)
			}
			if len(got) != c.wantN {
				t.Fatalf("read all after %d limit %d: %d events, want %d", c.after, c.limit, len(got), c.wantN)
			}
			for i, e := range got {
				if e.Position != c.wantFirst+uint64(i) {
					t.Fatalf("read all after %d: event %d at position %d, want %d", c.after, i, e.Position, c.wantFirst+uint64(i))
				}
			}
		}
		assertHead(t, s, 10)
	}},
}
