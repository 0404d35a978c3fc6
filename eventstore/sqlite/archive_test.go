package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"accountd/eventstore"
	"accountd/eventstore/eventstoretest"
	"accountd/eventstore/transparency"
)

func testKey(t testing.TB) transparency.SigningKey {
	t.Helper()
	k, err := transparency.GenerateSigningKey("archive.test")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sealing is a store that archives all but its last keep events after every append, in
// segments of a few events, so that the conformance suite's reads, chain and tree checks
// run mostly over segments.
type sealing struct {
	*Store
	t    testing.TB
	key  transparency.SigningKey
	keep uint64
}

func (s *sealing) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := s.Store.Append(ctx, stream, expected, events...)
	if err != nil {
		return res, err
	}
	opts := SealOptions{Before: time.Now().Add(time.Hour), Signers: []note.Signer{s.key.Signer}, Keep: s.keep, SegmentEvents: 5}
	if _, err := s.Seal(context.Background(), opts); err != nil && !errors.Is(err, eventstore.ErrClosed) {
		s.t.Errorf("seal after append: %v", err)
	}
	return res, nil
}

func TestConformanceArchived(t *testing.T) {
	key := testKey(t)
	eventstoretest.Test(t, func(t *testing.T) eventstore.Store {
		return &sealing{Store: openTemp(t, WithSynchronous(Normal)), t: t, key: key, keep: 8}
	})
}
