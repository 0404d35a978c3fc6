// Package memory is an in-process eventstore.Store with the same semantics as the durable
// backends (expected revisions, idempotent retries, gapless global positions, the hash
// chain), so the command side can be unit-tested fast and without a disk. Nothing survives
// the process.
package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// Option configures a Store.
type Option func(*Store)

// WithClock sets the source of RecordedAt, so tests can pin timestamps.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Store keeps the whole log in memory behind one mutex: appends are serialised, which is
// exactly what gives the global order.
type Store struct {
	mu      sync.RWMutex
	log     []eventstore.RecordedEvent // log[i] has position i+1
	streams map[string][]uint64        // stream -> positions, indexed by revision
	ids     map[uuid.UUID]uint64       // event ID -> position
	closed  bool
	now     func() time.Time
	hasher  eventstore.ChainHasher // guarded by mu
	changes eventstore.Notifier

	// The transparency log's tree: every stored hash, by tlog index, extended per event.
	tree     []tlog.Hash
	frontier transparency.Frontier
	leaves   transparency.LeafHasher
}

var (
	_ eventstore.Store         = (*Store)(nil)
	_ eventstore.ChainVerifier = (*Store)(nil)
	_ eventstore.HashTree      = (*Store)(nil)
)

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		streams: make(map[string][]uint64),
		ids:     make(map[uuid.UUID]uint64),
		now:     time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("memory: append to %q: %w", stream, err)
	}
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("memory: append: %w", err)
	}

	res, err := s.append(stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("memory: append to %q: %w", stream, err)
	}
	if res.wrote {
		s.changes.Notify()
	}
	return res.AppendResult, nil
}

type appendOutcome struct {
	eventstore.AppendResult
	wrote bool
}

func (s *Store) append(stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (appendOutcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(stream, expected, events)
}

func (s *Store) appendLocked(stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (appendOutcome, error) {
	if s.closed {
		return appendOutcome{}, eventstore.ErrClosed
	}
	// Idempotency is decided before the expected revision, as in EventStoreDB: a retry
	// succeeds even though the revision it expected has since moved on.
	if res, retried, err := s.retryLocked(stream, events); retried || err != nil {
		return appendOutcome{AppendResult: res}, err
	}

	positions := s.streams[stream]
	current, exists := uint64(0), len(positions) > 0
	if exists {
		current = uint64(len(positions) - 1)
	}
	if !expected.Matches(current, exists) {
		return appendOutcome{}, fmt.Errorf("%w: expected %s, stream is at %s",
			eventstore.ErrWrongExpectedVersion, expected, describe(current, exists))
	}

	at := canonicalTime(s.now())
	prev := s.lastHash()
	res := eventstore.AppendResult{Positions: make([]uint64, len(events))}
	for i, e := range events {
		rec := eventstore.RecordedEvent{
			ID:         e.ID,
			Stream:     stream,
			Type:       e.Type,
			Revision:   uint64(len(positions)),
			Position:   uint64(len(s.log)) + 1,
			RecordedAt: at,
			Data:       clone(e.Data),
			Metadata:   clone(e.Metadata),
		}
		rec.Hash = s.hasher.Hash(prev, rec)
		prev = rec.Hash
		s.tree = s.frontier.AppendTo(s.tree, s.leaves.Hash(rec, transparency.ViewOf(rec.ID, rec.Data, rec.Metadata)))
		s.log = append(s.log, rec)
		s.ids[e.ID] = rec.Position
		positions = append(positions, rec.Position)
		res.Positions[i] = rec.Position
	}
	s.streams[stream] = positions
	res.NextRevision = uint64(len(positions) - 1)
	return appendOutcome{AppendResult: res, wrote: true}, nil
}

// retryLocked reports whether events is a retry of an append already stored in stream
// (same IDs, same order, consecutive revisions) and if so what that append returned. Any
// other reuse of a stored ID is ErrDuplicateEventID.
func (s *Store) retryLocked(stream string, events []eventstore.EventData) (eventstore.AppendResult, bool, error) {
	firstPos, found := s.ids[events[0].ID]
	if !found {
		for _, e := range events[1:] {
			if _, dup := s.ids[e.ID]; dup {
				return eventstore.AppendResult{}, false, fmt.Errorf("%w: %s", eventstore.ErrDuplicateEventID, e.ID)
			}
		}
		return eventstore.AppendResult{}, false, nil
	}
	first := s.log[firstPos-1]
	if first.Stream != stream {
		return eventstore.AppendResult{}, false, fmt.Errorf("%w: %s is stored in stream %q",
			eventstore.ErrDuplicateEventID, events[0].ID, first.Stream)
	}
	positions := s.streams[stream]
	res := eventstore.AppendResult{Positions: make([]uint64, len(events))}
	for i, e := range events {
		rev := first.Revision + uint64(i)
		if rev >= uint64(len(positions)) || s.log[positions[rev]-1].ID != e.ID {
			return eventstore.AppendResult{}, false, fmt.Errorf("%w: %s was stored by an append with other events",
				eventstore.ErrDuplicateEventID, events[0].ID)
		}
		res.Positions[i] = positions[rev]
	}
	res.NextRevision = first.Revision + uint64(len(events)) - 1
	return res, true, nil
}

func (s *Store) lastHash() [32]byte {
	if len(s.log) == 0 {
		return [32]byte{}
	}
	return s.log[len(s.log)-1].Hash
}

// ReadStream implements eventstore.Store. A limit below one means no limit.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: read stream %q: %w", stream, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("memory: read stream %q: %w", stream, eventstore.ErrClosed)
	}
	positions, ok := s.streams[stream]
	if !ok {
		return nil, fmt.Errorf("memory: read stream %q: %w", stream, eventstore.ErrStreamNotFound)
	}
	if from >= uint64(len(positions)) {
		return []eventstore.RecordedEvent{}, nil
	}
	positions = positions[from:]
	if limit > 0 && limit < len(positions) {
		positions = positions[:limit]
	}
	out := make([]eventstore.RecordedEvent, len(positions))
	for i, p := range positions {
		out[i] = copyEvent(s.log[p-1])
	}
	return out, nil
}

