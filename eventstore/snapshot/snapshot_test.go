package snapshot_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"accountd/domain"
	"accountd/eventstore/snapshot"
)

func key() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)

func sample() snapshot.Snapshot[domain.Account] {
	a := domain.Account{ID: "a1", Email: "a@example.com", Registered: true, RegisteredAt: t0, Properties: []string{"p1", "p2"},
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", PasswordHistory: []string{"h1", "h0"},
		Links:    map[string]*domain.LinkState{"reset": {Current: "t2", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), Older: map[string]domain.LinkRefusal{"t1": domain.LinkSuperseded}}},
		MFA:      domain.MFAState{Enrolled: true, Secret: []byte{1, 2, 3}, LastUsedStep: 42},
		Disabled: map[domain.DisableKind]domain.DisableRecord{domain.DisableManual: {Since: t0, Actor: domain.Actor{Kind: domain.ActorAccount, AccountID: "a2"}}},
		Sessions: map[string]domain.Session{"session-secret-id": {ID: "session-secret-id", StartedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(15 * time.Hour), IdleAfter: 6 * time.Hour}},
	}
	return snapshot.Snapshot[domain.Account]{Revision: 41, Position: 977, At: t0, State: a, Commands: []snapshot.Command{
		{ID: "c0", Revision: 38, Positions: []uint64{970}},
		{ID: "c1", Revision: 40, Positions: []uint64{976, 977}},
	}}
}

// hammered is the snapshot of an account refused at every attempt: its state and 64
// recent commands, each one refusal, the last at the snapshot's revision.
func hammered() snapshot.Snapshot[domain.Account] {
	s := sample()
	s.Revision, s.Position, s.Commands = 4049, 9049, nil
	for i := range 64 {
		s.Commands = append(s.Commands, snapshot.Command{ID: fmt.Sprintf("0193a1b2-c3d4-7e5f-8a9b-%012d", i),
			Revision: s.Revision - 63 + uint64(i), Positions: []uint64{s.Position - 63 + uint64(i)}})
	}
	return s
}

func TestCodec(t *testing.T) {
	k := key()
	c, err := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, k)
	if err != nil {
		t.Fatal(err)
	}
	s := sample()
	rec, err := c.Encode("account-a1", s)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("round trip", func(t *testing.T) {
		got, err := c.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("decoded\n%+v\nwant\n%+v", got, s)
		}
	})
	t.Run("plaintext is deterministic", func(t *testing.T) {
		a, _ := c.Plain("account-a1", s)
		for range 20 { // map iteration order changes between runs of the loop
			b, _ := c.Plain("account-a1", sample())
			if !bytes.Equal(a, b) {
				t.Fatalf("two encodings differ:\n%s\n%s", a, b)
			}
		}
	})
	t.Run("nothing in clear", func(t *testing.T) {
		for _, secret := range []string{"session-secret-id", "argon2id", "a@example.com"} {
			if bytes.Contains(rec.Data, []byte(secret)) {
				t.Errorf("the stored snapshot shows %q", secret)
			}
		}
	})
	t.Run("version names the kind, the format and the evolve code", func(t *testing.T) {
		if v := c.Version(); !strings.HasPrefix(v, fmt.Sprintf("account.f%d.", snapshot.Format)) || !strings.HasSuffix(v, domain.EvolveVersion) {
			t.Fatalf("version %q", v)
		}
	})
	other := func(kind, evolve string, k []byte) *snapshot.Codec[domain.Account] {
		c, err := snapshot.NewCodec[domain.Account](kind, evolve, k)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	flipped := rec
	flipped.Data = bytes.Clone(rec.Data)
	flipped.Data[len(flipped.Data)/2] ^= 1
	moved := rec
	moved.Stream = "account-a2"
	refused := []struct {
		name  string
		codec *snapshot.Codec[domain.Account]
		rec   snapshot.Record
	}{
		{"another evolve version", other("account", "0123456789abcdef", k), rec},
		{"another aggregate kind", other("property", domain.EvolveVersion, k), rec},
		{"another key", other("account", domain.EvolveVersion, key()), rec},
		{"a flipped byte", c, flipped},
		{"moved to another stream", c, moved},
		{"truncated", c, snapshot.Record{Stream: rec.Stream, Version: rec.Version, Revision: rec.Revision, Data: rec.Data[:5]}},
	}
	for _, tc := range refused {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			if _, err := tc.codec.Decode(tc.rec); err == nil {
				t.Fatal("decoded")
			}
		})
	}
}

func TestRestoreIgnoresAnUnusableSnapshot(t *testing.T) {
	c, _ := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, key())
	st := snapshot.NewMemory()
	snapshot.Save(context.Background(), st, c, "account-a1", sample())
	if _, ok := snapshot.Restore(context.Background(), st, c, "account-a1", snapshot.NoRevisionLimit, time.Time{}); !ok {
		t.Fatal("a good snapshot was not restored")
	}
	st.Corrupt()
	before := snapshot.Stats.Invalid.Load()
	if _, ok := snapshot.Restore(context.Background(), st, c, "account-a1", snapshot.NoRevisionLimit, time.Time{}); ok {
		t.Fatal("a corrupt snapshot was restored")
	}
	if snapshot.Stats.Invalid.Load() != before+1 {
		t.Fatal("the corrupt snapshot was not counted")
	}
}

