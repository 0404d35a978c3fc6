package sqlite

import (
	"context"
	"fmt"

	"accountd/eventstore"
)

// verifyPage bounds each read transaction of VerifyChain, so that verifying a large log
// does not hold one WAL snapshot open for the whole walk (which would stop checkpoints).
const verifyPage = 4096

// VerifyChain implements eventstore.ChainVerifier: it walks the whole log in position
// order, recomputing every hash from the previous one, and stops at the first event that
// is missing, undecodable or whose stored hash differs.
//
// The chain proves that no event before the returned head was altered, inserted or
// removed; it cannot tell that events after it were dropped. Compare the head with one
// recorded elsewhere to cover that.
func (s *Store) VerifyChain(ctx context.Context) (eventstore.ChainHead, error) {
	var head eventstore.ChainHead
	var hasher eventstore.ChainHasher
	for {
		s.arch.mu.RLock()
		var n int
		var err error
		live := head.Position >= s.arch.through
		if !live {
			// The archived part, a segment per step; VerifyArchive checks the segments'
			// own hashes and signatures too.
			n, err = s.verifyArchived(&head, &hasher)
		} else {
			n, err = s.verifyPage(ctx, &head, &hasher)
		}
		s.arch.mu.RUnlock()
		if err != nil {
			return head, err
		}
		if live && n < verifyPage {
			return head, nil
		}
	}
}

// verifyArchived recomputes the chain over the archived segment after head. The caller
// holds arch.mu shared.
func (s *Store) verifyArchived(head *eventstore.ChainHead, hasher *eventstore.ChainHasher) (int, error) {
	c, err := s.block(head.Position + 1)
	if err != nil {
		return 0, &eventstore.ChainBrokenError{Position: head.Position + 1, Reason: fmt.Sprintf("archived event unreadable: %v", err)}
	}
	n := 0
	for _, e := range c.events[head.Position+1-c.first:] {
		n++
		if hasher.Hash(head.Hash, e) != e.Hash {
			return n, &eventstore.ChainBrokenError{Position: e.Position, Reason: "archived: stored hash differs from the hash recomputed from the event"}
		}
		*head = eventstore.ChainHead{Position: e.Position, Hash: e.Hash, Events: head.Events + 1}
	}
	return n, nil
}

func (s *Store) verifyPage(ctx context.Context, head *eventstore.ChainHead, hasher *eventstore.ChainHasher) (int, error) {
	if s.closed() {
		return 0, fmt.Errorf("sqlite: verify chain: %w", eventstore.ErrClosed)
	}
	rows, err := s.reads.all.QueryContext(ctx, clampInt64(head.Position), int64(s.durable.Load()))
	if err != nil {
		return 0, fmt.Errorf("sqlite: verify chain after %d: %w", head.Position, s.readErr(err))
	}
	defer rows.Close()
	n := 0
	var row eventRow
	for n < verifyPage && rows.Next() {
		n++
		want := head.Position + 1
		e, err := row.scan(rows)
		if err != nil {
			return n, &eventstore.ChainBrokenError{Position: want, Reason: fmt.Sprintf("row cannot be decoded: %v", err)}
		}
		if e.Position != want {
			return n, &eventstore.ChainBrokenError{Position: want, Reason: fmt.Sprintf("missing: the next stored position is %d", e.Position)}
		}
		if hasher.Hash(head.Hash, e) != e.Hash {
			return n, &eventstore.ChainBrokenError{Position: want, Reason: "stored hash differs from the hash recomputed from the event"}
		}
		*head = eventstore.ChainHead{Position: e.Position, Hash: e.Hash, Events: head.Events + 1}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("sqlite: verify chain after %d: %w", head.Position, s.readErr(err))
	}
	return n, nil
}
