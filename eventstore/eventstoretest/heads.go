package eventstoretest

import (
	"errors"
	"testing"

	"accountd/eventstore"
)

var headsCases = []testCase{
	{"CommittedRevisionFollowsTheLog", func(t *testing.T, s eventstore.Store) {
		h, ok := s.(eventstore.CommittedHeads)
		if !ok {
			t.Skip("the store does not report committed heads")
		}
		check := func(stream string, wantRev uint64, wantExists bool) {
			t.Helper()
			rev, exists := h.CommittedRevision(stream)
			if exists != wantExists || exists && rev != wantRev {
				t.Fatalf("CommittedRevision(%q) = %d, %v; want %d, %v", stream, rev, exists, wantRev, wantExists)
			}
		}
		check("acct", 0, false)
		// Asked before the stream exists and again after: a remembered absence must not
		// outlive the first append.
		first := newEvents("Opened", 2)
		mustAppend(t, s, "acct", eventstore.NoStream, first...)
		check("acct", 1, true)
		mustAppend(t, s, "acct", eventstore.Exact(1), newEvent("Deposited"))
		check("acct", 2, true)

		if _, err := s.Append(t.Context(), "acct", eventstore.Exact(0), newEvent("Deposited")); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			t.Fatalf("stale append: %v", err)
		}
		mustAppend(t, s, "acct", eventstore.NoStream, first...) // a retry: nothing new
		check("acct", 2, true)
		check("other", 0, false)
	}},
}
