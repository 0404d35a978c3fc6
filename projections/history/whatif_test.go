package history

import (
	"context"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore/memory"
)

func TestWhatIfComparesLockouts(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	recorded := domain.DefaultPolicy()
	recorded.MFARequired = false
	store := memory.New()
	svc := newTestService(t, store, clock, func() domain.Policy { return recorded })
	const pw = "Correct horse battery 42"
	reg, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: "h@lago.example", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Activate(ctx, commands.Meta{}, reg.ActivationToken); err != nil {
		t.Fatal(err)
	}
	from := now
	// Two wrong, one right (resets the count), then eight wrong: locked at the sixth of those.
	for _, p := range []string{"x", "x", pw, "x", "x", "x", "x", "x", "x", "x", "x"} {
		now = now.Add(time.Minute)
		if _, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: "h@lago.example", Password: p, Origin: domain.Origin{IP: "192.0.2.1"}}); err != nil {
			t.Fatal(err)
		}
	}
	r := &Reader{Store: store, Policy: func(time.Time) domain.Policy { return recorded }}
	tests := []struct {
		threshold int
		want      string
		simLocks  int
		unreplay  int
	}{
		{6, OutcomeUnchanged, 1, 0},
		{10, OutcomeNeverLocked, 0, 2},
		{3, OutcomeLockedEarlier, 1, 0},
		// Locked at the eighth under 8: the two attempts refused while locked in the
		// recording carry no verdict, and under 8 the account was not locked yet there.
		{8, OutcomeNeverLocked, 0, 2},
	}
	for _, tc := range tests {
		p := recorded
		p.LockoutThreshold = tc.threshold
		rep, err := r.WhatIf(ctx, WhatIfRequest{Policy: p, AccountIDs: []string{reg.AccountID}, From: from, To: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Totals[tc.want] != 1 || rep.Totals["simulated_locks"] != tc.simLocks || rep.Totals["recorded_locks"] != 1 || rep.Totals["unreplayable_attempts"] != tc.unreplay {
			t.Errorf("threshold %d: totals %v, want outcome %s with %d simulated locks", tc.threshold, rep.Totals, tc.want, tc.simLocks)
		}
	}
}
