package snapshot_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/memory"
	"accountd/eventstore/snapshot"
)

// appendFailures writes a registration and n failed sign-ins, a minute apart, and returns
// the state after each revision.
func appendFailures(t *testing.T, log eventstore.Store, stream string, n int) []domain.Account {
	t.Helper()
	var states []domain.Account
	var a domain.Account
	for i := 0; i <= n; i++ {
		ev := domain.Event{At: t0.Add(time.Duration(i) * time.Minute), Data: domain.LoginFailed{Reason: domain.ReasonInvalidCredentials, FailedAttempts: i}}
		if i == 0 {
			ev.Data = domain.AccountRegistered{AccountID: "a1", Email: "a@example.com"}
		}
		data, err := eventlog.Encode(stream, domain.Metadata{CommandID: fmt.Sprint("c", i)}, []domain.Event{ev})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := log.Append(context.Background(), stream, eventstore.Any, data...); err != nil {
			t.Fatal(err)
		}
		a = domain.EvolveAccount(a, ev)
		states = append(states, a)
	}
	return states
}

func TestFolderStartsFromTheNearestSnapshotAndFallsBack(t *testing.T) {
	ctx := context.Background()
	const stream = "account-a1"
	c, _ := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, key())
	log := memory.New()
	states := appendFailures(t, log, stream, 30)
	// Snapshots at revisions 9, 19 and 29, as the command side saves them.
	snaps := snapshot.NewMemory()
	for _, rev := range []int{9, 19, 29} {
		recs, _ := log.ReadStream(ctx, stream, uint64(rev), 1)
		snapshot.Save(ctx, snaps, c, stream, snapshot.Snapshot[domain.Account]{Revision: uint64(rev), Position: recs[0].Position, At: t0.Add(time.Duration(rev) * time.Minute), State: states[rev]})
	}
	foreign := memory.New() // another log with the same stream: other positions
	foreign.Append(ctx, "account-zz", eventstore.Any, eventstore.EventData{ID: [16]byte{9}, Type: "x.v1", Data: []byte(`{}`)})
	foreignStates := appendFailures(t, foreign, stream, 30)

	at := t0.Add(24*time.Minute + 30*time.Second) // after revision 24, before 25
	cases := []struct {
		name    string
		log     eventstore.Store
		snaps   snapshot.Store
		want    domain.Account
		wantRev int64
		read    int // events the fold visits after its start
	}{
		{"nearest snapshot before the instant", log, snaps, states[24], 24, 5},
		{"no snapshots", log, nil, states[24], 24, 25},
		{"snapshots beside another log", foreign, snaps, foreignStates[24], 24, 25},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := snapshot.Folder[domain.Account]{Log: tc.log, Snapshots: tc.snaps, Codec: c, Evolve: domain.EvolveAccount}
			visited := 0
			got, rev, err := f.Fold(ctx, stream, snapshot.NoRevisionLimit, at,
				func(d eventlog.Decoded) bool { return d.Event.At.After(at) },
				func(domain.Account, eventlog.Decoded) bool { visited++; return true })
			if err != nil {
				t.Fatal(err)
			}
			if rev != tc.wantRev || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("folded to %d: %+v\nwant %d: %+v", rev, got, tc.wantRev, tc.want)
			}
			if visited != tc.read {
				t.Errorf("visited %d events after the start, want %d", visited, tc.read)
			}
		})
	}
	t.Run("corrupt snapshots fall back", func(t *testing.T) {
		snaps.Corrupt()
		f := snapshot.Folder[domain.Account]{Log: log, Snapshots: snaps, Codec: c, Evolve: domain.EvolveAccount}
		got, rev, err := f.Fold(ctx, stream, 15, time.Time{}, nil, nil)
		if err != nil || rev != 30 || !reflect.DeepEqual(got, states[30]) {
			t.Fatalf("got %d %v", rev, err)
		}
	})
}
