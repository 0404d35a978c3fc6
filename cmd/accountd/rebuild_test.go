package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/projections"
	"accountd/projections/outbox"
)

// The rebuild command on a demo directory: every projection, one projection, and the
// names it refuses. The projections' own equivalence is tested in projections/rebuild_test.go.
func TestRebuildCommand(t *testing.T) {
	dir := t.TempDir()
	c := demoConfig{properties: 2, accounts: 12, months: 2, seed: 3, logEvery: time.Hour, end: time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)}
	c.store = storeFlags{data: dir, sync: "normal", store: "sqlite"}
	var sink bytes.Buffer
	if err := demo(context.Background(), c, &sink, &sink); err != nil {
		t.Fatalf("demo: %v\n%s", err, sink.String())
	}
	mailed := outboxCheckpoint(t, dir)
	if mailed == 0 {
		t.Fatal("the demo's outbox run should have moved the outbox checkpoint")
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"everything", []string{"rebuild", "--data", dir}, 0, []string{"readmodels.db (account_status, compliance)", "security.db (detectors, suspicious_timeline)"}},
		{"one projection", []string{"rebuild", "--data", dir, "--projection", "timeline"}, 0, []string{"security.db (suspicious_timeline)"}},
		{"by checkpoint name", []string{"rebuild", "--data", dir, "--projection", "account_status"}, 0, []string{"readmodels.db (account_status)"}},
		{"two, comma-separated", []string{"rebuild", "--data", dir, "--projection", "timeline,status"}, 0, []string{"readmodels.db (account_status)", "security.db (suspicious_timeline)"}},
		{"never the outbox", []string{"rebuild", "--data", dir, "--projection", "outbox"}, 2, []string{"not rebuildable", "not a read model"}},
		{"unknown", []string{"rebuild", "--data", dir, "--projection", "nope"}, 2, []string{"want one of"}},
		{"no log", []string{"rebuild", "--data", t.TempDir()}, 1, []string{"no event log"}},
		{"help", []string{"rebuild", "--help"}, 0, []string{"The outbox is never rebuilt", "Examples:", "--server", "[ACCOUNTD_TOKEN]"}},
		{"no server there", []string{"rebuild", "--data", dir, "--server", "http://127.0.0.1:1", "--token", "x"}, 1, []string{"the server at http://127.0.0.1:1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, nil, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, want := range tc.contains {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
	if got := outboxCheckpoint(t, dir); got != mailed {
		t.Errorf("outbox checkpoint %d after rebuilds, was %d", got, mailed)
	}
	for _, side := range []string{"readmodels.db.rebuild", "security.db.rebuild"} {
		if _, err := os.Stat(filepath.Join(dir, side)); err == nil {
			t.Errorf("%s left behind", side)
		}
	}
}

// With the server running on the directory, the same command rebuilds inside it, online:
// it finds the server through --data, authenticates with the admin token there, follows the
// rebuild to its end, and the server keeps answering. A wrong token is refused plainly.
func TestRebuildCommandOnline(t *testing.T) {
	dir := t.TempDir()
	c := demoConfig{properties: 2, accounts: 12, months: 1, seed: 5, logEvery: time.Hour, end: time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)}
	c.store = storeFlags{data: dir, sync: "normal", store: "sqlite"}
	var sink bytes.Buffer
	if err := demo(context.Background(), c, &sink, &sink); err != nil {
		t.Fatalf("demo: %v\n%s", err, sink.String())
	}
	url := serveInBackground(t, dir)

	var stdout, stderr bytes.Buffer
	if code := run([]string{"rebuild", "--data", dir}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String() + stderr.String()
	for _, want := range []string{"rebuilding online", "rebuilt readmodels.db (account_status, compliance) online", "rebuilt security.db (detectors, suspicious_timeline) online", "paused"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	resp, err := http.Get(url + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the server after the online rebuild: %v %v", resp, err)
	}
	resp.Body.Close()

	stdout.Reset()
	stderr.Reset()
	code := run([]string{"rebuild", "--data", dir, "--token", "acd_wrong", "--projection", "status"}, nil, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "unauthenticated") {
		t.Fatalf("wrong token: exit %d: %s", code, stderr.String())
	}
}

func outboxCheckpoint(t *testing.T, dir string) uint64 {
	t.Helper()
	db, err := projections.OpenDB(filepath.Join(dir, "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pos uint64
	if err := db.QueryRow(`SELECT position FROM checkpoints WHERE name = ?`, outbox.CheckpointName).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	return pos
}

// `accountd rebuild` repairs what it used to stop on ("database disk image is
// malformed"): a damaged readmodels.db or security.db is moved aside, kept, rebuilt from
// the log and passes SQLite's check afterwards, with one warning per file.
func TestRebuildCommandRepairsDamagedReadModels(t *testing.T) {
	dir := t.TempDir()
	c := demoConfig{properties: 1, accounts: 6, months: 1, seed: 5, logEvery: time.Hour, end: time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)}
	c.store = storeFlags{data: dir, sync: "normal", store: "sqlite"}
	var sink bytes.Buffer
	if err := demo(context.Background(), c, &sink, &sink); err != nil {
		t.Fatalf("demo: %v\n%s", err, sink.String())
	}
	files := []string{"readmodels.db", "security.db"}
	for _, name := range files {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() < 4*4096 {
			t.Fatalf("%s too small to damage in the middle: %v", name, err)
		}
		off := fi.Size() / 2 / 4096 * 4096
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, int(fi.Size()-off)), off); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"rebuild", "--data", dir}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("rebuild on damaged read models: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, name := range files {
		if n := strings.Count(stderr.String(), "read model damaged"); n != 2 {
			t.Errorf("%d warnings, want one per damaged file:\n%s", n, stderr.String())
		}
		if moved, _ := filepath.Glob(filepath.Join(dir, name+projections.DamagedSuffix+"*")); len(moved) == 0 {
			t.Errorf("%s: no damaged copy kept", name)
		}
		db, err := projections.OpenDB(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var check string
		if err := db.QueryRow(`PRAGMA quick_check`).Scan(&check); err != nil || check != "ok" {
			t.Errorf("%s after the rebuild: quick_check %q, %v", name, check, err)
		}
		db.Close()
	}
	// Each file holds its two rebuilt projections' checkpoints again.
	for _, name := range files {
		if got := checkpointRows(t, filepath.Join(dir, name)); got < 2 {
			t.Errorf("%s holds %d checkpoints after the rebuild, want its 2 projections'", name, got)
		}
	}
}

func checkpointRows(t *testing.T, path string) int {
	t.Helper()
	db, err := projections.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM checkpoints`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
