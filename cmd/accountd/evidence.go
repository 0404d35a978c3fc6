package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"accountd/commands"
	"accountd/eventstore"
	"accountd/http/serve"
	"accountd/projections"
	"accountd/projections/compliance"
)

const evidenceUsage = `Usage:
  accountd evidence export --data DIR --property ID --from DATE --to DATE --out FILE.zip
  accountd evidence verify FILE.zip [--data DIR]

export writes a PCI DSS evidence bundle for one property and period: the password-rotation
report (CSV and JSON), the access log (CSV), the policies in force, and manifest.json with the
SHA-256 of each file, the log position and chain hash at export time and the tool version.
The whole hash chain is verified first; a broken log is not exported.

verify re-checks every file against the manifest and, with --data, the manifest's chain hash
against the log at that position. It names every mismatch and exits 1 if there is any.

DATE is RFC 3339 or YYYY-MM-DD (midnight UTC). With the SQLite log the server must be stopped
(events.db is opened exclusively); beside a node on a shared PostgreSQL log, export works on
a private snapshot of the node's read models.

Flags (environment equivalent in brackets):
`

// version is set at link time (-ldflags "-X main.version=..."); otherwise the module's
// build information stands in.
var version = ""

func toolVersion() string {
	if version != "" {
		return version
	}
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				v += "+" + s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				v += "-dirty"
			}
		}
		v += " (" + bi.GoVersion + ")"
	}
	return v
}

// Bundle file names.
const (
	fileManifest    = "manifest.json"
	fileRotationCSV = "password-rotation.csv"
	fileRotationJS  = "password-rotation.json"
	fileAccessCSV   = "access-log.csv"
	filePolicies    = "policies.json"
	manifestFormat  = "accountd-evidence/1"
)

// Manifest is the bundle's table of contents and its anchor in the log.
type Manifest struct {
	Format      string         `json:"format"`
	Tool        string         `json:"tool"`
	ToolVersion string         `json:"tool_version"`
	PropertyID  string         `json:"property_id"`
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	GeneratedAt time.Time      `json:"generated_at"`
	Log         ManifestLog    `json:"log"`
	Files       []ManifestFile `json:"files"`
}

// ManifestLog is the log's state the bundle was made from.
type ManifestLog struct {
	Position      uint64 `json:"position"`
	ChainHash     string `json:"chain_hash"`
	Events        uint64 `json:"events"`
	ChainVerified bool   `json:"chain_verified"`
}

// ManifestFile is one file of the bundle.
type ManifestFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

func runEvidence(args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, evidenceUsage)
		return usageError{errors.New("want a subcommand: export or verify")}
	}
	switch args[0] {
	case "export":
		return runEvidenceExport(args[1:], environ, stdout, stderr)
	case "verify":
		return runEvidenceVerify(args[1:], environ, stdout, stderr)
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, evidenceUsage)
		return nil
	}
	return usageError{fmt.Errorf("unknown subcommand %q: want export or verify", args[0])}
}

type exportOptions struct {
	property, from, to, out string
	accessLog               bool
}

func runEvidenceExport(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("evidence export", evidenceUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	var o exportOptions
	fs.StringVar(&o.property, "property", "", "property `ID`")
	fs.StringVar(&o.from, "from", "", "start of the period (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&o.to, "to", "", "end of the period (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&o.out, "out", "", "bundle `FILE.zip` to write")
	fs.BoolVar(&o.accessLog, "access-log", true, "include the access log (invalid attempts and credential changes, PCI 10.2.1.4/10.2.1.5) as "+fileAccessCSV)
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if o.out == "" {
		return usageError{errors.New("--out is required")}
	}
	q, err := exportQuery(o)
	if err != nil {
		return usageError{err}
	}
	store, err := sf.open()
	if err != nil {
		return err
	}
	defer store.Close()
	readDB, done, err := evidenceReadModels(sf.data)
	if err != nil {
		return err
	}
	defer done()
	m, err := exportBundle(context.Background(), store, readDB, q, o.out, o.accessLog, time.Now)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: property %s, %s to %s, log position %d, chain hash %s\n",
		o.out, q.PropertyID, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), m.Log.Position, m.Log.ChainHash)
	return nil
}

