package evidence_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/memory"
	"accountd/eventstore/transparency"
	"accountd/projections"
	"accountd/projections/compliance"
	"accountd/projections/evidence"
)

// newLog is the transparency log over store, with a fresh signing key named name.
func newLog(t *testing.T, store eventstore.Store, name string) evidence.Log {
	t.Helper()
	key, err := transparency.GenerateSigningKey(name)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := transparency.NewCheckpointer(store, transparency.CheckpointLog{Dir: t.TempDir()}, key)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := transparency.NewTree(store)
	if err != nil {
		t.Fatal(err)
	}
	return evidence.Log{Checkpoints: cp, Tree: tree, Key: key}
}

// fixture: a hotel with two members over a year (rotations, a lapse, failed and
// successful logins from known origins, a lock, a disable), exported for the year.
type fixture struct {
	ctx    context.Context
	store  *memory.Store
	log    evidence.Log
	bundle []byte
	m      evidence.Manifest
	src    evidence.Source
	q      compliance.Query
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	store := memory.New()
	t0 := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { return now }
	pol := domain.DefaultPolicy()
	pol.MFARequired = false
	if _, err := commands.ChangePolicy(ctx, store, clock, pol, domain.Actor{Kind: domain.ActorSystem, Note: "test"}); err != nil {
		t.Fatal(err)
	}
	policies, err := eventlog.LoadPolicyHistory(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	key := bytes.Repeat([]byte{7}, 32)
	mfa, _ := credentials.NewMFA(key, "test")
	links, _ := credentials.NewLinkKey(key)
	svc, err := commands.NewService(commands.Config{Store: store, Clock: clock, Policy: policies.Current, Hasher: h, MFA: mfa, Links: links})
	if err != nil {
		t.Fatal(err)
	}
	m := commands.Meta{}
	if _, err := svc.Property(ctx, m, "lac", domain.CreateProperty{PropertyID: "lac", Name: "Hôtel du Lac", PrimaryContactEmail: "direction@lac.example"}); err != nil {
		t.Fatal(err)
	}
	pw := func(i int) string { return fmt.Sprintf("Correct horse battery %d", 100+i) }
	ids := map[string]string{}
	for _, email := range []string{"anna@lac.example", "bruno@lac.example"} {
		reg, err := svc.Register(ctx, m, commands.Registration{Email: email, Password: pw(0), PropertyID: "lac"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Activate(ctx, m, reg.ActivationToken); err != nil {
			t.Fatal(err)
		}
		ids[email] = reg.AccountID
	}
	desk := domain.Origin{IP: "203.0.113.4", UserAgent: "desk", DeviceID: "front-desk"}
	gen := 0
	for d := 1; d <= 365; d++ {
		now = t0.Add(time.Duration(d) * 24 * time.Hour)
		if d%80 == 0 {
			if _, err := svc.ChangePassword(ctx, m, ids["anna@lac.example"], pw(gen), pw(gen+1), desk); err != nil {
				t.Fatal(err)
			}
			gen++
		}
		if d%30 == 0 {
			if _, err := svc.Login(ctx, m, commands.LoginAttempt{Email: "anna@lac.example", Password: pw(gen), Origin: desk}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Login(ctx, m, commands.LoginAttempt{Email: "bruno@lac.example", Password: "wrong", Origin: domain.Origin{IP: "198.51.100.9"}}); err != nil {
				t.Fatal(err)
			}
		}
		if d == 200 {
			if _, err := svc.Disable(ctx, m, ids["bruno@lac.example"], domain.DisableAccount{Kind: domain.DisableManual, Actor: domain.Actor{Kind: domain.ActorSupport, Reference: "REQ-1"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	db, err := projections.OpenDB(filepath.Join(t.TempDir(), "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	runner, err := projections.NewRunner(ctx, store, db, nil, compliance.New())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ctx: ctx, store: store, log: newLog(t, store, "accountd.test"),
		q: compliance.Query{PropertyID: "lac", From: t0, To: t0.Add(365 * 24 * time.Hour)}}
	f.src = evidence.Source{Store: store, Log: f.log, ReadModels: db,
		CaughtUp:    func(ctx context.Context, _ uint64) error { return runner.CatchUp(ctx) },
		ToolVersion: "test", Now: func() time.Time { return now }, Scratch: t.TempDir()}
	var buf bytes.Buffer
	if f.m, err = evidence.Export(ctx, f.src, f.q, &buf); err != nil {
		t.Fatal(err)
	}
	f.bundle = buf.Bytes()
	return f
}

func (f *fixture) verify(t *testing.T, bundle []byte, opt evidence.VerifyOptions) (evidence.Verified, error) {
	t.Helper()
	opt.Scratch = t.TempDir()
	return evidence.Verify(f.ctx, bytes.NewReader(bundle), int64(len(bundle)), opt)
}

func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		out[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

func rezip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rewriteManifest updates the manifest entry of every file to its current bytes and signs
// the manifest again with signer, as an attacker who edited a file would.
func rewriteManifest(t *testing.T, files map[string][]byte, signer note.Signer) {
	t.Helper()
	var m evidence.Manifest
	if err := json.Unmarshal(files[evidence.FileManifest], &m); err != nil {
		t.Fatal(err)
	}
	for i, mf := range m.Files {
		sum := sha256.Sum256(files[mf.Name])
		m.Files[i].SHA256, m.Files[i].Bytes = hex.EncodeToString(sum[:]), int64(len(files[mf.Name]))
	}
	m.Log.Events = len(bytes.Split(bytes.TrimSpace(files[evidence.FileEvents]), []byte("\n")))
	mb, _ := json.MarshalIndent(m, "", "  ")
	mb = append(mb, '\n')
	files[evidence.FileManifest] = mb
	signed, err := note.Sign(&note.Note{Text: string(mb)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	files[evidence.FileManifestSig] = signed[len(mb)+1:]
}

func TestUntouchedBundleVerifies(t *testing.T) {
	f := newFixture(t)
	v, err := f.verify(t, f.bundle, evidence.VerifyOptions{VerifierKey: f.log.Key.VerifierKey})
	if err != nil {
		t.Fatal(err)
	}
	if !v.PinnedKey || v.Events == 0 || v.Rows[evidence.FileRotationCSV] != 2 || v.Rows[evidence.FileAccessCSV] < 20 {
		t.Fatalf("verified %+v", v)
	}
	files := unzip(t, f.bundle)
	if strings.Contains(string(files[evidence.FileEvents]), "argon2id") {
		t.Error("a password hash is in the bundle's events")
	}
	if !strings.Contains(string(files[evidence.FileAccessCSV]), "203.0.113.4") {
		t.Error("the access log lacks the origin its events disclose")
	}
}

// Every tampering a holder of the bundle (not of the key) could try fails, and the report
// names what was tampered with: a report row by file, row and key.
func TestTamperedBundlesFail(t *testing.T) {
	f := newFixture(t)
	attacker := newLog(t, f.store, "accountd.test").Key // a key pair under the same name
	honest := unzip(t, f.bundle)
	edit := func(name, old, new string) func(files map[string][]byte) {
		return func(files map[string][]byte) {
			if !bytes.Contains(files[name], []byte(old)) {
				t.Fatalf("%s has no %q", name, old)
			}
			files[name] = bytes.Replace(files[name], []byte(old), []byte(new), 1)
		}
	}
	dropEvent := func(match string) func(files map[string][]byte) {
		return func(files map[string][]byte) {
			var kept [][]byte
			dropped := false
			for _, l := range bytes.Split(bytes.TrimSuffix(files[evidence.FileEvents], []byte("\n")), []byte("\n")) {
				var e evidence.EventLine
				json.Unmarshal(l, &e)
				if !dropped && strings.Contains(string(e.Leaf), match) {
					dropped = true
					continue
				}
				kept = append(kept, l)
			}
			if !dropped {
				t.Fatalf("no event with %q", match)
			}
			files[evidence.FileEvents] = append(bytes.Join(kept, []byte("\n")), '\n')
		}
	}
	alterLeaf := func(files map[string][]byte) {
		lines := bytes.Split(bytes.TrimSuffix(files[evidence.FileEvents], []byte("\n")), []byte("\n"))
		for i, l := range lines {
			var e evidence.EventLine
			json.Unmarshal(l, &e)
			if bytes.Contains(e.Leaf, []byte(`"failed_attempts":1`)) {
				e.Leaf = bytes.Replace(e.Leaf, []byte(`"failed_attempts":1`), []byte(`"failed_attempts":0`), 1)
				lines[i], _ = json.Marshal(e)
				files[evidence.FileEvents] = append(bytes.Join(lines, []byte("\n")), '\n')
				return
			}
		}
		t.Fatal("no failed login to alter")
	}
	cases := []struct {
		name    string
		tamper  func(files map[string][]byte)
		signer  *transparency.SigningKey // re-signs the rewritten manifest; nil leaves it
		pinned  bool
		expects []string
	}{
		{"verdict edited, manifest rewritten", edit(evidence.FileRotationCSV, ",manual,disabled\r\n", ",,compliant\r\n"), &attacker, true,
			[]string{evidence.FileManifestSig + ": the manifest's signature does not verify", evidence.FileRotationCSV + " row ",
				`verdict is "compliant" in the bundle, "disabled" from the events`}},
		{"verdict edited, manifest re-signed, verifier key replaced, key not pinned", edit(evidence.FileRotationCSV, ",manual,disabled\r\n", ",,compliant\r\n"), &attacker, false,
			[]string{evidence.FileCheckpoint + ": signature does not verify", evidence.FileRotationCSV + " row "}},
		{"an origin edited in the access log", edit(evidence.FileAccessCSV, "198.51.100.9", "198.51.100.10"), nil, true,
			[]string{evidence.FileAccessCSV + ": SHA-256", evidence.FileAccessCSV + " row ", `ip is "198.51.100.10" in the bundle, "198.51.100.9" from the events`}},
		{"an event removed, manifest rewritten", dropEvent("login_failed.v1"), &attacker, true,
			[]string{"events are missing", evidence.FileAccessCSV + " row "}},
		{"an event altered", alterLeaf, nil, true, []string{"is not in the checkpoint's tree"}},
		{"a disclosed e-mail altered", edit(evidence.FileEvents, `"value":"anna@lac.example"`, `"value":"carla@lac.example"`), nil, true,
			[]string{`the opening of email "carla@lac.example" matches no commitment`, evidence.FileRotationCSV + " row "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]byte{}
			for k, v := range honest {
				files[k] = v
			}
			tc.tamper(files)
			if tc.signer != nil {
				rewriteManifest(t, files, tc.signer.Signer)
				if !tc.pinned {
					files[evidence.FileVerifierKey] = []byte(tc.signer.VerifierKey + "\n")
				}
			}
			opt := evidence.VerifyOptions{}
			if tc.pinned {
				opt.VerifierKey = f.log.Key.VerifierKey
			}
			_, err := f.verify(t, rezip(t, files), opt)
			var mm *evidence.Mismatch
			if !errors.As(err, &mm) {
				t.Fatalf("got %v, want a mismatch", err)
			}
			for _, want := range tc.expects {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("no %q in:\n%v", want, err)
				}
			}
		})
	}
}

func TestWrongVerifierKeyFails(t *testing.T) {
	f := newFixture(t)
	other := newLog(t, f.store, "accountd.test")
	_, err := f.verify(t, f.bundle, evidence.VerifyOptions{VerifierKey: other.Key.VerifierKey})
	if err == nil || !strings.Contains(err.Error(), "signature does not verify") {
		t.Fatalf("got %v, want the signatures refused", err)
	}
}

// A checkpoint the auditor kept from an earlier export proves, with the consistency proof
// between the two sizes, that the log the new bundle was cut from extends it; a checkpoint
// of another log does not, and a kept checkpoint of another size needs the proof.
func TestKeptCheckpointProvesConsistency(t *testing.T) {
	f := newFixture(t)
	kept := unzip(t, f.bundle)[evidence.FileCheckpoint]
	keptSize := int64(f.m.Log.TreeSize)
	if _, err := commands.ChangePolicy(f.ctx, f.store, func() time.Time { return f.q.To.Add(time.Hour) }, domain.DefaultPolicy(), domain.Actor{Kind: domain.ActorSystem, Note: "later"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	m, err := evidence.Export(f.ctx, f.src, f.q, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if int64(m.Log.TreeSize) <= keptSize {
		t.Fatalf("the log did not grow: %d, kept %d", m.Log.TreeSize, keptSize)
	}
	proof, err := f.log.Tree.ProveConsistency(f.ctx, keptSize, int64(m.Log.TreeSize))
	if err != nil {
		t.Fatal(err)
	}
	cp := &evidence.ConsistencyProof{From: uint64(proof.From), To: uint64(proof.To)}
	for _, h := range proof.Proof {
		cp.Proof = append(cp.Proof, append([]byte(nil), h[:]...))
	}
	forged, err := transparency.SignCheckpoint(transparency.Checkpoint{Origin: "accountd.test", Size: keptSize, Hash: tlog.Hash{1}}, f.log.Key.Signer)
	if err != nil {
		t.Fatal(err)
	}
	newer := unzip(t, buf.Bytes())[evidence.FileCheckpoint]
	cases := []struct {
		name   string
		bundle []byte
		kept   []byte
		proof  *evidence.ConsistencyProof
		expect string // "" verifies
	}{
		{"the earlier checkpoint with its proof", buf.Bytes(), kept, cp, ""},
		{"an earlier bundle against a newer checkpoint with its proof", f.bundle, newer, cp, ""},
		{"the bundle's own checkpoint", buf.Bytes(), newer, nil, ""},
		{"the earlier checkpoint without a proof", buf.Bytes(), kept, nil, "--consistency-proof"},
		{"a checkpoint of another tree of that size", buf.Bytes(), forged, cp, "does not extend"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.verify(t, tc.bundle, evidence.VerifyOptions{VerifierKey: f.log.Key.VerifierKey, Checkpoint: tc.kept, ConsistencyProof: tc.proof})
			switch {
			case tc.expect == "" && err != nil:
				t.Fatalf("got %v, want it verified", err)
			case tc.expect != "" && (err == nil || !strings.Contains(err.Error(), tc.expect)):
				t.Fatalf("got %v, want %q", err, tc.expect)
			}
		})
	}
}

// A bundle holding two entries of one name does not verify, whichever copy a reader would
// take: even two identical copies of the honest file are refused, by a typed error naming
// the repeated name.
func TestRepeatedEntryFails(t *testing.T) {
	f := newFixture(t)
	honest := unzip(t, f.bundle)
	forged := bytes.Replace(honest[evidence.FileManifest], []byte(f.m.PropertyID), []byte("00000000-0000-0000-0000-000000000000"), 1)
	cases := []struct {
		name   string
		repeat string
		copy   []byte // the repeated entry's second copy
	}{
		{"manifest twice, identical", evidence.FileManifest, honest[evidence.FileManifest]},
		{"manifest twice, the second forged", evidence.FileManifest, forged},
		{"events twice, identical", evidence.FileEvents, honest[evidence.FileEvents]},
		{"an unlisted file twice", "notes.txt", []byte("hello")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			add := func(name string, b []byte) {
				w, err := zw.Create(name)
				if err != nil {
					t.Fatal(err)
				}
				w.Write(b)
			}
			for name, b := range honest {
				add(name, b)
			}
			if _, ok := honest[c.repeat]; !ok {
				add(c.repeat, c.copy)
			}
			add(c.repeat, c.copy)
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			_, err := f.verify(t, buf.Bytes(), evidence.VerifyOptions{VerifierKey: f.log.Key.VerifierKey})
			var repeated *evidence.RepeatedEntryError
			if !errors.As(err, &repeated) || !slices.Equal(repeated.Names, []string{c.repeat}) {
				t.Fatalf("verify: %v, want a RepeatedEntryError naming %s", err, c.repeat)
			}
			if !strings.Contains(err.Error(), c.repeat) {
				t.Fatalf("message %q does not name %s", err, c.repeat)
			}
		})
	}
}
