package eventlog

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/cenkalti/backoff/v5"

	"accountd/eventstore"
)

// The restart schedule of everything that follows the log and of the server's background
// workers: after a failure (a database error, a lost connection) the work starts again
// after RestartInitial, twice as long after each further failure, at most RestartMax; the
// schedule starts over once the work has moved its checkpoint.
const (
	RestartInitial = 100 * time.Millisecond
	RestartMax     = 30 * time.Second
)

// DefaultBatch is how many events a consumer reads at a time when its Batch is not set.
const DefaultBatch = 512

// restartBackOff is the one restart schedule. No jitter: the readers of one node restart
// independently already, and a fixed schedule keeps restarts easy to read in the logs.
func restartBackOff() *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{InitialInterval: RestartInitial, Multiplier: 2, MaxInterval: RestartMax}
	b.Reset()
	return b
}

// Supervise runs work until ctx ends, starting it again with the restart schedule each time
// it returns before ctx ends, and logs each restart. progress, when not nil, is a position
// that grows as the work gets on (a checkpoint); the schedule starts over when it has grown
// since the previous failure. Supervise returns ctx's error.
func Supervise(ctx context.Context, log *slog.Logger, name string, progress func() uint64, work func(context.Context) error) error {
	if log == nil {
		log = slog.Default()
	}
	b := restartBackOff()
	var at uint64
	if progress != nil {
		at = progress()
	}
	for {
		err := work(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if progress != nil {
			if now := progress(); now > at {
				at = now
				b.Reset()
			}
		}
		wait := b.NextBackOff()
		log.Error("stopped; restarting", "worker", name, "error", err, "position", at, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Consumer follows the log for one reader from its checkpoint, which the reader keeps: Handle
// applies a batch of events and records the position of the last one with its own effects,
// and Checkpoint reports that position. Every read starts after Checkpoint(), so an event
// is never skipped: a batch that fails is read again on the next try.
type Consumer struct {
	// Name identifies the reader in logs and errors.
	Name  string
	Store eventstore.Store
	// Batch is the most events handed to Handle at once (default DefaultBatch).
	Batch int
	// Checkpoint is the last position the reader has finished with (0: none).
	Checkpoint func() uint64
	// Handle applies events in commit order. Events at or before Checkpoint() may be handed
	// over again after a restart; Handle skips them.
	Handle func(ctx context.Context, events []eventstore.RecordedEvent) error
	Logger *slog.Logger
	// Poll is the follow's safety-net poll (default eventstore.FollowPollInterval).
	Poll time.Duration
}

func (c *Consumer) batch() int {
	if c.Batch < 1 {
		return DefaultBatch
	}
	return c.Batch
}

// Run follows the log until ctx ends: the backlog, then each commit as it lands. A failure
// restarts the follow from the checkpoint on the restart schedule. Run returns ctx's error.
func (c *Consumer) Run(ctx context.Context) error {
	return Supervise(ctx, c.Logger, c.Name, c.Checkpoint, func(ctx context.Context) error {
		return eventstore.FollowPolling(ctx, c.Store, c.Checkpoint(), c.batch(), c.Poll, c.Handle)
	})
}

// CatchUp applies every event up to position head and nothing after it, then returns, so
// readers caught up to one head all stand at the same position. The first error ends it.
func (c *Consumer) CatchUp(ctx context.Context, head uint64) error {
	for c.Checkpoint() < head {
		from := c.Checkpoint()
		recs, err := c.Store.ReadAll(ctx, from, c.batch())
		if err != nil {
			return fmt.Errorf("%s: read after position %d: %w", c.Name, from, err)
		}
		if n := len(recs); n > 0 && recs[n-1].Position > head {
			recs = recs[:sort.Search(n, func(i int) bool { return recs[i].Position > head })]
		}
		if len(recs) == 0 {
			return nil
		}
		if err := c.Handle(ctx, recs); err != nil {
			return err
		}
		if c.Checkpoint() <= from {
			return fmt.Errorf("%s: handled positions %d..%d without moving its checkpoint past %d", c.Name, recs[0].Position, recs[len(recs)-1].Position, from)
		}
	}
	return nil
}

// CatchUpToHead applies everything up to the log's head as it is when called.
func (c *Consumer) CatchUpToHead(ctx context.Context) error {
	head, err := c.Store.HeadPosition(ctx)
	if err != nil {
		return fmt.Errorf("%s: head: %w", c.Name, err)
	}
	return c.CatchUp(ctx, head)
}

// Everything is the head to pass to CatchUp to apply whatever the log holds.
const Everything = math.MaxUint64
