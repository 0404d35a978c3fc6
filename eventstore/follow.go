package eventstore

import (
	"context"
	"fmt"
	"time"
)

// FollowPollInterval bounds how long Follow can stay behind when a change notification is
// lost (a backend that notifies only for its own process's writes, a bug). Notifications
// are the fast path; this ticker is the safety net, not a polling loop.
const FollowPollInterval = time.Second

// DefaultFollowBatch is the ReadAll limit Follow uses when given a batch size below one.
const DefaultFollowBatch = 512

// Follow is a catch-up subscription: it hands handle every event with a global position
// greater than after, in commit order and in slices of at most batch events, first the
// backlog and then new commits as they happen. Between commits it sleeps on
// store.Changes(), so an idle follower costs nothing.
//
// Delivery is exactly once per call: a slice is handed over once, and the next read starts
// after its last position. A handler that must survive restarts stores the last position
// it processed and passes it as after next time (at-least-once across restarts unless it
// stores that position atomically with its own effects).
//
// Follow returns when ctx ends (with ctx's error), when a read fails, or when handle
// returns an error (wrapped, so errors.Is still sees it).
func Follow(ctx context.Context, store Store, after uint64, batch int, handle func(ctx context.Context, events []RecordedEvent) error) error {
	return FollowPolling(ctx, store, after, batch, FollowPollInterval, handle)
}

// FollowPolling is Follow with its safety-net poll every poll (FollowPollInterval when poll
// is not positive) instead of every FollowPollInterval.
func FollowPolling(ctx context.Context, store Store, after uint64, batch int, poll time.Duration, handle func(ctx context.Context, events []RecordedEvent) error) error {
	if poll <= 0 {
		poll = FollowPollInterval
	}
	if batch < 1 {
		batch = DefaultFollowBatch
	}
	// Subscribe before the first read: a commit that lands between the read that finds
	// nothing and the wait would otherwise go unnoticed until the next poll.
	changes, stop := store.Changes()
	defer stop()
	ticker := time.NewTicker(poll)
	defer ticker.Stop()

	for {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			events, err := store.ReadAll(ctx, after, batch)
			if err != nil {
				if ctxErr := ctx.Err(); ctxErr != nil {
					return ctxErr
				}
				return fmt.Errorf("eventstore: follow after position %d: %w", after, err)
			}
			if len(events) == 0 {
				break
			}
			if err := handle(ctx, events); err != nil {
				return fmt.Errorf("eventstore: follow: handler failed on positions %d..%d: %w",
					events[0].Position, events[len(events)-1].Position, err)
			}
			after = events[len(events)-1].Position
			if len(events) < batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changes:
		case <-ticker.C:
		}
	}
}