// ReadAll implements eventstore.Store. A limit below one means no limit.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: read all after %d: %w", after, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("memory: read all after %d: %w", after, eventstore.ErrClosed)
	}
	if after >= uint64(len(s.log)) {
		return []eventstore.RecordedEvent{}, nil
	}
	tail := s.log[after:]
	if limit > 0 && limit < len(tail) {
		tail = tail[:limit]
	}
	out := make([]eventstore.RecordedEvent, len(tail))
	for i := range tail {
		out[i] = copyEvent(tail[i])
	}
	return out, nil
}

// HeadPosition implements eventstore.Store.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memory: head position: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, fmt.Errorf("memory: head position: %w", eventstore.ErrClosed)
	}
	return uint64(len(s.log)), nil
}

// Changes implements eventstore.Store.
func (s *Store) Changes() (<-chan struct{}, func()) { return s.changes.Changes() }

// VerifyChain implements eventstore.ChainVerifier. Nothing can tamper with memory short of
// a bug, which is what this catches.
func (s *Store) VerifyChain(ctx context.Context) (eventstore.ChainHead, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var head eventstore.ChainHead
	var hasher eventstore.ChainHasher
	for i, e := range s.log {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return head, fmt.Errorf("memory: verify chain: %w", err)
			}
		}
		if e.Position != uint64(i)+1 {
			return head, &eventstore.ChainBrokenError{Position: uint64(i) + 1, Reason: fmt.Sprintf("slot holds position %d", e.Position)}
		}
		if hasher.Hash(head.Hash, e) != e.Hash {
			return head, &eventstore.ChainBrokenError{Position: e.Position, Reason: "stored hash differs from recomputed hash"}
		}
		head = eventstore.ChainHead{Position: e.Position, Hash: e.Hash, Events: head.Events + 1}
	}
	return head, nil
}

// Close implements eventstore.Store. Closing twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// canonicalTime drops the monotonic reading and the zone, keeping exactly what the hash
// covers (Unix nanoseconds), so a read returns a value equal to what was hashed.
func canonicalTime(t time.Time) time.Time { return time.Unix(0, t.UnixNano()).UTC() }

// clone keeps nil as nil so a round trip does not invent empty metadata.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// copyEvent hands out copies: a caller that scribbles on returned Data must not rewrite
// history behind the hash chain.
func copyEvent(e eventstore.RecordedEvent) eventstore.RecordedEvent {
	e.Data = clone(e.Data)
	e.Metadata = clone(e.Metadata)
	return e
}

func describe(current uint64, exists bool) string {
	if !exists {
		return "no stream"
	}
	return fmt.Sprintf("revision %d", current)
}

var _ eventstore.CommittedHeads = (*Store)(nil)

// CommittedRevision answers from memory: every write passes through this store.
func (s *Store) CommittedRevision(stream string) (uint64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	positions := s.streams[stream]
	if len(positions) == 0 {
		return 0, false
	}
	return uint64(len(positions) - 1), true
}

// ReadTreeHashes implements eventstore.HashTree.
func (s *Store) ReadTreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: read tree hashes: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s.tree)) {
			return nil, fmt.Errorf("memory: tree hash %d: not stored (%d are)", x, len(s.tree))
		}
		out[i] = s.tree[x]
	}
	return out, nil
}
