package serve_test

import (
	"accountd/domain"
	"context"
	"database/sql"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"accountd/eventstore/sqlite"
	"accountd/eventstore/transparency"
	"accountd/http/api"
	"accountd/http/serve"
)

// signedAtHead waits until the server's audit has verified the whole log and a
// checkpoint covers it.
func signedAtHead(t *testing.T, srv *serve.Server) transparency.Signed {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		head, err := srv.Store().HeadPosition(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		s, err := srv.Checkpoints().Sign(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if s.Size == int64(head) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint stuck at %d, head %d", s.Size, head)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not asserting after a sleep
	}
}

func TestTransparencyEndpoints(t *testing.T) {
	e := newEnv(t, nil)
	prop := e.createProperty("Hotel Miramare")
	e.register("giulia@miramare.example", prop)
	e.register("marco@miramare.example", prop)
	signed := signedAtHead(t, e.srv)

	key, err := transparency.LoadSigningKey(serve.SigningKeyPath(e.data))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/v1/compliance/checkpoint", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[api.RoleAuditor])
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	note, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("checkpoint: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	cp, _, err := transparency.OpenCheckpoint(note, key.Verifier)
	if err != nil {
		t.Fatalf("served checkpoint does not verify: %v\n%s", err, note)
	}
	if cp.Size < signed.Size {
		t.Fatalf("served checkpoint of %d events, one of %d was signed", cp.Size, signed.Size)
	}

	for pos := int64(1); pos <= cp.Size; pos++ {
		ev := e.must(e.get("/v1/compliance/events/"+itoa(uint64(pos)), api.RoleAuditor), http.StatusOK)
		leaf, _ := base64.StdEncoding.DecodeString(ev.str("leaf_bytes"))
		if strings.Contains(string(leaf), "@miramare.example") || strings.Contains(string(ev.raw), "@miramare.example") {
			t.Fatalf("event %d discloses an e-mail address: %s", pos, ev.raw)
		}
		lh := transparency.LeafHash(leaf)
		if base64.StdEncoding.EncodeToString(lh[:]) != ev.str("leaf_hash") {
			t.Fatalf("event %d: leaf_hash is not SHA-256(0x00 || leaf_bytes)", pos)
		}
		p := e.must(e.get("/v1/compliance/proofs/inclusion?position="+itoa(uint64(pos))+"&tree_size="+itoa(uint64(cp.Size)), api.RoleSecurity), http.StatusOK)
		var proof []tlog.Hash
		for _, h := range p.body["proof"].([]any) {
			b, _ := base64.StdEncoding.DecodeString(h.(string))
			proof = append(proof, tlog.Hash(b))
		}
		if err := tlog.CheckRecord(proof, cp.Size, cp.Hash, pos-1, lh); err != nil {
			t.Fatalf("inclusion of %d in the signed tree: %v", pos, err)
		}
	}
	e.must(e.get("/v1/compliance/proofs/consistency?from=1&to="+itoa(uint64(cp.Size)), api.RoleAuditor), http.StatusOK)

	bad := []struct {
		path string
		role api.Role
		code int
		want domain.Code
	}{
		{"/v1/compliance/proofs/inclusion?position=0&tree_size=3", api.RoleAuditor, 400, api.CodeInvalidPosition},
		{"/v1/compliance/proofs/inclusion?position=x&tree_size=3", api.RoleAuditor, 400, api.CodeInvalidPosition},
		{"/v1/compliance/proofs/inclusion?position=1", api.RoleAuditor, 400, api.CodeInvalidTreeSize},
		{"/v1/compliance/proofs/inclusion?position=4&tree_size=3", api.RoleAuditor, 400, api.CodeBeyondTree},
		{"/v1/compliance/proofs/inclusion?position=1&tree_size=999999", api.RoleAuditor, 400, api.CodeBeyondTree},
		{"/v1/compliance/proofs/consistency?from=5&to=2", api.RoleAuditor, 400, api.CodeBeyondTree},
		{"/v1/compliance/events/0", api.RoleAuditor, 400, api.CodeInvalidPosition},
		{"/v1/compliance/events/999999", api.RoleAuditor, 404, api.CodeNotFound},
		{"/v1/compliance/proofs/consistency?from=1&to=2", api.RoleLoginService, 403, api.CodeForbidden},
	}
	for _, b := range bad {
		r := e.get(b.path, b.role)
		if r.status != b.code || r.errCode() != b.want {
			t.Errorf("GET %s: %d %s, want %d %s", b.path, r.status, r.errCode(), b.code, b.want)
		}
	}
}

// TestServerNoticesAnEventRewrittenOnDisk: an event changed in events.db while the server
// was down is found by the audit at the next start, at its position.
func TestServerNoticesAnEventRewrittenOnDisk(t *testing.T) {
	data := t.TempDir()
	start := func() (*serve.Server, *httptest.Server) {
		srv, err := serve.New(context.Background(), serve.Config{DataDir: data, Policy: testPolicy(nil), Sync: sqlite.Normal,
			Argon2: cheapArgon2(), Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		srv.Start(context.Background())
		return srv, httptest.NewServer(srv.Handler())
	}
	srv, ts := start()
	e := &env{t: t, srv: srv, ts: ts, data: data, tokens: map[api.Role]string{}}
	loadTokens(t, e)
	prop := e.createProperty("Hotel Lido")
	e.register("anna@lido.example", prop)
	signedAtHead(t, srv)
	ts.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite3", filepath.Join(data, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	var pos int64
	if err := db.QueryRow(`SELECT min(position) FROM events WHERE data LIKE '%Lido%'`).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET data = replace(data, 'Lido', 'Lid0') WHERE position = ?`, pos); err != nil {
		t.Fatal(err)
	}
	db.Close()

	srv, ts = start()
	defer func() { ts.Close(); _ = srv.Close() }()
	e.srv, e.ts = srv, ts
	deadline := time.Now().Add(10 * time.Second)
	for e.get("/readyz", "").status != http.StatusServiceUnavailable || e.get("/readyz", "").errCode() != api.CodeLogIntegrityBroken {
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d %s after the rewrite", e.get("/readyz", "").status, e.get("/readyz", "").errCode())
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
	r := e.get("/v1/compliance/proofs/consistency?from=1&to=2", api.RoleAuditor)
	if r.status != http.StatusConflict || r.errCode() != api.CodeLogIntegrityBroken {
		t.Fatalf("compliance route after the rewrite: %d %s", r.status, r.errCode())
	}
	if d, _ := r.body["error"].(map[string]any)["details"].(map[string]any); d["position"] != float64(pos) {
		t.Fatalf("the error names %v, want position %d: %s", d, pos, r.raw)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "accountd_log_integrity_ok 0") {
		t.Fatalf("metrics do not report the broken log:\n%s", body)
	}
}

// loadTokens reads the tokens the server generated into e.
func loadTokens(t *testing.T, e *env) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.data, "tokens"))
	if err != nil {
		t.Fatalf("generated tokens: %v", err)
	}
	parsed, err := api.ParseTokens(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range parsed {
		for _, r := range tok.Roles {
			e.tokens[r] = tok.Secret
		}
	}
}
