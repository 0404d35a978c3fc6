package eventstore

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrTreeMismatch: the stored Merkle tree does not match the events it should cover.
var ErrTreeMismatch = errors.New("eventstore: hash tree does not match the log")

// HashTree is implemented by stores that maintain the transparency log's Merkle tree
// (accountd/eventstore/transparency) inside each append's transaction: leaf i is the
// event at position i+1, and the tree's size is always the head position. The hashes are
// tlog's stored hashes, addressed by tlog.StoredHashIndex.
type HashTree interface {
	// ReadTreeHashes returns the stored hashes at the given indexes, in order. An index
	// beyond the committed tree is an error.
	ReadTreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
}

// TreeMismatchError names the first position whose leaf or stored tree hashes do not
// match what is recomputed from the events, or what a signed checkpoint says.
type TreeMismatchError struct {
	Position uint64
	Reason   string
}

func (e *TreeMismatchError) Error() string {
	return fmt.Sprintf("eventstore: hash tree does not match the log at position %d: %s", e.Position, e.Reason)
}

func (e *TreeMismatchError) Is(target error) bool { return target == ErrTreeMismatch }
