package history

import (
	"accountd/eventstore/eventlog"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/memory"
)

// Every event type goes through the whitelist with its secret fields set to a marker; the
// marker must never come out, whatever the type.
func TestHistoryNeverShowsSecrets(t *testing.T) {
	const s = "SECRET"
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	samples := []domain.Payload{
		domain.AccountRegistered{AccountID: "a", Email: "a@x.example", PasswordHash: s},
		domain.ActivationLinkIssued{TokenHash: s, Nonce: s, ExpiresAt: at}, domain.AccountActivated{TokenHash: s},
		domain.ActivationLinkRejected{TokenHash: s, Reason: "expired"},
		domain.LoginSucceeded{SessionID: s, MFAStep: 1}, domain.LoginFailed{Reason: domain.ReasonInvalidCredentials},
		domain.UnlockLinkIssued{TokenHash: s, Nonce: s}, domain.UnlockLinkRejected{TokenHash: s},
		domain.PasswordResetRequested{TokenHash: s, Nonce: s}, domain.ResetLinkRejected{TokenHash: s},
		domain.PasswordChanged{Cause: domain.PasswordChangedByReset, PasswordHash: s, TokenHash: s},
		domain.MFAEnrolmentStarted{EncryptedSecret: []byte(s)}, domain.MFAEnrolmentConfirmed{Step: 3},
		domain.SessionStarted{SessionID: s, ExpiresAt: at}, domain.SessionActive{SessionID: s}, domain.SessionEnded{SessionID: s, Cause: "logout"},
		domain.AccountLocked{FailedAttempts: 6, Threshold: 6},
	}
	store := memory.New()
	var evs []domain.Event
	for i, p := range samples {
		evs = append(evs, domain.Event{At: at.Add(time.Duration(i) * time.Second), Data: p})
	}
	data, err := eventlog.Encode("account-a", domain.Metadata{CommandID: "c"}, evs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := store.Append(ctx, "account-a", eventstore.Any, data...); err != nil {
		t.Fatal(err)
	}
	r := &Reader{Store: store, Policy: func(time.Time) domain.Policy { return domain.DefaultPolicy() }}
	page, err := r.Events(ctx, "a", -1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != len(samples) {
		t.Fatalf("%d entries, want %d", len(page.Entries), len(samples))
	}
	st, err := r.StateAt(ctx, "a", at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{"history": page, "state": st} {
		raw, _ := json.Marshal(v)
		if strings.Contains(string(raw), s) || strings.Contains(string(raw), "U0VDUkVU") { // base64 of the marker
			t.Errorf("%s shows a secret: %s", name, raw)
		}
	}
	if last := page.Entries[len(page.Entries)-1]; last.Status != domain.StatusLocked {
		t.Errorf("status after the lock: %s", last.Status)
	}
	if before, _ := r.StateAt(ctx, "a", at.Add(time.Second)); before.Status.Status == domain.StatusLocked {
		t.Errorf("state before the lock is locked")
	}
}

// History is judged by the rules of its time: Anna was locked under a policy that unlocked
// after 30 minutes; a later policy keeps accounts locked until identity is confirmed. Her
// state two hours after the lock, before that change, is active; judged by today's policy
// she would read as locked.
func TestHistoryEvaluatesUnderThePolicyInForceThen(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { return now }
	timed := domain.DefaultPolicy()
	timed.MFARequired, timed.LockoutThreshold, timed.LockoutDuration = false, 3, domain.Duration(30*time.Minute)
	if _, err := commands.ChangePolicy(ctx, store, clock, timed, domain.Actor{Kind: domain.ActorSystem}); err != nil {
		t.Fatal(err)
	}
	policies, err := eventlog.LoadPolicyHistory(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	svc := newTestService(t, store, clock, policies.Current)
	reg, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: "anna@lac.example", Password: "Correct horse battery 42"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Activate(ctx, commands.Meta{}, reg.ActivationToken); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		now = now.Add(time.Minute)
		if _, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: "anna@lac.example", Password: "wrong"}); err != nil {
			t.Fatal(err)
		}
	}
	lockedAt := now
	now = lockedAt.Add(3 * time.Hour)
	strict := timed
	strict.LockoutDuration = 0
	if _, err := commands.ChangePolicy(ctx, store, clock, strict, domain.Actor{Kind: domain.ActorSystem}); err != nil {
		t.Fatal(err)
	}
	if err := policies.Refresh(ctx, store); err != nil {
		t.Fatal(err)
	}

	r := &Reader{Store: store, Policy: policies.At}
	st, err := r.StateAt(ctx, reg.AccountID, lockedAt.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.Locked || st.Status.Status != domain.StatusActive {
		t.Fatalf("two hours after the lock, under the 30-minute policy of the time: %+v", st.Status)
	}
	today := &Reader{Store: store, Policy: func(time.Time) domain.Policy { return policies.Current() }}
	if st, _ := today.StateAt(ctx, reg.AccountID, lockedAt.Add(2*time.Hour)); !st.Locked {
		t.Fatal("under today's policy the same instant should read as locked: the test proves nothing")
	}
}

// newTestService is a command service on store with cheap hashing and a throw-away key.
func newTestService(t *testing.T, store eventstore.Store, clock func() time.Time, policy func() domain.Policy) *commands.Service {
	t.Helper()
	key := bytes.Repeat([]byte{7}, 32)
	mfa, _ := credentials.NewMFA(key, "t")
	links, _ := credentials.NewLinkKey(key)
	hasher, _ := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	svc, err := commands.NewService(commands.Config{Store: store, Clock: clock, Policy: policy, Hasher: hasher, MFA: mfa, Links: links})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}
