package serve_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/personal"
	"accountd/eventstore/postgres/postgrestest"
	"accountd/http/api"
	"accountd/http/serve"
)

// TestPersonalDataSealedInTheLog: the server stores e-mail and IP addresses only as
// tokens, its readers (history, access log) see them in clear, the chain and transparency
// check pass on the stored bytes, and destroying the account's key erases what readers see
// with the signed checkpoint unchanged.
func TestPersonalDataSealedInTheLog(t *testing.T) {
	e := newEnv(t, nil)
	e.createProperty("Albergo Sole") // its primary contact is sealed too
	const email = "chiara.rossi@sole.example"
	id := e.activeAccount(email)
	e.login(email, goodPassword)
	e.settled()

	stored, err := e.srv.LogStore().ReadAll(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range stored {
		for _, plain := range []string{email, "192.0.2.10", "e2e-test", "direction@albergo-sole.example"} {
			if bytes.Contains(r.Data, []byte(plain)) {
				t.Errorf("%s on %s stored %q in clear: %s", r.Type, r.Stream, plain, r.Data)
			}
		}
	}
	h := e.must(e.get("/v1/accounts/"+id+"/events?limit=1000", api.RoleSecurity), http.StatusOK)
	if !strings.Contains(string(h.raw), "192.0.2.10") || strings.Contains(string(h.raw), personal.TokenPrefix) {
		t.Fatalf("history does not show the opened address: %s", h.raw)
	}
	e.must(e.get("/v1/compliance/chain-head?verify=true", api.RoleAuditor), http.StatusOK)
	before := signedAtHead(t, e.srv)

	if err := e.srv.Personal().DestroySubject(t.Context(), personal.AccountSubject(id)); err != nil {
		t.Fatal(err)
	}
	after, err := e.srv.LogStore().ReadAll(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(stored) {
		t.Fatalf("%d events after the destroy; %d before", len(after), len(stored))
	}
	for i := range after {
		if !bytes.Equal(after[i].Data, stored[i].Data) {
			t.Fatalf("the destroy changed the stored event at %d", after[i].Position)
		}
	}
	h = e.must(e.get("/v1/accounts/"+id+"/events?limit=1000", api.RoleSecurity), http.StatusOK)
	if strings.Contains(string(h.raw), "192.0.2.10") || !strings.Contains(string(h.raw), domain.Erased) {
		t.Fatalf("history after the destroy: %s", h.raw)
	}
	recs, err := e.srv.Store().ReadStream(t.Context(), domain.AccountStream(id), 0, 1)
	if err != nil || !bytes.Contains(recs[0].Data, []byte(`"email":"`+domain.Erased+`"`)) {
		t.Fatalf("registration read after the destroy: %s, %v", recs[0].Data, err)
	}
	e.must(e.get("/v1/compliance/chain-head?verify=true", api.RoleAuditor), http.StatusOK)
	if again := signedAtHead(t, e.srv); again.Size != before.Size || again.Hash != before.Hash {
		t.Fatalf("the tree changed: %d %x, was %d %x", again.Size, again.Hash, before.Size, before.Hash)
	}
	if _, ok := eventstore.As[eventstore.ChainVerifier](e.srv.Store()); !ok {
		t.Fatal("the chain check is not reachable through the server's store")
	}
}

// TestPersonalKeysLocation: where each configuration keeps the keys.
func TestPersonalKeysLocation(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		cfg  func(t *testing.T) serve.Config
		file string // the SQLite file expected ("": none, the keys are in PostgreSQL)
	}{
		{"sqlite default", func(t *testing.T) serve.Config { return serve.Config{DataDir: filepath.Join(dir, "a")} }, filepath.Join(dir, "a", serve.PersonalKeysFile)},
		{"kurrentdb default", func(t *testing.T) serve.Config {
			return serve.Config{DataDir: filepath.Join(dir, "b"), Store: serve.StoreKurrentDB, StoreURL: "esdb://unused"}
		}, filepath.Join(dir, "b", serve.PersonalKeysFile)},
		{"a file given", func(t *testing.T) serve.Config {
			return serve.Config{DataDir: filepath.Join(dir, "c"), PersonalKeys: filepath.Join(dir, "secret.db")}
		}, filepath.Join(dir, "secret.db")},
		{"a postgres URL given", func(t *testing.T) serve.Config {
			return serve.Config{DataDir: filepath.Join(dir, "d"), Store: serve.StoreKurrentDB, StoreURL: "esdb://unused", PersonalKeys: postgrestest.SchemaURL(t, "serve_keys")}
		}, ""},
		{"the postgres store's own tables", func(t *testing.T) serve.Config {
			return serve.Config{DataDir: filepath.Join(dir, "e"), Store: serve.StorePostgres, StoreURL: postgrestest.SchemaURL(t, "serve_keys")}
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg(t)
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			keys, err := serve.OpenPersonalKeys(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer keys.Close()
			if _, err := keys.SubjectKey(t.Context(), "account.x", true); err != nil {
				t.Fatal(err)
			}
			if c.file != "" {
				if fi, err := os.Stat(c.file); err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("%s: %v, %v; want a 0600 file", c.file, fi, err)
				}
			}
			if _, err := os.Stat(filepath.Join(cfg.DataDir, serve.PersonalKeysFile)); (err == nil) != (c.file == filepath.Join(cfg.DataDir, serve.PersonalKeysFile)) {
				t.Fatalf("DATA/%s exists: %v", serve.PersonalKeysFile, err == nil)
			}
		})
	}
}
