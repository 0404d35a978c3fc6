package sqlite

import "accountd/eventstore"

// Features implements eventstore.Featured. One process writes through one writer, so it
// also knows every stream's committed head.
func (s *Store) Features() eventstore.Features {
	return eventstore.Features{GaplessPositions: true, CommittedHeads: true, HashChain: true, ExactIdempotency: true, HashTree: true}
}
