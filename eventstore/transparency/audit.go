package transparency

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
)

// auditPage is how many events an Auditor reads at a time.
const auditPage = 4096

// Auditor recomputes the tree from the events themselves and compares every stored hash
// with it, so that an event changed under its stored leaf, a leaf changed under its
// event, or a stored tree rebuilt around a changed event (which no longer matches a
// signed root) is found and named. It holds its own frontier, never the store's.
type Auditor struct {
	store    eventstore.Store
	tree     eventstore.HashTree
	frontier Frontier
	hasher   LeafHasher
	mine     []tlog.Hash
}

// NewAuditor starts an audit at the beginning of the log.
func NewAuditor(s eventstore.Store) (*Auditor, error) {
	t, ok := s.(eventstore.HashTree)
	if !ok {
		return nil, ErrNoHashTree
	}
	return &Auditor{store: s, tree: t}, nil
}

// ResumeAt starts the audit after the first cp.Size events, trusting them because the
// store's tree of that size has the root cp signs. It fails, naming no finer position
// than the checkpoint's size, when the root differs.
func (a *Auditor) ResumeAt(ctx context.Context, cp Checkpoint) error {
	head, err := a.store.HeadPosition(ctx)
	if err != nil {
		return err
	}
	if int64(head) < cp.Size {
		return &eventstore.TreeMismatchError{Position: head + 1,
			Reason: fmt.Sprintf("the log ends at position %d, a signed checkpoint covers %d events: it was truncated", head, cp.Size)}
	}
	f, err := LoadFrontier(cp.Size, Reader(ctx, a.tree))
	if err != nil {
		return err
	}
	if f.Root() != cp.Hash {
		return &eventstore.TreeMismatchError{Position: uint64(cp.Size),
			Reason: fmt.Sprintf("the stored tree of %d events does not have the signed root", cp.Size)}
	}
	a.frontier = f
	return nil
}

// Size is how many events the audit has verified.
func (a *Auditor) Size() int64 { return a.frontier.Size() }

// Root is the root recomputed over the verified events.
func (a *Auditor) Root() tlog.Hash { return a.frontier.Root() }

// Advance verifies events until upTo of them are verified (or the head, when upTo < 0).
// On a mismatch it returns a *eventstore.TreeMismatchError naming the position and
// stays before it.
func (a *Auditor) Advance(ctx context.Context, upTo int64) error {
	head, err := a.store.HeadPosition(ctx)
	if err != nil {
		return err
	}
	if upTo < 0 {
		upTo = int64(head)
	}
	if upTo > int64(head) {
		return &eventstore.TreeMismatchError{Position: head + 1,
			Reason: fmt.Sprintf("the log ends at position %d, %d events were expected: it was truncated", head, upTo)}
	}
	for a.frontier.Size() < upTo {
		from := a.frontier.Size()
		events, err := a.store.ReadAll(ctx, uint64(from), int(min(upTo-from, auditPage)))
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return &eventstore.TreeMismatchError{Position: uint64(from + 1), Reason: "missing from the log"}
		}
		to := from + int64(len(events))
		start := tlog.StoredHashCount(from)
		indexes := make([]int64, tlog.StoredHashCount(to)-start)
		for i := range indexes {
			indexes[i] = start + int64(i)
		}
		stored, err := a.tree.ReadTreeHashes(ctx, indexes)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			stored = nil // some row's hashes are unreadable: read event by event to name it
		}
		for _, e := range events {
			n := a.frontier.Size()
			if e.Position != uint64(n+1) {
				return &eventstore.TreeMismatchError{Position: uint64(n + 1), Reason: fmt.Sprintf("missing: the next stored position is %d", e.Position)}
			}
			snapshot := a.frontier.Snapshot()
			a.mine = a.frontier.AppendTo(a.mine[:0], a.hasher.Hash(e, ViewOf(e.ID, e.Data, e.Metadata)))
			base := tlog.StoredHashCount(n) - start
			own := stored
			if own == nil {
				if own, err = a.tree.ReadTreeHashes(ctx, indexes[base:base+int64(len(a.mine))]); err != nil {
					a.frontier = snapshot
					return &eventstore.TreeMismatchError{Position: e.Position, Reason: fmt.Sprintf("its stored tree hashes cannot be read: %v", err)}
				}
				base = 0
			}
			for i, h := range a.mine {
				if own[base+int64(i)] != h {
					a.frontier = snapshot
					what := "its stored leaf hash differs from the leaf recomputed from the event"
					if i > 0 {
						what = "a stored tree hash completed by it differs from the one recomputed from the events"
					}
					return &eventstore.TreeMismatchError{Position: e.Position, Reason: what}
				}
			}
		}
	}
	return nil
}

// Check compares the recomputed tree with a signed checkpoint, advancing to its size
// first. A checkpoint smaller than what is verified already cannot be checked here.
func (a *Auditor) Check(ctx context.Context, cp Checkpoint) error {
	if cp.Size < a.frontier.Size() {
		return fmt.Errorf("transparency: checkpoint of size %d is behind the audit (%d)", cp.Size, a.frontier.Size())
	}
	if err := a.Advance(ctx, cp.Size); err != nil {
		return err
	}
	if a.frontier.Root() != cp.Hash {
		return &eventstore.TreeMismatchError{Position: uint64(cp.Size),
			Reason: fmt.Sprintf("the events up to position %d, and the stored tree over them, do not have the root the checkpoint of size %d signs: some event at or before it was rewritten", cp.Size, cp.Size)}
	}
	return nil
}
