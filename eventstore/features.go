package eventstore

import (
	"context"
	"fmt"
)

// Features is what a backend guarantees beyond the Store interface. Each backend declares
// its own (Featured), as watermill's pub/sub backends declare theirs to its universal test
// suite: eventstoretest runs the cases that apply, and the read side measures by them (lag
// in events, EventsBetween) instead of assuming what only some backends give.
type Features struct {
	// GaplessPositions: global positions are 1, 2, 3, ... in commit order, so HeadPosition
	// is the number of events and the difference of two positions counts the events between
	// them. Without it positions only increase (KurrentDB's are byte offsets).
	GaplessPositions bool
	// CommittedHeads: the store implements CommittedHeads.
	CommittedHeads bool
	// HashChain: the store keeps the tamper-evident chain and implements ChainVerifier.
	HashChain bool
	// ExactIdempotency: an event ID already stored, in any stream, sent again in a batch
	// that is not an exact retry of the append that stored it fails with
	// ErrDuplicateEventID. Without it only retries within a stream are recognised.
	ExactIdempotency bool
	// HashTree: the store maintains the transparency log's Merkle tree at append time and
	// implements HashTree.
	HashTree bool
}

// Featured is implemented by every backend: it declares its Features.
type Featured interface {
	Features() Features
}

// FeaturesOf is what s declares, looking through decorators (an Unwrap method). A store
// that declares nothing is taken to guarantee nothing beyond the Store interface.
func FeaturesOf(s Store) Features {
	for s != nil {
		if f, ok := s.(Featured); ok {
			return f.Features()
		}
		u, ok := s.(interface{ Unwrap() Store })
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	return Features{}
}

// EventsBetween counts the events with a position in (after, upTo], counting no further
// than limit (0: no limit): what "lag in events" means on every backend. On a gapless log
// it is the difference of the positions; otherwise the events are read and counted, in
// pages, which costs a read of up to limit events.
func EventsBetween(ctx context.Context, s Store, after, upTo, limit uint64) (uint64, error) {
	if upTo <= after {
		return 0, nil
	}
	if FeaturesOf(s).GaplessPositions {
		n := upTo - after
		if limit > 0 {
			n = min(n, limit)
		}
		return n, nil
	}
	const page = 1024
	var n uint64
	for limit == 0 || n < limit {
		recs, err := s.ReadAll(ctx, after, page)
		if err != nil {
			return n, fmt.Errorf("eventstore: count events after %d: %w", after, err)
		}
		for _, r := range recs {
			if r.Position > upTo || (limit > 0 && n == limit) {
				return n, nil
			}
			n++
		}
		if len(recs) < page {
			return n, nil
		}
		after = recs[len(recs)-1].Position
	}
	return n, nil
}

// As finds the capability T (an optional interface: ChainVerifier, HashTree,
// CommittedHeads...) on s or on a store it decorates (an Unwrap method), as errors.As
// looks through wrapped errors: a decorator need not re-implement every capability to
// keep it reachable.
func As[T any](s Store) (T, bool) {
	for s != nil {
		if c, ok := s.(T); ok {
			return c, true
		}
		u, ok := s.(interface{ Unwrap() Store })
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	var zero T
	return zero, false
}
