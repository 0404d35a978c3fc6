package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
)

// KeyMismatchError is a node's key that is not the one the log recorded for its purpose:
// what the node would seal or sign with it, the other nodes could not open or check.
type KeyMismatchError struct {
	Purpose    string
	Recorded   string // the fingerprint in the log
	Got        string // the fingerprint of this node's key
	RecordedAt time.Time
}

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("the %s key's fingerprint is %s, but the log recorded %s on %s", e.Purpose, e.Got, e.Recorded,
		e.RecordedAt.UTC().Format(time.RFC3339))
}

// CheckKeyFingerprint compares fingerprint with the one the log recorded for purpose, and
// records it when the log has none yet (recorded reports that). It appends with NoStream:
// of two nodes starting at once on one log, one records and the other, refused, reads that
// record and compares with it, so equal keys never fail and different ones always do.
func CheckKeyFingerprint(ctx context.Context, store eventstore.Store, clock Clock, purpose, fingerprint string) (recorded bool, err error) {
	stream := domain.KeyStream(purpose)
	for attempt := 0; attempt < 2; attempt++ {
		first, err := store.ReadStream(ctx, stream, 0, 1)
		switch {
		case err == nil && len(first) == 1:
			d, err := eventlog.Decode(first[0])
			if err != nil {
				return false, err
			}
			e, ok := d.Event.Data.(domain.KeyFingerprintRecorded)
			if !ok {
				return false, fmt.Errorf("commands: %s holds a %s event", stream, first[0].Type)
			}
			if e.Fingerprint != fingerprint {
				return false, &KeyMismatchError{Purpose: purpose, Recorded: e.Fingerprint, Got: fingerprint, RecordedAt: d.Event.At}
			}
			return false, nil
		case err != nil && !errors.Is(err, eventstore.ErrStreamNotFound):
			return false, err
		}
		meta := domain.Metadata{CommandID: "key-fingerprint/" + eventlog.NewCommandID()}
		data, err := eventlog.Encode(stream, meta, []domain.Event{{At: clock().UTC(),
			Data: domain.KeyFingerprintRecorded{Purpose: purpose, Fingerprint: fingerprint}}})
		if err != nil {
			return false, err
		}
		_, err = store.Append(ctx, stream, eventstore.NoStream, data...)
		if errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			continue // another node recorded first: compare with what it recorded
		}
		if err != nil {
			return false, fmt.Errorf("commands: record the %s key's fingerprint: %w", purpose, err)
		}
		return true, nil
	}
	return false, fmt.Errorf("%w: %s", ErrTooManyConflicts, stream)
}