// evidenceReadModels returns the read-model database the export may bring up to date. The
// export catches the compliance projection up before reading it, which writes: into
// --data/readmodels.db when no server holds the directory (its lock is taken meanwhile), and
// otherwise (a node on a shared PostgreSQL log) into a private snapshot of it, because the
// running server's runner owns that file's projections.
func evidenceReadModels(data string) (path string, done func(), err error) {
	live := filepath.Join(data, "readmodels.db")
	release, err := serve.LockDataDir(data)
	if err == nil {
		return live, func() { release() }, nil
	}
	if !errors.Is(err, serve.ErrDataDirInUse) {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "accountd-evidence-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	snap := filepath.Join(dir, "readmodels.db")
	db, err := sql.Open("sqlite3", "file:"+live+"?mode=ro")
	if err == nil {
		// VACUUM INTO copies one consistent snapshot, committed WAL content included, and
		// works on a read-only connection: the server's file is never written.
		_, err = db.Exec(`VACUUM INTO ?`, snap)
		db.Close()
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("snapshot of the running server's read models %s: %w", live, err)
	}
	return snap, cleanup, nil
}

func exportQuery(o exportOptions) (compliance.Query, error) {
	q := compliance.Query{PropertyID: o.property}
	var err error
	if q.From, err = compliance.ParseTime("from", o.from); err != nil {
		return q, err
	}
	if q.To, err = compliance.ParseTime("to", o.to); err != nil {
		return q, err
	}
	return q, q.Validate(true)
}

// exportBundle verifies the chain, brings the compliance read model up to the head and
// streams each report into the zip through a hash, so memory stays flat. The chain is
// verified while the reports are written (the store is held exclusively, so the log cannot
// move meanwhile); the bundle is only completed, with the head in its manifest, once the
// chain has verified.
func exportBundle(ctx context.Context, store chainStore, readDB string, q compliance.Query, out string, accessLog bool, now func() time.Time) (Manifest, error) {
	type verified struct {
		head eventstore.ChainHead
		err  error
	}
	chain := make(chan verified, 1)
	vctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		head, err := store.VerifyChain(vctx)
		chain <- verified{head, err}
	}()
	m, err := writeBundle(ctx, store, readDB, q, out, accessLog, now, func() (eventstore.ChainHead, error) {
		v := <-chain
		if v.err != nil {
			return v.head, fmt.Errorf("the log does not verify; no evidence exported: %w", v.err)
		}
		return v.head, nil
	})
	if err != nil {
		cancel()
		<-chain // VerifyChain must be done with the store before the caller closes it
	}
	return m, err
}

func writeBundle(ctx context.Context, store chainStore, readDB string, q compliance.Query, out string, accessLog bool, now func() time.Time, chainHead func() (eventstore.ChainHead, error)) (Manifest, error) {
	db, err := projections.OpenDB(readDB)
	if err != nil {
		return Manifest{}, err
	}
	defer db.Close()
	runner, err := projections.NewRunner(ctx, store, db, slog.New(slog.DiscardHandler), compliance.New())
	if err != nil {
		return Manifest{}, err
	}
	if err := runner.CatchUp(ctx); err != nil {
		return Manifest{}, err
	}
	policies, err := commands.LoadPolicyHistory(ctx, store)
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{
		Format: manifestFormat, Tool: "accountd", ToolVersion: toolVersion(), PropertyID: q.PropertyID,
		From: q.From, To: q.To, GeneratedAt: now().UTC(),
	}
	tmp := out + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return m, err
	}
	defer os.Remove(tmp)
	defer f.Close()
	zw := zip.NewWriter(f)
	add := func(name string, write func(io.Writer) error) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.GeneratedAt})
		if err != nil {
			return err
		}
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(w, h)}
		if err := write(cw); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		m.Files = append(m.Files, ManifestFile{Name: name, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: cw.n})
		return nil
	}
	steps := []struct {
		name  string
		write func(io.Writer) error
	}{
		{fileRotationCSV, func(w io.Writer) error { return compliance.WriteRotationCSV(ctx, w, db, policies, q) }},
		{fileRotationJS, func(w io.Writer) error { return compliance.WriteRotationJSON(ctx, w, db, policies, q, m.GeneratedAt) }},
		{fileAccessCSV, func(w io.Writer) error { return compliance.WriteAccessCSV(ctx, w, db, q) }},
		{filePolicies, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{"from": q.From, "to": q.To, "policies_in_force": policies.InForce(q.From, q.To)})
		}},
	}
	for _, s := range steps {
		if s.name == fileAccessCSV && !accessLog {
			continue
		}
		if err := add(s.name, s.write); err != nil {
			return m, err
		}
	}
	head, err := chainHead()
	if err != nil {
		return m, err
	}
	m.Log = ManifestLog{Position: head.Position, ChainHash: hex.EncodeToString(head.Hash[:]), Events: head.Events, ChainVerified: true}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: fileManifest, Method: zip.Deflate, Modified: m.GeneratedAt})
	if err != nil {
		return m, err
	}
	if _, err := w.Write(append(mb, '\n')); err != nil {
		return m, err
	}
	if err := zw.Close(); err != nil {
		return m, err
	}
	if err := f.Sync(); err != nil {
		return m, err
	}
	if err := f.Close(); err != nil {
		return m, err
	}
	return m, os.Rename(tmp, out)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// bundleMismatch lists everything in a bundle that does not match; exit status 1.
type bundleMismatch struct{ problems []string }

func (e *bundleMismatch) Error() string {
	return fmt.Sprintf("evidence bundle does not verify (%d problem(s)):\n  - %s", len(e.problems), strings.Join(e.problems, "\n  - "))
}

