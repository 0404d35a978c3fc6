package sqlite

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"accountd/eventstore"
)

// fsyncGate holds the syncer inside its next fsync of the WAL until released.
type fsyncGate struct {
	hold    atomic.Bool
	release chan struct{}
	once    sync.Once
	fail    atomic.Pointer[error]
}

func newFsyncGate() *fsyncGate { return &fsyncGate{release: make(chan struct{})} }

func (g *fsyncGate) open() { g.once.Do(func() { close(g.release) }) }

func (g *fsyncGate) hooks() testHooks {
	return testHooks{sync: func() error {
		if g.hold.Load() {
			<-g.release
		}
		if p := g.fail.Load(); p != nil {
			return *p
		}
		return nil
	}}
}

// fileHead reads the last committed position straight from the file, bypassing the Store.
func fileHead(t *testing.T, path string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var head int64
	if err := db.QueryRow("SELECT coalesce(max(position), 0) FROM events").Scan(&head); err != nil {
		t.Fatal(err)
	}
	return head
}

func TestReadersNeverSeeEventsBeforeTheirFsync(t *testing.T) {
	g := newFsyncGate()
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path, withHooks(g.hooks()))
	mustAppend(t, s, "acct", eventstore.NoStream, event("Opened"))

	t.Cleanup(g.open) // after the store's Close is registered, so it runs first
	g.hold.Store(true)
	appended := make(chan error, 1)
	go func() {
		_, err := s.Append(t.Context(), "acct", eventstore.Exact(0), event("Deposited"))
		appended <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for fileHead(t, path) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the append never committed")
		}
		time.Sleep(time.Millisecond)
	}

	// Committed in the file, not yet durable: the Store must not show it.
	if head, err := s.HeadPosition(t.Context()); err != nil || head != 1 {
		t.Fatalf("head position %d, %v while the commit awaits its fsync; want 1", head, err)
	}
	if all := readAll(t, s); len(all) != 1 {
		t.Fatalf("read all shows %d events while the commit awaits its fsync; want 1", len(all))
	}
	if evs, err := s.ReadStream(t.Context(), "acct", 0, 0); err != nil || len(evs) != 1 {
		t.Fatalf("read stream shows %d events, %v while the commit awaits its fsync; want 1", len(evs), err)
	}
	select {
	case err := <-appended:
		t.Fatalf("append returned (%v) before its fsync", err)
	default:
	}

	g.open()
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	if head, _ := s.HeadPosition(t.Context()); head != 2 {
		t.Fatalf("head position %d after the fsync, want 2", head)
	}
}

func TestFailedFsyncStopsAppends(t *testing.T) {
	g := newFsyncGate()
	s := openTemp(t, withHooks(g.hooks()))
	mustAppend(t, s, "acct", eventstore.NoStream, event("Opened"))

	injected := errors.New("injected EIO")
	g.fail.Store(&injected)
	if _, err := s.Append(t.Context(), "acct", eventstore.Exact(0), event("Deposited")); !errors.Is(err, injected) {
		t.Fatalf("append covered by a failed fsync: got %v, want the fsync error", err)
	}
	g.fail.Store(nil)
	// The kernel may have dropped the pages: nothing after this point can be trusted.
	if _, err := s.Append(t.Context(), "other", eventstore.NoStream, event("Opened")); !errors.Is(err, injected) {
		t.Fatalf("append after a failed fsync: got %v, want the fsync error", err)
	}
	if all := readAll(t, s); len(all) != 1 {
		t.Fatalf("reads show %d events after a failed fsync, want the 1 durable one", len(all))
	}
}

func TestWALIsRestartedUnderSustainedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path, WithSynchronous(Normal))
	const perAppend = 32
	for i := range 4 * restartEvery / perAppend {
		batch := make([]eventstore.EventData, perAppend)
		for j := range batch {
			batch[j] = event("Deposited")
		}
		mustAppend(t, s, fmt.Sprintf("acct-%d", i%16), eventstore.Any, batch...)
	}
	// Bytes 12..15 of the WAL header count its restarts; without them the WAL, and the
	// cost of every lookup in it, would grow for as long as the process runs.
	header := make([]byte, 16)
	f, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(header, 0); err != nil {
		t.Fatal(err)
	}
	if restarts := binary.BigEndian.Uint32(header[12:]); restarts == 0 {
		t.Fatalf("the WAL was never restarted after %d events", 4*restartEvery)
	}
}

func TestCommittedRevisionNeverRunsAheadOfReads(t *testing.T) {
	g := newFsyncGate()
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path, withHooks(g.hooks()))
	mustAppend(t, s, "acct", eventstore.NoStream, event("Opened"))
	if rev, ok := s.CommittedRevision("acct"); !ok || rev != 0 {
		t.Fatalf("CommittedRevision = %d, %v; want 0, true", rev, ok)
	}

	t.Cleanup(g.open)
	g.hold.Store(true)
	appended := make(chan error, 1)
	go func() {
		_, err := s.Append(t.Context(), "acct", eventstore.Exact(0), event("Deposited"))
		appended <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for fileHead(t, path) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the append never committed")
		}
		time.Sleep(time.Millisecond)
	}
	if rev, _ := s.CommittedRevision("acct"); rev != 0 {
		t.Fatalf("CommittedRevision = %d before the fsync; want 0, what reads return", rev)
	}
	g.open()
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	if rev, _ := s.CommittedRevision("acct"); rev != 1 {
		t.Fatalf("CommittedRevision = %d after the append returned; want 1", rev)
	}
}
