package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/sqlite"
	"accountd/http/serve"
)

// serviceUnderPolicy records policy in the log as serve does at start, and returns a command
// service deciding under the log's policy history (argon2id at its cheapest), with the
// property "lac" created. Refresh the history after recording another policy.
func serviceUnderPolicy(t *testing.T, store eventstore.Store, clock func() time.Time, policy domain.Policy) (*commands.Service, *eventlog.PolicyHistory) {
	t.Helper()
	ctx := context.Background()
	if _, err := commands.ChangePolicy(ctx, store, clock, policy, domain.Actor{Kind: domain.ActorSystem, Note: "configuration at server start"}); err != nil {
		t.Fatal(err)
	}
	policies, err := eventlog.LoadPolicyHistory(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	key := bytes.Repeat([]byte{3}, 32)
	mfa, _ := credentials.NewMFA(key, "test")
	links, _ := credentials.NewLinkKey(key)
	svc, err := commands.NewService(commands.Config{Store: store, Clock: clock, Policy: policies.Current, Hasher: h, MFA: mfa, Links: links})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Property(ctx, commands.Meta{}, "lac", domain.CreateProperty{PropertyID: "lac", Name: "Hôtel du Lac", PrimaryContactEmail: "direction@lac.example"}); err != nil {
		t.Fatal(err)
	}
	return svc, policies
}

// serveInBackground runs a server on data until the test ends and returns its URL once it
// has recorded it in data/server.url, as the tools that go through it find it.
func serveInBackground(t *testing.T, data string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := serve.New(ctx, serve.Config{DataDir: data, Addr: "127.0.0.1:0", Sync: sqlite.Normal, Argon2: &demoArgon2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if url, err := serve.ServerURL(data); err == nil {
			return url
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not record its address")
		}
	}
}