func runEvidenceVerify(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("evidence verify", evidenceUsage, stderr)
	data := fs.String("data", "", "data directory: also check the manifest's chain hash against this log")
	sync := fs.String("sync", "full", "event log durability when --data is given: full or normal")
	storeKind := fs.String("store", "sqlite", "event log: sqlite (in --data), postgres or kurrentdb (at --store-url)")
	storeURL := fs.String("store-url", "", "event log `URL` for --store postgres or kurrentdb")
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want exactly one bundle: accountd evidence verify FILE.zip [--data DIR]")}
	}
	m, problems, err := verifyBundle(pos[0])
	if err != nil {
		return err
	}
	if *data != "" || *storeKind != "sqlite" {
		sf := storeFlags{data: *data, sync: *sync, store: *storeKind, storeURL: *storeURL}
		store, err := sf.open()
		if err != nil {
			return err
		}
		defer store.Close()
		problems = append(problems, verifyAgainstLog(context.Background(), store, m)...)
	}
	if len(problems) > 0 {
		return &bundleMismatch{problems: problems}
	}
	fmt.Fprintf(stdout, "OK: %s: %d files match the manifest (property %s, log position %d, chain hash %s)",
		pos[0], len(m.Files), m.PropertyID, m.Log.Position, m.Log.ChainHash)
	if *data != "" {
		fmt.Fprintf(stdout, "; the log in %s has that hash at that position", *data)
	}
	fmt.Fprintln(stdout)
	return nil
}

// verifyBundle checks every file against the manifest. An error is returned only when the
// bundle cannot be read at all; mismatches are listed as problems.
func verifyBundle(path string) (Manifest, []string, error) {
	var m Manifest
	zr, err := zip.OpenReader(path)
	if err != nil {
		return m, nil, fmt.Errorf("open bundle: %w", err)
	}
	defer zr.Close()
	entries := map[string]*zip.File{}
	var problems []string
	for _, f := range zr.File {
		if _, twice := entries[f.Name]; twice {
			// Tools differ on which copy they show: whichever this one checked, a reader may see the other.
			problems = append(problems, f.Name+": in the bundle more than once")
		}
		entries[f.Name] = f
	}
	mf, ok := entries[fileManifest]
	if !ok {
		return m, append(problems, fileManifest+": missing from the bundle"), nil
	}
	var buf bytes.Buffer
	if _, err := readEntry(mf, &buf); err != nil {
		return m, append(problems, fileManifest+": cannot be read intact: "+err.Error()), nil
	}
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		return m, append(problems, fileManifest+": not a valid manifest: "+err.Error()), nil
	}
	if m.Format != manifestFormat {
		problems = append(problems, fmt.Sprintf("%s: format %q, this tool reads %q", fileManifest, m.Format, manifestFormat))
	}
	listed := map[string]bool{fileManifest: true}
	for _, want := range m.Files {
		listed[want.Name] = true
		f, ok := entries[want.Name]
		if !ok {
			problems = append(problems, want.Name+": listed in the manifest but missing from the bundle")
			continue
		}
		h := sha256.New()
		n, err := readEntry(f, h)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: cannot be read intact (the file was altered): %v", want.Name, err))
			continue
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA256 {
			problems = append(problems, fmt.Sprintf("%s: SHA-256 %s does not match the manifest's %s (the file was altered)", want.Name, got, want.SHA256))
		} else if n != want.Bytes {
			problems = append(problems, fmt.Sprintf("%s: %d bytes, the manifest says %d", want.Name, n, want.Bytes))
		}
	}
	var extra []string
	for name := range entries {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		problems = append(problems, name+": in the bundle but not listed in the manifest")
	}
	return m, problems, nil
}

func readEntry(f *zip.File, w io.Writer) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(w, rc)
}

// verifyAgainstLog checks that the log is intact and holds, at the manifest's position,
// the event whose chain hash the manifest recorded: then nothing the bundle was made from
// has changed since.
func verifyAgainstLog(ctx context.Context, store chainStore, m Manifest) []string {
	var problems []string
	head, err := store.VerifyChain(ctx)
	var broken *eventstore.ChainBrokenError
	switch {
	case errors.As(err, &broken):
		problems = append(problems, fmt.Sprintf("log: hash chain broken at position %d: %s", broken.Position, broken.Reason))
		if broken.Position <= m.Log.Position {
			return problems
		}
	case err != nil:
		return append(problems, "log: cannot be verified: "+err.Error())
	}
	if head.Position < m.Log.Position {
		return append(problems, fmt.Sprintf("log: ends at position %d, before the manifest's position %d (events were removed)", head.Position, m.Log.Position))
	}
	if m.Log.Position == 0 {
		return problems
	}
	recs, err := store.ReadAll(ctx, m.Log.Position-1, 1)
	if err != nil || len(recs) != 1 {
		return append(problems, fmt.Sprintf("log: cannot read position %d: %v", m.Log.Position, err))
	}
	if got := hex.EncodeToString(recs[0].Hash[:]); got != m.Log.ChainHash {
		problems = append(problems, fmt.Sprintf("log: chain hash at position %d is %s, the manifest says %s", m.Log.Position, got, m.Log.ChainHash))
	}
	return problems
}
