package transparency

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
)

// Errors of the proof functions; the HTTP layer maps them to stable codes.
var (
	// ErrNoHashTree: the store does not maintain a Merkle tree.
	ErrNoHashTree = errors.New("transparency: the store keeps no hash tree")
	// ErrBeyondTree: a position or tree size past the committed log, or a position
	// outside the tree it is asked about.
	ErrBeyondTree = errors.New("transparency: beyond the tree")
)

// Reader adapts a store's tree to tlog.HashReader for the length of one call.
func Reader(ctx context.Context, t eventstore.HashTree) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		return t.ReadTreeHashes(ctx, indexes)
	})
}

// Tree is a view of a store's Merkle tree for proofs.
type Tree struct {
	Store eventstore.Store
	Tree  eventstore.HashTree
}

// NewTree returns the tree of s, or ErrNoHashTree.
func NewTree(s eventstore.Store) (Tree, error) {
	t, ok := s.(eventstore.HashTree)
	if !ok {
		return Tree{}, ErrNoHashTree
	}
	return Tree{Store: s, Tree: t}, nil
}

// Size is the committed tree size (the head position).
func (t Tree) Size(ctx context.Context) (int64, error) {
	head, err := t.Store.HeadPosition(ctx)
	return int64(head), err
}

func (t Tree) checkSize(ctx context.Context, size int64) error {
	head, err := t.Size(ctx)
	if err != nil {
		return err
	}
	if size < 0 || size > head {
		return fmt.Errorf("%w: tree size %d, the log holds %d events", ErrBeyondTree, size, head)
	}
	return nil
}

// Root is the RFC 9162 root hash of the tree's first size leaves.
func (t Tree) Root(ctx context.Context, size int64) (tlog.Hash, error) {
	if err := t.checkSize(ctx, size); err != nil {
		return tlog.Hash{}, err
	}
	return tlog.TreeHash(size, Reader(ctx, t.Tree))
}

// LeafHash is the stored leaf hash of the event at position.
func (t Tree) LeafHash(ctx context.Context, position int64) (tlog.Hash, error) {
	if err := t.checkSize(ctx, position); err != nil || position < 1 {
		return tlog.Hash{}, errors.Join(err, positionError(position))
	}
	h, err := t.Tree.ReadTreeHashes(ctx, []int64{tlog.StoredHashIndex(0, position-1)})
	if err != nil {
		return tlog.Hash{}, err
	}
	return h[0], nil
}

func positionError(position int64) error {
	if position < 1 {
		return fmt.Errorf("%w: positions start at 1, got %d", ErrBeyondTree, position)
	}
	return nil
}

// InclusionProof is the RFC 9162 audit path of the event at position (leaf index
// position-1) in the tree of size treeSize, with that leaf's hash.
type InclusionProof struct {
	Position int64
	TreeSize int64
	LeafHash tlog.Hash
	Proof    []tlog.Hash
}

// ProveInclusion builds the inclusion proof of position in the tree of size treeSize.
func (t Tree) ProveInclusion(ctx context.Context, position, treeSize int64) (InclusionProof, error) {
	if position < 1 || position > treeSize {
		return InclusionProof{}, fmt.Errorf("%w: position %d is not in a tree of size %d", ErrBeyondTree, position, treeSize)
	}
	if err := t.checkSize(ctx, treeSize); err != nil {
		return InclusionProof{}, err
	}
	leaf, err := t.LeafHash(ctx, position)
	if err != nil {
		return InclusionProof{}, err
	}
	p, err := tlog.ProveRecord(treeSize, position-1, Reader(ctx, t.Tree))
	if err != nil {
		return InclusionProof{}, fmt.Errorf("transparency: prove inclusion of %d in %d: %w", position, treeSize, err)
	}
	return InclusionProof{Position: position, TreeSize: treeSize, LeafHash: leaf, Proof: p}, nil
}

// ConsistencyProof is the RFC 9162 proof that the tree of size To extends the tree of
// size From.
type ConsistencyProof struct {
	From, To int64
	Proof    []tlog.Hash
}

// ProveConsistency builds the consistency proof between two tree sizes.
func (t Tree) ProveConsistency(ctx context.Context, from, to int64) (ConsistencyProof, error) {
	if from < 0 || from > to {
		return ConsistencyProof{}, fmt.Errorf("%w: from %d must be between 0 and to %d", ErrBeyondTree, from, to)
	}
	if err := t.checkSize(ctx, to); err != nil {
		return ConsistencyProof{}, err
	}
	if from == 0 || from == to {
		return ConsistencyProof{From: from, To: to}, nil
	}
	p, err := tlog.ProveTree(to, from, Reader(ctx, t.Tree))
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("transparency: prove consistency %d..%d: %w", from, to, err)
	}
	return ConsistencyProof{From: from, To: to, Proof: p}, nil
}

// VerifyInclusion checks an inclusion proof against the root of its tree.
func VerifyInclusion(p InclusionProof, root tlog.Hash) error {
	if p.Position < 1 {
		return positionError(p.Position)
	}
	return tlog.CheckRecord(p.Proof, p.TreeSize, root, p.Position-1, p.LeafHash)
}

// VerifyConsistency checks that the tree with root toRoot extends the one with fromRoot.
func VerifyConsistency(p ConsistencyProof, fromRoot, toRoot tlog.Hash) error {
	switch {
	case p.From == 0:
		return nil
	case p.From == p.To:
		if fromRoot != toRoot {
			return fmt.Errorf("transparency: two different roots for tree size %d", p.From)
		}
		return nil
	}
	return tlog.CheckTree(p.Proof, p.To, toRoot, p.From, fromRoot)
}
