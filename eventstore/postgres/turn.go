package postgres

import (
	"context"
	"fmt"
	"time"

	"accountd/eventstore/transparency"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A turn: a node's writer holds the append lock on one connection across one or more
// batches: as a session-level advisory lock, or, for the one batch of a contended turn, as
// the transaction-level lock of the transaction that batch commits.
//
// A node writing alone needs no turn: each batch takes the transaction-level lock as it
// commits, in one round trip (commitFast), guarded on the log's head being its own last
// commit. When the guard finds another node's commit, the batch is decided again under the
// lock (the reading path), which keeps the lock as a turn, and the node counts as contended
// for contendedFor. While contended, a turn begins with the lock, taken before its first
// batch is made up (beginTurn): that batch holds every append that queued while the node
// waited, and the log's head and the tree's edge, read in the same round trip, let it go in
// one more round trip (commitFast) although another node wrote last. A contended turn lasts
// one batch, so two nodes alternate batch by batch, each batch holding all the appends its
// node's writers have in flight. Turns of up to 10 ms did worse (two nodes 0.45-0.68 of one):
// during a turn the other node's writers only waited, so the log was written at the pace of
// one node's writers at a time, in batches a third of their number.
//
// A contended turn's transaction is opened, and made asynchronous, before the lock is asked
// for, and its COMMIT releases the lock: the three statements a session-level lock needs
// around the batch (BEGIN and SET after the grant, the unlock after COMMIT) no longer run
// while the lock is held and the other node waits for it. A turn held the lock for about
// 1.3 ms, of which the INSERT took 0.57 (BENCHMARKS.md).
//
// A turn that the reading path began and that nobody contends lasts up to turnMax, and ends
// once the node has had nothing to write for turnIdle.
//
// Every batch commits holding the one append lock in one of its two forms: the
// transaction-level lock is granted at once to the session holding the session-level one,
// and to no other. So the order of commits, and with it the gapless positions followers
// read, is decided under one lock.
const (
	turnMax  = 10 * time.Millisecond
	turnIdle = 2 * time.Millisecond
	// After a turn that found another node's commit before it, every turn lasts one
	// batch for this long, whether or not that node wrote just before it.
	contendedFor = 100 * time.Millisecond
)

// unlockAll releases the session-level lock however many times the session took it: a
// pooled connection must never keep it. The pool's connections take no other session-level
// advisory lock.
const unlockAll = "SELECT pg_advisory_unlock_all()"

// turnConn is the connection of the writer's current turn, or a fresh one from the pool
// (locked false: its batch must take the session lock first). inTx: the turn's lock is
// the transaction-level one of the transaction open on conn (beginTurn).
func (s *Store) turnConn(ctx context.Context) (conn *pgxpool.Conn, locked, inTx bool, err error) {
	if s.turn != nil {
		conn, inTx, s.turn, s.turnInTx = s.turn, s.turnInTx, nil, false
		return conn, true, inTx, nil
	}
	conn, err = s.pool.Acquire(ctx)
	return conn, false, false, err
}

// beginTurn opens a transaction on a connection of its own and takes the transaction-level
// lock in it before the batch of a contended turn is made up, and in the same round trip
// reads the log's head, the tree's right edge, and the hash at this node's last position.
// If another node wrote since this one's last commit, the writer takes the head and the
// edge as its own, so the batch still goes in one round trip (commitFast: a stream head
// that the other node moved only makes its INSERT hit a key, and the reading path takes
// over). On failure beginTurn leaves no turn: the batch then takes the lock itself and
// reports what went wrong.
func (s *Store) beginTurn() {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		s.fast = false
		return
	}
	t, err := lockAndReadHead(ctx, conn, s)
	if err != nil {
		s.fast = false
		s.endTurn(conn, true)
		return
	}
	s.turn, s.turnInTx, s.turnSince = conn, true, time.Now()
	if t.head != s.last {
		s.contendedAt = s.turnSince
	}
	s.contested = s.turnSince.Sub(s.contendedAt) < contendedFor
	if !t.mine {
		// This node's last commit is not in the log: PostgreSQL lost the tail it had not
		// flushed (a crash), and the stream heads cached from it may be ahead of the truth.
		// The reading path decides from the log alone.
		clear(s.heads)
		s.fast = false
		return
	}
	if t.head == s.last {
		s.fast = s.last > 0
		return
	}
	frontier, err := transparency.LoadFrontier(int64(t.head), blobReader(t.edge))
	if err != nil {
		s.fast = false // the reading path reads the edge again and reports it
		return
	}
	s.frontier, s.last, s.lastHash, s.fast = frontier, t.head, t.hash, t.head > 0
}

// lockAndReadHead opens an asynchronous transaction, takes the append lock in it and, once
// the lock is granted, reads the log's tip. The COMMIT returns (and the lock goes) once the
// commit is in the WAL buffers; the batch's own round trip flushes it (commitFast).
func lockAndReadHead(ctx context.Context, conn *pgxpool.Conn, s *Store) (t tip, err error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SET LOCAL synchronous_commit TO off")
	b.Queue("SELECT pg_advisory_xact_lock($1)", s.lockKey)
	b.Queue(s.q.tip, int64(s.last))
	br := conn.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	for _, step := range []string{"begin", "asynchronous commit", "append lock"} {
		if _, err = br.Exec(); err != nil {
			return tip{}, fmt.Errorf("%s: %w", step, err)
		}
	}
	rows, _ := br.Query()
	return s.readTip(rows)
}

// keepTurn says whether the batch about to be sent may keep the lock after its COMMIT.
func (s *Store) keepTurn(locked bool) bool {
	return !locked || !s.contested && time.Since(s.turnSince) < turnMax
}

// endTurn gives the turn's connection back: out of any transaction and unlocked, or closed,
// which makes the server drop its locks; a pooled connection must never carry the lock to
// another user.
func (s *Store) endTurn(conn *pgxpool.Conn, locked bool) {
	if locked {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if conn.Conn().PgConn().TxStatus() != 'I' {
			if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
				_ = conn.Conn().Close(ctx)
			}
		}
		if !conn.Conn().IsClosed() {
			if _, err := conn.Exec(ctx, unlockAll); err != nil {
				_ = conn.Conn().Close(ctx)
			}
		}
		cancel()
	}
	conn.Release()
}

// releaseIdleTurn ends the turn of a writer that has nothing to write.
func (s *Store) releaseIdleTurn() {
	if s.turn != nil {
		conn := s.turn
		s.turn = nil
		s.endTurn(conn, true)
	}
}
