package snapshot

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
)

// Folder folds one kind of aggregate from the log, starting at the nearest snapshot that
// fits the question: what the read side (projections/history) folds through. Without
// Snapshots (or Codec) it folds from the first event, with the same result.
type Folder[S any] struct {
	Log       eventstore.Store
	Snapshots Store
	Codec     *Codec[S]
	Evolve    func(S, domain.Event) S
}

// Fold folds stream from the newest snapshot at a revision at most maxRevision (negative:
// none is used) whose events all happened at or before notAfter (zero: any), then the
// events after it in order. Before each of those events, stop is asked whether the fold
// ends before it (nil: never); after folding it, each is called with the state and the
// event and ends the fold by returning false (nil: never). It returns the state and the
// revision it folds up to (-1 when no event was folded).
func (f Folder[S]) Fold(ctx context.Context, stream string, maxRevision int64, notAfter time.Time,
	stop func(eventlog.Decoded) bool, each func(S, eventlog.Decoded) bool) (S, int64, error) {
	var state S
	rev, verify, pos := int64(-1), int64(-1), uint64(0)
	if s, ok := Restore(ctx, f.Snapshots, f.Codec, stream, maxRevision, notAfter); ok {
		state, rev, verify, pos = s.State, int64(s.Revision), int64(s.Revision), s.Position
	}
	const page = 1024
	for {
		from := uint64(rev + 1)
		if verify >= 0 {
			from = uint64(verify)
		}
		recs, err := f.Log.ReadStream(ctx, stream, from, page)
		if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
			var zero S
			return zero, -1, err
		}
		n := len(recs)
		if verify >= 0 {
			if n == 0 || int64(recs[0].Revision) != verify || recs[0].Position != pos {
				Stats.Invalid.Add(1)
				slog.Warn("snapshot: the log does not hold the snapshot's last event; folding from the log", "stream", stream, "revision", verify)
				var zero S
				state, rev, verify = zero, -1, -1
				continue
			}
			recs, verify = recs[1:], -1
		}
		for _, rec := range recs {
			d, err := eventlog.Decode(rec)
			if err != nil {
				var zero S
				return zero, -1, err
			}
			if stop != nil && stop(d) {
				return state, rev, nil
			}
			state = f.Evolve(state, d.Event)
			rev = int64(rec.Revision)
			if each != nil && !each(state, d) {
				return state, rev, nil
			}
		}
		if n < page {
			return state, rev, nil
		}
	}
}
