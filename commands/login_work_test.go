package commands_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/memory"
)

// countingHasher counts the password verifications a sign-in pays for, real or dummy.
type countingHasher struct {
	commands.PasswordHasher
	verifications atomic.Int64
}

func (h *countingHasher) Verify(phc, password string) bool {
	h.verifications.Add(1)
	return h.PasswordHasher.Verify(phc, password)
}

func (h *countingHasher) VerifyDummy(password string) bool {
	h.verifications.Add(1)
	return h.PasswordHasher.VerifyDummy(password)
}

// countingStore counts appends: each is one durable write.
type countingStore struct {
	eventstore.Store
	appends atomic.Int64
}

func (s *countingStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	s.appends.Add(1)
	return s.Store.Append(ctx, stream, expected, events...)
}

// R8.2: what a sign-in costs does not depend on whether the address has an account. For
// each answer a real account can get (a wrong password, locked, disabled, deleted), the
// same attempt on an address without one (whose pseudonymous decoy goes through the same
// count and lock) pays the same number of password verifications and durable appends.
func TestEverySignInCostsTheSameForRealAndUnknownAddresses(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := &countingStore{Store: memory.New()}
	hasher := &countingHasher{PasswordHasher: fastHasher(t)}
	svc := newServiceWith(t, store, clock, domain.DefaultPolicy(), hasher)

	const password = "Correct horse battery 42"
	registerActive(t, ctx, svc, "lena@lago.example", password)
	disabledID := registerActive(t, ctx, svc, "dora@lago.example", password)
	deletedID := registerActive(t, ctx, svc, "dino@lago.example", password)
	support := domain.Actor{Kind: domain.ActorSupport, Reference: "TICKET-1"}
	if _, err := svc.Disable(ctx, commands.Meta{}, disabledID, domain.DisableAccount{Kind: domain.DisableManual, Actor: support}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(ctx, commands.Meta{}, deletedID, support); err != nil {
		t.Fatal(err)
	}
	registerActive(t, ctx, svc, "wanda@lago.example", password)

	attempt := func(email, pw string) (verifications, appends int64, reason string) {
		t.Helper()
		v0, a0 := hasher.verifications.Load(), store.appends.Load()
		res, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: email, Password: pw, Origin: domain.Origin{IP: "198.51.100.4"}})
		if err != nil {
			t.Fatalf("login %s: %v", email, err)
		}
		return hasher.verifications.Load() - v0, store.appends.Load() - a0, res.Reason
	}
	for range 6 { // lock the real account and bring a decoy past the same count
		attempt("lena@lago.example", "wrong password")
		attempt("ghost-locked@lago.example", "wrong password")
	}
	tests := []struct {
		outcome, real, decoy, password, wantReal string
	}{
		{"wrong password", "wanda@lago.example", "ghost@lago.example", "wrong password", domain.ReasonInvalidCredentials},
		{"locked", "lena@lago.example", "ghost-locked@lago.example", "wrong password", domain.ReasonAccountLocked},
		{"locked, right password", "lena@lago.example", "ghost-locked@lago.example", password, domain.ReasonAccountLocked},
		{"disabled", "dora@lago.example", "ghost-disabled@lago.example", password, domain.ReasonDisabledManually},
		{"disabled, wrong password", "dora@lago.example", "ghost-disabled@lago.example", "wrong password", domain.ReasonInvalidCredentials},
		{"deleted", "dino@lago.example", "ghost-deleted@lago.example", password, domain.ReasonAccountDeleted},
	}
	for _, tc := range tests {
		t.Run(tc.outcome, func(t *testing.T) {
			rv, ra, reason := attempt(tc.real, tc.password)
			if reason != tc.wantReal {
				t.Fatalf("real account answered %s, want %s", reason, tc.wantReal)
			}
			dv, da, _ := attempt(tc.decoy, tc.password)
			if rv != dv || ra != da {
				t.Errorf("real account: %d verifications, %d appends; unknown address: %d verifications, %d appends", rv, ra, dv, da)
			}
			if rv != 1 || ra != 1 {
				t.Errorf("a sign-in paid %d verifications and %d appends, want one of each", rv, ra)
			}
		})
	}
}
