package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"accountd/eventstore"
	"accountd/eventstore/transparency"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// batchTimeout bounds one group commit, the wait for the advisory lock included, so a node
// stuck holding the lock (a half-dead connection) fails appends instead of hanging them.
const batchTimeout = 30 * time.Second

// request is one Append waiting for the writer. The writer fills result and err and then
// signals done; it never touches the request afterwards.
type request struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	views    []transparency.View // each event's leaf view, computed by the caller's goroutine
	result   eventstore.AppendResult
	err      error
	done     chan struct{} // capacity 1, so replying never blocks on a caller that left
}

// Append implements eventstore.Store.
//
// Context: if ctx ends before the writer picks the request up, nothing is written and
// Append returns ctx's error. Once the writer has it, its fate is the group commit's:
// Append returns ctx's error at once, but the events may be committed. So may they when
// the connection drops during COMMIT. Retrying with the same event IDs reveals which,
// since a retry of a stored append returns the original result.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("postgres: append: %w", err)
	}
	// PostgreSQL text cannot hold NUL, although it is valid UTF-8: refuse it here rather
	// than fail the whole group commit.
	if strings.ContainsRune(stream, 0) {
		return eventstore.AppendResult{}, fmt.Errorf("postgres: append: %w: stream name contains NUL", eventstore.ErrInvalidEvent)
	}
	for i, e := range events {
		if strings.ContainsRune(e.Type, 0) {
			return eventstore.AppendResult{}, fmt.Errorf("postgres: append: %w: event %d type contains NUL", eventstore.ErrInvalidEvent, i)
		}
	}
	if s.closed() {
		return eventstore.AppendResult{}, fmt.Errorf("postgres: append to %q: %w", stream, eventstore.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("postgres: append to %q: %w", stream, err)
	}
	// The writer reads the events after Append may have returned (a cancelled context):
	// a caller reusing its buffers must not change what gets stored.
	own := make([]eventstore.EventData, len(events))
	for i, e := range events {
		own[i] = eventstore.EventData{ID: e.ID, Type: e.Type, Data: clone(e.Data), Metadata: clone(e.Metadata)}
	}
	views := make([]transparency.View, len(own))
	for i, e := range own {
		views[i] = transparency.ViewOf(e.ID, e.Data, e.Metadata)
	}
	r := &request{ctx: ctx, stream: stream, expected: expected, events: own, views: views, done: make(chan struct{}, 1)}
	select {
	case s.requests <- r:
	case <-ctx.Done():
		return eventstore.AppendResult{}, fmt.Errorf("postgres: append to %q: %w", stream, ctx.Err())
	case <-s.closing:
		return eventstore.AppendResult{}, fmt.Errorf("postgres: append to %q: %w", stream, eventstore.ErrClosed)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return eventstore.AppendResult{}, fmt.Errorf("postgres: append to %q: %w (it may still commit: retry with the same event IDs to find out)", stream, ctx.Err())
	case <-s.writerDone:
		select {
		case <-r.done:
		default:
			return eventstore.AppendResult{}, fmt.Errorf("postgres: append to %q: %w", stream, eventstore.ErrClosed)
		}
	}
	if r.err != nil {
		// A lost connection, a full disk, a read-only server: the storage's failure
		// (ErrStorageUnavailable), which the caller may retry as it is.
		return eventstore.AppendResult{}, fmt.Errorf("postgres: append to %q: %w", stream, storageFault(r.err))
	}
	return r.result, nil
}

