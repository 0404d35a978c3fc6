package commands_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/memory"
	"accountd/eventstore/snapshot"
)

// readCounter counts the events ReadStream returns.
type readCounter struct {
	eventstore.Store
	read atomic.Int64
}

func (c *readCounter) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := c.Store.ReadStream(ctx, stream, from, limit)
	c.read.Add(int64(len(recs)))
	return recs, err
}

func secret() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

const snapStream = "account-a1"

// fillAccount registers an account and records n failed sign-ins, one command each, on a
// repository that snapshots every `every` events.
func fillAccount(t *testing.T, store eventstore.Store, snaps snapshot.Store, codec *snapshot.Codec[domain.Account], every, n int) {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	repo := commands.NewRepository(store, domain.EvolveAccount, clock.Now)
	repo.EnableSnapshots(snaps, codec, every)
	ctx := context.Background()
	if _, err := repo.Update(ctx, snapStream, domain.Metadata{CommandID: "register"}, func(domain.Account, time.Time) ([]domain.Event, error) {
		return []domain.Event{{At: clock.Now(), Data: domain.AccountRegistered{AccountID: "a1", Email: "a@example.com", PasswordHash: "$argon2id$x"}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		clock.Advance(time.Minute)
		if _, err := repo.Update(ctx, snapStream, domain.Metadata{CommandID: fmt.Sprintf("c%d", i)}, func(a domain.Account, now time.Time) ([]domain.Event, error) {
			return []domain.Event{{At: now, Data: domain.LoginFailed{Reason: domain.ReasonInvalidCredentials, FailedAttempts: a.FailedAttempts + 1}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func fullFold(t *testing.T, store eventstore.Store) (domain.Account, int64) {
	t.Helper()
	repo := commands.NewRepository(store, domain.EvolveAccount, time.Now)
	a, rev, err := repo.Load(context.Background(), snapStream)
	if err != nil {
		t.Fatal(err)
	}
	return a, rev
}

func TestColdLoadStartsFromTheNewestSnapshot(t *testing.T) {
	key := secret()
	codec, err := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, key)
	if err != nil {
		t.Fatal(err)
	}
	otherEvolve, _ := snapshot.NewCodec[domain.Account]("account", "another-evolve", key)
	otherKey, _ := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, secret())

	cases := []struct {
		name     string
		prepare  func(*snapshot.Memory)
		codec    *snapshot.Codec[domain.Account]
		wantRead int64 // events read by the cold load
		invalid  bool  // counted as an unusable snapshot
	}{
		// 1 register + 45 failures: revisions 0..45, snapshots at 9, 19, 29, 39; the cold
		// load reads the snapshot's last event again (to check the log holds it) and 6 more.
		{name: "newest snapshot and the events after it", codec: codec, wantRead: 7},
		// A change to evolve changes domain.EvolveVersion, hence the codec's version: the
		// old snapshots are never looked at.
		{name: "snapshots of another evolve version are ignored", codec: otherEvolve, wantRead: 46},
		{name: "a corrupt snapshot falls back to the full fold", prepare: (*snapshot.Memory).Corrupt, codec: codec, wantRead: 46, invalid: true},
		{name: "a snapshot sealed under another key falls back", codec: otherKey, wantRead: 46, invalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := memory.New()
			snaps := snapshot.NewMemory()
			fillAccount(t, store, snaps, codec, 10, 45)
			if got := snaps.Count(); got != 4 {
				t.Fatalf("%d snapshots saved, want 4 (every 10 events of 46)", got)
			}
			if tc.prepare != nil {
				tc.prepare(snaps)
			}
			want, wantRev := fullFold(t, store)
			invalid := snapshot.Stats.Invalid.Load()
			counting := &readCounter{Store: store}
			repo := commands.NewRepository(counting, domain.EvolveAccount, time.Now)
			repo.EnableSnapshots(snaps, tc.codec, 1_000_000) // no new snapshot while loading
			got, rev, err := repo.Load(context.Background(), snapStream)
			if err != nil {
				t.Fatal(err)
			}
			if rev != wantRev || !reflect.DeepEqual(got, want) {
				t.Fatalf("state at %d differs from the full fold at %d:\n%+v\n%+v", rev, wantRev, got, want)
			}
			if n := counting.read.Load(); n != tc.wantRead {
				t.Errorf("the cold load read %d events, want %d", n, tc.wantRead)
			}
			if counted := snapshot.Stats.Invalid.Load() > invalid; counted != tc.invalid {
				t.Errorf("unusable snapshot counted: %v, want %v", counted, tc.invalid)
			}
		})
	}
}

// A snapshot beside a log that does not hold its last event (a log restored from an older
// backup, or another log with the same stream names) is not trusted.
func TestSnapshotNotBorneOutByTheLogIsIgnored(t *testing.T) {
	codec, _ := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, secret())
	snaps := snapshot.NewMemory()
	fillAccount(t, memory.New(), snaps, codec, 10, 45)
	other := memory.New()
	// Another log: the stream has a few events, at other positions.
	if _, err := other.Append(context.Background(), "account-other", eventstore.NoStream, eventstore.EventData{ID: [16]byte{1}, Type: "x.v1", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	fillAccount(t, other, snapshot.NewMemory(), codec, 1000, 12)
	want, _ := fullFold(t, other)
	repo := commands.NewRepository(other, domain.EvolveAccount, time.Now)
	repo.EnableSnapshots(snaps, codec, 1_000_000)
	got, rev, err := repo.Load(context.Background(), snapStream)
	if err != nil {
		t.Fatal(err)
	}
	if rev != 12 || !reflect.DeepEqual(got, want) {
		t.Fatalf("got revision %d (want 12), state %+v, want %+v", rev, got, want)
	}
}

// A command retried after a cold load is recognised from the snapshot's recent commands,
// writes nothing again and answers with the events it wrote the first time: read from the
// log where the snapshot says they are (c30, revision 31, folded into the snapshot at 39)
// or folded after the snapshot (c44, revision 45).
func TestRetriedCommandIsRecognisedAfterAColdLoadFromASnapshot(t *testing.T) {
	codec, _ := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, secret())
	store, snaps := memory.New(), snapshot.NewMemory()
	fillAccount(t, store, snaps, codec, 10, 45)
	written := map[string]eventlog.Decoded{}
	recs, err := store.ReadStream(context.Background(), snapStream, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		d, err := eventlog.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		written[d.Meta.CommandID] = d
	}
	for _, id := range []string{"c30", "c44"} {
		counting := &readCounter{Store: store}
		repo := commands.NewRepository(counting, domain.EvolveAccount, time.Now)
		repo.EnableSnapshots(snaps, codec, 10)
		res, err := repo.Update(context.Background(), snapStream, domain.Metadata{CommandID: id}, func(a domain.Account, now time.Time) ([]domain.Event, error) {
			return []domain.Event{{At: now, Data: domain.LoginFailed{Reason: domain.ReasonInvalidCredentials, FailedAttempts: a.FailedAttempts + 1}}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Replayed || res.Revision != 45 {
			t.Fatalf("%s: replayed %v at revision %d, want a replay at 45", id, res.Replayed, res.Revision)
		}
		first := written[id]
		if !reflect.DeepEqual(res.Events, []domain.Event{first.Event}) || !reflect.DeepEqual(res.Positions, []uint64{first.Recorded.Position}) {
			t.Errorf("%s replayed %+v at %v, want %+v at %d", id, res.Events, res.Positions, first.Event, first.Recorded.Position)
		}
		if n := counting.read.Load(); n > 8 {
			t.Errorf("%s: the cold load and the replay read %d events, want the snapshot's tail and the command's", id, n)
		}
	}
	if _, rev := fullFold(t, store); rev != 45 {
		t.Fatalf("the retries wrote: head at %d, want 45", rev)
	}
}

// A snapshot whose recent command is not where it says in the log (a snapshot from another
// log that happens to share the last event's position) answers a retry of it with an
// error, never with other events, and writes nothing.
func TestRetryOfACommandTheLogDoesNotHoldWhereTheSnapshotSaysFails(t *testing.T) {
	codec, _ := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, secret())
	store, snaps := memory.New(), snapshot.NewMemory()
	fillAccount(t, store, snaps, codec, 1_000_000, 5) // no snapshot
	repo := commands.NewRepository(store, domain.EvolveAccount, time.Now)
	state, rev, err := repo.Load(context.Background(), snapStream)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := store.ReadStream(context.Background(), snapStream, 0, 0)
	head := recs[len(recs)-1]
	snapshot.Save(context.Background(), snaps, codec, snapStream, snapshot.Snapshot[domain.Account]{
		Revision: uint64(rev), Position: head.Position, At: time.Date(2026, 3, 1, 9, 5, 0, 0, time.UTC), State: state,
		Commands: []snapshot.Command{{ID: "ghost", Revision: 2, Positions: []uint64{recs[2].Position}}},
	})
	cold := commands.NewRepository(store, domain.EvolveAccount, time.Now)
	cold.EnableSnapshots(snaps, codec, 1_000_000)
	_, err = cold.Update(context.Background(), snapStream, domain.Metadata{CommandID: "ghost"}, func(domain.Account, time.Time) ([]domain.Event, error) {
		t.Fatal("a command the snapshot says was applied was decided again")
		return nil, nil
	})
	if err == nil || !strings.Contains(err.Error(), "does not hold command ghost") {
		t.Fatalf("retry of a command the log does not hold: %v", err)
	}
	if _, after := fullFold(t, store); after != rev {
		t.Fatalf("the failed retry wrote: head at %d, want %d", after, rev)
	}
}

// A snapshot more than a read page behind the head (other writers, failed saves, a larger
// --snapshot-every) still gives the state at the head: every page after it is folded.
func TestColdLoadFoldsEveryPageAfterAnOldSnapshot(t *testing.T) {
	codec, _ := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, secret())
	store, snaps := memory.New(), snapshot.NewMemory()
	fillAccount(t, store, snaps, codec, 10, 45) // snapshot at 39
	fillMore(t, store, 2500)                    // revisions 46..2545, no snapshot
	want, wantRev := fullFold(t, store)
	repo := commands.NewRepository(store, domain.EvolveAccount, time.Now)
	repo.EnableSnapshots(snaps, codec, 1_000_000)
	got, rev, err := repo.Load(context.Background(), snapStream)
	if err != nil {
		t.Fatal(err)
	}
	if rev != wantRev || rev != 2545 || !reflect.DeepEqual(got, want) {
		t.Fatalf("folded to %d, want %d", rev, wantRev)
	}
}

func fillMore(t *testing.T, store eventstore.Store, n int) {
	t.Helper()
	repo := commands.NewRepository(store, domain.EvolveAccount, time.Now)
	for i := range n {
		if _, err := repo.Update(context.Background(), snapStream, domain.Metadata{CommandID: fmt.Sprintf("more%d", i)}, func(a domain.Account, now time.Time) ([]domain.Event, error) {
			return []domain.Event{{At: now, Data: domain.LoginFailed{Reason: domain.ReasonInvalidCredentials, FailedAttempts: a.FailedAttempts + 1}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}
