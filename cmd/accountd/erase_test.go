package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"accountd/http/api"
	"accountd/http/client"
)

// accountd erase goes through the server running on --data: it erases, a re-run with the
// same --command-id finishes (and writes nothing twice), another run reports the account
// already erased, and mistakes are refused with their code.
func TestEraseCommand(t *testing.T) {
	dir := t.TempDir()
	url := serveInBackground(t, dir)
	token, err := roleToken(dir, api.RoleLoginService)
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(url, token, &http.Client{Timeout: 10 * time.Second})
	reg, err := c.Register(context.Background(), client.Registration{Email: "cli.erase@lac.example", Password: "Correct horse battery 42"})
	if err != nil {
		t.Fatal(err)
	}
	id := reg.AccountID
	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"no reason", []string{"erase", "--data", dir, "--account", id}, 2, []string{"--reason"}},
		{"no account", []string{"erase", "--data", dir, "--reason", "r"}, 2, []string{"--account"}},
		{"unknown account", []string{"erase", "--data", dir, "--account", "nobody", "--reason", "r"}, 1, []string{"account_not_found", "--command-id"}},
		{"erase", []string{"erase", "--data", dir, "--account", id, "--reason", "GDPR #7", "--command-id", "erase-cli-1"}, 0, []string{"account " + id + " erased at log position", "reservations released: 1", "look-alike claim released: true"}},
		{"the same command again", []string{"erase", "--data", dir, "--account", id, "--reason", "GDPR #7", "--command-id", "erase-cli-1"}, 0, []string{"erased at log position"}},
		{"another erasure", []string{"erase", "--data", dir, "--account", id, "--reason", "GDPR #7"}, 0, []string{"was already erased"}},
		{"no server", []string{"erase", "--data", t.TempDir(), "--account", id, "--reason", "r"}, 1, []string{"no server is running"}},
		{"help", []string{"erase", "--help"}, 0, []string{"GDPR Art. 17", "--command-id", "[ACCOUNTD_TOKEN]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, nil, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, want := range tc.contains {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
