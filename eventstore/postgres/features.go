package postgres

import "accountd/eventstore"

// Features implements eventstore.Featured. Several processes write, so no one of them
// knows the committed heads without a read.
func (s *Store) Features() eventstore.Features {
	return eventstore.Features{GaplessPositions: true, CommittedHeads: false, HashChain: true, ExactIdempotency: true, HashTree: true}
}
