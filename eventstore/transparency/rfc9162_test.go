package transparency_test

import (
	"crypto/sha256"
	"testing"

	"github.com/google/uuid"

	"accountd/eventstore"
	"accountd/eventstore/memory"
	"accountd/eventstore/transparency"
)

// This file checks the proofs with code written from RFC 9162 (sections 2.1.1, 2.1.3.2
// and 2.1.4.2), sharing nothing with golang.org/x/mod/sumdb/tlog.

type digest = [32]byte

func rfcLeaf(leaf []byte) digest { return sha256.Sum256(append([]byte{0x00}, leaf...)) }

func rfcNode(l, r digest) digest {
	return sha256.Sum256(append(append([]byte{0x01}, l[:]...), r[:]...))
}

// rfcMTH is MTH(D[n]) of section 2.1.1.
func rfcMTH(leaves []digest) digest {
	switch n := len(leaves); n {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		return rfcNode(rfcMTH(leaves[:k]), rfcMTH(leaves[k:]))
	}
}

// rfcVerifyInclusion is the algorithm of section 2.1.3.2.
func rfcVerifyInclusion(leafIndex, treeSize uint64, leafHash digest, path []digest, root digest) bool {
	if leafIndex >= treeSize {
		return false
	}
	fn, sn := leafIndex, treeSize-1
	r := leafHash
	for _, p := range path {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			r = rfcNode(p, r)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = rfcNode(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	return sn == 0 && r == root
}

// rfcVerifyConsistency is the algorithm of section 2.1.4.2, for 0 < first < second.
func rfcVerifyConsistency(first, second uint64, firstHash, secondHash digest, path []digest) bool {
	if len(path) == 0 || first == 0 || first >= second {
		return false
	}
	if first&(first-1) == 0 {
		path = append([]digest{firstHash}, path...)
	}
	fn, sn := first-1, second-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := path[0], path[0]
	for _, c := range path[1:] {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			fr = rfcNode(c, fr)
			sr = rfcNode(c, sr)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			sr = rfcNode(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	return fr == firstHash && sr == secondHash && sn == 0
}

func digests[T ~[32]byte](hs []T) []digest {
	out := make([]digest, len(hs))
	for i, h := range hs {
		out[i] = digest(h)
	}
	return out
}

func TestProofsFollowRFC9162(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	const n = 37
	var leaves []digest
	for i := range n {
		_, err := s.Append(ctx, "s", eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "T",
			Data: []byte(`{"email":"a@example.com","i":` + string(rune('0'+i%10)) + `}`)})
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ReadAll(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		leaves = append(leaves, rfcLeaf(transparency.LeafBytes(e)))
	}
	tr, err := transparency.NewTree(s)
	if err != nil {
		t.Fatal(err)
	}
	for size := int64(1); size <= n; size++ {
		root, err := tr.Root(ctx, size)
		if err != nil {
			t.Fatal(err)
		}
		if want := rfcMTH(leaves[:size]); digest(root) != want {
			t.Fatalf("root of %d: %x, RFC 9162 MTH gives %x", size, root, want)
		}
		for pos := int64(1); pos <= size; pos++ {
			p, err := tr.ProveInclusion(ctx, pos, size)
			if err != nil {
				t.Fatal(err)
			}
			if digest(p.LeafHash) != leaves[pos-1] {
				t.Fatalf("leaf hash of %d differs from SHA-256(0x00 || leaf bytes)", pos)
			}
			path := digests(p.Proof)
			if !rfcVerifyInclusion(uint64(pos-1), uint64(size), leaves[pos-1], path, digest(root)) {
				t.Fatalf("inclusion of %d in %d fails the RFC 9162 check", pos, size)
			}
			if len(path) > 0 {
				path[len(path)/2][0] ^= 1
				if rfcVerifyInclusion(uint64(pos-1), uint64(size), leaves[pos-1], path, digest(root)) {
					t.Fatalf("a corrupted inclusion proof of %d in %d passes", pos, size)
				}
			}
		}
		for from := int64(1); from < size; from++ {
			c, err := tr.ProveConsistency(ctx, from, size)
			if err != nil {
				t.Fatal(err)
			}
			old := rfcMTH(leaves[:from])
			path := digests(c.Proof)
			if !rfcVerifyConsistency(uint64(from), uint64(size), old, digest(root), path) {
				t.Fatalf("consistency %d..%d fails the RFC 9162 check", from, size)
			}
			wrong := old
			wrong[0] ^= 1
			if rfcVerifyConsistency(uint64(from), uint64(size), wrong, digest(root), path) {
				t.Fatalf("consistency %d..%d passes for a different old root", from, size)
			}
		}
	}
}
