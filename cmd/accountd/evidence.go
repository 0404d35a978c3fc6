package main

import (
	"archive/zip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"accountd/eventstore/transparency"
	"accountd/http/api"
	"accountd/http/serve"
	"accountd/projections"
	"accountd/projections/compliance"
	"accountd/projections/evidence"
)

const evidenceUsage = `Usage:
  accountd evidence export --data DIR --property ID --from DATE --to DATE --out FILE.zip
  accountd evidence verify FILE.zip [--verifier-key KEY] [--checkpoint FILE [--consistency-proof FILE]]

export writes a PCI DSS evidence bundle for one property and period: the password-rotation
report (CSV and JSON), the access log (CSV), the policies in force, the events every row
derives from (as transparency-log leaves: no secret, personal values opened only where the
reports show them) with an inclusion proof of each against a checkpoint signed for the
export, the manifest signed with the same key, and that key's verifier key. A log whose
stored events do not match its tree is not exported.

With a server running on --data (SQLite), the export goes through it
(GET /v1/compliance/evidence with the auditor token of --data/tokens, or --server and
--token); otherwise it works on the log directly, with the signing key of
--data/keys/checkpoint-signing.key or --signing-key. Beside a node on a shared PostgreSQL
log it works on a private snapshot of the node's read models.

verify needs no access to the log: it checks the manifest's and the checkpoint's signatures
(against --verifier-key, which auditors pin: the bundle's own key only proves that the
bundle is self-consistent), every file against the manifest, each event's inclusion proof,
that each stream's events are complete from its first, and then derives every report row
again from the included events and names each row that does not follow from them. With
--checkpoint, a checkpoint the auditor kept, it also proves that the bundle's log extends
it (or it the bundle's), given the consistency proof between the two sizes as
GET /v1/compliance/proofs/consistency answers it. It exits 1 naming every problem.

DATE is RFC 3339 or YYYY-MM-DD (midnight UTC).
`

// The subcommands' own usage: a line, a pointer to the whole story, then their flags.
const (
	evidenceExportUsage = "Usage: accountd evidence export --data DIR --property ID --from DATE --to DATE --out FILE.zip\n\n" +
		"Writes a PCI DSS evidence bundle anchored in a signed checkpoint (accountd help evidence says what is in it).\n\nFlags of accountd evidence export (environment equivalent in brackets):\n"
	evidenceVerifyUsage = "Usage: accountd evidence verify FILE.zip [--verifier-key KEY] [--checkpoint FILE [--consistency-proof FILE]]\n\n" +
		"Checks a bundle offline, re-deriving every report row from its events (accountd help evidence).\n\nFlags of accountd evidence verify (environment equivalent in brackets):\n"
)

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
		// The whole story, then each subcommand's flags, which is what a reader looks for.
		fmt.Fprint(stdout, evidenceUsage)
		for _, sub := range []func(args, environ []string, stdout, stderr io.Writer) error{runEvidenceExport, runEvidenceVerify} {
			fmt.Fprintln(stdout)
			_ = sub([]string{"--help"}, nil, stdout, stdout)
		}
		return nil
	}
	return usageError{fmt.Errorf("unknown subcommand %q: want export or verify", args[0])}
}

type exportOptions struct {
	property, from, to, out string
	signingKey              string
	server, token           string
}

