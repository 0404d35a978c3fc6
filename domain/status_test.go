package domain

import (
	"testing"
	"time"
)

func fold(evs ...Event) Account {
	var a Account
	for _, e := range evs {
		a = EvolveAccount(a, e)
	}
	return a
}

// The status lists every reason that applies, not just the first, each with when it began.
func TestStatusListsEveryReasonWithItsStart(t *testing.T) {
	p := DefaultPolicy()
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	lockAt := t0.Add(100 * day)
	a := fold(
		Event{At: t0, Data: AccountRegistered{AccountID: "a", Email: "a@x.example", PropertyID: "p", PasswordHash: "h"}},
		Event{At: t0, Data: AccountActivated{}},
		Event{At: lockAt, Data: AccountLocked{FailedAttempts: 6, Threshold: 6}},
		Event{At: lockAt, Data: AccountDisabled{Kind: DisableManual, Actor: Actor{Kind: ActorAccount, AccountID: "b"}}},
	)
	prop := Property{ID: "p", Created: true, Subscription: SubscriptionActive, AccessSuspended: true, SuspendedAt: t0.Add(95 * day)}
	now := t0.Add(101 * day)
	st := EvaluateStatus(a, []Property{prop}, now, p)
	want := map[string]time.Time{
		ReasonDisabledManually: lockAt,
		ReasonDisabledBilling:  t0.Add(95 * day),
		ReasonAccountLocked:    lockAt,
		ReasonPasswordExpired:  t0.Add(90 * day),
	}
	if st.Status != StatusDisabled {
		t.Errorf("status = %s, want disabled (disable outranks lock and expiry)", st.Status)
	}
	if len(st.Reasons) != len(want) {
		t.Fatalf("reasons = %+v, want %d", st.Reasons, len(want))
	}
	for _, r := range st.Reasons {
		since, ok := want[r.Code]
		if !ok || !r.Since.Equal(since) {
			t.Errorf("reason %s since %s, want %v (%v)", r.Code, r.Since, since, ok)
		}
		if r.Remediation == "" {
			t.Errorf("reason %s has no remediation", r.Code)
		}
	}
}

// A member of two properties keeps access while only one is suspended (R4).
func TestBillingBlocksOnlyWhenEveryPropertyBlocks(t *testing.T) {
	p := DefaultPolicy()
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := fold(
		Event{At: t0, Data: AccountRegistered{AccountID: "a", Email: "a@x.example", PropertyID: "p1", PasswordHash: "h"}},
		Event{At: t0, Data: AccountActivated{}},
		Event{At: t0, Data: LinkedToProperty{PropertyID: "p2"}},
	)
	suspended := Property{ID: "p1", Created: true, Subscription: SubscriptionActive, AccessSuspended: true, SuspendedAt: t0}
	fine := Property{ID: "p2", Created: true, Subscription: SubscriptionActive}
	cancelled := Property{ID: "p2", Created: true, Subscription: SubscriptionCancelled, SubscriptionSince: t0}

	st := EvaluateStatus(a, []Property{suspended, fine}, t0.Add(time.Hour), p)
	if st.Status != StatusActive || len(st.Reasons) != 0 {
		t.Fatalf("one property fine: %+v", st)
	}
	if st.Properties[0].Allowed || !st.Properties[1].Allowed {
		t.Fatalf("per-property access wrong: %+v", st.Properties)
	}
	st = EvaluateStatus(a, []Property{suspended, cancelled}, t0.Add(time.Hour), p)
	if st.Status != StatusDisabled || !st.HasReason(ReasonDisabledBilling) || !st.HasReason(ReasonPropertySuspended) {
		t.Fatalf("both blocked: %+v", st)
	}
}

func TestTimedUnlockEndsTheLockWithoutAnEvent(t *testing.T) {
	p := DefaultPolicy()
	p.LockoutDuration = Duration(30 * time.Minute)
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a := fold(
		Event{At: t0, Data: AccountRegistered{AccountID: "a", Email: "a@x.example", PasswordHash: "h"}},
		Event{At: t0, Data: AccountActivated{}},
		Event{At: t0, Data: AccountLocked{FailedAttempts: 6, Threshold: 6}},
	)
	if st := EvaluateStatus(a, nil, t0.Add(29*time.Minute), p); st.Status != StatusLocked {
		t.Fatalf("29 min: %s", st.Status)
	}
	if st := EvaluateStatus(a, nil, t0.Add(30*time.Minute), p); st.Status != StatusActive {
		t.Fatalf("30 min: %s", st.Status)
	}
	if st := EvaluateStatus(a, nil, t0.Add(30*day), DefaultPolicy()); st.Status != StatusLocked {
		t.Fatalf("default policy never unlocks silently: %s", st.Status)
	}
}
