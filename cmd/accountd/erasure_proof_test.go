package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"accountd/domain"
	"accountd/eventstore/sqlite"
	"accountd/eventstore/transparency"
	"accountd/http/api"
	"accountd/http/serve"
	"accountd/projections/evidence"
)

// serveUntil runs a server on data (mail as .eml files, links to http://login.test) and
// returns its URL and a stop that waits for it to close its files.
func serveUntil(t *testing.T, data string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	policy := domain.DefaultPolicy()
	policy.MFARequired = false
	srv, err := serve.New(ctx, serve.Config{DataDir: data, Addr: "127.0.0.1:0", Sync: sqlite.Normal, Argon2: &demoArgon2,
		Policy: &policy, PublicURL: "http://login.test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	for {
		if url, err := serve.ServerURL(data); err == nil {
			return url, stop
		}
		select {
		case err := <-served:
			t.Fatalf("the server stopped before recording its address: %v", err)
		default:
		}
	}
}

type apiCaller struct {
	t    *testing.T
	base string
	data string
}

func (c apiCaller) call(method, path string, role api.Role, body any) (int, map[string]any, []byte) {
	c.t.Helper()
	token, err := roleToken(c.data, role)
	if err != nil {
		c.t.Fatal(err)
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, raw
}

func (c apiCaller) must(method, path string, role api.Role, body any, status int) (map[string]any, []byte) {
	c.t.Helper()
	got, out, raw := c.call(method, path, role, body)
	if got != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, got, status, raw)
	}
	return out, raw
}

// bundle exports the evidence of the property for the day around now over HTTP into dir,
// checks that it verifies offline against the server's key, and returns its access log.
func (c apiCaller) bundle(dir, property, name string) string {
	c.t.Helper()
	now := time.Now().UTC()
	q := "/v1/compliance/evidence?property_id=" + property + "&from=" + now.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + now.AddDate(0, 0, 2).Format("2006-01-02")
	_, zipped := c.must(http.MethodGet, q, api.RoleAuditor, nil, http.StatusOK)
	path := filepath.Join(dir, name+".zip")
	if err := os.WriteFile(path, zipped, 0o600); err != nil {
		c.t.Fatal(err)
	}
	key, err := transparency.LoadSigningKey(filepath.Join(c.data, "keys", transparency.SigningKeyFile))
	if err != nil {
		c.t.Fatal(err)
	}
	if code, out, errs := runCLI("evidence", "verify", path, "--verifier-key", key.VerifierKey); code != 0 {
		c.t.Fatalf("evidence verify %s: exit %d\n%s%s", name, code, out, errs)
	}
	return string(readZip(c.t, path)[evidence.FileAccessCSV])
}

