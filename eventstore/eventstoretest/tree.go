package eventstoretest

import (
	"testing"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

var treeCases = []testCase{
	{"StoredHashesAreTlogsOverTheLeaves", func(t *testing.T, s eventstore.Store) {
		tree := s.(eventstore.HashTree)
		mustAppend(t, s, "a", eventstore.NoStream, newEvents("Opened", 5)...)
		for i := range 6 {
			mustAppend(t, s, "b", eventstore.Any, newEvent("Deposited"))
			if i%2 == 0 {
				mustAppend(t, s, "c", eventstore.Any, personal(i))
			}
		}
		all := mustReadAll(t, s)
		var want []tlog.Hash
		reader := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(ix))
			for i, x := range ix {
				out[i] = want[x]
			}
			return out, nil
		})
		for i, e := range all {
			hs, err := tlog.StoredHashes(int64(i), transparency.LeafBytes(e), reader)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, hs...)
		}
		indexes := make([]int64, len(want))
		for i := range indexes {
			indexes[i] = int64(i)
		}
		got, err := tree.ReadTreeHashes(t.Context(), indexes)
		if err != nil {
			t.Fatalf("read %d stored hashes: %v", len(indexes), err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("stored hash %d = %x, tlog over the leaf bytes gives %x", i, got[i], want[i])
			}
		}
		if _, err := tree.ReadTreeHashes(t.Context(), []int64{int64(len(want))}); err == nil {
			t.Fatalf("reading stored hash %d of a tree holding %d succeeded", len(want), len(want))
		}
	}},
	{"ProofsVerifyAgainstTheRoot", func(t *testing.T, s eventstore.Store) {
		mustAppend(t, s, "a", eventstore.NoStream, newEvents("Opened", 13)...)
		tr, err := transparency.NewTree(s)
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		for _, size := range []int64{1, 2, 7, 8, 13} {
			root, err := tr.Root(ctx, size)
			if err != nil {
				t.Fatal(err)
			}
			for pos := int64(1); pos <= size; pos++ {
				p, err := tr.ProveInclusion(ctx, pos, size)
				if err != nil {
					t.Fatalf("prove %d in %d: %v", pos, size, err)
				}
				if err := transparency.VerifyInclusion(p, root); err != nil {
					t.Fatalf("inclusion of %d in %d: %v", pos, size, err)
				}
			}
			old, _ := tr.Root(ctx, size/2+1)
			c, err := tr.ProveConsistency(ctx, size/2+1, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := transparency.VerifyConsistency(c, old, root); err != nil {
				t.Fatalf("consistency %d..%d: %v", size/2+1, size, err)
			}
		}
		if _, err := tr.ProveInclusion(ctx, 14, 14); err == nil {
			t.Fatal("proved inclusion in a tree larger than the log")
		}
	}},
	{"RefusedAppendsLeaveTheTreeAlone", func(t *testing.T, s eventstore.Store) {
		mustAppend(t, s, "a", eventstore.NoStream, newEvents("Opened", 3)...)
		tr, _ := transparency.NewTree(s)
		before, _ := tr.Root(t.Context(), 3)
		if _, err := s.Append(t.Context(), "a", eventstore.NoStream, newEvents("Opened", 2)...); err == nil {
			t.Fatal("append with a wrong expected revision succeeded")
		}
		mustAppend(t, s, "b", eventstore.NoStream, newEvent("Opened"))
		a, err := transparency.NewAuditor(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Advance(t.Context(), -1); err != nil {
			t.Fatalf("audit after a refused append: %v", err)
		}
		if err := a.Check(t.Context(), transparency.Checkpoint{Size: 3, Hash: before}); err == nil {
			// the audit is past size 3 already; checking an older root needs a fresh audit
			t.Fatal("checking a checkpoint behind the audit succeeded")
		}
	}},
}

// personal is an event carrying personal data, whose leaf must commit to it.
func personal(i int) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "LoginSucceeded",
		Data: []byte(`{"origin":{"ip":"192.0.2.` + string(rune('0'+i)) + `","user_agent":"Firefox"},"password_hash":"$argon2id$x"}`)}
}

// Every tree case needs the tree.
func init() {
	for _, tc := range treeCases {
		needs["Tree/"+tc.name] = hashTree
	}
}
