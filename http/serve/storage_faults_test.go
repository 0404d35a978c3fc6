package serve_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"accountd/eventstore"
	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

// faultyStore fails appends, and the storage probe, as a full disk does while full is set.
type faultyStore struct {
	eventstore.Store
	full atomic.Bool
}

func (f *faultyStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if f.full.Load() {
		return eventstore.AppendResult{}, f.err()
	}
	return f.Store.Append(ctx, stream, expected, events...)
}

func (f *faultyStore) err() error {
	return &eventstore.StorageError{Reason: eventstore.StorageFull, Err: sqlite3.Error{Code: sqlite3.ErrFull}}
}

func (f *faultyStore) ProbeStorage(context.Context) error {
	if f.full.Load() {
		return f.err()
	}
	return nil
}

func (f *faultyStore) Unwrap() eventstore.Store { return f.Store }

func (e *env) readyz() response {
	e.t.Helper()
	return e.get("/readyz", "")
}

// On a full disk a write answers 503 storage_unavailable with Retry-After, not 500
// internal; /readyz turns 503 and the metrics say so until a write succeeds again, all
// without a restart.
func TestFullDiskAnswers503UntilAWriteSucceeds(t *testing.T) {
	faulty := &faultyStore{}
	e := newEnv(t, nil, func(c *serve.Config) {
		serve.SetStoreWrapper(c, func(s eventstore.Store) eventstore.Store { faulty.Store = s; return faulty })
	})
	prop := e.createProperty("Lac")
	e.register("before@lac.example", prop)
	// Readiness is judged against the head when first asked, and the outbox appends its
	// delivery record of the activation mail on its own schedule: wait for ready.
	e.eventually("/readyz 200 before the fault", func() bool { return e.readyz().status == http.StatusOK })

	faulty.full.Store(true)
	r := e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": "during@lac.example", "password": goodPassword, "property_id": prop})
	if r.status != http.StatusServiceUnavailable || r.errCode() != api.CodeStorageUnavailable || r.header.Get("Retry-After") != "5" {
		t.Fatalf("write on a full disk: %d %s Retry-After=%q, want 503 storage_unavailable with Retry-After 5", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if r := e.readyz(); r.status != http.StatusServiceUnavailable || r.errCode() != api.CodeStorageUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("/readyz after a failed write: %d %s, want 503 storage_unavailable", r.status, r.raw)
	}
	metrics := scrape(t, e)
	if !strings.Contains(metrics, "accountd_storage_available 0") {
		t.Error(`/metrics lacks "accountd_storage_available 0"`)
	}
	// The refused registration, and the outbox recording the mail of the one before, each
	// count a failed write: at least one.
	if m := regexp.MustCompile(`accountd_storage_failures_total\{reason="disk_full"\} ([0-9]+)`).FindStringSubmatch(metrics); m == nil || m[1] == "0" {
		t.Errorf("/metrics counts no disk_full failure: %q", m)
	}

	faulty.full.Store(false)
	e.must(e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": "during@lac.example", "password": goodPassword, "property_id": prop}), http.StatusCreated)
	e.settled()
	e.must(e.readyz(), http.StatusOK)
	if metrics := scrape(t, e); !strings.Contains(metrics, "accountd_storage_available 1") {
		t.Error("/metrics does not say the storage is available again")
	}
}

// With no write coming (a load balancer sends none to a node whose /readyz says 503), the
// server's storage probe finds out the disk has room again and /readyz recovers.
func TestStorageProbeMakesTheNodeReadyAgain(t *testing.T) {
	faulty := &faultyStore{}
	e := newEnv(t, nil, func(c *serve.Config) {
		c.StorageProbe = 5 * time.Millisecond
		serve.SetStoreWrapper(c, func(s eventstore.Store) eventstore.Store { faulty.Store = s; return faulty })
	})
	prop := e.createProperty("Lac")
	faulty.full.Store(true)
	e.must(e.post("/v1/accounts", api.RoleLoginService, map[string]string{"email": "x@lac.example", "password": goodPassword, "property_id": prop}), http.StatusServiceUnavailable)
	e.must(e.readyz(), http.StatusServiceUnavailable)
	faulty.full.Store(false)
	e.eventually("/readyz 200 after the probe", func() bool { return e.readyz().status == http.StatusOK })
}

// syncBuffer collects log output from the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// reopen starts a new server on e's data directory (e's own must be closed) and returns
// it as an env sharing e's clock and tokens, with its log in logs.
func (e *env) reopen(logs *syncBuffer) *env {
	e.t.Helper()
	srv, err := serve.New(context.Background(), serve.Config{
		DataDir: e.data, Policy: testPolicy(nil), Sync: sqlite.Normal, Argon2: cheapArgon2(), Clock: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	srv.Start(context.Background())
	ts := httptest.NewServer(srv.Handler())
	e.t.Cleanup(func() { ts.Close(); srv.Close() })
	return &env{t: e.t, srv: srv, ts: ts, clock: e.clock, data: e.data, tokens: e.tokens}
}

func (e *env) stop() {
	e.t.Helper()
	e.ts.Close()
	if err := e.srv.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// corruptSecondHalf overwrites the second half of a database file with garbage, from a
// page boundary: the b-tree pages there no longer parse.
func corruptSecondHalf(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 4*4096 {
		t.Fatalf("%s has %d bytes: too small to damage in the middle", path, fi.Size())
	}
	off := fi.Size() / 2 / 4096 * 4096
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, int(fi.Size()-off)), off); err != nil {
		t.Fatal(err)
	}
}

// A damaged readmodels.db or security.db does not block the start: the server moves it
// aside (kept for inspection), rebuilds it from the log, says so once per file, and
// answers exactly what it answered before the damage.
func TestDamagedReadModelsAreMovedAsideAndRebuilt(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Lago")
	var ids []string
	for _, who := range []string{"elena", "marco"} {
		addr := who + "@lago.example"
		id, _ := e.register(addr, prop)
		e.must(e.post("/v1/activations", api.RoleLoginService, map[string]string{"token": e.mail.link(addr, "activation")}), http.StatusOK)
		ids = append(ids, id)
	}
	for range 6 {
		e.login("elena@lago.example", "not her password")
	}
	e.login("marco@lago.example", goodPassword, "ip", "192.0.2.10", "device_id", "front-desk-pc")
	e.clock.Advance(3 * time.Minute)
	e.login("marco@lago.example", goodPassword, "ip", "198.51.100.23", "device_id", "someones-phone")
	e.eventually("the shared-account detection", func() bool { return len(entries(e.timeline("account_id="+ids[1]))) == 1 })
	e.settled()
	before := e.readModelAnswers(prop, ids)
	e.stop()
	for _, name := range []string{"readmodels.db", "security.db"} {
		corruptSecondHalf(t, filepath.Join(e.data, name))
	}

	var logs syncBuffer
	e2 := e.reopen(&logs)
	e2.settled()
	after := e2.readModelAnswers(prop, ids)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s after recovery:\n%s\nbefore the damage:\n%s", k, after[k], v)
		}
	}
	for _, name := range []string{"readmodels.db", "security.db"} {
		moved, _ := filepath.Glob(filepath.Join(e.data, name+".damaged-*"))
		if len(moved) == 0 {
			t.Errorf("no %s.damaged-* kept for inspection", name)
		}
		if n := strings.Count(logs.String(), "read model damaged"); n != 2 {
			t.Errorf("%d warnings about damaged read models, want one per file (2):\n%s", n, logs.String())
			break
		}
		if !strings.Contains(logs.String(), filepath.Join(e.data, name)) {
			t.Errorf("no warning names %s", name)
		}
	}
}

// The event log is never treated so: a damaged events.db refuses the start, names the
// file and is left in place.
func TestDamagedEventLogRefusesTheStart(t *testing.T) {
	e := newEnv(t, nil)
	e.createProperty("Lago")
	e.stop()
	path := filepath.Join(e.data, "events.db")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte{0xA5}, 100), 0)
	f.Close()
	_, err = serve.New(context.Background(), serve.Config{DataDir: e.data, Argon2: cheapArgon2(), Logger: testLogger(t)})
	if !errors.Is(err, sqlite.ErrDamaged) || !strings.Contains(err.Error(), path) {
		t.Fatalf("start on a damaged log: %v, want sqlite.ErrDamaged naming %s", err, path)
	}
	if moved, _ := filepath.Glob(path + ".damaged-*"); len(moved) > 0 {
		t.Fatalf("the event log was moved aside: %v", moved)
	}
}

