package commands_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/snapshot"
	"accountd/eventstore/sqlite"
	"accountd/projections/history"
)

// BenchmarkColdCommandLongStream: a sign-in on a locked account whose stream holds
// ACCOUNTD_BENCH_STREAM_EVENTS events (default 100,000; the figure is 1,000,000),
// snapshotted every ACCOUNTD_BENCH_SNAPSHOT_EVERY events (default snapshot.DefaultEvery),
// each time on a new command side (empty cache: a restart, an eviction, another node),
// against the same on a fresh locked account (about ten events), in one run. The stream is
// written in batches directly through the SQLite store, folded on the way and snapshotted
// every snapshot.DefaultEvery events as the command side does, so it takes a while to
// build. Also the point-in-time state in the middle of the stream.
//
//	ACCOUNTD_BENCH_STREAM_EVENTS=1000000 go test -run '^$' -bench ColdCommandLongStream -benchtime 20x -timeout 30m ./commands/
func BenchmarkColdCommandLongStream(b *testing.B) {
	n := 100_000
	if v := os.Getenv("ACCOUNTD_BENCH_STREAM_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2000 {
			b.Fatalf("ACCOUNTD_BENCH_STREAM_EVENTS=%q: want a number of at least 2000", v)
		}
	}
	every := snapshot.DefaultEvery
	if v := os.Getenv("ACCOUNTD_BENCH_SNAPSHOT_EVERY"); v != "" {
		var err error
		if every, err = strconv.Atoi(v); err != nil || every < 1 || n < 2*every {
			b.Fatalf("ACCOUNTD_BENCH_SNAPSHOT_EVERY=%q: want a number from 1 to half the stream", v)
		}
	}
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	snaps, err := snapshot.OpenSQLite(filepath.Join(dir, "snapshots.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer snaps.Close()
	key := secretKey()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	hasher := fastHasher(b)
	newSvc := func(snaps snapshot.Store, every int) *commands.Service {
		mfa, _ := credentials.NewMFA(key, "bench")
		links, _ := credentials.NewLinkKey(key)
		svc, err := commands.NewService(commands.Config{Store: store, Clock: clock, Policy: domain.DefaultPolicy,
			Hasher: hasher, MFA: mfa, Links: links, Snapshots: snaps, SnapshotKey: key, SnapshotEvery: every})
		if err != nil {
			b.Fatal(err)
		}
		return svc
	}
	// Two accounts, each locked by six wrong passwords.
	setup := newSvc(snaps, every)
	ids := map[string]string{}
	for _, email := range []string{"fresh@hotel.example", "hammered@hotel.example"} {
		reg, err := setup.Register(ctx, commands.Meta{}, commands.Registration{Email: email, Password: "Lake view at dawn 2026"})
		if err != nil {
			b.Fatal(err)
		}
		ids[email] = reg.AccountID
		for range 6 {
			now = now.Add(time.Second)
			if _, err := setup.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: email, Password: "wrong"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	long := ids["hammered@hotel.example"]
	built := time.Now()
	mid := appendRejections(b, store, snaps, key, long, n, every, &now)
	b.Logf("built a stream of %d events in %s (%.0f events/s)", n, time.Since(built).Round(time.Millisecond), float64(n)/time.Since(built).Seconds())

	perOp := map[string]time.Duration{}
	cold := func(name, email string, snaps snapshot.Store) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var total time.Duration
			for b.Loop() {
				// No save while measuring: every iteration finds the same snapshot.
				svc := newSvc(snaps, 1<<30)
				now = now.Add(time.Second)
				t0 := time.Now()
				res, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: email, Password: "wrong"})
				total += time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				if res.Decision != domain.DecisionDenied || res.Reason != domain.ReasonAccountLocked {
					b.Fatalf("wanted a refusal for the lock, got %s %s", res.Decision, res.Reason)
				}
			}
			perOp[name] = total / time.Duration(b.N)
		})
	}
	cold("fresh", "fresh@hotel.example", snaps)
	// The snapshot is every events behind the head: the worst a cold load meets.
	cold("long/tail-max", "hammered@hotel.example", snaps)
	cold("long/no-snapshots", "hammered@hotel.example", nil)

	reader := func(snaps snapshot.Store) *history.Reader {
		acc, prop, _ := commands.SnapshotCodecs(key)
		r := &history.Reader{Store: store, Policy: func(time.Time) domain.Policy { return domain.DefaultPolicy() }}
		if snaps != nil {
			r.Snapshots, r.AccountSnapshot, r.PropertySnapshot = snaps, acc, prop
		}
		return r
	}
	stateAt := func(name string, r *history.Reader) {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				t0 := time.Now()
				st, err := r.StateAt(ctx, long, mid)
				total += time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				if !st.Locked {
					b.Fatal("the hammered account was not locked in the middle of its stream")
				}
			}
			perOp[name] = total / time.Duration(b.N)
		})
	}
	stateAt("state-at-middle", reader(snaps))
	stateAt("state-at-middle/no-snapshots", reader(nil))

	// One cold load with saving on writes the snapshot at the head: the best case.
	if _, err := newSvc(snaps, every).LoadAccount(ctx, long); err != nil {
		b.Fatal(err)
	}
	cold("long/tail-0", "hammered@hotel.example", snaps)

	ratio := func(a, ref string) string {
		return fmt.Sprintf("%s %s = %.2fx %s %s", a, perOp[a], float64(perOp[a])/float64(perOp[ref]), ref, perOp[ref])
	}
	b.Logf("stream of %d events, snapshot every %d:\n  %s\n  %s\n  %s\n  state at the middle: %s with snapshots, %s without",
		n, every, ratio("long/tail-max", "fresh"), ratio("long/tail-0", "fresh"), ratio("long/no-snapshots", "fresh"),
		perOp["state-at-middle"], perOp["state-at-middle/no-snapshots"])
}

