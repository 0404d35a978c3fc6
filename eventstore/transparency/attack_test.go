package transparency_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore"
	"accountd/eventstore/sqlite"
	"accountd/eventstore/transparency"
)

// The attacks of issue 14, as someone with write access to events.db but not to the
// signing key would carry them out.

const attackEvents = 60

func attackLog(t *testing.T) (path string, cp transparency.Checkpoint) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range attackEvents {
		_, err := s.Append(t.Context(), []string{"a", "b", "c"}[i%3], eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "LoginSucceeded",
			Data: []byte(`{"origin":{"ip":"192.0.2.7"},"amount":100}`), Metadata: []byte(`{"occurred_at":"2026-01-01T00:00:00Z"}`)})
		if err != nil {
			t.Fatal(err)
		}
	}
	tr, _ := transparency.NewTree(s)
	root, err := tr.Root(t.Context(), attackEvents)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, transparency.Checkpoint{Origin: "test", Size: attackEvents, Hash: root}
}

type row struct {
	position, revision, recordedAt int64
	stream, typ                    string
	id, data, metadata             []byte
}

// rewrite applies change to the rows, then recomputes every chain hash with plain
// SHA-256 and, when tree is set, every stored tree hash with tlog, as an attacker who
// knows the formats would.
func rewrite(t *testing.T, path string, tree bool, change func(rows []row) []row) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := db.Query("SELECT position, revision, recorded_at, stream, type, event_id, data, metadata FROM events ORDER BY position")
	if err != nil {
		t.Fatal(err)
	}
	var rows []row
	for q.Next() {
		var r row
		if err := q.Scan(&r.position, &r.revision, &r.recordedAt, &r.stream, &r.typ, &r.id, &r.data, &r.metadata); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	q.Close()
	rows = change(rows)
	oldTrees := map[int64][]byte{}
	trees, _ := db.Query("SELECT position, tree FROM events")
	for trees.Next() {
		var p int64
		var b []byte
		_ = trees.Scan(&p, &b)
		oldTrees[p] = b
	}
	trees.Close()
	if _, err := db.Exec("DELETE FROM events"); err != nil {
		t.Fatal(err)
	}
	var prev [32]byte
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, r := range rows {
		r.position = int64(i + 1)
		e := eventstore.RecordedEvent{Stream: r.stream, Type: r.typ, Revision: uint64(r.revision), Position: uint64(r.position),
			RecordedAt: time.Unix(0, r.recordedAt).UTC(), Data: r.data, Metadata: r.metadata}
		copy(e.ID[:], r.id)
		prev = eventstore.ChainHash(prev, e)
		hs, err := tlog.StoredHashes(int64(i), transparency.LeafBytes(e), reader)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		treeCol := oldTrees[r.position]
		if tree {
			treeCol = nil
			for _, h := range hs {
				treeCol = append(treeCol, h[:]...)
			}
		}
		if _, err := db.Exec("INSERT INTO events (position, stream, revision, event_id, type, recorded_at, data, metadata, hash, tree) VALUES (?,?,?,?,?,?,?,?,?,?)",
			r.position, r.stream, r.revision, r.id, r.typ, r.recordedAt, r.data, r.metadata, prev[:], treeCol); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAttacksAreDetected(t *testing.T) {
	changeData := func(rows []row) []row {
		rows[22].data = []byte(strings.Replace(string(rows[22].data), "100", "999", 1))
		return rows
	}
	reorder := func(rows []row) []row {
		rows[40], rows[41] = rows[41], rows[40]
		return rows
	}
	truncate := func(rows []row) []row { return rows[:attackEvents-10] }
	cases := []struct {
		name       string
		tree       bool // the attacker recomputes the stored tree too
		change     func([]row) []row
		audit      uint64 // position the audit of the log alone names; 0: the log alone looks intact
		checkpoint uint64 // position the check against the saved checkpoint names
	}{
		{"RewriteWithRecomputedChain", false, changeData, 23, 23},
		{"RewriteWithRecomputedChainAndTree", true, changeData, 0, attackEvents},
		{"ReorderTwoEvents", false, reorder, 41, 41},
		{"ReorderTwoEventsRecomputingTheTree", true, reorder, 0, attackEvents},
		{"TruncateTheLastTen", true, truncate, 0, attackEvents - 10 + 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, cp := attackLog(t)
			rewrite(t, path, c.tree, c.change)
			s, err := sqlite.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.VerifyChain(t.Context()); err != nil {
				t.Fatalf("the attacker's recomputed chain should pass the plain chain check: %v", err)
			}
			a, _ := transparency.NewAuditor(s)
			err = a.Advance(t.Context(), -1)
			assertMismatch(t, "audit", err, c.audit)
			a, _ = transparency.NewAuditor(s)
			assertMismatch(t, "check against the checkpoint", a.Check(t.Context(), cp), c.checkpoint)
		})
	}
}

func assertMismatch(t *testing.T, what string, err error, position uint64) {
	t.Helper()
	if position == 0 {
		if err != nil {
			t.Fatalf("%s: %v, want it to pass", what, err)
		}
		return
	}
	var m *eventstore.TreeMismatchError
	if !errors.As(err, &m) || m.Position != position {
		t.Fatalf("%s: %v, want a tree mismatch at position %d", what, err, position)
	}
}
