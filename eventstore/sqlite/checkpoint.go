package sqlite

import (
	"database/sql/driver"
	"fmt"
	"sync/atomic"
	"time"
)

// Checkpointing copies WAL frames back into the database file. Left to SQLite, it runs
// inside the commit that crosses wal_autocheckpoint, on the writer's thread, and that
// commit also pays two fsyncs: every append queued behind it waits for thousands of page
// writes. (Measured: moving it off the writer cut a lone Normal append from about 85µs to
// under 50µs.) So the writer connection never checkpoints on its own; a checkpointer
// goroutine with its own connection runs PASSIVE checkpoints, which copy frames while the
// writer keeps appending.
//
// A WAL is only rewound to its start when a write transaction begins with every frame
// already copied, and a background checkpoint racing a busy writer never quite gets
// there. So every restartEvery events the writer itself runs one PASSIVE checkpoint
// between two batches: by then the checkpointer has copied nearly everything, the
// writer's pass copies the rest, and its next transaction restarts the WAL.

const (
	// restartEvery bounds the WAL to roughly this many events' worth of frames (about
	// 2 pages each with random event IDs).
	restartEvery = 2048
	// checkpointInterval spaces background checkpoints: each one fsyncs the WAL and the
	// database file, so running one per commit would double the fsyncs. At 20 ms that is
	// what it did under the login load (about 40 commits a second, each kicking a
	// checkpoint 25 ms after the last): 0.8% of the CPU and a second fsync a commit, each
	// blocking its thread. At 100 ms the WAL holds at most a tenth of a second of frames
	// between two (at 16,000 events/s, about restartEvery's worth), and a page that every
	// commit rewrites (the B-tree's upper levels) is copied once per interval.
	checkpointInterval = 100 * time.Millisecond
	// checkpointEvents and checkpointWait make the passes follow the volume rather than
	// the clock: a pass waits until this many events have been committed since the last
	// one, or checkpointWait has gone by since the first of them. Under a heavy load it
	// changes nothing (512 events come in well under checkpointInterval); under the login
	// load (about 50 events a second) it cuts ten passes a second, twenty fsyncs and the
	// copying of the same upper B-tree pages, to one (BENCHMARKS.md, issue 16). With Full
	// the WAL is already durable, so a second's frames in it cost only their disk space.
	checkpointEvents = restartEvery / 4
	checkpointWait   = time.Second
)

type checkpointer struct {
	conn    *rawConn
	stmt    *rawStmt
	wait    time.Duration // the longest a committed event waits for its pass
	pending atomic.Int64  // events committed since the last pass began
	kick    chan struct{} // capacity 1: "there is something new to copy"
	done    chan struct{}
	err     atomic.Pointer[error] // the last failure, for Close to report
}

// newCheckpointer opens the checkpointer's connection. wait is checkpointWait, or, where
// the checkpoints are what makes commits durable (Normal), checkpointInterval, so that
// Normal loses no more on power loss than it did.
func newCheckpointer(dsn string, wait time.Duration) (*checkpointer, error) {
	conn, err := openRaw(dsn)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint connection: %w", err)
	}
	stmt, err := conn.prepare("PRAGMA wal_checkpoint(PASSIVE)")
	if err != nil {
		_ = conn.close()
		return nil, err
	}
	return &checkpointer{conn: conn, stmt: stmt, wait: wait, kick: make(chan struct{}, 1), done: make(chan struct{})}, nil
}

// run checkpoints after commits, at most once per checkpointInterval, once
// checkpointEvents have gathered or the first of them has waited c.wait, until stop closes.
func (c *checkpointer) run(stop <-chan struct{}) {
	defer close(c.done)
	result := make([]driver.Value, 3)
	for {
		select {
		case <-stop:
			return
		case <-c.kick:
		}
		if !c.gather(stop) {
			return
		}
		c.pending.Store(0) // commits made during the pass kick the next one
		if _, err := checkpoint(c.stmt, result); err != nil {
			c.err.Store(&err)
		} else {
			c.err.Store(nil)
		}
		select {
		case <-stop:
			return
		case <-time.After(checkpointInterval):
		}
	}
}

// gather waits until checkpointEvents are pending or c.wait has passed; false when stop
// closed first.
func (c *checkpointer) gather(stop <-chan struct{}) bool {
	if c.pending.Load() >= checkpointEvents {
		return true
	}
	timer := time.NewTimer(c.wait)
	defer timer.Stop()
	for c.pending.Load() < checkpointEvents {
		select {
		case <-stop:
			return false
		case <-c.kick:
		case <-timer.C:
			return true
		}
	}
	return true
}

// notify tells the checkpointer that a commit added events, without ever blocking the
// caller. Only the first commit after a pass and those past checkpointEvents wake it: at
// the login load that is one wake-up a pass, not one a commit.
func (c *checkpointer) notify(events int) {
	if events == 0 {
		return
	}
	n := c.pending.Add(int64(events))
	if n != int64(events) && n < checkpointEvents {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) close() error {
	err := c.stmt.close()
	if cerr := c.conn.close(); err == nil {
		err = cerr
	}
	if p := c.err.Load(); err == nil && p != nil {
		err = fmt.Errorf("background checkpoint: %w", *p)
	}
	return err
}

// checkpoint runs a prepared PASSIVE checkpoint and reports whether it copied every frame.
// One that could not (the other checkpointer held the lock, a reader is still on an old
// snapshot) is not an error: the next one resumes where it stopped.
func checkpoint(stmt *rawStmt, result []driver.Value) (complete bool, err error) {
	if _, err := stmt.queryRow(result); err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	busy, _ := result[0].(int64)
	frames, _ := result[1].(int64)
	copied, _ := result[2].(int64)
	return busy == 0 && copied == frames, nil
}
