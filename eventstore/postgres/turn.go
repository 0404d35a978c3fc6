package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// A turn: while a node has appends to make, its writer keeps the append lock as a
// session-level advisory lock on one connection across consecutive batches, for up to
// turnMax, and lets it go once it has had nothing to write for turnIdle. Without it, two
// nodes writing at once took the lock in turns batch by batch: each batch found the other
// node's commit before it and had to read the log's head, the tree's edge, the stream
// heads and the stored IDs under the lock (two round trips), and each node's batches were
// half as large. Within a turn nobody else can write, so every batch after the first is
// decided from what the node knows and sent in one round trip (commitFast), while the
// other node's appends queue up and go in one larger batch when its turn comes. The price
// is the other node's latency: up to turnMax more while it waits.
//
// The transaction-level lock every batch still takes is granted at once to the session
// that holds the session-level one, so the order of commits, and with it the gapless
// positions followers read, is decided under one lock exactly as before.
const (
	turnMax  = 10 * time.Millisecond
	turnIdle = 2 * time.Millisecond
)

// unlockAll releases the session-level lock however many times the session took it: a
// pooled connection must never keep it. The pool's connections take no other session-level
// advisory lock.
const unlockAll = "SELECT pg_advisory_unlock_all()"

// turnConn is the connection of the writer's current turn, or a fresh one from the pool
// (locked false: its batch must take the session lock first).
func (s *Store) turnConn(ctx context.Context) (conn *pgxpool.Conn, locked bool, err error) {
	if s.turn != nil {
		conn, s.turn = s.turn, nil
		return conn, true, nil
	}
	conn, err = s.pool.Acquire(ctx)
	return conn, false, err
}

// keepTurn says whether the batch about to be sent may keep the lock after its COMMIT.
func (s *Store) keepTurn(locked bool) bool {
	return !locked || time.Since(s.turnSince) < turnMax
}

// endTurn gives the turn's connection back: unlocked, or closed, which makes the server
// drop its locks; a pooled connection must never carry the lock to another user.
func (s *Store) endTurn(conn *pgxpool.Conn, locked bool) {
	if locked {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := conn.Exec(ctx, unlockAll); err != nil {
			_ = conn.Conn().Close(ctx)
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
