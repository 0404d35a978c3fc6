package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
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