// Issue 20's erasure, end to end on the default SQLite data directory: an account
// registers, signs in from two addresses and gets mail; an auditor saves a checkpoint; the
// account is erased. Afterwards no file under the data directory holds its address, its IP
// addresses or its browser in any form a search finds (personalDataIn: case, escapes,
// encodings, unkeyed hashes, compressed files); `accountd verify --checkpoint` against the
// checkpoint saved before the erasure passes; status and history still answer with
// [erased]; and the address registers again as a new account.
func TestErasureLeavesNoTraceAndKeepsTheProofs(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	base, stop := serveUntil(t, data)
	c := apiCaller{t: t, base: base, data: data}
	const email = "Giulia.Rossi@hotel-lago.example"
	ips := []string{"203.0.113.57", "2001:db8:57::9"}
	const browser = "GiuliaBrowser/57.3"
	personal := append([]string{email, browser, "giulia-tablet-57"}, ips...)

	prop, _ := c.must(http.MethodPost, "/v1/properties", api.RoleAdmin, map[string]string{"name": "Hotel Lago", "primary_contact_email": "direzione@hotel-lago.example"}, http.StatusCreated)
	reg, _ := c.must(http.MethodPost, "/v1/accounts", api.RoleLoginService, map[string]string{"email": email, "password": "Correct horse battery 42", "property_id": prop["property_id"].(string)}, http.StatusCreated)
	id := reg["account_id"].(string)
	c.must(http.MethodPost, "/v1/activations", api.RoleLoginService, map[string]string{"token": waitForLink(t, filepath.Join(data, "outbox"), "http://login.test/activate")}, http.StatusOK)
	for _, ip := range ips {
		if out, raw := c.must(http.MethodPost, "/v1/logins", api.RoleLoginService, map[string]string{"email": email, "password": "Correct horse battery 42", "ip": ip, "user_agent": browser, "device_id": "giulia-tablet-57"}, http.StatusOK); out["decision"] != "allowed" {
			t.Fatalf("login from %s: %s", ip, raw)
		}
	}
	c.must(http.MethodPost, "/v1/password-reset-requests", api.RoleLoginService, map[string]string{"email": email}, http.StatusAccepted)
	waitForLink(t, filepath.Join(data, "outbox"), "http://login.test/reset-password")

	// An auditor's bundle shows the sealed origins opened, each proven against its token.
	bundles := t.TempDir()
	if access := c.bundle(bundles, prop["property_id"].(string), "before"); !strings.Contains(access, ips[0]) || !strings.Contains(access, browser) {
		t.Fatalf("the access log of the bundle before the erasure lacks the origins:\n%s", access)
	}
	_, note := c.must(http.MethodGet, "/v1/compliance/checkpoint", api.RoleAuditor, nil, http.StatusOK)
	saved := filepath.Join(t.TempDir(), "before-erasure.checkpoint")
	if err := os.WriteFile(saved, note, 0o600); err != nil {
		t.Fatal(err)
	}
	// The search finds what is there: the mail in the outbox, the status read model.
	if hits := personalDataIn(t, data, email); len(hits) == 0 {
		t.Fatal("before the erasure, the search finds the address nowhere")
	}

	erased, raw := c.must(http.MethodPost, "/v1/accounts/"+id+"/erasure", api.RoleAdmin, map[string]string{"reason": "GDPR Art. 17 request", "support_reference": "DPO-57"}, http.StatusAccepted)
	if erased["key_destroyed"] != true {
		t.Fatalf("erasure: %s", raw)
	}
	after := strconv.FormatUint(uint64(erased["position"].(float64)), 10)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("the read models and the outbox did not forget the account")
		}
		status, _ := c.must(http.MethodGet, "/v1/accounts/"+id+"/status?after="+after, api.RoleLoginService, nil, http.StatusOK)
		_, history := c.must(http.MethodGet, "/v1/accounts/"+id+"/events?limit=1000", api.RoleSecurity, nil, http.StatusOK)
		files, _ := filepath.Glob(filepath.Join(data, "outbox", "*.eml"))
		if status["email"] == domain.Erased && bytes.Contains(history, []byte(domain.Erased)) && len(files) == 0 {
			break
		}
	}
	if hits := personalDataIn(t, data, personal...); len(hits) != 0 {
		t.Errorf("after the erasure, with the server running:\n%s", strings.Join(hits, "\n"))
	}
	access := c.bundle(bundles, prop["property_id"].(string), "after")
	for _, v := range personal {
		if strings.Contains(access, v) {
			t.Errorf("the bundle after the erasure shows %q:\n%s", v, access)
		}
	}
	if !strings.Contains(access, domain.Erased) {
		t.Errorf("the bundle after the erasure has no %s:\n%s", domain.Erased, access)
	}
	stop()
	if hits := personalDataIn(t, data, personal...); len(hits) != 0 {
		t.Errorf("after the erasure, the server stopped:\n%s", strings.Join(hits, "\n"))
	}

	code, out, errs := runCLI("verify", "--data", data, "--checkpoint", saved)
	if code != 0 || !strings.Contains(out, "extends the signed checkpoint") {
		t.Fatalf("verify --checkpoint after the erasure: exit %d\n%s%s", code, out, errs)
	}

	base, _ = serveUntil(t, data)
	c.base = base
	status, raw := c.must(http.MethodGet, "/v1/accounts/"+id+"/status", api.RoleLoginService, nil, http.StatusOK)
	if status["email"] != domain.Erased || status["status"] != domain.StatusDeleted {
		t.Fatalf("status of the erased account after a restart: %s", raw)
	}
	_, history := c.must(http.MethodGet, "/v1/accounts/"+id+"/events?limit=1000", api.RoleSecurity, nil, http.StatusOK)
	for _, want := range []string{"login_succeeded", "account_erased.v1", domain.Erased} {
		if !bytes.Contains(history, []byte(want)) {
			t.Errorf("history after the erasure lacks %q: %s", want, history)
		}
	}
	again, _ := c.must(http.MethodPost, "/v1/accounts", api.RoleLoginService, map[string]string{"email": email, "password": "Another horse battery 43"}, http.StatusCreated)
	if again["account_id"] == id || again["account_id"] == "" {
		t.Fatalf("the address registered again as %v, the erased account is %s", again["account_id"], id)
	}
}
