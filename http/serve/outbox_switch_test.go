package serve_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"accountd/eventstore/sqlite"
	"accountd/http/api"
	"accountd/http/serve"
)

// With several nodes on one log only one may send mail; the others run with the outbox off
// and must send nothing while everything else works.
func TestOutboxOffSendsNoMail(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	srv, err := serve.New(ctx, serve.Config{
		DataDir: data, Policy: testPolicy(nil), Sync: sqlite.Normal, Argon2: cheapArgon2(),
		Logger: testLogger(t), DisableOutbox: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start(ctx)
	ts := httptest.NewServer(srv.Handler())
	defer func() {
		ts.Close()
		srv.Close()
	}()
	raw, err := os.ReadFile(filepath.Join(data, "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	var token string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasSuffix(line, ":"+string(api.RoleLoginService)) {
			token = strings.TrimSuffix(line, ":"+string(api.RoleLoginService))
		}
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/accounts", strings.NewReader(`{"email":"nina@lago.example","password":"`+goodPassword+`"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	// Once the read models have applied the activation, an outbox that ran would have
	// moved its checkpoint from the same log.
	settle(t, srv)
	mails, _ := filepath.Glob(filepath.Join(data, "outbox", "*.eml"))
	if len(mails) != 0 || srv.Outbox().Position() != 0 {
		t.Fatalf("a node with the outbox off wrote %d mails, outbox at position %d", len(mails), srv.Outbox().Position())
	}
}
