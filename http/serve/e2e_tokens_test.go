package serve_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"accountd/http/api"
	"accountd/http/serve"
)

// Tokens added to or revoked from DATA/tokens take effect on the running server; a file
// that does not parse leaves the clients as they were.
func TestTokensFileChangesWithoutRestart(t *testing.T) {
	e := newEnv(t, nil)
	path := filepath.Join(e.data, "tokens")
	ask := func(secret string) int {
		req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/v1/properties", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, _ := e.rawCall(req)
		return resp.StatusCode
	}
	oldAdmin := e.tokens[api.RoleAdmin]
	if code := ask(oldAdmin); code != http.StatusOK {
		t.Fatalf("generated admin token: %d", code)
	}

	added, err := serve.AddToken(path, []api.Role{api.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	e.eventually("the added token to be accepted", func() bool { return ask(added) == http.StatusOK })

	if err := serve.RevokeToken(path, serve.Fingerprint(oldAdmin)); err != nil {
		t.Fatal(err)
	}
	e.eventually("the revoked token to be refused", func() bool { return ask(oldAdmin) == http.StatusUnauthorized })
	if code := ask(added); code != http.StatusOK {
		t.Errorf("the remaining admin token: %d", code)
	}
	infos, err := serve.ListTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Fingerprint == serve.Fingerprint(oldAdmin) {
			t.Errorf("the revoked token is still listed")
		}
	}

	// A broken file keeps the clients.
	if err := os.WriteFile(path, []byte("not a token line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ReloadTokens(); err == nil {
		t.Error("a broken tokens file was taken")
	}
	if code := ask(added); code != http.StatusOK {
		t.Errorf("after a broken file: %d", code)
	}
	if err := os.WriteFile(path, []byte(added+":admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := serve.RevokeToken(path, serve.Fingerprint(added)); err == nil {
		t.Error("the last token was revoked")
	}

	for _, tc := range []struct{ name, fingerprint string }{{"an unknown fingerprint", "000000000000"}} {
		if err := serve.RevokeToken(path, tc.fingerprint); err == nil {
			t.Errorf("%s: revoked", tc.name)
		}
	}
}
