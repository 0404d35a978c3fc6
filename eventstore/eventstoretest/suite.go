// Package eventstoretest is the conformance suite every eventstore.Store backend must pass.
// It pins the semantics the command side relies on (optimistic concurrency, idempotent
// retries, a gapless global order, byte-exact round trips) so that a backend that loosens
// any of them fails here rather than in production.
package eventstoretest

import (
	"testing"

	"accountd/eventstore"
)

// Test runs the suite. newStore must return a fresh, empty store for every call and
// should register its Close with t.Cleanup; Close is also called by the suite itself, so
// a second Close must be harmless.
func Test(t *testing.T, newStore func(t *testing.T) eventstore.Store) {
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Append", appendCases},
		{"Read", readCases},
		{"Concurrency", concurrencyCases},
		{"Idempotency", idempotencyCases},
		{"Invalid", invalidCases},
		{"RoundTrip", roundTripCases},
		{"Context", contextCases},
		{"Changes", changesCases},
		{"Chain", chainCases},
		{"Heads", headsCases},
		{"Close", closeCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newStore(t))
				})
			}
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, s eventstore.Store)
}

// scale keeps the suite quick under -short (and therefore under -race in CI) while the
// full run still pushes enough concurrency through a backend to expose a lost update.
func scale(full, short int) int {
	if testing.Short() {
		return short
	}
	return full
}
