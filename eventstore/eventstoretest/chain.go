package eventstoretest

import (
	"testing"

	"accountd/eventstore"
)

var chainCases = []testCase{
	{"VerifyEmpty", func(t *testing.T, s eventstore.Store) {
		v := verifier(t, s)
		head, err := v.VerifyChain(t.Context())
		if err != nil || head != (eventstore.ChainHead{}) {
			t.Fatalf("verify an empty log: %+v, %v; want the zero head", head, err)
		}
	}},
	{"EveryHashLinksToThePrevious", func(t *testing.T, s eventstore.Store) {
		v := verifier(t, s)
		mustAppend(t, s, "a", eventstore.NoStream, newEvents("Opened", 3)...)
		mustAppend(t, s, "b", eventstore.NoStream, newEvent("Opened"))
		mustAppend(t, s, "a", eventstore.Exact(2), newEvents("Deposited", 2)...)
		all := mustReadAll(t, s)
		var prev [32]byte
		for _, e := range all {
			if want := eventstore.ChainHash(prev, e); e.Hash != want {
				t.Fatalf("position %d: stored hash %x, recomputed from the event as read %x", e.Position, e.Hash, want)
			}
			prev = e.Hash
		}
		head, err := v.VerifyChain(t.Context())
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		want := eventstore.ChainHead{Position: mustHead(t, s), Hash: all[len(all)-1].Hash, Events: uint64(len(all))}
		if head != want {
			t.Fatalf("verify returned %+v, want %+v", head, want)
		}
	}},
}

func verifier(t *testing.T, s eventstore.Store) eventstore.ChainVerifier {
	t.Helper()
	v, ok := s.(eventstore.ChainVerifier)
	if !ok {
		t.Skip("the store keeps no hash chain")
	}
	return v
}