func secretKey() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i + 1)
	}
	return k
}

// appendRejections appends n refused sign-ins to a locked account's stream, in batches
// straight through the store, folding them and saving a snapshot every DefaultEvery events
// as the command side would (the recent commands included), except the last one due, so
// that the newest snapshot is DefaultEvery events behind the head. It returns an instant in
// the middle of the stream whose nearest snapshot is DefaultEvery-1 events before it.
func appendRejections(b *testing.B, store eventstore.Store, snaps snapshot.Store, key []byte, accountID string, n, every int, now *time.Time) time.Time {
	ctx := context.Background()
	stream := domain.AccountStream(accountID)
	codec, _, _ := commands.SnapshotCodecs(key)
	repo := commands.NewRepository(store, domain.EvolveAccount, time.Now)
	state, rev, err := repo.Load(ctx, stream)
	if err != nil {
		b.Fatal(err)
	}
	if !state.Locked {
		b.Fatal("the account is not locked")
	}
	type recent struct {
		id       string
		rev, pos uint64
	}
	var last []recent
	var position uint64
	var mid time.Time
	maxAt := *now
	lastSnapshot := int64(-1) // the account's few first events have none: the first is due at every-1
	const batch = 1000
	for written := 0; written < n; {
		k := min(batch, n-written)
		data := make([]eventstore.EventData, 0, k)
		evs := make([]domain.Event, 0, k)
		metas := make([]string, 0, k)
		for range k {
			*now = now.Add(time.Second)
			ev := domain.Event{At: *now, Data: domain.LoginRejected{Origin: domain.Origin{IP: "203.0.113.7"}, Reasons: []string{domain.ReasonAccountLocked}}}
			id := eventlog.NewCommandID()
			d, err := eventlog.Encode(stream, domain.Metadata{CommandID: id}, []domain.Event{ev})
			if err != nil {
				b.Fatal(err)
			}
			data, evs, metas = append(data, d...), append(evs, ev), append(metas, id)
		}
		res, err := store.Append(ctx, stream, eventstore.Exact(uint64(rev)), data...)
		if err != nil {
			b.Fatal(err)
		}
		for i, ev := range evs {
			state = domain.EvolveAccount(state, ev)
			rev++
			position = res.Positions[i]
			maxAt = ev.At
			last = append(last, recent{metas[i], uint64(rev), position})
			if len(last) > 64 {
				last = last[1:]
			}
			if int(rev) == n/2+every-1 {
				mid = ev.At.Add(time.Second / 2)
			}
			if rev-lastSnapshot >= int64(every) && int(rev)+every < n {
				s := snapshot.Snapshot[domain.Account]{Revision: uint64(rev), Position: position, At: maxAt, State: state}
				for _, c := range last {
					s.Commands = append(s.Commands, snapshot.Command{ID: c.id, Revision: c.rev, Positions: []uint64{c.pos}})
				}
				snapshot.Save(ctx, snaps, codec, stream, s)
				lastSnapshot = rev
			}
		}
		written += k
	}
	return mid
}
