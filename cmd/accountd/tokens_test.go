package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"accountd/http/serve"
)

func TestTokensCommand(t *testing.T) {
	data := t.TempDir()
	first := "acd_first-token-0123456789"
	if err := os.WriteFile(filepath.Join(data, "tokens"), []byte("# clients\n"+first+":admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"tokens"}, args...), []string{"ACCOUNTD_DATA=" + data}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	code, out := tokens("add", "--role", "login-service+security")
	secret, _, _ := strings.Cut(out, ":")
	if code != 0 || !strings.HasPrefix(secret, "acd_") {
		t.Fatalf("add: %d %s", code, out)
	}
	code, out = tokens("list")
	if code != 0 || !strings.Contains(out, serve.Fingerprint(first)+"  admin") || !strings.Contains(out, serve.Fingerprint(secret)+"  login-service+security") || strings.Contains(out, secret) {
		t.Fatalf("list (no secret, both fingerprints): %d\n%s", code, out)
	}
	if code, out = tokens("revoke", serve.Fingerprint(first)); code != 0 {
		t.Fatalf("revoke: %d %s", code, out)
	}
	if _, out = tokens("list"); strings.Contains(out, serve.Fingerprint(first)) {
		t.Errorf("revoked token still listed:\n%s", out)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"an unknown role", []string{"add", "--role", "janitor"}, 2},
		{"no role", []string{"add"}, 2},
		{"the last token", []string{"revoke", serve.Fingerprint(secret)}, 1},
		{"an unknown fingerprint", []string{"revoke", "ffffffffffff"}, 1},
		{"an unknown subcommand", []string{"rotate"}, 2},
	} {
		if code, out := tokens(tc.args...); code != tc.code {
			t.Errorf("%s: exit %d, want %d: %s", tc.name, code, tc.code, out)
		}
	}
}
