package main

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"accountd/eventstore"
	"accountd/eventstore/sqlite"
	"accountd/eventstore/transparency"
	"accountd/http/serve"
)

// verifyLog writes 30 events, signs a checkpoint of them the way the server does, and
// saves it where an auditor would keep it.
func verifyLog(t *testing.T) (data, saved string) {
	t.Helper()
	data = t.TempDir()
	s, err := sqlite.Open(filepath.Join(data, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if _, err := s.Append(t.Context(), []string{"a", "b"}[i%2], eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "Deposited", Data: []byte(`{"amount":100}`)}); err != nil {
			t.Fatal(err)
		}
	}
	key, err := transparency.LoadOrCreateSigningKey(serve.SigningKeyPath(data), "accountd")
	if err != nil {
		t.Fatal(err)
	}
	c, err := transparency.NewCheckpointer(s, transparency.CheckpointLog{Dir: serve.CheckpointDir(data)}, key)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := c.Sign(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	saved = filepath.Join(t.TempDir(), "q3.checkpoint")
	if err := os.WriteFile(saved, signed.Note, 0o644); err != nil {
		t.Fatal(err)
	}
	return data, saved
}

// recomputeChain redoes every plain SHA-256 chain hash, as an attacker without the key can.
func recomputeChain(t *testing.T, db *sql.DB) {
	t.Helper()
	rows, err := db.Query("SELECT position, stream, revision, event_id, type, recorded_at, data, metadata FROM events ORDER BY position")
	if err != nil {
		t.Fatal(err)
	}
	var events []eventstore.RecordedEvent
	for rows.Next() {
		var e eventstore.RecordedEvent
		var id []byte
		var at int64
		if err := rows.Scan(&e.Position, &e.Stream, &e.Revision, &id, &e.Type, &at, &e.Data, &e.Metadata); err != nil {
			t.Fatal(err)
		}
		copy(e.ID[:], id)
		e.RecordedAt = time.Unix(0, at).UTC()
		events = append(events, e)
	}
	rows.Close()
	var prev [32]byte
	for _, e := range events {
		prev = eventstore.ChainHash(prev, e)
		if _, err := db.Exec("UPDATE events SET hash = ? WHERE position = ?", prev[:], e.Position); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyAgainstASavedCheckpoint(t *testing.T) {
	cases := []struct {
		name     string
		tamper   func(t *testing.T, db *sql.DB)
		exit     int
		position string
	}{
		{"Intact", func(*testing.T, *sql.DB) {}, 0, ""},
		{"RewriteWithRecomputedChain", func(t *testing.T, db *sql.DB) {
			if _, err := db.Exec(`UPDATE events SET data = '{"amount":999}' WHERE position = 12`); err != nil {
				t.Fatal(err)
			}
			recomputeChain(t, db)
		}, 1, "at position 12"},
		{"TruncateTheLastFive", func(t *testing.T, db *sql.DB) {
			if _, err := db.Exec(`DELETE FROM events WHERE position > 25`); err != nil {
				t.Fatal(err)
			}
		}, 1, "at position 26"},
		{"SwapTwoEvents", func(t *testing.T, db *sql.DB) {
			for _, q := range []string{`UPDATE events SET position = -1 WHERE position = 7`, `UPDATE events SET position = 7 WHERE position = 8`, `UPDATE events SET position = 8 WHERE position = -1`} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			recomputeChain(t, db)
		}, 1, "at position 7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, saved := verifyLog(t)
			var out, errb bytes.Buffer
			if code := run([]string{"keys", "public", "--data", data}, nil, &out, &errb); code != 0 {
				t.Fatalf("keys public: %d %s", code, errb.String())
			}
			vkey := strings.TrimSpace(out.String())
			if _, err := transparency.ParseVerifierKey(vkey); err != nil {
				t.Fatalf("keys public printed %q: %v", vkey, err)
			}
			// The auditor's copy of the key sits outside the data directory.
			keyFile := filepath.Join(t.TempDir(), "accountd.vkey")
			_ = os.WriteFile(keyFile, []byte(vkey+"\n"), 0o644)

			db, err := sql.Open("sqlite3", filepath.Join(data, "events.db"))
			if err != nil {
				t.Fatal(err)
			}
			c.tamper(t, db)
			db.Close()
			out.Reset()
			errb.Reset()
			code := run([]string{"verify", "--data", data, "--checkpoint", saved, "--verifier-key", keyFile}, nil, &out, &errb)
			if code != c.exit || !strings.Contains(out.String(), c.position) {
				t.Fatalf("verify: exit %d, want %d naming %q\nstdout:\n%s\nstderr:\n%s", code, c.exit, c.position, out.String(), errb.String())
			}
			if c.exit == 0 && !strings.Contains(out.String(), "extends the signed checkpoint of 30 events") {
				t.Fatalf("verify did not report the checkpoint:\n%s", out.String())
			}
			// Without --checkpoint, the server's kept checkpoints serve.
			out.Reset()
			if code := run([]string{"verify", "--data", data}, nil, &out, &errb); code != c.exit || !strings.Contains(out.String(), c.position) {
				t.Fatalf("verify against the kept checkpoints: exit %d, want %d naming %q\n%s", code, c.exit, c.position, out.String())
			}
		})
	}
}

func TestVerifyRefusesACheckpointOfAnotherKey(t *testing.T) {
	data, saved := verifyLog(t)
	other, _ := transparency.GenerateSigningKey("accountd")
	var out, errb bytes.Buffer
	if code := run([]string{"verify", "--data", data, "--checkpoint", saved, "--verifier-key", other.VerifierKey}, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "bad checkpoint") {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
}

func TestKeyRotationKeepsOldCheckpointsVerifiable(t *testing.T) {
	data, saved := verifyLog(t)
	var out, errb bytes.Buffer
	run([]string{"keys", "public", "--data", data}, nil, &out, &errb)
	oldKey := strings.TrimSpace(out.String())
	out.Reset()
	if code := run([]string{"keys", "rotate", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("rotate: %d %s", code, errb.String())
	}
	out.Reset()
	run([]string{"keys", "public", "--data", data}, nil, &out, &errb)
	newKey := strings.TrimSpace(out.String())
	if newKey == oldKey || newKey == "" {
		t.Fatalf("keys public after rotation: %q (old %q)", newKey, oldKey)
	}
	// The auditor's quarter-old checkpoint still verifies with the key they pinned.
	out.Reset()
	if code := run([]string{"verify", "--data", data, "--checkpoint", saved, "--verifier-key", oldKey}, nil, &out, &errb); code != 0 {
		t.Fatalf("old checkpoint after rotation: %d\n%s%s", code, out.String(), errb.String())
	}
	// The introduction is signed by both keys: the auditor follows it from old to new.
	notes, err := transparency.CheckpointLog{Dir: serve.CheckpointDir(data)}.List()
	if err != nil || len(notes) == 0 {
		t.Fatalf("kept checkpoints: %v", err)
	}
	last := notes[len(notes)-1]
	for _, k := range []string{oldKey, newKey} {
		v, _ := transparency.ParseVerifierKey(k)
		if _, _, err := transparency.OpenCheckpoint(last, v); err != nil {
			t.Fatalf("the introducing checkpoint does not verify with %s: %v\n%s", k, err, last)
		}
	}
	out.Reset()
	if code := run([]string{"verify", "--data", data}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "extends the signed checkpoint of 30 events") {
		t.Fatalf("verify with the new local key: %d\n%s", code, out.String())
	}
}
