package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

type zipEntry struct {
	name string
	data []byte
}

// bundleBytes zips entries in order (duplicates allowed), as a forger could.
func bundleBytes(t testing.TB, entries ...zipEntry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func manifestFor(t testing.TB, files ...zipEntry) zipEntry {
	m := Manifest{Format: manifestFormat, Tool: "accountd"}
	for _, f := range files {
		sum := sha256.Sum256(f.data)
		m.Files = append(m.Files, ManifestFile{Name: f.name, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(f.data))})
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return zipEntry{fileManifest, b}
}

// The bundle reader never panics on any file; a bundle it finds intact holds each file of
// its manifest exactly once (so what another unzip tool shows is what was verified), and
// the same files zipped again are intact again.
func FuzzVerifyBundle(f *testing.F) {
	rotation := zipEntry{fileRotationCSV, []byte("account_id,changed_at\na1,2026-01-01T00:00:00Z\n")}
	f.Add(bundleBytes(f, rotation, manifestFor(f, rotation)))
	f.Add(bundleBytes(f, rotation, manifestFor(f, rotation), zipEntry{fileRotationCSV, []byte("forged\n")}))
	f.Add(bundleBytes(f, zipEntry{fileRotationCSV, []byte("forged\n")}, rotation, manifestFor(f, rotation)))
	f.Add(bundleBytes(f, manifestFor(f)))
	f.Add(bundleBytes(f, zipEntry{fileManifest, []byte(`{"format":"accountd-evidence/1","files":[{"name":"../../etc/passwd"}]}`)}))
	f.Add([]byte("PK\x03\x04 not really a zip"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "bundle.zip")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, problems, err := verifyBundle(path)
		if err != nil || len(problems) > 0 {
			return
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("an intact bundle is not a zip: %v", err)
		}
		seen := map[string]bool{}
		byName := map[string][]byte{}
		for _, zf := range zr.File {
			if seen[zf.Name] {
				t.Fatalf("intact bundle holds %q twice", zf.Name)
			}
			seen[zf.Name] = true
			var b bytes.Buffer
			if _, err := readEntry(zf, &b); err != nil {
				t.Fatalf("intact bundle's %q does not read: %v", zf.Name, err)
			}
			byName[zf.Name] = b.Bytes()
		}
		var again []zipEntry
		for _, mf := range m.Files {
			again = append(again, zipEntry{mf.Name, byName[mf.Name]})
		}
		again = append(again, zipEntry{fileManifest, byName[fileManifest]})
		if err := os.WriteFile(path, bundleBytes(t, again...), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, problems, err := verifyBundle(path); err != nil || len(problems) > 0 {
			t.Fatalf("the same files zipped again: %v %v", err, problems)
		}
	})
}
