// Package kurrentdb is the event store on KurrentDB / EventStoreDB, through the official
// gRPC client (github.com/EventStore/EventStore-Client-Go/v4). The server already has the
// semantics eventstore.Store was modelled on; this package maps them and says where they
// differ.
//
// # Positions
//
// ESDB positions are (commit, prepare) pairs of byte offsets in the transaction file: they
// increase in $all order but are not gapless. Position here is the commit position. Events
// written in one legacy explicit transaction share one commit position, so ReadAll never
// ends a page inside one commit (a page may exceed limit to finish it) and "after = the last
// position handed out" never skips the rest of a commit. ReadAll(after) reads $all forward
// from Position{after, after} (for gRPC appends an event's commit and prepare positions are
// its own record's, so that is a record boundary) and drops what is at or before after.
// $all also carries the server's own events (streams starting with "$"); they are skipped.
//
// AppendToStream returns one commit position, the last event's: AppendResult.Positions
// holds it once per event, so LastPosition is exact (what read-your-writes waits for) while
// ReadAll may show the earlier events of a multi-event append at lower positions. ReadStream
// positions are filled in only by servers that populate $all positions on stream reads
// (22.10 and later); older ones send none, which reads as Position 0.
//
// The store therefore declares no GaplessPositions (nor HashChain, CommittedHeads or
// ExactIdempotency: see below) in its Features, and the conformance suite skips the cases
// that assert them; lag is counted in events with eventstore.EventsBetween, which reads
// $all here.
//
// # Hash chain
//
// Not kept: Store does not implement eventstore.ChainVerifier. A chain needs every event's
// hash to depend on the event before it in $all, which only a global write lock could give
// (e.g. every append also writing a "$chain" stream at an exact expected revision), turning
// ESDB's per-stream concurrency into one writer at a time across all streams. ESDB's own
// chunk checksums cover storage corruption; tamper evidence needs the SQLite or PostgreSQL
// backend, or a verifier that reads $all and stores hashes elsewhere.
//
// # Idempotency
//
// ESDB deduplicates by event ID within a stream, but only for a retry that it still finds
// in its recent-write cache with a compatible expected revision, and it never knows of an
// ID stored in another stream. Append therefore checks, when the server refuses a write
// for its expected revision, whether the same IDs are already stored at consecutive
// revisions of the stream, and returns that first result as the other backends do. A
// batch mixing stored and new IDs, or reusing an ID of another stream, is not detected.
package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"accountd/eventstore"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// Option configures a Store.
type Option func(*Store)

// WithStreamPrefix stores every stream as prefix+name and makes ReadAll, HeadPosition and
// Changes see only those streams: one server can then hold several independent logs (each
// test its own, as the conformance suite needs an empty store per case). Reads of $all
// still scan the other logs' events, so it is for isolation, not for scale.
func WithStreamPrefix(prefix string) Option { return func(s *Store) { s.prefix = prefix } }

// Store is the KurrentDB event store. It is safe for concurrent use.
type Store struct {
	client *esdb.Client
	prefix string

	closeOnce sync.Once
	closing   chan struct{}
	stopSub   context.CancelFunc
	subDone   chan struct{}

	changes eventstore.Notifier
}

var _ eventstore.Store = (*Store)(nil)

// Open connects to the server at url, an esdb:// connection string such as
// esdb://127.0.0.1:2113?tls=false, and subscribes to $all for Changes().
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: open: %w", err)
	}
	client, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: open: %w", err)
	}
	s := &Store{client: client, closing: make(chan struct{}), subDone: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	// The checkpoint the subscription starts from: the head now. Without it the client
	// starts at the end of the log as of when the subscription happens to connect, and a
	// commit in between would wake no one.
	head, err := s.headPosition(ctx)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("kurrentdb: open: %w", err)
	}
	subCtx, stop := context.WithCancel(context.Background())
	s.stopSub = stop
	go s.follow(subCtx, head)
	return s, nil
}

// expectedRevision is the one place where eventstore's expectations meet ESDB's.
func expectedRevision(e eventstore.ExpectedRevision) esdb.ExpectedRevision {
	switch {
	case e.IsNoStream():
		return esdb.NoStream{}
	case e.IsStreamExists():
		return esdb.StreamExists{}
	case e.IsAny():
		return esdb.Any{}
	}
	rev, _ := e.IsExact()
	return esdb.Revision(rev)
}

