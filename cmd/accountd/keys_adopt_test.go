package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"accountd/domain"
	"accountd/eventstore/sqlite"
	"accountd/http/serve"
)

// A node whose MFA key was lost refuses to start with the key it would generate; `keys
// adopt` makes the new key the log's and it starts again. Rotating the checkpoint signing
// key, which no fingerprint pins, keeps the server starting.
func TestKeysAdoptAndRotate(t *testing.T) {
	data := t.TempDir()
	start := func() error {
		srv, err := serve.New(context.Background(), serve.Config{DataDir: data, Sync: sqlite.Normal, Argon2: &demoArgon2,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil {
			err = srv.Close()
		}
		return err
	}
	if err := start(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(data, "keys", "mfa.key")); err != nil {
		t.Fatal(err)
	}
	var mismatch *serve.KeyMismatchError
	if err := start(); !errors.As(err, &mismatch) || mismatch.Purpose != domain.KeyPurposeMFA || !strings.Contains(err.Error(), "accountd keys adopt") {
		t.Fatalf("start after the MFA key was lost: %v", err)
	}
	key, err := os.ReadFile(filepath.Join(data, "keys", "mfa.key")) // the one that start generated
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"keys", "adopt", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("adopt: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"mfa (MFA secret sealing key): " + domain.KeyFingerprint(domain.KeyPurposeMFA, key) + " recorded, replacing " + mismatch.Recorded,
		"link (link HMAC key): sha256:", "already the log's"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("adopt output lacks %q:\n%s", want, out.String())
		}
	}
	if err := start(); err != nil {
		t.Fatalf("start after adopt: %v", err)
	}
	if code := run([]string{"keys", "rotate", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("rotate: exit %d: %s", code, errb.String())
	}
	if err := start(); err != nil {
		t.Fatalf("start after the signing key's rotation: %v", err)
	}
}
