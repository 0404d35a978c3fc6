package eventstoretest

import (
	"errors"
	"testing"

	"accountd/eventstore"
)

var closeCases = []testCase{
	{"AppendAfterCloseFails", func(t *testing.T, s eventstore.Store) {
		mustAppend(t, s, "acct", eventstore.NoStream, newEvent("Opened"))
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if _, err := s.Append(t.Context(), "acct", eventstore.Any, newEvent("Deposited")); !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("append after close: got %v, want ErrClosed", err)
		}
	}},
}