// translate maps the client's errors onto the store's sentinels (and the context's).
func translate(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w (%v)", ctxErr, err)
	}
	var esErr *esdb.Error
	if errors.As(err, &esErr) {
		switch esErr.Code() {
		case esdb.ErrorCodeWrongExpectedVersion:
			return fmt.Errorf("%w: %v", eventstore.ErrWrongExpectedVersion, err)
		case esdb.ErrorCodeResourceNotFound, esdb.ErrorCodeStreamDeleted:
			return fmt.Errorf("%w: %v", eventstore.ErrStreamNotFound, err)
		case esdb.ErrorCodeConnectionClosed:
			return fmt.Errorf("%w: %v", eventstore.ErrClosed, err)
		}
	}
	return err
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("kurrentdb: append: %w", err)
	}
	if strings.HasPrefix(stream, "$") {
		return eventstore.AppendResult{}, fmt.Errorf("kurrentdb: append: %w: stream names starting with $ are the server's", eventstore.ErrInvalidEvent)
	}
	if s.closed() {
		return eventstore.AppendResult{}, fmt.Errorf("kurrentdb: append to %q: %w", stream, eventstore.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("kurrentdb: append to %q: %w", stream, err)
	}
	data := make([]esdb.EventData, len(events))
	for i, e := range events {
		data[i] = esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeBinary, Data: e.Data, Metadata: e.Metadata}
	}
	wr, err := s.client.AppendToStream(ctx, s.prefix+stream, esdb.AppendToStreamOptions{ExpectedRevision: expectedRevision(expected)}, data...)
	if err != nil {
		err = translate(ctx, err)
		if errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			if res, ok, rerr := s.storedAppend(ctx, stream, events); rerr == nil && ok {
				return res, nil
			}
		}
		return eventstore.AppendResult{}, fmt.Errorf("kurrentdb: append to %q: %w", stream, err)
	}
	s.changes.Notify()
	res := eventstore.AppendResult{NextRevision: wr.NextExpectedVersion, Positions: make([]uint64, len(events))}
	for i := range res.Positions {
		res.Positions[i] = wr.CommitPosition
	}
	return res, nil
}

// storedAppend reports whether events are already stored, in order, at consecutive
// revisions of stream, and if so what their first append returned.
func (s *Store) storedAppend(ctx context.Context, stream string, events []eventstore.EventData) (eventstore.AppendResult, bool, error) {
	var from uint64
	for {
		page, err := s.ReadStream(ctx, stream, from, 1000)
		if err != nil || len(page) == 0 {
			return eventstore.AppendResult{}, false, err
		}
		for i, e := range page {
			if e.ID != events[0].ID {
				continue
			}
			got, err := s.ReadStream(ctx, stream, page[i].Revision, len(events))
			if err != nil || len(got) != len(events) {
				return eventstore.AppendResult{}, false, err
			}
			res := eventstore.AppendResult{NextRevision: got[len(got)-1].Revision, Positions: make([]uint64, len(got))}
			for j := range got {
				if got[j].ID != events[j].ID {
					return eventstore.AppendResult{}, false, nil
				}
				res.Positions[j] = got[j].Position
			}
			return res, true, nil
		}
		from = page[len(page)-1].Revision + 1
	}
}

// ReadStream implements eventstore.Store. A limit below one means no limit.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if s.closed() {
		return nil, fmt.Errorf("kurrentdb: read stream %q: %w", stream, eventstore.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kurrentdb: read stream %q: %w", stream, err)
	}
	count := uint64(math.MaxInt64)
	if limit > 0 {
		count = uint64(limit)
	}
	rs, err := s.client.ReadStream(ctx, s.prefix+stream, esdb.ReadStreamOptions{From: esdb.Revision(from)}, count)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: read stream %q: %w", stream, translate(ctx, err))
	}
	defer rs.Close()
	out := []eventstore.RecordedEvent{}
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("kurrentdb: read stream %q: %w", stream, translate(ctx, err))
		}
		if ev.Event != nil {
			out = append(out, s.recorded(ev.Event))
		}
	}
}

