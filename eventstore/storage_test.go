package eventstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"accountd/eventstore"
	"accountd/eventstore/memory"
)

type failing struct {
	eventstore.Store
	err error
}

func (f *failing) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if f.err != nil {
		return eventstore.AppendResult{}, f.err
	}
	return f.Store.Append(ctx, stream, expected, events...)
}

// The storage is unavailable from an append it failed until one succeeds; a refusal (a
// wrong expected version, any error that is not the storage's) changes nothing; each
// transition is reported once, and failures are counted by reason.
func TestWatchStorageFollowsTheAppends(t *testing.T) {
	f := &failing{Store: memory.New()}
	var transitions []bool
	s, h := eventstore.WatchStorage(f, func(available bool, _ error) { transitions = append(transitions, available) })
	ev := func() eventstore.EventData { return eventstore.EventData{ID: uuid.New(), Type: "Opened"} }
	steps := []struct {
		err       error
		available bool
	}{
		{nil, true},
		{&eventstore.StorageError{Reason: eventstore.StorageFull, Err: errors.New("SQLITE_FULL")}, false},
		{&eventstore.StorageError{Reason: eventstore.StorageFull, Err: errors.New("SQLITE_FULL")}, false},
		{errors.New("some other failure"), false},
		{nil, true},
		{eventstore.ErrWrongExpectedVersion, true},
	}
	for i, st := range steps {
		f.err = st.err
		_, _ = s.Append(t.Context(), "acct", eventstore.Any, ev())
		if h.Available() != st.available || (h.Err() == nil) != st.available {
			t.Fatalf("step %d (%v): available=%v err=%v, want available=%v", i, st.err, h.Available(), h.Err(), st.available)
		}
	}
	if got := h.Failures(eventstore.StorageFull); got != 2 {
		t.Errorf("disk_full failures: %d, want 2", got)
	}
	if len(transitions) != 2 || transitions[0] || !transitions[1] {
		t.Errorf("transitions %v, want [false true]", transitions)
	}
}
