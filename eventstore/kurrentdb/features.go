package kurrentdb

import "accountd/eventstore"

// Features implements eventstore.Featured: positions are byte offsets, no hash chain, and
// IDs are deduplicated within a stream only (see the package comment).
func (s *Store) Features() eventstore.Features {
	return eventstore.Features{GaplessPositions: false, CommittedHeads: false, HashChain: false, ExactIdempotency: false, HashTree: false}
}
