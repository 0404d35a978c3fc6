package evidence

import (
	"context"
	"database/sql"
	"errors"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/projections/compliance"
)

// eachEvent calls fn with the events the reports over q derive from, all at positions up
// to treeSize, stream after stream: the policy stream, then each stream of an account that
// was a member of the property during the period (read from db, the compliance read model,
// caught up to at least treeSize), in account order, from revision 0 through its last
// event dated at or before q.To. A stream always starts at revision 0 and has no gap, which
// the verifier checks: an event left out of a stream's history shows.
func eachEvent(ctx context.Context, store eventstore.Store, db *sql.DB, q compliance.Query, treeSize uint64, fn func(eventstore.RecordedEvent) error) error {
	members, err := compliance.Members(ctx, db, q)
	if err != nil {
		return err
	}
	streams := []string{domain.PolicyStream}
	for _, id := range members {
		streams = append(streams, domain.AccountStream(id))
	}
	for _, stream := range streams {
		evs, err := readPrefix(ctx, store, stream, treeSize, q)
		if err != nil {
			return err
		}
		for _, rec := range evs {
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// readPrefix reads a stream from revision 0 up to its last event dated at or before q.To
// among those at positions up to treeSize.
func readPrefix(ctx context.Context, store eventstore.Store, stream string, treeSize uint64, q compliance.Query) ([]eventstore.RecordedEvent, error) {
	var out []eventstore.RecordedEvent
	keep := 0
	for next := uint64(0); ; {
		recs, err := store.ReadStream(ctx, stream, next, 512)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if rec.Position > treeSize {
				return out[:keep], nil
			}
			d, err := eventlog.Decode(rec)
			if err != nil {
				return nil, err
			}
			out = append(out, rec)
			if !d.Event.At.After(q.To) {
				keep = len(out)
			}
			next = rec.Revision + 1
		}
		if len(recs) < 512 {
			return out[:keep], nil
		}
	}
}
