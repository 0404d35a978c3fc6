package serve_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/postgres/postgrestest"
	"accountd/eventstore/sqlite"
	"accountd/http/serve"
)

// keysRecorded reads the fingerprints the log holds, one per purpose.
func keysRecorded(t *testing.T, store eventstore.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, purpose := range domain.KeyPurposes {
		recs, err := store.ReadStream(context.Background(), domain.KeyStream(purpose), 0, 0)
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s: %d events, %v; want one", domain.KeyStream(purpose), len(recs), err)
		}
		p, err := domain.DecodePayload(recs[0].Type, recs[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		out[purpose] = p.(domain.KeyFingerprintRecorded).Fingerprint
	}
	return out
}

// The first start records each shared key's fingerprint (never the key); a restart with
// the same keys starts and records nothing more; a start with another key refuses, naming
// the key, where it was read, both fingerprints and the fix, and writes nothing.
func TestNodeKeysAreCheckedAgainstTheLog(t *testing.T) {
	data := t.TempDir()
	base := serve.Config{DataDir: data, Policy: testPolicy(nil), Sync: sqlite.Normal, Argon2: cheapArgon2(), Logger: testLogger(t)}
	srv, err := serve.New(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	recorded := keysRecorded(t, srv.Store())
	head, err := srv.Store().HeadPosition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all, err := srv.Store().ReadAll(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for purpose, file := range map[string]string{domain.KeyPurposeMFA: "mfa.key", domain.KeyPurposeLink: "link.key"} {
		key, err := os.ReadFile(filepath.Join(data, "keys", file))
		if err != nil {
			t.Fatal(err)
		}
		if want := domain.KeyFingerprint(purpose, key); recorded[purpose] != want {
			t.Fatalf("%s: recorded %s, want %s", purpose, recorded[purpose], want)
		}
		for _, r := range all {
			if bytes.Contains(r.Data, key) || bytes.Contains(r.Data, []byte(hex.EncodeToString(key))) {
				t.Fatalf("the %s key is in the log at %d", purpose, r.Position)
			}
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	otherKeys := t.TempDir()
	otherKey := make([]byte, serve.KeySize)
	_, _ = rand.Read(otherKey)
	sameMFA, err := os.ReadFile(filepath.Join(data, "keys", "mfa.key"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		configure   func(*serve.Config)
		wantPurpose string // "" when the node starts
		wantSource  string
	}{
		{name: "same keys", configure: func(*serve.Config) {}},
		{name: "same MFA key given in the environment", configure: func(c *serve.Config) { c.MFAKey = sameMFA }},
		{name: "another keys directory", configure: func(c *serve.Config) { c.KeysDir = otherKeys },
			wantPurpose: domain.KeyPurposeMFA, wantSource: "file " + filepath.Join(otherKeys, "mfa.key")},
		{name: "another MFA key given in the environment", configure: func(c *serve.Config) { c.MFAKey = otherKey },
			wantPurpose: domain.KeyPurposeMFA, wantSource: "given in ACCOUNTD_MFA_KEY"},
		{name: "another link key given in the environment", configure: func(c *serve.Config) { c.LinkKey = otherKey },
			wantPurpose: domain.KeyPurposeLink, wantSource: "given in ACCOUNTD_LINK_KEY"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			c.configure(&cfg)
			srv, err := serve.New(context.Background(), cfg)
			if c.wantPurpose == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				defer srv.Close()
				if got := keysRecorded(t, srv.Store()); got[domain.KeyPurposeMFA] != recorded[domain.KeyPurposeMFA] {
					t.Fatalf("recorded %v, want %v", got, recorded)
				}
				return
			}
			var mismatch *serve.KeyMismatchError
			if !errors.As(err, &mismatch) {
				t.Fatalf("started with other keys: %v", err)
			}
			msg := err.Error()
			for _, want := range []string{"purpose " + c.wantPurpose, c.wantSource, recorded[c.wantPurpose], mismatch.Got, "--keys DIR", "ACCOUNTD_KEYS"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
			if mismatch.Got == mismatch.Recorded {
				t.Fatalf("both fingerprints are %s", mismatch.Got)
			}
		})
	}
	// Nothing was written by the refused nodes.
	srv, err = serve.New(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if h, _ := srv.Store().HeadPosition(context.Background()); h != head {
		t.Fatalf("head %d after the refused starts, want %d", h, head)
	}
}

// Nodes starting at the same moment on one PostgreSQL log with one (empty) keys directory
// all start, on one generated key pair recorded once; a node with other keys refuses.
func TestNodesStartingTogetherShareTheirKeys(t *testing.T) {
	storeURL := postgrestest.SchemaURL(t, "accountd_nodekeys")
	keys := filepath.Join(t.TempDir(), "keys")
	node := func(keys string) serve.Config {
		return serve.Config{DataDir: t.TempDir(), KeysDir: keys, Store: serve.StorePostgres, StoreURL: storeURL,
			Policy: testPolicy(nil), Argon2: cheapArgon2(), Logger: testLogger(t), DisableOutbox: true}
	}
	const nodes = 3
	servers := make([]*serve.Server, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { servers[i], errs[i] = serve.New(context.Background(), node(keys)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer servers[i].Close()
	}
	recorded := keysRecorded(t, servers[0].Store())
	key, err := os.ReadFile(filepath.Join(keys, "mfa.key"))
	if err != nil {
		t.Fatal(err)
	}
	if recorded[domain.KeyPurposeMFA] != domain.KeyFingerprint(domain.KeyPurposeMFA, key) {
		t.Fatalf("recorded %v is not the shared directory's key", recorded)
	}
	_, err = serve.New(context.Background(), node(t.TempDir()))
	var mismatch *serve.KeyMismatchError
	if !errors.As(err, &mismatch) || mismatch.Recorded != recorded[domain.KeyPurposeMFA] {
		t.Fatalf("a node with its own keys: %v", err)
	}
}
