package commands_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/memory"
)

// racingStore lets another node record its fingerprint between this node's read of the
// keys stream (which it answers as before: no stream) and this node's append, the one
// moment two nodes starting together can collide.
type racingStore struct {
	eventstore.Store
	once  sync.Once
	other func(context.Context, eventstore.Store)
}

func (s *racingStore) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	raced := false
	s.once.Do(func() { s.other(ctx, s.Store); raced = true })
	if raced {
		return nil, eventstore.ErrStreamNotFound
	}
	return s.Store.ReadStream(ctx, stream, from, limit)
}

func TestCheckKeyFingerprint(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return at }
	mine := domain.KeyFingerprint(domain.KeyPurposeMFA, []byte("0123456789abcdef0123456789abcdef"))
	theirs := domain.KeyFingerprint(domain.KeyPurposeMFA, []byte("fedcba9876543210fedcba9876543210"))
	record := func(fp string) func(context.Context, eventstore.Store) {
		return func(ctx context.Context, s eventstore.Store) {
			if _, err := commands.CheckKeyFingerprint(ctx, s, clock, domain.KeyPurposeMFA, fp); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name         string
		before       func(context.Context, eventstore.Store) // a node that started earlier
		race         func(context.Context, eventstore.Store) // a node recording at the same moment
		wantRecorded bool
		wantMismatch bool
	}{
		{name: "first node records", wantRecorded: true},
		{name: "same key later", before: record(mine)},
		{name: "other key later", before: record(theirs), wantMismatch: true},
		{name: "same key at the same moment", race: record(mine)},
		{name: "other key at the same moment", race: record(theirs), wantMismatch: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var store eventstore.Store = memory.New()
			if c.before != nil {
				c.before(ctx, store)
			}
			if c.race != nil {
				store = &racingStore{Store: store, other: c.race}
			}
			recorded, err := commands.CheckKeyFingerprint(ctx, store, clock, domain.KeyPurposeMFA, mine)
			var mismatch *commands.KeyMismatchError
			if errors.As(err, &mismatch) != c.wantMismatch || (err != nil && !c.wantMismatch) {
				t.Fatalf("err %v, want mismatch %v", err, c.wantMismatch)
			}
			if c.wantMismatch && (mismatch.Got != mine || mismatch.Recorded != theirs || mismatch.Purpose != domain.KeyPurposeMFA || !mismatch.RecordedAt.Equal(at)) {
				t.Fatalf("mismatch %+v", mismatch)
			}
			if recorded != c.wantRecorded {
				t.Fatalf("recorded %v, want %v", recorded, c.wantRecorded)
			}
			recs, err := store.ReadStream(ctx, domain.KeyStream(domain.KeyPurposeMFA), 0, 0)
			if err != nil || len(recs) != 1 {
				t.Fatalf("keys stream: %d events, %v; want exactly one", len(recs), err)
			}
		})
	}
}

// A fingerprint depends on the key and on its purpose, and is not the key.
func TestKeyFingerprint(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	fp := domain.KeyFingerprint(domain.KeyPurposeMFA, key)
	if fp != domain.KeyFingerprint(domain.KeyPurposeMFA, append([]byte(nil), key...)) {
		t.Fatal("not deterministic")
	}
	for _, other := range []string{
		domain.KeyFingerprint(domain.KeyPurposeLink, key),
		domain.KeyFingerprint(domain.KeyPurposeMFA, []byte("0123456789abcdef0123456789abcdeF")),
	} {
		if other == fp {
			t.Fatalf("two different inputs give %s", fp)
		}
	}
	if len(fp) != len("sha256:")+64 || fp[:7] != "sha256:" {
		t.Fatalf("fingerprint %q", fp)
	}
}

// An operator adopting a new key (a lost one) makes it the key in force: the old one is
// refused from then on, and adopting the same key again records nothing.
func TestAdoptKeyFingerprint(t *testing.T) {
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }
	store := memory.New()
	lost, adopted := "sha256:01", "sha256:02"
	if _, err := commands.CheckKeyFingerprint(ctx, store, clock, domain.KeyPurposeLink, lost); err != nil {
		t.Fatal(err)
	}
	replaced, changed, err := commands.AdoptKeyFingerprint(ctx, store, clock, domain.KeyPurposeLink, adopted)
	if err != nil || !changed || replaced != lost {
		t.Fatalf("adopt: replaced %q, changed %v, %v", replaced, changed, err)
	}
	if _, err := commands.CheckKeyFingerprint(ctx, store, clock, domain.KeyPurposeLink, adopted); err != nil {
		t.Fatalf("the adopted key: %v", err)
	}
	var mismatch *commands.KeyMismatchError
	if _, err := commands.CheckKeyFingerprint(ctx, store, clock, domain.KeyPurposeLink, lost); !errors.As(err, &mismatch) || mismatch.Recorded != adopted {
		t.Fatalf("the replaced key: %v", err)
	}
	if _, changed, err := commands.AdoptKeyFingerprint(ctx, store, clock, domain.KeyPurposeLink, adopted); err != nil || changed {
		t.Fatalf("adopting it again: changed %v, %v", changed, err)
	}
	recs, _ := store.ReadStream(ctx, domain.KeyStream(domain.KeyPurposeLink), 0, 0)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
}
