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

// recordedKey is the fingerprint in force for a purpose (the stream's latest record).
type recordedKey struct {
	fingerprint string
	at          time.Time
	revision    uint64
	exists      bool
}

func readRecordedKey(ctx context.Context, store eventstore.Store, purpose string) (recordedKey, error) {
	stream := domain.KeyStream(purpose)
	recs, err := store.ReadStream(ctx, stream, 0, 0)
	if errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(recs) == 0) {
		return recordedKey{}, nil
	}
	if err != nil {
		return recordedKey{}, err
	}
	last := recs[len(recs)-1]
	d, err := eventlog.Decode(last)
	if err != nil {
		return recordedKey{}, err
	}
	e, ok := d.Event.Data.(domain.KeyFingerprintRecorded)
	if !ok {
		return recordedKey{}, fmt.Errorf("commands: %s holds a %s event", stream, last.Type)
	}
	return recordedKey{fingerprint: e.Fingerprint, at: d.Event.At, revision: last.Revision, exists: true}, nil
}

func appendKeyRecord(ctx context.Context, store eventstore.Store, clock Clock, expected eventstore.ExpectedRevision, e domain.KeyFingerprintRecorded) error {
	stream := domain.KeyStream(e.Purpose)
	meta := domain.Metadata{CommandID: eventlog.NewCommandID()}
	data, err := eventlog.Encode(stream, meta, []domain.Event{{At: clock().UTC(), Data: e}})
	if err != nil {
		return err
	}
	_, err = store.Append(ctx, stream, expected, data...)
	return err
}

// CheckKeyFingerprint compares fingerprint with the one the log recorded for purpose, and
// records it when the log has none yet (recorded reports that). It appends with NoStream:
// of two nodes starting at once on one log, one records and the other, refused, reads that
// record and compares with it, so equal keys never fail and different ones always do.
func CheckKeyFingerprint(ctx context.Context, store eventstore.Store, clock Clock, purpose, fingerprint string) (recorded bool, err error) {
	for attempt := 0; attempt < 2; attempt++ {
		r, err := readRecordedKey(ctx, store, purpose)
		if err != nil {
			return false, err
		}
		if r.exists {
			if r.fingerprint != fingerprint {
				return false, &KeyMismatchError{Purpose: purpose, Recorded: r.fingerprint, Got: fingerprint, RecordedAt: r.at}
			}
			return false, nil
		}
		err = appendKeyRecord(ctx, store, clock, eventstore.NoStream, domain.KeyFingerprintRecorded{Purpose: purpose, Fingerprint: fingerprint})
		if errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			continue // another node recorded first: compare with what it recorded
		}
		if err != nil {
			return false, fmt.Errorf("commands: record the %s key's fingerprint: %w", purpose, err)
		}
		return true, nil
	}
	return false, fmt.Errorf("%w: %s", ErrTooManyConflicts, domain.KeyStream(purpose))
}

// AdoptKeyFingerprint makes fingerprint the key in force for purpose, for an operator who
// replaces a lost or compromised key on purpose: what the old key sealed or signed is given
// up. It returns the fingerprint it replaced ("" when none was recorded, or when the log
// already records this one: changed false).
func AdoptKeyFingerprint(ctx context.Context, store eventstore.Store, clock Clock, purpose, fingerprint string) (replaced string, changed bool, err error) {
	r, err := readRecordedKey(ctx, store, purpose)
	if err != nil {
		return "", false, err
	}
	if r.exists && r.fingerprint == fingerprint {
		return "", false, nil
	}
	expected := eventstore.NoStream
	if r.exists {
		expected = eventstore.Exact(r.revision)
	}
	if err := appendKeyRecord(ctx, store, clock, expected, domain.KeyFingerprintRecorded{Purpose: purpose, Fingerprint: fingerprint, Replaces: r.fingerprint}); err != nil {
		return "", false, fmt.Errorf("commands: adopt the %s key: %w", purpose, err)
	}
	return r.fingerprint, true, nil
}