// ReadAll implements eventstore.Store. A limit below one means no limit; a page may hold
// more than limit events so as not to split one commit (see the package comment).
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	if s.closed() {
		return nil, fmt.Errorf("kurrentdb: read all after %d: %w", after, eventstore.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kurrentdb: read all after %d: %w", after, err)
	}
	var from esdb.AllPosition = esdb.Start{}
	if after > 0 {
		from = esdb.Position{Commit: after, Prepare: after}
	}
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{From: from}, math.MaxInt64)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: read all after %d: %w", after, translate(ctx, err))
	}
	defer rs.Close()
	out := []eventstore.RecordedEvent{}
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("kurrentdb: read all after %d: %w", after, translate(ctx, err))
		}
		if ev.Event == nil || !s.mine(ev.Event) || ev.Event.Position.Commit <= after {
			continue
		}
		if limit > 0 && len(out) >= limit && ev.Event.Position.Commit != out[len(out)-1].Position {
			return out, nil
		}
		out = append(out, s.recorded(ev.Event))
	}
}

// HeadPosition implements eventstore.Store: the commit position of the last user event.
func (s *Store) HeadPosition(ctx context.Context) (uint64, error) {
	if s.closed() {
		return 0, fmt.Errorf("kurrentdb: head position: %w", eventstore.ErrClosed)
	}
	head, err := s.headPosition(ctx)
	if err != nil {
		return 0, fmt.Errorf("kurrentdb: head position: %w", err)
	}
	return head, nil
}

func (s *Store) headPosition(ctx context.Context) (uint64, error) {
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.End{}, Direction: esdb.Backwards}, math.MaxInt64)
	if err != nil {
		return 0, translate(ctx, err)
	}
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return 0, nil
		}
		if err != nil {
			return 0, translate(ctx, err)
		}
		if ev.Event != nil && s.mine(ev.Event) {
			return ev.Event.Position.Commit, nil
		}
	}
}

// Changes implements eventstore.Store. Appends from every client of the server notify,
// through the $all subscription.
func (s *Store) Changes() (<-chan struct{}, func()) { return s.changes.Changes() }

// follow keeps a catch-up subscription to $all, resubscribing from the last position it
// saw after a drop, and wakes followers for every user event.
func (s *Store) follow(ctx context.Context, checkpoint uint64) {
	defer close(s.subDone)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		var from esdb.AllPosition = esdb.Start{}
		if checkpoint > 0 {
			from = esdb.Position{Commit: checkpoint, Prepare: checkpoint}
		}
		filter := esdb.ExcludeSystemEventsFilter()
		if s.prefix != "" {
			filter = &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{s.prefix}}
		}
		sub, err := s.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: from, Filter: filter})
		if err == nil {
			backoff = 100 * time.Millisecond
			s.changes.Notify() // whatever committed while unsubscribed
			for {
				ev := sub.Recv()
				if ev.SubscriptionDropped != nil {
					break
				}
				if ev.EventAppeared != nil && ev.EventAppeared.Event != nil {
					checkpoint = max(checkpoint, ev.EventAppeared.Event.Position.Commit)
					s.changes.Notify()
				}
			}
			_ = sub.Close()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Close implements eventstore.Store. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.stopSub()
		<-s.subDone
		_ = s.client.Close()
	})
	return nil
}

func (s *Store) closed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// mine reports whether an event of $all belongs to this log: not the server's own (streams
// and types starting with $), and under the stream prefix if there is one.
func (s *Store) mine(e *esdb.RecordedEvent) bool {
	if strings.HasPrefix(e.StreamID, "$") || strings.HasPrefix(e.EventType, "$") {
		return false
	}
	return strings.HasPrefix(e.StreamID, s.prefix)
}

func (s *Store) recorded(e *esdb.RecordedEvent) eventstore.RecordedEvent {
	return eventstore.RecordedEvent{
		ID:         e.EventID,
		Stream:     strings.TrimPrefix(e.StreamID, s.prefix),
		Type:       e.EventType,
		Revision:   e.EventNumber,
		Position:   position(e.Position),
		RecordedAt: e.CreatedDate.UTC(),
		Data:       e.Data,
		Metadata:   e.UserMetadata,
	}
}

// position maps "not known" (the all-ones value older servers send on stream reads) to 0.
func position(p esdb.Position) uint64 {
	if p.Commit == math.MaxUint64 {
		return 0
	}
	return p.Commit
}