// The one-server guard holds on the directory itself: with accountd.lock and
// events.db.lock deleted, a second server on the directory is still refused.
func TestSecondServerRefusedWithTheLockFilesDeleted(t *testing.T) {
	e := newEnv(t, nil)
	for _, f := range []string{"accountd.lock", "events.db.lock"} {
		if err := os.Remove(filepath.Join(e.data, f)); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := serve.New(context.Background(), serve.Config{DataDir: e.data, Argon2: cheapArgon2(), Logger: testLogger(t)})
	if err == nil {
		srv.Close()
		t.Fatal("a second server started on the directory")
	}
	if !errors.Is(err, serve.ErrDataDirInUse) || !strings.Contains(err.Error(), e.data) {
		t.Fatalf("second server: %v, want ErrDataDirInUse naming the directory", err)
	}
	if _, err := serve.LockDataDir(e.data); !errors.Is(err, serve.ErrDataDirInUse) {
		t.Fatalf("offline rebuild's lock while serving: %v, want ErrDataDirInUse", err)
	}
}

// In an existing 0755 folder every file the server creates is 0600 and every directory
// 0700, and the loose folder is warned about once.
func TestDataFilesArePrivate(t *testing.T) {
	data := t.TempDir()
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	e := (&env{t: t, data: data, clock: &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, tokens: map[api.Role]string{}}).reopen(&logs)
	loadTokens(t, e)
	prop := e.createProperty("Lac")
	e.register("anna@lac.example", prop)
	e.settled()
	e.stop()
	if n := strings.Count(logs.String(), "data directory readable by group or others"); n != 1 {
		t.Errorf("%d warnings about the 0755 data directory, want 1:\n%s", n, logs.String())
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(data, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == data {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		rel, _ := filepath.Rel(data, path)
		seen[rel] = true
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", rel, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"events.db", "readmodels.db", "security.db", "tokens", "keys", "outbox"} {
		if !seen[f] {
			t.Errorf("%s was not created: the mode check missed it (%v)", f, seen)
		}
	}
}