func runEvidenceExport(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("evidence export", evidenceExportUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	var o exportOptions
	fs.StringVar(&o.property, "property", "", "property `ID`")
	fs.StringVar(&o.from, "from", "", "start of the period (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&o.to, "to", "", "end of the period (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&o.out, "out", "", "bundle `FILE.zip` to write")
	fs.StringVar(&o.signingKey, "signing-key", "", "checkpoint signing key `PATH` (default --data/keys/"+transparency.SigningKeyFile+")")
	fs.StringVar(&o.server, "server", "", "export through the server at this `URL` (default: the one running on --data, if any)")
	fs.StringVar(&o.token, "token", "", "auditor token for --server (default: the auditor token in --data/tokens)")
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
	ctx := context.Background()
	var m evidence.Manifest
	through := o.server
	if through == "" && (sf.store == "" || sf.store == serve.StoreSQLite) {
		// A server holds events.db exclusively: the export goes through it.
		release, err := serve.LockDataDir(sf.data)
		switch {
		case errors.Is(err, serve.ErrDataDirInUse):
			if through, err = serve.ServerURL(sf.data); err != nil {
				return fmt.Errorf("a server holds %s but %w; give its address with --server", sf.data, err)
			}
		case err == nil:
			release()
		}
	}
	if through != "" {
		if o.token == "" {
			if o.token, err = roleToken(sf.data, api.RoleAuditor); err != nil {
				return fmt.Errorf("%w; give one with --token", err)
			}
		}
		fmt.Fprintf(stderr, "exporting through the server at %s\n", through)
		m, err = exportThroughServer(ctx, through, o.token, q, o.out)
	} else {
		m, err = exportFromLog(ctx, sf, o, q)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: property %s, %s to %s, %d events proved against the checkpoint of tree size %d (root %s), verifier key %s\n",
		o.out, q.PropertyID, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), m.Log.Events, m.Log.TreeSize, m.Log.RootHash, m.Log.VerifierKey)
	return nil
}

// exportFromLog exports in this process, from the log and the read models of --data.
func exportFromLog(ctx context.Context, sf storeFlags, o exportOptions, q compliance.Query) (evidence.Manifest, error) {
	sealed, err := sf.openLog()
	if err != nil {
		return evidence.Manifest{}, err
	}
	defer sealed.Close()
	// The proofs and the events they disclose are the log as stored (personal values
	// sealed: the leaves commit to the tokens); the read model that finds the property's
	// members decodes events, through the seal, as the server's does.
	store := sealed.Unwrap()
	log, err := serve.EvidenceLog(store, sf.data, o.signingKey)
	if err != nil {
		return evidence.Manifest{}, err
	}
	if log == nil {
		return evidence.Manifest{}, fmt.Errorf("the %s event log keeps no Merkle tree: no evidence bundle can be proved from it", sf.store)
	}
	// No server watches this log: recompute its whole tree from the events first, and sign
	// nothing beyond what matched, so a log altered on disk is named, not signed.
	auditor, err := transparency.NewAuditor(store)
	if err != nil {
		return evidence.Manifest{}, err
	}
	if err := auditor.Advance(ctx, -1); err != nil {
		return evidence.Manifest{}, fmt.Errorf("the log does not verify; no evidence exported: %w", err)
	}
	log.Checkpoints.LimitTo(auditor.Size, nil)
	readDB, done, err := evidenceReadModels(sf.data)
	if err != nil {
		return evidence.Manifest{}, err
	}
	defer done()
	db, err := projections.OpenDB(readDB)
	if err != nil {
		return evidence.Manifest{}, err
	}
	defer db.Close()
	runner, err := projections.NewRunner(ctx, sealed, db, slog.New(slog.DiscardHandler), compliance.New())
	if err != nil {
		return evidence.Manifest{}, err
	}
	src := evidence.Source{Store: store, Log: *log, ReadModels: db, ToolVersion: toolVersion(), Now: time.Now, Disclose: sealed,
		CaughtUp: func(ctx context.Context, _ uint64) error { return runner.CatchUp(ctx) }}
	return writeAtomically(o.out, func(w io.Writer) (evidence.Manifest, error) { return evidence.Export(ctx, src, q, w) })
}

// exportThroughServer saves the server's GET /v1/compliance/evidence.
func exportThroughServer(ctx context.Context, base, token string, q compliance.Query, out string) (evidence.Manifest, error) {
	u := strings.TrimRight(base, "/") + "/v1/compliance/evidence?" + url.Values{
		"property_id": {q.PropertyID}, "from": {q.From.Format(time.RFC3339Nano)}, "to": {q.To.Format(time.RFC3339Nano)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return evidence.Manifest{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return evidence.Manifest{}, fmt.Errorf("the server at %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(raw, &e) == nil && e.Error.Code != "" {
			return evidence.Manifest{}, fmt.Errorf("the server refused: %s: %s", e.Error.Code, e.Error.Message)
		}
		return evidence.Manifest{}, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if _, err := writeAtomically(out, func(w io.Writer) (evidence.Manifest, error) {
		_, err := io.Copy(w, resp.Body)
		return evidence.Manifest{}, err
	}); err != nil {
		return evidence.Manifest{}, err
	}
	return bundleManifest(out)
}

// bundleManifest reads the manifest of a bundle on disk.
func bundleManifest(path string) (evidence.Manifest, error) {
	var m evidence.Manifest
	zr, err := zip.OpenReader(path)
	if err != nil {
		return m, err
	}
	defer zr.Close()
	f, err := zr.Open(evidence.FileManifest)
	if err != nil {
		return m, err
	}
	defer f.Close()
	return m, json.NewDecoder(f).Decode(&m)
}

// writeAtomically writes a file through a temporary one, so a failed export leaves none.
func writeAtomically(out string, write func(io.Writer) (evidence.Manifest, error)) (evidence.Manifest, error) {
	tmp := out + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return evidence.Manifest{}, err
	}
	defer os.Remove(tmp)
	defer f.Close()
	m, err := write(f)
	if err != nil {
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

func runEvidenceVerify(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("evidence verify", evidenceVerifyUsage, stderr)
	key := fs.String("verifier-key", "", "the verifier `KEY` you pinned (name+hash+base64, or a file holding it); default: the bundle's own")
	kept := fs.String("checkpoint", "", "a signed checkpoint `FILE` you kept: prove the bundle's log extends it")
	proofFile := fs.String("consistency-proof", "", "`FILE` with the consistency proof between --checkpoint's tree and the bundle's (JSON of GET /v1/compliance/proofs/consistency)")
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want exactly one bundle: accountd evidence verify FILE.zip [--verifier-key KEY] [--checkpoint FILE]")}
	}
	opt := evidence.VerifyOptions{VerifierKey: *key}
	if b, err := os.ReadFile(*key); *key != "" && err == nil {
		opt.VerifierKey = strings.TrimSpace(string(b))
	}
	if *kept != "" {
		if opt.Checkpoint, err = os.ReadFile(*kept); err != nil {
			return usageError{fmt.Errorf("--checkpoint: %w", err)}
		}
	}
	if *proofFile != "" {
		b, err := os.ReadFile(*proofFile)
		if err != nil {
			return usageError{fmt.Errorf("--consistency-proof: %w", err)}
		}
		opt.ConsistencyProof = new(evidence.ConsistencyProof)
		if err := json.Unmarshal(b, opt.ConsistencyProof); err != nil {
			return usageError{fmt.Errorf("--consistency-proof: %w", err)}
		}
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("open bundle: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	v, err := evidence.Verify(context.Background(), f, info.Size(), opt)
	if err != nil {
		return err // a *evidence.Mismatch names every problem; exit status 1
	}
	m := v.Manifest
	fmt.Fprintf(stdout, "OK: %s: property %s, %s to %s: %d files match the signed manifest; %d events proved in the tree of size %d (root %s); %d rotation rows and %d access-log rows re-derived from them",
		pos[0], m.PropertyID, m.From.Format(time.RFC3339), m.To.Format(time.RFC3339), len(m.Files), v.Events, m.Log.TreeSize, m.Log.RootHash,
		v.Rows[evidence.FileRotationCSV], v.Rows[evidence.FileAccessCSV])
	if len(opt.Checkpoint) > 0 {
		fmt.Fprint(stdout, "; consistent with the checkpoint you kept")
	}
	fmt.Fprintln(stdout)
	if !v.PinnedKey {
		fmt.Fprintf(stderr, "warning: checked with the bundle's own verifier key %s; pin the key you trust with --verifier-key\n", m.Log.VerifierKey)
	}
	return nil
}
