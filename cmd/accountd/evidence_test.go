package main

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore/sqlite"
	"accountd/http/serve"
	"accountd/projections"
	"accountd/projections/compliance"
)

// writeHistory writes a year of history through commands.Service on a SQLite log in data:
// one account rotating every 80 days, one that lapses 120 days, and a policy change in the
// middle.
func writeHistory(t *testing.T, data string) {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(data, "events.db"), sqlite.WithSynchronous(sqlite.Normal))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	t0 := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { return now }
	pol := domain.DefaultPolicy()
	pol.MFARequired = false
	svc, policies := serviceUnderPolicy(t, store, clock, pol)
	m := commands.Meta{}
	pw := func(i int) string { return fmt.Sprintf("Correct horse battery %d", 100+i) }
	ids := map[string]string{}
	gen := map[string]int{}
	for _, email := range []string{"rotator@lac.example", "lapser@lac.example"} {
		reg, err := svc.Register(ctx, m, commands.Registration{Email: email, Password: pw(0), PropertyID: "lac"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Activate(ctx, m, reg.ActivationToken); err != nil {
			t.Fatal(err)
		}
		ids[email] = reg.AccountID
	}
	change := func(email string) {
		g := gen[email]
		if _, err := svc.ChangePassword(ctx, m, ids[email], pw(g), pw(g+1), domain.Origin{}); err != nil {
			t.Fatal(err)
		}
		gen[email] = g + 1
	}
	for d := 1; d <= 365; d++ {
		now = t0.Add(time.Duration(d) * 24 * time.Hour)
		if d%80 == 0 {
			change("rotator@lac.example")
		}
		if d == 80 || d == 200 || d == 280 {
			change("lapser@lac.example")
		}
		if d == 180 {
			p := policies.Current()
			p.PasswordMinLength = 14
			if _, err := commands.ChangePolicy(ctx, store, clock, p, domain.Actor{Kind: domain.ActorSupport, Reference: "CHG-9"}); err != nil {
				t.Fatal(err)
			}
			if err := policies.Refresh(ctx, store); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestEvidenceBundle(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeHistory(t, data)
	bundle := filepath.Join(dir, "evidence.zip")
	code, out, errs := runCLI("evidence", "export", "--data", data, "--property", "lac", "--from", "2025-01-01", "--to", "2026-01-01", "--out", bundle)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, out, errs)
	}
	files := readZip(t, bundle)
	for _, name := range []string{fileManifest, fileRotationCSV, fileRotationJS, fileAccessCSV, filePolicies} {
		if _, ok := files[name]; !ok {
			t.Fatalf("bundle lacks %s", name)
		}
	}
	var m Manifest
	if err := json.Unmarshal(files[fileManifest], &m); err != nil {
		t.Fatal(err)
	}
	if m.Log.Position == 0 || len(m.Log.ChainHash) != 64 || m.ToolVersion == "" || len(m.Files) != 4 {
		t.Fatalf("manifest: %+v", m)
	}
	if !strings.Contains(string(files[filePolicies]), `"reference": "CHG-9"`) || !strings.Contains(string(files[fileRotationJS]), `"pci_8_3_6_min_length":14`) {
		t.Errorf("the policy change of day 180 is not in the bundle:\n%s", files[filePolicies])
	}
	csvText := string(files[fileRotationCSV])
	if !strings.Contains(csvText, "lapser@lac.example") || !strings.Contains(csvText, ",non_compliant\r\n") {
		t.Errorf("rotation CSV:\n%s", csvText)
	}

	if code, out, errs := runCLI("evidence", "verify", bundle, "--data", data); code != 0 {
		t.Fatalf("verify of an untouched bundle: exit %d\n%s%s", code, out, errs)
	}

	tampered := []struct {
		name   string
		make   func(t *testing.T, dst string)
		expect string
	}{
		{"one byte of the CSV changed, zip rebuilt", func(t *testing.T, dst string) {
			changed := map[string][]byte{}
			for k, v := range files {
				changed[k] = v
			}
			b := append([]byte(nil), files[fileRotationCSV]...)
			i := bytes.Index(b, []byte("non_compliant"))
			b[i+4] = 'C' // non_Compliant
			changed[fileRotationCSV] = b
			writeZip(t, dst, changed)
		}, fileRotationCSV + ": SHA-256"},
		{"one byte of the CSV flipped in the zip file", func(t *testing.T, dst string) {
			raw, _ := os.ReadFile(bundle)
			zr, _ := zip.OpenReader(bundle)
			var off int64
			for _, f := range zr.File {
				if f.Name == fileRotationCSV {
					off, _ = f.DataOffset()
				}
			}
			zr.Close()
			raw[off+5] ^= 0xff
			os.WriteFile(dst, raw, 0o600)
		}, fileRotationCSV + ": cannot be read intact"},
		{"a file removed", func(t *testing.T, dst string) {
			changed := map[string][]byte{}
			for k, v := range files {
				if k != fileAccessCSV {
					changed[k] = v
				}
			}
			writeZip(t, dst, changed)
		}, fileAccessCSV + ": listed in the manifest but missing"},
	}
	for _, tc := range tampered {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "bundle.zip")
			tc.make(t, dst)
			code, out, errs := runCLI("evidence", "verify", dst)
			if code != 1 || !strings.Contains(errs, tc.expect) {
				t.Fatalf("exit %d, want 1 naming %q\n%s%s", code, tc.expect, out, errs)
			}
		})
	}

	t.Run("log altered after export", func(t *testing.T) {
		pos := tamperEvent(t, data, 5)
		code, out, errs := runCLI("evidence", "verify", bundle, "--data", data)
		want := fmt.Sprintf("log: hash chain broken at position %d", pos)
		if code != 1 || !strings.Contains(errs, want) {
			t.Fatalf("exit %d, want 1 and %q\n%s%s", code, want, out, errs)
		}
	})
}

