package projections

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"accountd/eventstore"
	"accountd/eventstore/eventlog"
)

// Run follows the log for every projection until ctx ends. One reader serves them all: each
// commit is read and decoded once and applied to every projection in one transaction, each
// with its checkpoint, where a reader per projection woke, read and decoded every commit once
// per projection and committed it once per projection. A projection whose batch fails
// leaves the group and follows the log on its own from its checkpoint, on the log's restart
// schedule (eventlog.Supervise), so it never skips an event and the others do not wait for
// it.
func (r *Runner) Run(ctx context.Context) error {
	g := &followGroup{r: r}
	for _, name := range r.order {
		g.active = append(g.active, r.states[name])
	}
	groupCtx, stopGroup := context.WithCancel(ctx)
	defer stopGroup()
	var alone sync.WaitGroup
	g.leave = func(st *projectionState) {
		alone.Go(func() { _ = r.consumer(st).Run(ctx) }) // ends with ctx, returned below
		if len(g.active) == 0 {
			stopGroup()
		}
	}
	reader := &eventlog.Consumer{
		Name: "projections", Store: r.store, Batch: r.batch, Logger: r.log,
		Checkpoint: g.checkpoint, Handle: g.handle,
	}
	if len(g.active) > 0 {
		_ = reader.Run(groupCtx) // ends with groupCtx
	}
	alone.Wait()
	<-ctx.Done()
	return ctx.Err()
}

// followGroup is the projections that share one reader of the log.
type followGroup struct {
	r *Runner
	// active is only touched by the reader's goroutine (handle, checkpoint).
	active []*projectionState
	leave  func(*projectionState)
}

// checkpoint is the position of the group's projection furthest behind: the reader reads
// after it, and each projection skips what it has applied.
func (g *followGroup) checkpoint() uint64 {
	var low uint64
	for i, st := range g.active {
		if pos := g.r.Position(st.name); i == 0 || pos < low {
			low = pos
		}
	}
	return low
}

func (g *followGroup) handle(ctx context.Context, recs []eventstore.RecordedEvent) error {
	decoded, err := decodeAfter(recs, g.checkpoint())
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	if len(g.active) > 1 {
		err := g.r.applyTogether(ctx, g.active, decoded)
		if err == nil || ctx.Err() != nil {
			return err
		}
		// Rolled back as a whole: one by one, each in its own transaction, finds the
		// projection that fails, and the others go on without it.
	}
	for _, st := range slices.Clone(g.active) {
		err := g.r.applyDecoded(ctx, st, decoded)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return err
		}
		g.r.log.Error("projection failed: it follows the log on its own from its checkpoint", "projection", st.name, "position", g.r.Position(st.name), "error", err)
		g.active = slices.DeleteFunc(g.active, func(s *projectionState) bool { return s == st })
		g.leave(st)
	}
	return nil
}
