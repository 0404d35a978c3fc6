package personal_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"accountd/eventstore/personal"
	"accountd/eventstore/personal/personaltest"
	"accountd/eventstore/postgres/postgrestest"
)

func TestKeysContract(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T) personal.Keys
	}{
		{"Memory", func(t *testing.T) personal.Keys { return personal.NewMemory() }},
		{"Cache", func(t *testing.T) personal.Keys { return personal.NewCache(personal.NewMemory()) }},
		{"SQLite", func(t *testing.T) personal.Keys {
			k, err := personal.OpenSQLite(filepath.Join(t.TempDir(), "personal-keys.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { k.Close() })
			return k
		}},
		{"Postgres", func(t *testing.T) personal.Keys {
			k, err := personal.OpenPostgres(t.Context(), postgrestest.SchemaURL(t, "personal"), "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { k.Close() })
			return k
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "Postgres" && os.Getenv(postgrestest.EnvURL) == "" {
				t.Skip(postgrestest.EnvURL + " not set: PostgreSQL key store not tested")
			}
			personaltest.Test(t, b.open)
		})
	}
}

// TestSQLiteKeepsNoCopyOfADestroyedKey: after a destroy, neither the file nor its WAL holds
// the key's bytes (secure_delete, and the checkpoint that truncates the WAL).
func TestSQLiteKeepsNoCopyOfADestroyedKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "personal-keys.db")
	k, err := personal.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode of %s: %v, %v; want 0600", path, fi.Mode(), err)
	}
	var doomed [][]byte
	for _, s := range []string{"account.a", "account.b", "account.c"} {
		key, err := k.SubjectKey(t.Context(), s, true)
		if err != nil {
			t.Fatal(err)
		}
		if s != "account.b" {
			doomed = append(doomed, key)
		}
	}
	jan, _ := k.PeriodKey(t.Context(), "2026-01", true)
	feb, _ := k.PeriodKey(t.Context(), "2026-02", true)
	doomed = append(doomed, jan)
	for _, s := range []string{"account.a", "account.c"} {
		if err := k.DestroySubject(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := k.DestroyPeriodsBefore(t.Context(), "2026-02"); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	for i, key := range doomed {
		if bytes.Contains(all, key) {
			t.Errorf("destroyed key %d is still in %v", i, files)
		}
	}
	if !bytes.Contains(all, feb) {
		t.Fatalf("the live key is not found in %v: the search does not see the file's bytes", files)
	}
}

// countingKeys counts the look-ups that reach the store under a Cache.
type countingKeys struct {
	personal.Keys
	reads atomic.Int64
}

func (c *countingKeys) SubjectKey(ctx context.Context, s string, create bool) ([]byte, error) {
	c.reads.Add(1)
	return c.Keys.SubjectKey(ctx, s, create)
}

// TestCacheSeesAnotherNodesDestroyWithinTTL: two caches over one store are two nodes; a
// destroy through one is seen by the other once its TTL has passed, and at once by itself.
func TestCacheSeesAnotherNodesDestroyWithinTTL(t *testing.T) {
	shared := &countingKeys{Keys: personal.NewMemory()}
	var now atomic.Int64
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	a := personal.NewCache(shared, personal.WithTTL(2*time.Second), personal.WithCacheClock(clock))
	b := personal.NewCache(shared, personal.WithTTL(2*time.Second), personal.WithCacheClock(clock))
	key, err := a.SubjectKey(t.Context(), "account.x", true)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.SubjectKey(t.Context(), "account.x", false); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("node b: %x, %v", got, err)
	}
	before := shared.reads.Load()
	for range 100 {
		_, _ = b.SubjectKey(t.Context(), "account.x", false)
	}
	if n := shared.reads.Load() - before; n != 0 {
		t.Fatalf("%d look-ups reached the store within the TTL; want 0", n)
	}
	if err := a.DestroySubject(t.Context(), "account.x"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SubjectKey(t.Context(), "account.x", false); !errors.Is(err, personal.ErrDestroyed) {
		t.Fatalf("node a after its own destroy: %v", err)
	}
	now.Add(int64(2*time.Second + 1))
	if _, err := b.SubjectKey(t.Context(), "account.x", false); !errors.Is(err, personal.ErrDestroyed) {
		t.Fatalf("node b after the TTL: %v; want ErrDestroyed", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	shared := &countingKeys{Keys: personal.NewMemory()}
	c := personal.NewCache(shared, personal.WithMaxEntries(10))
	for i := range 100 {
		if _, err := c.SubjectKey(t.Context(), "account."+string(rune('a'+i%26))+string(rune('a'+i/26)), true); err != nil {
			t.Fatal(err)
		}
	}
	// With room for 10, asking 100 subjects again must reach the store for most of them.
	before := shared.reads.Load()
	for i := range 100 {
		_, _ = c.SubjectKey(t.Context(), "account."+string(rune('a'+i%26))+string(rune('a'+i/26)), false)
	}
	if n := shared.reads.Load() - before; n < 90 {
		t.Fatalf("only %d of 100 look-ups reached the store: the cache holds more than its bound", n)
	}
}

// TestPostgresDestroyReachesAnotherNode: two nodes, each with its own pool and cache over
// one key table; a destroy on one is seen by the other once its TTL has passed.
func TestPostgresDestroyReachesAnotherNode(t *testing.T) {
	url := postgrestest.SchemaURL(t, "personal_nodes")
	var now atomic.Int64
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	var nodes [2]*personal.Cache
	for i := range nodes {
		k, err := personal.OpenPostgres(t.Context(), url, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { k.Close() })
		nodes[i] = personal.NewCache(k, personal.WithCacheClock(clock))
	}
	a, err := nodes[0].SubjectKey(t.Context(), "account.shared", true)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := nodes[1].SubjectKey(t.Context(), "account.shared", true); err != nil || !bytes.Equal(a, b) {
		t.Fatalf("node b made its own key: %x, %v; node a has %x", b, err, a)
	}
	if err := nodes[0].DestroySubject(t.Context(), "account.shared"); err != nil {
		t.Fatal(err)
	}
	now.Add(int64(personal.DefaultCacheTTL) + 1)
	for _, create := range []bool{false, true} {
		if _, err := nodes[1].SubjectKey(t.Context(), "account.shared", create); !errors.Is(err, personal.ErrDestroyed) {
			t.Fatalf("node b after the TTL (create %v): %v; want ErrDestroyed", create, err)
		}
	}
}
