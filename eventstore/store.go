// Package eventstore is accountd's event log: one small interface with the semantics of
// EventStoreDB (expected revisions, idempotent appends, a global commit order) and the
// backends that implement it. The log is the source of truth and the outbox: every read
// model and every side effect is derived by following it.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Sentinel errors. Backends wrap them with context; callers test with errors.Is.
var (
	// ErrWrongExpectedVersion: the stream was not at the revision the append expected.
	ErrWrongExpectedVersion = errors.New("eventstore: wrong expected version")
	// ErrStreamNotFound: a read of a stream that holds no event.
	ErrStreamNotFound = errors.New("eventstore: stream not found")
	// ErrDuplicateEventID: an event ID already stored was sent again in a batch that is
	// not an exact retry of the append that stored it.
	ErrDuplicateEventID = errors.New("eventstore: event ID already stored by a different append")
	// ErrInvalidEvent: the append itself is malformed (empty stream name, no event type, nil ID...).
	ErrInvalidEvent = errors.New("eventstore: invalid event")
	// ErrChainBroken: the hash chain does not match the stored events.
	ErrChainBroken = errors.New("eventstore: hash chain broken")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("eventstore: store closed")
)

// ExpectedRevision states what the writer believes about the stream, as in EventStoreDB.
type ExpectedRevision struct {
	kind     expectedKind
	revision uint64
}

type expectedKind uint8

const (
	expectAny expectedKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

var (
	// Any appends whatever the stream's state.
	Any = ExpectedRevision{kind: expectAny}
	// NoStream appends only if the stream holds no event yet.
	NoStream = ExpectedRevision{kind: expectNoStream}
	// StreamExists appends only if the stream holds at least one event.
	StreamExists = ExpectedRevision{kind: expectStreamExists}
)

// Exact appends only if the stream's last event has this revision (revisions start at 0).
func Exact(revision uint64) ExpectedRevision {
	return ExpectedRevision{kind: expectExact, revision: revision}
}

// Matches reports whether a stream whose last revision is current (exists=false when the
// stream is empty) satisfies the expectation. Every backend decides through this one function.
func (e ExpectedRevision) Matches(current uint64, exists bool) bool {
	switch e.kind {
	case expectNoStream:
		return !exists
	case expectStreamExists:
		return exists
	case expectExact:
		return exists && current == e.revision
	default:
		return true
	}
}

// IsExact returns the exact revision when the expectation names one.
func (e ExpectedRevision) IsExact() (uint64, bool) { return e.revision, e.kind == expectExact }

// IsAny reports whether the expectation accepts any stream state.
func (e ExpectedRevision) IsAny() bool { return e.kind == expectAny }

// IsNoStream reports whether the expectation requires an empty stream.
func (e ExpectedRevision) IsNoStream() bool { return e.kind == expectNoStream }

// IsStreamExists reports whether the expectation requires a non-empty stream.
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == expectStreamExists }

func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectNoStream:
		return "no-stream"
	case expectStreamExists:
		return "stream-exists"
	case expectExact:
		return fmt.Sprintf("revision %d", e.revision)
	default:
		return "any"
	}
}

// EventData is an event to append. ID makes the append idempotent: sending the same IDs
// again (a retry after a timeout) stores nothing new and returns the first result.
// Prefer time-ordered IDs (uuid.NewV7): stores index every ID, and random ones (v4) land
// on a random index page each, which costs the SQLite backend about a third of its
// append throughput.
type EventData struct {
	ID       uuid.UUID
	Type     string
	Data     []byte
	Metadata []byte
}

// RecordedEvent is an event as the log stores it.
type RecordedEvent struct {
	ID         uuid.UUID
	Stream     string
	Type       string
	Revision   uint64 // position within the stream, from 0
	Position   uint64 // global commit position: increases in commit order (from 1 and gapless where Features.GaplessPositions)
	RecordedAt time.Time
	Data       []byte
	Metadata   []byte
	Hash       [32]byte // SHA-256(previous hash || CanonicalBytes(event))
}

// AppendResult is what a successful append wrote.
type AppendResult struct {
	NextRevision uint64   // the revision of the stream's last event after the append
	Positions    []uint64 // the global position of each appended event, in order
}

// LastPosition is the global position of the append's last event.
func (r AppendResult) LastPosition() uint64 {
	if len(r.Positions) == 0 {
		return 0
	}
	return r.Positions[len(r.Positions)-1]
}

// Store is the event log. Every backend declares its Features (Featured) and runs
// eventstoretest.Test, which checks the interface's promises on all of them and each
// declared feature where it is declared. Positions only increase: count events between
// two positions with EventsBetween, never by subtracting them.
type Store interface {
	// Append writes events to the end of stream if expected matches, atomically.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error)
	// ReadStream returns up to limit events of stream from revision from, oldest first.
	// A stream with no event gives ErrStreamNotFound.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]RecordedEvent, error)
	// ReadAll returns up to limit events whose global position is greater than after, in
	// commit order. A reader never sees a position that a later commit fills in before it.
	ReadAll(ctx context.Context, after uint64, limit int) ([]RecordedEvent, error)
	// HeadPosition is the global position of the last committed event (0 for an empty log);
	// the number of events only where Features.GaplessPositions.
	HeadPosition(ctx context.Context) (uint64, error)
	// Changes returns a channel that receives a value (coalesced, never blocking the writer)
	// after new events commit, and a function that stops the notifications.
	Changes() (<-chan struct{}, func())
	// Close releases the store. Appends after Close fail with ErrClosed.
	Close() error
}

// ChainHead is the end of the verified hash chain.
type ChainHead struct {
	Position uint64
	Hash     [32]byte
	Events   uint64
}

// ChainVerifier is implemented by stores that keep the tamper-evident hash chain.
type ChainVerifier interface {
	// VerifyChain recomputes the whole chain. On a mismatch it returns a *ChainBrokenError
	// (which matches ErrChainBroken) naming the first position that does not match.
	VerifyChain(ctx context.Context) (ChainHead, error)
}

// ChainBrokenError names the first stored event whose hash does not match.
type ChainBrokenError struct {
	Position uint64
	Reason   string
}

func (e *ChainBrokenError) Error() string {
	return fmt.Sprintf("eventstore: hash chain broken at position %d: %s", e.Position, e.Reason)
}

func (e *ChainBrokenError) Is(target error) bool { return target == ErrChainBroken }

// CommittedHeads is implemented by a store that knows every stream's last committed
// revision without a read, because every write passes through it (the embedded SQLite
// store, which one process opens at a time). The command side uses it to skip re-reading
// a cached aggregate that has not changed: the login path's hot loop. Stores shared by
// several processes do not implement it.
type CommittedHeads interface {
	// CommittedRevision reports the last committed revision of stream, or exists=false
	// when the stream holds no event.
	CommittedRevision(stream string) (revision uint64, exists bool)
}
