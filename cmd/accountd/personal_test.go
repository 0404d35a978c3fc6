package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/http/serve"
)

// sealedT0 is when writeSealedLog writes: far enough back that the default retention of
// 13 months has passed for it on any day this test runs.
var sealedT0 = time.Date(2024, 5, 6, 9, 0, 0, 0, time.UTC)

const (
	sealedEmail = "lucia.bianchi@lago.example"
	sealedIP    = "203.0.113.201"
)

// writeSealedLog writes, through the sealing store the tools open, an account that signs
// in once with a wrong password from sealedIP.
func writeSealedLog(t *testing.T, data string) string {
	t.Helper()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := serve.OpenSealedStore(context.Background(), serve.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := sealedT0
	svc, _ := serviceUnderPolicy(t, store, func() time.Time { return now }, lockoutPolicy())
	reg, err := svc.Register(context.Background(), commands.Meta{}, commands.Registration{Email: sealedEmail, Password: "Correct horse battery 42", PropertyID: "lac"})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if _, err := svc.Login(context.Background(), commands.Meta{}, commands.LoginAttempt{Email: sealedEmail, Password: "wrong password", Origin: domain.Origin{IP: sealedIP}}); err != nil {
		t.Fatal(err)
	}
	return reg.AccountID
}

// logFiles is the content of events.db and its WAL, and their SHA-256.
func logFiles(t *testing.T, data string) ([]byte, [32]byte) {
	t.Helper()
	var all []byte
	for _, name := range []string{"events.db", "events.db-wal"} {
		b, err := os.ReadFile(filepath.Join(data, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all, sha256.Sum256(all)
}

// TestOfflineToolsReadThroughTheSeal: the log on disk holds no e-mail or IP address in
// clear; history opens them; verify passes; retention erases the old IP address but not
// the e-mail, without changing a byte of the log, and verify still passes.
func TestOfflineToolsReadThroughTheSeal(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	account := writeSealedLog(t, data)
	stored, before := logFiles(t, data)
	for _, plain := range []string{sealedEmail, sealedIP, "direction@lac.example"} {
		if bytes.Contains(stored, []byte(plain)) {
			t.Errorf("events.db holds %q in clear", plain)
		}
	}
	if fi, err := os.Stat(filepath.Join(data, serve.PersonalKeysFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key store: %v, %v; want a 0600 file", fi, err)
	}
	at := sealedT0.Add(2 * time.Hour).Format(time.RFC3339)
	toolCase{name: "history opens the values", args: []string{"--data", data, "--account", account},
		contains: []string{sealedIP}, lacks: []string{"sealed.v1:", domain.Erased}}.run(t, runHistory)
	toolCase{name: "state opens the e-mail", args: []string{"--data", data, "--account", account, "--at", at},
		rows: map[string]string{"email": sealedEmail}}.run(t, runHistory)
	toolCase{name: "verify", args: []string{"--data", data}, contains: []string{"OK: hash chain intact"}}.run(t, runVerify)

	for _, tc := range []toolCase{
		{name: "retention under a year", args: []string{"--data", data, "--personal-retention", "11"}, usage: true, contains: []string{"personal_retention_too_short"}},
		{name: "before too late", args: []string{"--data", data, "--before", time.Now().UTC().Format("2006-01")}, usage: true, contains: []string{"personal_retention_too_short"}},
		{name: "before not a month", args: []string{"--data", data, "--before", "2024-5"}, usage: true, contains: []string{"invalid_month"}},
		{name: "retention", args: []string{"--data", data}, contains: []string{"destroyed the keys of 1 month(s) before"}},
		{name: "retention again", args: []string{"--data", data}, contains: []string{"destroyed the keys of 0 month(s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, runRetention) })
	}

	if _, after := logFiles(t, data); after != before {
		t.Fatal("retention changed the log's bytes")
	}
	toolCase{name: "history after retention", args: []string{"--data", data, "--account", account},
		contains: []string{domain.Erased}, lacks: []string{sealedIP, "sealed.v1:"}}.run(t, runHistory)
	toolCase{name: "the e-mail is kept", args: []string{"--data", data, "--account", account, "--at", at},
		rows: map[string]string{"email": sealedEmail}}.run(t, runHistory)
	toolCase{name: "verify after retention", args: []string{"--data", data}, contains: []string{"OK: hash chain intact"}}.run(t, runVerify)
}
