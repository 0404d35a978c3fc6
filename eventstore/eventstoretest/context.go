package eventstoretest

import (
	"context"
	"errors"
	"testing"

	"accountd/eventstore"
)

var contextCases = []testCase{
	{"CancelledContextFailsAndWritesNothing", func(t *testing.T, s eventstore.Store) {
		mustAppend(t, s, "acct", eventstore.NoStream, newEvent("Opened"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Append(ctx, "acct", eventstore.Any, newEvent("Deposited")); !errors.Is(err, context.Canceled) {
			t.Fatalf("append: got %v, want context.Canceled", err)
		}
		if _, err := s.Append(ctx, "new", eventstore.NoStream, newEvent("Opened")); !errors.Is(err, context.Canceled) {
			t.Fatalf("append: got %v, want context.Canceled", err)
		}
		if _, err := s.ReadAll(ctx, 0, 10); !errors.Is(err, context.Canceled) {
			t.Fatalf("read all: got %v, want context.Canceled", err)
		}
		if _, err := s.ReadStream(ctx, "acct", 0, 10); !errors.Is(err, context.Canceled) {
			t.Fatalf("read stream: got %v, want context.Canceled", err)
		}
		assertHead(t, s, 1)
		if _, err := s.ReadStream(t.Context(), "new", 0, 10); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Fatalf("a cancelled append created its stream: %v", err)
		}
	}},
}
