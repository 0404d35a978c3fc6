// Package eventstoretest is the conformance suite of eventstore.Store backends. It pins the
// semantics the command side relies on (optimistic concurrency, idempotent retries within a
// stream, a commit order, byte-exact round trips) so that a backend that loosens any of them
// fails here rather than in production. What only some backends guarantee (a gapless
// global order, cross-stream ID uniqueness, the hash chain, committed heads) is checked
// where the backend declares it in its eventstore.Features, and skipped, with the feature
// named, where it does not; a declaration is itself checked against what the store does.
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
		{"Tree", treeCases},
	}
	probe := newStore(t)
	features := eventstore.FeaturesOf(probe)
	probe.Close()
	t.Run("Features/DeclaredAsImplemented", func(t *testing.T) { checkDeclared(t, newStore(t), features) })
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					if need, ok := needs[g.name+"/"+tc.name]; ok && !need.has(features) {
						t.Skip("the store does not declare " + need.name)
					}
					tc.run(t, newStore(t))
				})
			}
		})
	}
}

// feature is one field of eventstore.Features, by name.
type feature struct {
	name string
	has  func(eventstore.Features) bool
}

var (
	gapless   = feature{"GaplessPositions", func(f eventstore.Features) bool { return f.GaplessPositions }}
	exactIDs  = feature{"ExactIdempotency", func(f eventstore.Features) bool { return f.ExactIdempotency }}
	hashChain = feature{"HashChain", func(f eventstore.Features) bool { return f.HashChain }}
	heads     = feature{"CommittedHeads", func(f eventstore.Features) bool { return f.CommittedHeads }}
	hashTree  = feature{"HashTree", func(f eventstore.Features) bool { return f.HashTree }}
)

// needs names the cases that assert more than the Store interface promises: positions
// exactly 1..N (or HeadPosition equal to the number of events), an ID unique across
// streams, the chain, the heads.
var needs = map[string]feature{
	"Append/NoStreamCreatesStreamAtRevisionZero":          gapless,
	"Append/AnyOnNewAndExistingStream":                    gapless,
	"Append/Exact":                                        gapless,
	"Append/WrongExpectedVersionWritesNothing":            gapless,
	"Append/PositionsGaplessAcrossStreamsInCommitOrder":   gapless,
	"Read/StreamFromRevisionWithLimit":                    gapless,
	"Read/AllAfterPositionWithLimit":                      gapless,
	"Concurrency/OneStreamEachRevisionHasOneWinner":       gapless,
	"Concurrency/DistinctStreamsAllSucceedGapless":        gapless,
	"RoundTrip/LargeBatch":                                gapless,
	"RoundTrip/MebibytePayloads":                          gapless,
	"RoundTrip/UnicodeAndBinary":                          gapless,
	"Context/CancelledContextFailsAndWritesNothing":       gapless,
	"Changes/FollowDeliversEveryEventOnceInOrder":         gapless,
	"Changes/FollowFromPositionAndHandlerError":           gapless,
	"Idempotency/RetryReturnsFirstResultAndWritesNothing": gapless,
	"Idempotency/StoredIDMixedWithNewFails":               exactIDs,
	"Idempotency/IDStoredInAnotherStreamFails":            exactIDs,
	"Chain/VerifyEmpty":                                   hashChain,
	"Chain/EveryHashLinksToThePrevious":                   hashChain,
	"Heads/CommittedRevisionFollowsTheLog":                heads,
}

// checkDeclared fails when a declared feature's interface is missing, or an implemented one
// is not declared, and checks EventsBetween (lag in events) against a count of the log.
func checkDeclared(t *testing.T, s eventstore.Store, f eventstore.Features) {
	_, chain := s.(eventstore.ChainVerifier)
	_, committed := s.(eventstore.CommittedHeads)
	_, tree := s.(eventstore.HashTree)
	if chain != f.HashChain || committed != f.CommittedHeads || tree != f.HashTree {
		t.Fatalf("declares HashChain %v, CommittedHeads %v, HashTree %v; implements ChainVerifier %v, CommittedHeads %v, HashTree %v",
			f.HashChain, f.CommittedHeads, f.HashTree, chain, committed, tree)
	}
	for i := range 5 {
		mustAppend(t, s, []string{"a", "b"}[i%2], eventstore.Any, newEvent("Moved"), newEvent("Moved"))
	}
	all, err := s.ReadAll(t.Context(), 0, 100)
	if err != nil || len(all) != 10 {
		t.Fatalf("read all: %d events, %v", len(all), err)
	}
	cases := []struct {
		name             string
		after, upTo, lim uint64
		want             uint64
	}{
		{"whole log", 0, all[9].Position, 0, 10},
		{"from the third event", all[2].Position, all[9].Position, 0, 7},
		{"bounded", 0, all[9].Position, 4, 4},
		{"up to the fifth event", all[0].Position, all[4].Position, 0, 4},
		{"empty range", all[5].Position, all[5].Position, 0, 0},
	}
	// undeclared hides the features, so the counting path is checked on every backend too.
	for _, store := range []eventstore.Store{s, undeclared{s}} {
		for _, c := range cases {
			if n, err := eventstore.EventsBetween(t.Context(), store, c.after, c.upTo, c.lim); err != nil || n != c.want {
				t.Errorf("EventsBetween %s (features %+v) = %d, %v; want %d", c.name, eventstore.FeaturesOf(store), n, err, c.want)
			}
		}
	}
	if head, err := s.HeadPosition(t.Context()); err != nil || head != all[9].Position {
		t.Fatalf("head %d, %v; want the last event's position %d", head, err, all[9].Position)
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

// undeclared is a store that declares no feature.
type undeclared struct{ eventstore.Store }
