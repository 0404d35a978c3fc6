package memory

import "accountd/eventstore"

// Features implements eventstore.Featured: the reference backend guarantees everything.
func (s *Store) Features() eventstore.Features {
	return eventstore.Features{GaplessPositions: true, CommittedHeads: true, HashChain: true, ExactIdempotency: true, HashTree: true}
}