// runWriter is the node's single writer goroutine: it serves group commits until Close,
// then fails whatever is still queued with ErrClosed. Each batch goes on to the syncer,
// which makes it durable and answers it, while the writer already decides the next one.
func (s *Store) runWriter() {
	defer close(s.syncs)
	for {
		var first *request
		var idle <-chan time.Time
		if s.turn != nil {
			idle = time.After(turnIdle)
		}
	wait:
		select {
		case <-s.closing:
			s.releaseIdleTurn()
			s.failQueued()
			return
		case <-idle:
			s.releaseIdleTurn()
			idle = nil
			goto wait
		case first = <-s.requests:
		}
		// While another node writes too, a turn begins with the lock, before its first
		// batch is made up: what queues while the other node's turn lasts goes in with that
		// batch, instead of in a second one that waits for the lock again. A node writing
		// alone does not pay that round trip: its batches take the lock as they commit.
		if s.turn == nil && time.Since(s.contendedAt) < contendedFor {
			s.beginTurn()
		}
		// A fresh slice per batch: the syncer holds the previous one until it answers it.
		batch := make([]*request, 1, s.maxBatch)
		batch[0] = first
		// Take only what is already queued: waiting for more would add latency to a lone
		// append, and under load the queue refills while the previous batch commits.
	drain:
		for len(batch) < cap(batch) {
			select {
			case r := <-s.requests:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.syncs <- s.commitBatch(batch)
	}
}

func (s *Store) failQueued() {
	for {
		select {
		case r := <-s.requests:
			r.err = eventstore.ErrClosed
			r.done <- struct{}{}
		default:
			return
		}
	}
}

// storedID is where an event ID already lives, in the database or earlier in this batch.
type storedID struct {
	stream   string
	revision uint64
	position uint64
}

// pending accumulates the rows of one group commit as the unnest arrays of one INSERT.
type pending struct {
	positions []int64
	streams   []string
	revisions []int64
	ids       eventIDs
	types     []string
	at        []int64
	data      [][]byte
	metadata  [][]byte
	hashes    [][]byte
	trees     [][]byte
}

// syncJob is one decided batch on its way to the syncer: what it committed (visible but
// not yet flushed) and up to which position the log it was decided against reaches.
type syncJob struct {
	batch  []*request // every request of the batch, answered by the syncer
	live   int        // how many of them the transaction decided (for the report)
	events int        // events the transaction committed
	upTo   uint64     // the log's head after the transaction: what must be durable first
	// flushed: the batch's own round trip flushed the WAL through upTo and raised the
	// durable head (a contended batch, commitFast), so the syncer only answers it.
	flushed bool
	err     error // the batch failed as a whole: its live requests get err, no flush
}

// commitBatch decides and writes every request of the batch in one transaction. The
// decisions are made in memory from the reads taken under the lock (the log's head and the
// tree's right edge, the heads of the streams involved, the IDs already stored), so a batch
// costs two round trips whatever its size: BEGIN+lock+reads, then insert+COMMIT. The
// COMMIT does not wait for the WAL flush (synchronous_commit off, so the advisory lock is
// released at once); the syncer makes the batch durable before anyone is answered.
func (s *Store) commitBatch(batch []*request) syncJob {
	job := syncJob{batch: batch}
	live := make([]*request, 0, len(batch))
	for _, r := range batch {
		// A caller that gave up before the writer got to it is not written: its Append
		// has already returned the context's error.
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		live = append(live, r)
	}
	job.live = len(live)
	if len(live) == 0 {
		return job
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	s.flushedTo = 0 // set again only by this batch's own flush
	n, head, err := s.commit(ctx, live)
	if err != nil {
		for _, r := range live {
			r.result, r.err = eventstore.AppendResult{}, fmt.Errorf("group commit: %w", err)
		}
		job.err = err
		return job
	}
	job.events, job.upTo = n, head
	job.flushed = n > 0 && s.flushedTo == head
	return job
}

// ReportGroupCommits implements eventstore.GroupCommitReporter. The report of a batch
// comes after its COMMIT and before its appends are answered.
func (s *Store) ReportGroupCommits(report func(eventstore.GroupCommit)) {
	if report == nil {
		s.groupCommits.Store(nil)
		return
	}
	s.groupCommits.Store(&report)
}

// commit runs one batch's transaction on a connection of its own and returns the events
// it wrote and the log's head after it (the head it read when it wrote nothing).
func (s *Store) commit(ctx context.Context, batch []*request) (n int, head uint64, err error) {
	conn, locked, turnInTx, err := s.turnConn(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("acquire connection: %w", err)
	}
	// A transaction-level lock goes with the batch's COMMIT: that turn lasts one batch.
	keep := s.keepTurn(locked) && !turnInTx
	// A connection left inside a transaction (an error between BEGIN and COMMIT) is
	// rolled back here; pgxpool destroys one that is still not idle on release. The turn
	// goes on after a batch that committed or refused, with the lock still held; after a
	// failure it ends.
	inTx := turnInTx
	defer func() {
		if inTx {
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if _, rerr := conn.Exec(rctx, "ROLLBACK"); rerr != nil && locked {
				_ = conn.Conn().Close(rctx)
			}
			cancel()
		}
		if err == nil && locked && keep && !conn.Conn().IsClosed() {
			s.turn = conn
			// Nobody else can have written since: the next batch goes in one round trip.
			s.fast = s.last > 0
			return
		}
		s.endTurn(conn, locked && !conn.Conn().IsClosed())
	}()

	if s.fast {
		n, head, ok, released, err := s.commitFast(ctx, conn, batch, locked, turnInTx, locked && !keep)
		if released {
			locked, inTx = false, false // the batch's COMMIT or last statement let the lock go
		}
		if ok {
			return n, head, nil
		}
		// Another node wrote, or a head or ID was not what the cache said: decide the
		// batch again from reads under the lock.
		s.fast = false
		if err != nil && conn.Conn().IsClosed() {
			// Perhaps during COMMIT: the reading path would only fail on this connection.
			return 0, 0, fmt.Errorf("commit in one round trip (the outcome is unknown: retry with the same event IDs): %w", err)
		}
		if conn.Conn().PgConn().TxStatus() != 'I' {
			// A refused INSERT, or a turn's transaction whose batch the cache could not
			// decide: the reading path begins its own, and takes the lock again in it.
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = conn.Exec(rctx, "ROLLBACK")
			cancel()
		}
		inTx = false
	}
	lastBefore := s.last
	s.fast = false // until this batch commits alone

	var streamNames []string
	var allIDs eventIDs
	seenStream := map[string]bool{}
	for _, r := range batch {
		if !seenStream[r.stream] {
			seenStream[r.stream] = true
			streamNames = append(streamNames, r.stream)
		}
		for _, e := range r.events {
			allIDs = append(allIDs, wireID(e.ID))
		}
	}

	// Lock first, then read: only reads made after the lock is granted see the previous
	// holder's commit.
	reads := &pgx.Batch{}
	takeLock := !locked
	if takeLock {
		// The turn begins: the session-level lock, held after this batch's COMMIT.
		reads.Queue("SELECT pg_advisory_lock($1)", s.lockKey)
		keep = true
	}
	reads.Queue("BEGIN")
	// The COMMIT returns (and the lock goes) once the commit is in the WAL buffers; the
	// syncer's synchronous commit flushes it before any caller hears of it.
	reads.Queue("SET LOCAL synchronous_commit TO off")
	reads.Queue("SELECT pg_advisory_xact_lock($1)", s.lockKey)
	reads.Queue(s.q.tip, int64(lastBefore))
	reads.Queue(s.q.streamHeads, streamNames)
	reads.Queue(s.q.findIDs, allIDs)
	inTx = true
	br := conn.SendBatch(ctx, reads)
	if takeLock {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return 0, 0, fmt.Errorf("append lock: %w", err)
		}
		locked = true
		s.turnSince = time.Now()
	}
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return 0, 0, fmt.Errorf("begin: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return 0, 0, fmt.Errorf("asynchronous commit: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return 0, 0, fmt.Errorf("advisory lock: %w", err)
	}
	// The log's head and the tree's right edge: what the writer needs when another node
	// committed last.
	rows, _ := br.Query()
	end, err := s.readTip(rows)
	if err != nil {
		_ = br.Close()
		return 0, 0, err
	}
	if !end.mine {
		clear(s.heads)
	}
	headPos, edge := int64(end.head), end.edge
	type streamHead struct {
		current uint64
		exists  bool
	}
	heads := make(map[string]streamHead, len(streamNames))
	rows, _ = br.Query()
	for rows.Next() {
		var name string
		var rev *int64
		if err := rows.Scan(&name, &rev); err != nil {
			rows.Close()
			_ = br.Close()
			return 0, 0, fmt.Errorf("read stream heads: %w", err)
		}
		if rev != nil {
			heads[name] = streamHead{uint64(*rev), true}
			s.heads[name] = uint64(*rev)
		} else {
			delete(s.heads, name)
		}
	}
	if err := rows.Err(); err != nil {
		_ = br.Close()
		return 0, 0, fmt.Errorf("read stream heads: %w", err)
	}
	stored := map[uuid.UUID]storedID{}
	rows, _ = br.Query()
	for rows.Next() {
		var id pgtype.UUID
		var st storedID
		var rev, pos int64
		if err := rows.Scan(&id, &st.stream, &rev, &pos); err != nil {
			rows.Close()
			_ = br.Close()
			return 0, 0, fmt.Errorf("look up event IDs: %w", err)
		}
		st.revision, st.position = uint64(rev), uint64(pos)
		stored[id.Bytes] = st
	}
	if err := rows.Err(); err != nil {
		_ = br.Close()
		return 0, 0, fmt.Errorf("look up event IDs: %w", err)
	}
	if err := br.Close(); err != nil {
		return 0, 0, err
	}

	if uint64(headPos) != lastBefore {
		// Another node wrote since this one's last commit: from now on turns last one
		// batch, this one included, so the other node does not wait for this one to idle.
		s.contendedAt, s.contested, keep = time.Now(), true, false
	}
	prev := end.hash
	// The tree's frontier is the writer's own when this node made the last commit; after
	// another node's, it is read under the lock. So it is when this node's last commit is
	// gone (a crash lost it): the log may have grown back to the same size since, with
	// other events, and another tree.
	frontier := s.frontier.Snapshot()
	if frontier.Size() != headPos || !end.mine {
		if frontier, err = transparency.LoadFrontier(headPos, blobReader(edge)); err != nil {
			return 0, 0, err
		}
	}
	position := uint64(headPos)
	// One timestamp per commit: the events of a batch become visible together.
	at := time.Unix(0, s.now().UnixNano()).UTC()
	var rowsOut pending
	for _, r := range batch {
		// Idempotency is decided before the expected revision, as in EventStoreDB: a retry
		// succeeds even though the revision it expected has since moved on.
		if res, retried, err := retryOf(r, stored); retried || err != nil {
			r.result, r.err = res, err
			continue
		}
		h := heads[r.stream]
		if !r.expected.Matches(h.current, h.exists) {
			r.err = fmt.Errorf("%w: expected %s, stream is at %s", eventstore.ErrWrongExpectedVersion, r.expected, describe(h.current, h.exists))
			continue
		}
		next := uint64(0)
		if h.exists {
			next = h.current + 1
		}
		res := eventstore.AppendResult{Positions: make([]uint64, len(r.events))}
		for i, e := range r.events {
			position++
			rec := eventstore.RecordedEvent{
				ID: e.ID, Stream: r.stream, Type: e.Type, Revision: next + uint64(i), Position: position,
				RecordedAt: at, Data: e.Data, Metadata: e.Metadata,
			}
			hash := eventstore.ChainHash(prev, rec)
			prev = hash
			rowsOut.add(rec, hash)
			tree := frontier.Append(s.leaves.Hash(rec, r.views[i]))
			rowsOut.trees = append(rowsOut.trees, treeBytes(tree))
			stored[e.ID] = storedID{stream: r.stream, revision: rec.Revision, position: position}
			res.Positions[i] = position
		}
		res.NextRevision = next + uint64(len(r.events)) - 1
		heads[r.stream] = streamHead{res.NextRevision, true}
		r.result = res
	}
	if len(rowsOut.positions) == 0 {
		// Only refusals and retries: nothing to commit, and the rollback releases the lock.
		s.remember(uint64(headPos), prev, uint64(headPos) == lastBefore)
		return 0, uint64(headPos), nil
	}
	// One statement for the whole batch, and the COMMIT in the same round trip. The
	// followers are notified by the syncer, once the rows are durable and readable.
	writes := &pgx.Batch{}
	writes.Queue(s.q.insert, rowsOut.positions, rowsOut.streams, rowsOut.revisions, rowsOut.ids,
		rowsOut.types, rowsOut.at, rowsOut.data, rowsOut.metadata, rowsOut.hashes, rowsOut.trees)
	writes.Queue("COMMIT")
	if !keep {
		writes.Queue(unlockAll)
	}
	bw := conn.SendBatch(ctx, writes)
	if _, err := bw.Exec(); err != nil {
		_ = bw.Close()
		return 0, 0, fmt.Errorf("insert positions %d..%d: %w", rowsOut.positions[0], position, err)
	}
	if _, err := bw.Exec(); err != nil {
		_ = bw.Close()
		inTx = false // the connection is broken or the transaction is over either way
		return 0, 0, fmt.Errorf("commit positions %d..%d (the outcome is unknown: retry with the same event IDs): %w",
			rowsOut.positions[0], position, err)
	}
	if !keep {
		if _, err := bw.Exec(); err != nil {
			_ = bw.Close()
			inTx = false
			return 0, 0, fmt.Errorf("release the append lock after positions %d..%d: %w", rowsOut.positions[0], position, err)
		}
		locked = false
	}
	if err := bw.Close(); err != nil {
		inTx = false
		return 0, 0, fmt.Errorf("commit positions %d..%d (the outcome is unknown: retry with the same event IDs): %w",
			rowsOut.positions[0], position, err)
	}
	inTx = false
	s.frontier = frontier
	for name, h := range heads {
		if h.exists {
			s.heads[name] = h.current
		}
	}
	s.remember(position, prev, uint64(headPos) == lastBefore)
	return len(rowsOut.positions), position, nil
}

// remember records the log's head after a commit of this node. The next batch may take the
// fast path only if nobody else wrote since the one before (alone says so): while two nodes
// take turns, every guess would fail and cost a round trip.
func (s *Store) remember(head uint64, hash [32]byte, alone bool) {
	s.last, s.lastHash, s.fast = head, hash, alone && head > 0
	if len(s.heads) > maxCachedHeads {
		clear(s.heads)
	}
}

// maxCachedHeads bounds the writer's cache of stream heads; past it the cache starts over.
const maxCachedHeads = 1 << 16

// commitFast decides the batch from what this node already knows (the log's head and hash
// after its own last commit, the frontier, the heads of the streams it wrote or read) and
// sends BEGIN, the lock, the INSERT and COMMIT in one round trip. Nothing it writes can be
// wrong, only refused: the INSERT is guarded on the log's head still being this node's
// last (else it inserts nothing), a cached stream head that another node has moved makes
// the INSERT hit the (stream, revision) key, and an event ID already stored hits the
// event_id key. ok is false when the batch must be decided again by the reading path:
// it needs something the cache does not know (a refusal, a stream never seen), or the
// guard or a key refused it (err then says which, and the transaction is aborted).
//
// locked: conn holds the lock of a turn, taken before the log's head was read (beginTurn,
// or the reading path that began the turn): nobody can have written since, so the batch
// takes neither the transaction-level lock nor the guard. inTx: that lock is the
// transaction-level one of the asynchronous transaction beginTurn opened, which the batch
// goes on and commits, ending the turn. unlock ends the turn (always, with inTx): a
// session-level lock is released by the last statement, which runs only if every one
// before it did; a transaction-level one by the COMMIT.
func (s *Store) commitFast(ctx context.Context, conn *pgxpool.Conn, batch []*request, locked, inTx, unlock bool) (n int, head uint64, ok, released bool, err error) {
	heads := make(map[string]uint64, len(batch))
	known := func(stream string) (uint64, bool) {
		if h, ok := heads[stream]; ok {
			return h, true
		}
		h, ok := s.heads[stream]
		return h, ok
	}
	// Decide first, touching nothing the reading path needs if it has to take over.
	nexts := make([]uint64, len(batch))
	for i, r := range batch {
		cur, exists := known(r.stream)
		switch {
		case exists && r.expected.Matches(cur, true):
			nexts[i] = cur + 1
		case !exists && r.expected.IsNoStream():
			nexts[i] = 0 // the (stream, revision) key refuses it if the stream exists
		default:
			return 0, 0, false, released, nil
		}
		heads[r.stream] = nexts[i] + uint64(len(r.events)) - 1
	}
	frontier := s.frontier.Snapshot()
	if frontier.Size() != int64(s.last) {
		return 0, 0, false, released, nil
	}
	prev := s.lastHash
	position := s.last
	at := time.Unix(0, s.now().UnixNano()).UTC()
	var rowsOut pending
	results := make([]eventstore.AppendResult, len(batch))
	for i, r := range batch {
		res := eventstore.AppendResult{Positions: make([]uint64, len(r.events))}
		for j, e := range r.events {
			position++
			rec := eventstore.RecordedEvent{
				ID: e.ID, Stream: r.stream, Type: e.Type, Revision: nexts[i] + uint64(j), Position: position,
				RecordedAt: at, Data: e.Data, Metadata: e.Metadata,
			}
			hash := eventstore.ChainHash(prev, rec)
			prev = hash
			rowsOut.add(rec, hash)
			rowsOut.trees = append(rowsOut.trees, treeBytes(frontier.Append(s.leaves.Hash(rec, r.views[j]))))
			res.Positions[j] = position
		}
		res.NextRevision = nexts[i] + uint64(len(r.events)) - 1
		results[i] = res
	}
	b := &pgx.Batch{}
	if !inTx {
		b.Queue("BEGIN")
		b.Queue("SET LOCAL synchronous_commit TO off")
	}
	if locked {
		b.Queue(s.q.insert, rowsOut.positions, rowsOut.streams, rowsOut.revisions, rowsOut.ids,
			rowsOut.types, rowsOut.at, rowsOut.data, rowsOut.metadata, rowsOut.hashes, rowsOut.trees)
	} else {
		b.Queue("SELECT pg_advisory_xact_lock($1)", s.lockKey)
		b.Queue(s.q.insertIfHead, rowsOut.positions, rowsOut.streams, rowsOut.revisions, rowsOut.ids,
			rowsOut.types, rowsOut.at, rowsOut.data, rowsOut.metadata, rowsOut.hashes, rowsOut.trees, int64(s.last), s.lastHash[:])
	}
	b.Queue("COMMIT")
	if unlock {
		if !inTx {
			b.Queue(unlockAll)
		}
		// A contended batch ends its turn here, and the other node takes the lock at once.
		// The flush the syncer would make next (durability.go) goes in the same round trip,
		// after the lock is released: this node's writers are answered a round trip sooner,
		// and this node's writer would only wait for the lock meanwhile. The durable head
		// is raised, and the nodes told, only if the batch went in (its last chain hash is
		// at its last position); otherwise the reading path decides it again and the
		// syncer flushes it as usual.
		b.Queue("BEGIN")
		b.Queue("SELECT txid_current()")
		b.Queue("COMMIT")
		b.Queue("BEGIN")
		b.Queue("SET LOCAL synchronous_commit TO off")
		b.Queue(s.q.raiseIfMine, int64(position), prev[:], s.channel, s.tell.due(time.Now()))
		b.Queue("COMMIT")
	}
	br := conn.SendBatch(ctx, b)
	before := 2 // BEGIN, SET
	switch {
	case inTx:
		before = 0 // beginTurn sent them, and the lock
	case !locked:
		before = 3 // and the lock
	}
	for range before {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return 0, 0, false, released, err
		}
	}
	tag, err := br.Exec()
	if err != nil {
		_ = br.Close()
		return 0, 0, false, released, err
	}
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return 0, 0, false, released, err
	}
	flushed := false
	if unlock {
		if !inTx {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				return 0, 0, false, false, err
			}
		}
		released = true
		flushed = true
		for range 7 {
			if _, err := br.Exec(); err != nil {
				flushed = false // committed, not known to be durable: the syncer flushes it
				break
			}
		}
	}
	if err := br.Close(); err != nil && !released {
		return 0, 0, false, released, err
	}
	if tag.RowsAffected() != int64(len(rowsOut.positions)) {
		// The guard: another node wrote since. The empty transaction has committed.
		return 0, 0, false, released, nil
	}
	for i, r := range batch {
		r.result = results[i]
		s.heads[r.stream] = results[i].NextRevision
	}
	s.frontier = frontier
	s.remember(position, prev, true)
	if flushed {
		s.flushedTo = position
	}
	return len(rowsOut.positions), position, true, released, nil
}