// TestStores runs the same cases on every Store.
func TestStores(t *testing.T) {
	stores := map[string]func(t *testing.T) snapshot.Store{
		"memory": func(*testing.T) snapshot.Store { return snapshot.NewMemory() },
		"sqlite": func(t *testing.T) snapshot.Store {
			s, err := snapshot.OpenSQLite(filepath.Join(t.TempDir(), "snapshots.db"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"postgres": func(t *testing.T) snapshot.Store {
			url := os.Getenv("ACCOUNTD_TEST_POSTGRES_URL")
			if url == "" {
				t.Skip("ACCOUNTD_TEST_POSTGRES_URL is not set")
			}
			schema := fmt.Sprintf("snaptest_%d", time.Now().UnixNano())
			s, err := snapshot.OpenPostgres(context.Background(), url, schema)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				conn, err := pgx.Connect(context.Background(), url)
				if err == nil {
					conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
					conn.Close(context.Background())
				}
			})
			return s
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			ctx := context.Background()
			// Snapshots at revisions 9, 19, ..., 99, an event a minute (At: the 10th minute...).
			for rev := uint64(9); rev < 100; rev += 10 {
				r := snapshot.Record{Stream: "s", Version: "v1", Revision: rev, At: t0.Add(time.Duration(rev) * time.Minute), Data: []byte(fmt.Sprint(rev))}
				if err := st.Save(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			// Saving a key again keeps the first; another version and stream are apart.
			must(t, st.Save(ctx, snapshot.Record{Stream: "s", Version: "v1", Revision: 99, At: t0, Data: []byte("again")}))
			must(t, st.Save(ctx, snapshot.Record{Stream: "s", Version: "v2", Revision: 200, At: t0, Data: []byte("v2")}))
			must(t, st.Save(ctx, snapshot.Record{Stream: "t", Version: "v1", Revision: 300, At: t0, Data: []byte("t")}))
			cases := []struct {
				maxRev   int64
				notAfter time.Time
				want     string // Data of the answer; "" none
			}{
				{snapshot.NoRevisionLimit, time.Time{}, "99"},
				{50, time.Time{}, "49"},
				{49, time.Time{}, "49"},
				{8, time.Time{}, ""},
				{snapshot.NoRevisionLimit, t0.Add(55 * time.Minute), "49"},
				{snapshot.NoRevisionLimit, t0.Add(59*time.Minute + time.Nanosecond), "59"},
				{snapshot.NoRevisionLimit, t0.Add(59*time.Minute - time.Nanosecond), "49"},
				{30, t0.Add(55 * time.Minute), "29"},
				{snapshot.NoRevisionLimit, t0, ""},
			}
			for _, tc := range cases {
				r, ok, err := st.Latest(ctx, "s", "v1", tc.maxRev, tc.notAfter)
				if err != nil {
					t.Fatal(err)
				}
				got := ""
				if ok {
					got = string(r.Data)
					if r.Stream != "s" || r.Version != "v1" || !r.At.Equal(t0.Add(time.Duration(r.Revision)*time.Minute)) {
						t.Errorf("record %+v", r)
					}
				}
				if got != tc.want {
					t.Errorf("Latest(max revision %d, not after %s) = %q, want %q", tc.maxRev, tc.notAfter, got, tc.want)
				}
			}
			// DeleteStream forgets one stream, every version of it, and nothing else.
			must(t, st.DeleteStream(ctx, "s"))
			must(t, st.DeleteStream(ctx, "never-saved"))
			for _, v := range []string{"v1", "v2"} {
				if _, ok, _ := st.Latest(ctx, "s", v, snapshot.NoRevisionLimit, time.Time{}); ok {
					t.Fatalf("a snapshot of s %s survived DeleteStream", v)
				}
			}
			if _, ok, _ := st.Latest(ctx, "t", "v1", snapshot.NoRevisionLimit, time.Time{}); !ok {
				t.Fatal("DeleteStream(s) deleted stream t")
			}
			must(t, st.DeleteAll(ctx))
			if _, ok, _ := st.Latest(ctx, "t", "v1", snapshot.NoRevisionLimit, time.Time{}); ok {
				t.Fatal("a snapshot survived DeleteAll")
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A hammered account's snapshot stays small: its 64 recent commands are kept as where their
// events are, not as the events.
func TestSnapshotOfAHammeredAccountIsSmall(t *testing.T) {
	c, _ := snapshot.NewCodec[domain.Account]("account", domain.EvolveVersion, key())
	s := hammered()
	plain, _ := c.Plain("account-a1", s)
	rec, err := c.Encode("account-a1", s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plaintext %d bytes, stored %d", len(plain), len(rec.Data))
	if len(rec.Data) > len(plain)/3 || len(rec.Data) > 2048 {
		t.Errorf("stored %d bytes for a plaintext of %d", len(rec.Data), len(plain))
	}
	if got, err := c.Decode(rec); err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip: %v", err)
	}
}
