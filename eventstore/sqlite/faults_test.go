package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"accountd/eventstore"
)

// A full disk, simulated with SQLite's own page limit on the writer connection (real
// SQLITE_FULL from the pager, no mock): the append fails with ErrStorageUnavailable,
// reason disk_full, stores nothing, and once there is room again the next append works
// without reopening the store.
func TestFullDiskIsStorageUnavailableAndRecovers(t *testing.T) {
	var s *Store
	var limit atomic.Int64 // applied by the writer goroutine before its next batch
	hooks := testHooks{pickedUp: func() {
		if n := limit.Swap(0); n != 0 {
			if err := s.w.conn.exec(fmt.Sprintf("PRAGMA max_page_count = %d", n)); err != nil {
				panic(err)
			}
		}
	}}
	s = openTemp(t, withHooks(hooks))
	mustAppend(t, s, "acct", eventstore.NoStream, event("Opened"))

	big := func() eventstore.EventData {
		return eventstore.EventData{ID: uuid.New(), Type: "Deposited", Data: bytes.Repeat([]byte("x"), 256<<10)}
	}
	limit.Store(1) // SQLite raises a limit below the file's size to the size: no room left
	_, err := s.Append(t.Context(), "acct", eventstore.Exact(0), big())
	if !errors.Is(err, eventstore.ErrStorageUnavailable) {
		t.Fatalf("append on a full database: %v, want ErrStorageUnavailable", err)
	}
	var se *eventstore.StorageError
	if !errors.As(err, &se) || se.Reason != eventstore.StorageFull {
		t.Fatalf("append on a full database: %v, want a StorageError with reason %s", err, eventstore.StorageFull)
	}
	if all := readAll(t, s); len(all) != 1 {
		t.Fatalf("after the failed append the log holds %d events, want 1", len(all))
	}

	limit.Store(1 << 30)
	if _, err := s.Append(t.Context(), "acct", eventstore.Exact(0), big()); err != nil {
		t.Fatalf("append once there is room again: %v", err)
	}
	if err := s.ProbeStorage(t.Context()); err != nil {
		t.Fatalf("probe of a healthy disk: %v", err)
	}
}

// A failed fsync is a storage failure too, and stays one: the probe keeps saying so.
func TestFailedFsyncIsStorageUnavailable(t *testing.T) {
	g := newFsyncGate()
	s := openTemp(t, withHooks(g.hooks()))
	injected := errors.New("injected")
	g.fail.Store(&injected)
	if _, err := s.Append(t.Context(), "acct", eventstore.NoStream, event("Opened")); !errors.Is(err, eventstore.ErrStorageUnavailable) {
		t.Fatalf("append covered by a failed fsync: %v, want ErrStorageUnavailable", err)
	}
	g.fail.Store(nil)
	if err := s.ProbeStorage(t.Context()); !errors.Is(err, eventstore.ErrStorageUnavailable) {
		t.Fatalf("probe after a failed fsync: %v, want ErrStorageUnavailable (restart needed)", err)
	}
}

// A log accountd may not write is refused at Open, naming the file and the fix, instead
// of being accepted and failing every append. Root ignores file modes, so the first case
// makes SQLite see the file read-only the way it sees a 0400 file (mode=ro); the chmod
// case runs where it means something.
func TestReadOnlyLogIsRefusedAtOpen(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string) []Option
	}{
		{"sqlite sees the file read-only", func(t *testing.T, path string) []Option {
			return []Option{withHooks(testHooks{readOnlyWriter: true})}
		}},
		{"file mode 0400", func(t *testing.T, path string) []Option {
			if os.Geteuid() == 0 {
				t.Skip("root writes a 0400 file anyway; the case above covers the probe")
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.Chmod(p, 0o400); err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.db")
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, s, "acct", eventstore.NoStream, event("Opened"))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			opts := tc.setup(t, path)
			s, err = Open(path, opts...)
			if err == nil {
				s.Close()
				t.Fatal("a read-only log was opened")
			}
			if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "writable") {
				t.Fatalf("open of a read-only log: %v, want ErrReadOnly naming %s and the fix", err, path)
			}
		})
	}
}

func TestProbeWritableRefusesAReadOnlyConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path)
	mustAppend(t, s, "acct", eventstore.NoStream, event("Opened"))
	rw, err := openRaw(s.uri())
	if err != nil {
		t.Fatal(err)
	}
	defer rw.close()
	ro, err := openRaw(s.uri() + "?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.close()
	if err := probeWritable(ro); err == nil || storageReason(err) != eventstore.StorageReadOnly {
		t.Fatalf("probe on a read-only connection: %v, want SQLITE_READONLY", err)
	}
	if err := probeWritable(rw); err != nil {
		t.Fatalf("probe on a writable connection: %v", err)
	}
}

// The writer's guard is a lock on events.db itself: deleting the lock file does not let
// a second store open the log.
func TestSecondOpenIsRefusedWithTheLockFileDeleted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	openAt(t, path)
	if err := os.Remove(path + ".lock"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err == nil {
		s.Close()
		t.Fatal("second open succeeded once the lock file was deleted")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

// A damaged log is refused with ErrDamaged and left exactly where and as it was.
func TestDamagedLogIsRefusedAndLeftAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "acct", eventstore.NoStream, event("Opened"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, 100), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	before, _ := os.ReadFile(path)

	if s, err := Open(path); err == nil || !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "backup") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("open of a damaged log: %v, want ErrDamaged telling to restore a backup", err)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the damaged log was changed or moved: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "damaged") {
			t.Fatalf("%s appeared: the log is never moved aside", e.Name())
		}
	}
}

// Every file the store creates is 0600, whatever the umask lets through.
func TestLogFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "events.db")
	s := openAt(t, path)
	mustAppend(t, s, "acct", eventstore.NoStream, event("Opened"))
	for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), m)
		}
	}
}
