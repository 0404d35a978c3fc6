package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Telling the nodes that the durable head rose. A NOTIFY wakes every listening session of
// the database, and the process of each listener after it: with one notification a batch,
// every batch woke a server process and a Go process per node, on the same cores as the
// writer that holds the append lock. So a node tells at most once per tellEvery: a raise
// inside the interval is told by the node's first raise after it, or, if none comes in
// time, by a trailing notification that the syncer sends. One node wrote 5% more events a
// second with it, and two nodes 11% more, in the median of 13 alternations (BENCHMARKS.md).
//
// A follower on another node therefore hears of a batch at most tellEvery late; this node's
// own followers are woken directly, and eventstore.Follow's one-second poll still covers a
// notification lost with a node that crashed before its trailing one.
const tellEvery = 10 * time.Millisecond

// teller decides which raises of the durable head are told. The writer (a contended batch
// raises the head itself) and the syncer both ask it.
type teller struct {
	every time.Duration

	mu     sync.Mutex
	told   time.Time // when a raise was last told
	untold time.Time // the first raise since then that was not told (zero: none)
}

// due says whether a raise made at now is told with it; if not, it is left to a later one.
func (t *teller) due(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.told) >= t.every {
		t.told, t.untold = now, time.Time{}
		return true
	}
	if t.untold.IsZero() {
		t.untold = now
	}
	return false
}

// trailing says whether an untold raise must be told now (and counts it told), or how long
// to wait before asking again (0: nothing is untold). It is due every after the first untold
// raise: under load the next raise after the interval tells it first, at no extra cost.
func (t *teller) trailing(now time.Time) (tell bool, wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.untold.IsZero() {
		return false, 0
	}
	if left := t.every - now.Sub(t.untold); left > 0 {
		return false, left
	}
	t.told, t.untold = now, time.Time{}
	return true, 0
}

// untoldNow says whether a raise is untold, and counts it told: the node is closing.
func (t *teller) untoldNow() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	untold := !t.untold.IsZero()
	t.untold = time.Time{}
	return untold
}

// tellTrailing sends the trailing notification of the durable head (the syncer's), in an
// asynchronous transaction: a NOTIFY takes a transaction ID, and a synchronous commit would
// cost a WAL flush for a message that says nothing new about durability. A failure is left
// to Follow's poll: the server is then failing this node's flushes too, which the appends
// report.
func (s *Store) tellTrailing() {
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SET LOCAL synchronous_commit TO off")
	b.Queue("SELECT pg_notify($1, $2)", s.channel, fmt.Sprint(s.durable))
	b.Queue("COMMIT")
	_ = s.pool.SendBatch(ctx, b).Close()
}
