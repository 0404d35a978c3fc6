package projections_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accountd/projections"
)

// OpenRebuildableDB moves a damaged file aside (with its -wal) under a UTC-stamped name,
// warns once and opens a fresh one; a healthy file is opened as it is.
func TestOpenRebuildableDBMovesADamagedFileAside(t *testing.T) {
	at := time.Date(2026, 12, 1, 23, 17, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, path string)
		damaged bool
	}{
		{"healthy", func(*testing.T, string) {}, false},
		{"not a database (header overwritten)", func(t *testing.T, path string) { overwrite(t, path, 0, 100) }, true},
		{"pages overwritten in the middle", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			overwrite(t, path, fi.Size()/2/4096*4096, int(fi.Size()/2))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "readmodels.db")
			db, err := projections.OpenDB(path)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 8 {
				if _, err := db.Exec(`CREATE TABLE t` + string(rune('a'+i)) + ` (k TEXT PRIMARY KEY, v BLOB)`); err != nil {
					t.Fatal(err)
				}
				for j := range 40 {
					if _, err := db.Exec(`INSERT INTO t`+string(rune('a'+i))+` VALUES (?, ?)`, strings.Repeat("k", j+1), bytes.Repeat([]byte{byte(j)}, 200)); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, path)
			var logs bytes.Buffer
			db, err = projections.OpenRebuildableDB(path, at, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer db.Close()
			var tables int
			if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name LIKE 't_'`).Scan(&tables); err != nil {
				t.Fatal(err)
			}
			moved := path + ".damaged-20261201T221700Z"
			_, statErr := os.Stat(moved)
			warnings := strings.Count(logs.String(), "read model damaged")
			if tc.damaged {
				if statErr != nil || tables != 0 || warnings != 1 {
					t.Fatalf("damaged file: kept copy %v, %d old tables in the fresh file, %d warnings; want a copy, 0, 1\n%s", statErr, tables, warnings, logs.String())
				}
				return
			}
			if statErr == nil || tables != 8 || warnings != 0 {
				t.Fatalf("healthy file: moved=%v, %d tables, %d warnings; want untouched", statErr == nil, tables, warnings)
			}
		})
	}
}

func overwrite(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, n), off); err != nil {
		t.Fatal(err)
	}
}