func (p *pending) add(rec eventstore.RecordedEvent, hash [32]byte) {
	p.positions = append(p.positions, int64(rec.Position))
	p.streams = append(p.streams, rec.Stream)
	p.revisions = append(p.revisions, int64(rec.Revision))
	p.ids = append(p.ids, wireID(rec.ID))
	p.types = append(p.types, rec.Type)
	p.at = append(p.at, rec.RecordedAt.UnixNano())
	p.data = append(p.data, rec.Data)
	p.metadata = append(p.metadata, rec.Metadata)
	p.hashes = append(p.hashes, hash[:])
}

// retryOf decides whether r repeats an append already stored: its first ID is stored and
// all its events sit, in order, at consecutive revisions of the same stream from there. The
// stored positions are then r's result. Any other reuse of a stored ID is
// ErrDuplicateEventID.
func retryOf(r *request, stored map[uuid.UUID]storedID) (eventstore.AppendResult, bool, error) {
	first, found := stored[r.events[0].ID]
	if !found {
		for _, e := range r.events[1:] {
			if st, dup := stored[e.ID]; dup {
				return eventstore.AppendResult{}, false, fmt.Errorf("%w: %s is already stored in stream %q", eventstore.ErrDuplicateEventID, e.ID, st.stream)
			}
		}
		return eventstore.AppendResult{}, false, nil
	}
	if first.stream != r.stream {
		return eventstore.AppendResult{}, false, fmt.Errorf("%w: %s is already stored in stream %q", eventstore.ErrDuplicateEventID, r.events[0].ID, first.stream)
	}
	res := eventstore.AppendResult{Positions: make([]uint64, len(r.events))}
	for i, e := range r.events {
		st, ok := stored[e.ID]
		if !ok || st.stream != r.stream || st.revision != first.revision+uint64(i) {
			return eventstore.AppendResult{}, false, fmt.Errorf("%w: %s was stored by an append with other events", eventstore.ErrDuplicateEventID, r.events[0].ID)
		}
		res.Positions[i] = st.position
	}
	res.NextRevision = first.revision + uint64(len(r.events)) - 1
	return res, true, nil
}

func describe(current uint64, exists bool) string {
	if !exists {
		return "no stream"
	}
	return fmt.Sprintf("revision %d", current)
}

// clone keeps nil as nil so a round trip does not invent empty metadata.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