// tamperEvent rewrites the data of the event at position in events.db behind the store's
// back, as an attacker with file access would.
func tamperEvent(t *testing.T, data string, position int) int {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(data, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE events SET data = CAST(replace(CAST(data AS TEXT), '"', ' "') AS BLOB) WHERE position = ?`, position)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tamper: %d rows", n)
	}
	return position
}

func TestVerifyNamesTheTamperedPosition(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	writeHistory(t, data)
	code, out, errs := runCLI("verify", "--data", data)
	if code != 0 || !strings.Contains(out, "OK: hash chain intact") {
		t.Fatalf("intact log: exit %d\n%s%s", code, out, errs)
	}
	pos := tamperEvent(t, data, 7)
	code, out, errs = runCLI("verify", "--data", data)
	want := fmt.Sprintf("hash chain broken at position %d", pos)
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want 1 and %q\n%s%s", code, want, out, errs)
	}

	if testing.Short() {
		return
	}
	// The built binary, as an operator runs it: the exit status is what scripts check.
	bin := filepath.Join(t.TempDir(), "accountd")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, "verify", "--data", data)
	b, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(b), want) {
		t.Fatalf("binary: %v\n%s", err, b)
	}
}

func readZip(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

func writeZip(t *testing.T, path string, files map[string][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, b := range files {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// accountd sweep: the accounts of writeHistory never logged in, so both are disabled for
// inactivity; a second run the same day writes nothing.
func TestSweepCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	writeHistory(t, data)
	for i, want := range []string{"2 disabled", "0 disabled"} {
		code, out, errs := runCLI("sweep", "--data", data, "--argon2-memory-kib", "64", "--argon2-iterations", "1", "--sync", "normal", "--log-level", "error")
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("run %d: exit %d, want %q\n%s%s", i, code, want, out, errs)
		}
	}
}

// A node on a shared log keeps running while an auditor exports: the export brings a private
// snapshot of the node's read models up to date, never the node's own file, and the bundle
// is the same as with the node stopped.
func TestEvidenceExportBesideARunningServer(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeHistory(t, data)
	readDB := filepath.Join(data, "readmodels.db")
	stopped := filepath.Join(dir, "stopped.zip")
	if code, out, errs := runCLI("evidence", "export", "--data", data, "--property", "lac", "--from", "2025-01-01", "--to", "2026-01-01", "--out", stopped); code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, out, errs)
	}
	// Behind the first export's catch-up: as a server's file may be.
	db, err := projections.OpenDB(readDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE checkpoints SET position = position - 5 WHERE name = ?`, compliance.Name); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, err := os.ReadFile(readDB)
	if err != nil {
		t.Fatal(err)
	}

	release, err := serve.LockDataDir(data) // the running server
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	running := filepath.Join(dir, "running.zip")
	if code, out, errs := runCLI("evidence", "export", "--data", data, "--property", "lac", "--from", "2025-01-01", "--to", "2026-01-01", "--out", running); code != 0 {
		t.Fatalf("export beside a running server: exit %d\n%s%s", code, out, errs)
	}
	after, err := os.ReadFile(readDB)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the export wrote into the running server's read models")
	}
	a, b := readZip(t, stopped), readZip(t, running)
	for _, name := range []string{fileRotationCSV, fileAccessCSV, filePolicies} {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between the exports", name)
		}
	}
}
