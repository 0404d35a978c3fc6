package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
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
	"accountd/eventstore/transparency"
	"accountd/projections/evidence"
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

// The CLI's round trip: export from the log, verify with the pinned key after events.db
// is gone (the check needs no log), and refuse an edited report even with its manifest
// entry rewritten, naming the row, or a key that is not the log's.
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
	for _, name := range []string{evidence.FileManifest, evidence.FileManifestSig, evidence.FileCheckpoint, evidence.FileVerifierKey, evidence.FileEvents,
		evidence.FileRotationCSV, evidence.FileRotationJS, evidence.FileAccessCSV, evidence.FilePolicies} {
		if _, ok := files[name]; !ok {
			t.Fatalf("bundle lacks %s", name)
		}
	}
	if !strings.Contains(string(files[evidence.FilePolicies]), `"reference": "CHG-9"`) || !strings.Contains(string(files[evidence.FileRotationJS]), `"pci_8_3_6_min_length":14`) {
		t.Errorf("the policy change of day 180 is not in the bundle:\n%s", files[evidence.FilePolicies])
	}
	csvText := string(files[evidence.FileRotationCSV])
	if !strings.Contains(csvText, "lapser@lac.example") || !strings.Contains(csvText, ",non_compliant\r\n") {
		t.Errorf("rotation CSV:\n%s", csvText)
	}
	key, err := transparency.LoadSigningKey(filepath.Join(data, "keys", transparency.SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "pinned.key")
	if err := os.WriteFile(keyFile, []byte(key.VerifierKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"events.db", "events.db-wal", "events.db-shm", "readmodels.db"} {
		os.Remove(filepath.Join(data, f))
	}
	if code, out, errs := runCLI("evidence", "verify", bundle, "--verifier-key", keyFile); code != 0 || !strings.Contains(out, "OK: ") {
		t.Fatalf("verify with the log deleted: exit %d\n%s%s", code, out, errs)
	}

	other, err := transparency.GenerateSigningKey("accountd")
	if err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(dir, "edited.zip")
	changed := map[string][]byte{}
	for k, v := range files {
		changed[k] = v
	}
	changed[evidence.FileRotationCSV] = bytes.Replace(files[evidence.FileRotationCSV], []byte(",non_compliant\r\n"), []byte(",compliant\r\n"), 1)
	var m evidence.Manifest
	if err := json.Unmarshal(files[evidence.FileManifest], &m); err != nil {
		t.Fatal(err)
	}
	for i, f := range m.Files {
		if f.Name == evidence.FileRotationCSV {
			sum := sha256.Sum256(changed[f.Name])
			m.Files[i].SHA256, m.Files[i].Bytes = hex.EncodeToString(sum[:]), int64(len(changed[f.Name]))
		}
	}
	changed[evidence.FileManifest], _ = json.MarshalIndent(m, "", "  ")
	changed[evidence.FileManifest] = append(changed[evidence.FileManifest], '\n')
	writeZip(t, edited, changed)
	cases := []struct {
		name, bundle string
		key          string
		expect       []string
	}{
		{"an edited verdict, its manifest entry rewritten", edited, key.VerifierKey,
			[]string{"manifest's signature does not verify", evidence.FileRotationCSV + " row ", `verdict is "compliant" in the bundle, "non_compliant" from the events`}},
		{"another key", bundle, other.VerifierKey, []string{"signature does not verify"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI("evidence", "verify", tc.bundle, "--verifier-key", tc.key)
			for _, want := range tc.expect {
				if code != 1 || !strings.Contains(errs, want) {
					t.Errorf("exit %d, want 1 naming %q\n%s%s", code, want, out, errs)
				}
			}
		})
	}
}

// An event altered in events.db behind the store's back is not exported: its leaf is no
// longer the one the tree holds, and the export names its position.
func TestEvidenceExportRefusesAnAlteredLog(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeHistory(t, data)
	pos := tamperEvent(t, data, 7)
	code, out, errs := runCLI("evidence", "export", "--data", data, "--property", "lac", "--from", "2025-01-01", "--to", "2026-01-01", "--out", filepath.Join(dir, "e.zip"))
	want := fmt.Sprintf("at position %d", pos)
	if code != 1 || !strings.Contains(errs, want) {
		t.Fatalf("exit %d, want 1 naming %q\n%s%s", code, want, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "e.zip")); err == nil {
		t.Fatal("a bundle was written from an altered log")
	}
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

// A server running on the SQLite log holds events.db exclusively: the export goes through
// it (GET /v1/compliance/evidence with the auditor token of --data/tokens) and the bundle
// verifies offline against the server's key.
func TestEvidenceExportBesideARunningServer(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeHistory(t, data)
	serveInBackground(t, data)
	bundle := filepath.Join(dir, "running.zip")
	code, out, errs := runCLI("evidence", "export", "--data", data, "--property", "lac", "--from", "2025-01-01", "--to", "2026-01-01", "--out", bundle)
	if code != 0 || !strings.Contains(errs, "exporting through the server") {
		t.Fatalf("export beside a running server: exit %d\n%s%s", code, out, errs)
	}
	key, err := transparency.LoadSigningKey(filepath.Join(data, "keys", transparency.SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI("evidence", "verify", bundle, "--verifier-key", key.VerifierKey); code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(string(readZip(t, bundle)[evidence.FileRotationCSV]), "lapser@lac.example") {
		t.Error("the bundle from the server lacks the rotation rows")
	}
}
