package evidence

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
)

// memoTree remembers the stored hashes it has read. The proofs of one export are all in
// one tree and share most of their upper nodes: reading each hash once instead of once
// per proof took an 85,000-event export from 39 s to a few.
type memoTree struct {
	tree   eventstore.HashTree
	hashes map[int64]tlog.Hash
}

func (m *memoTree) ReadTreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	var missing []int64
	for _, x := range indexes {
		if _, ok := m.hashes[x]; !ok {
			missing = append(missing, x)
		}
	}
	if len(missing) > 0 {
		read, err := m.tree.ReadTreeHashes(ctx, missing)
		if err != nil {
			return nil, err
		}
		for i, x := range missing {
			m.hashes[x] = read[i]
		}
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = m.hashes[x]
	}
	return out, nil
}
