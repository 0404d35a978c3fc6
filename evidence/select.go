package evidence

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/projections/compliance"
)

// selectEvents gathers, in log order, the events the reports over q derive from, all at
// positions up to treeSize: the policy stream, and each stream of an account that was a
// member of the property during the period (read from db, the compliance read model, caught
// up to at least treeSize), from revision 0 through its last event dated at or before q.To.
// A stream always starts at revision 0 and has no gap, which the verifier checks: an event
// left out of the middle of a stream shows.
func selectEvents(ctx context.Context, store eventstore.Store, db *sql.DB, q compliance.Query, treeSize uint64) ([]eventstore.RecordedEvent, error) {
	members, err := compliance.Members(ctx, db, q)
	if err != nil {
		return nil, err
	}
	var out []eventstore.RecordedEvent
	policy, err := readPrefix(ctx, store, domain.PolicyStream, treeSize, q)
	if err != nil {
		return nil, err
	}
	out = append(out, policy...)
	for _, id := range members {
		evs, err := readPrefix(ctx, store, domain.AccountStream(id), treeSize, q)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	slices.SortFunc(out, func(a, b eventstore.RecordedEvent) int {
		switch {
		case a.Position < b.Position:
			return -1
		case a.Position > b.Position:
			return 1
		}
		return 0
	})
	return out, nil
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
