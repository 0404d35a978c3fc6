package transparency

import (
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Frontier is what a writer needs to extend the tree without reading it: the hashes of
// the complete subtrees on the tree's right edge (at most one per bit of the size). A
// backend keeps one in memory, feeds it each new leaf hash inside the append transaction,
// and stores the hashes it returns with the event (see StoredHashesOf).
type Frontier struct {
	size  int64
	roots []root // left to right, decreasing level
}

type root struct {
	index int64 // tlog stored hash index
	hash  tlog.Hash
}

// Size is the number of leaves the frontier has seen.
func (f *Frontier) Size() int64 { return f.size }

// Append adds the leaf hash of record f.Size() and returns the stored hashes it creates,
// in tlog's order: the leaf's, then one per completed subtree, lowest level first.
func (f *Frontier) Append(leaf tlog.Hash) []tlog.Hash {
	return f.AppendTo(nil, leaf)
}

// AppendTo is Append appending to dst, so a writer can reuse one buffer.
func (f *Frontier) AppendTo(dst []tlog.Hash, leaf tlog.Hash) []tlog.Hash {
	n := f.size
	dst = append(dst, leaf)
	h := leaf
	// Record n completes one subtree per trailing one bit of n: each merges with the
	// rightmost root, which is exactly the complete subtree to its left at that level.
	for level := 0; n>>level&1 == 1; level++ {
		left := f.roots[len(f.roots)-1]
		f.roots = f.roots[:len(f.roots)-1]
		h = tlog.NodeHash(left.hash, h)
		dst = append(dst, h)
	}
	level := bits.TrailingZeros64(^uint64(n))
	f.roots = append(f.roots, root{index: tlog.StoredHashIndex(level, (n+1)>>level-1), hash: h})
	f.size++
	return dst
}

// Snapshot copies the frontier, for a writer that may roll a transaction back.
func (f *Frontier) Snapshot() Frontier {
	return Frontier{size: f.size, roots: append([]root(nil), f.roots...)}
}

// FrontierIndexes are the stored hash indexes a frontier of the given size holds.
func FrontierIndexes(size int64) []int64 {
	var out []int64
	start := int64(0)
	for level := 62; level >= 0; level-- {
		if size&(1<<level) != 0 {
			out = append(out, tlog.StoredHashIndex(level, start>>level))
			start += 1 << level
		}
	}
	return out
}

// LoadFrontier rebuilds the frontier of a tree of the given size from its stored hashes.
func LoadFrontier(size int64, r tlog.HashReader) (Frontier, error) {
	indexes := FrontierIndexes(size)
	hashes, err := r.ReadHashes(indexes)
	if err != nil {
		return Frontier{}, fmt.Errorf("transparency: load tree frontier at size %d: %w", size, err)
	}
	f := Frontier{size: size, roots: make([]root, len(indexes))}
	for i := range indexes {
		f.roots[i] = root{index: indexes[i], hash: hashes[i]}
	}
	return f, nil
}

// Root is the tree hash of the frontier's tree (the RFC 9162 root; for an empty tree,
// SHA-256 of nothing).
func (f *Frontier) Root() tlog.Hash {
	if len(f.roots) == 0 {
		h, _ := tlog.TreeHash(0, nil)
		return h
	}
	h := f.roots[len(f.roots)-1].hash
	for i := len(f.roots) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.roots[i].hash, h)
	}
	return h
}

// RecordOfStoredHash says which record's append created stored hash index, and where
// among that record's stored hashes it sits. A backend that stores each record's hashes
// beside the event (position record+1) reads index there.
func RecordOfStoredHash(index int64) (record int64, offset int) {
	level, n := tlog.SplitStoredHashIndex(index)
	return (n+1)<<level - 1, level
}

// CopyFrom makes f a copy of g, reusing f's memory: a writer saves its frontier before
// each request this way without allocating.
func (f *Frontier) CopyFrom(g *Frontier) {
	f.size = g.size
	f.roots = append(f.roots[:0], g.roots...)
}

// Hashes are the frontier's subtree hashes, in the order of FrontierIndexes(f.Size()): what
// LoadFrontier reads back. An archive keeps them where the log it sealed ends.
func (f *Frontier) Hashes() []tlog.Hash {
	out := make([]tlog.Hash, len(f.roots))
	for i, r := range f.roots {
		out[i] = r.hash
	}
	return out
}
