package postgres_test

import (
	"fmt"
	"testing"

	"accountd/eventstore"
	"accountd/eventstore/postgres"
	"accountd/eventstore/transparency"
)

// Two nodes appending in turn to one log: each must pick the tree up where the other left it.
func TestTreeAcrossTwoNodes(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	a, b := open(t, url, schema), open(t, url, schema)
	for i := range 21 {
		s := []*postgres.Store{a, b}[i%3%2]
		if _, err := s.Append(t.Context(), "acct", eventstore.Any, event(fmt.Sprintf(`{"n":%d,"ip":"192.0.2.1"}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*postgres.Store{a, b} {
		au, err := transparency.NewAuditor(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := au.Advance(t.Context(), -1); err != nil || au.Size() != 21 {
			t.Fatalf("audit after two writers: %v (size %d)", err, au.Size())
		}
	}
}
