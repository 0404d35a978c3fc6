package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/memory"
)

func TestPolicyHistory(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { return now }
	sys := domain.Actor{Kind: domain.ActorSystem}

	h, err := eventlog.LoadPolicyHistory(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if h.Recorded() || h.Current().LockoutThreshold != domain.DefaultPolicy().LockoutThreshold {
		t.Fatal("an empty log must mean the default policy, unrecorded")
	}

	p1 := domain.DefaultPolicy()
	p2 := p1
	p2.LockoutThreshold, p2.PasswordHistoryDepth = 5, 8
	bad := p1
	bad.LockoutThreshold = 11 // PCI 8.3.4 caps it at 10

	steps := []struct {
		name    string
		at      time.Duration
		p       domain.Policy
		actor   domain.Actor
		changed bool
		code    domain.Code
	}{
		{"first record", 0, p1, sys, true, ""},
		{"same policy again writes nothing", time.Hour, p1, sys, false, ""},
		{"a change", 48 * time.Hour, p2, domain.Actor{Kind: domain.ActorSupport, Reference: "CHG-1"}, true, ""},
		{"out of bounds", 72 * time.Hour, bad, sys, false, domain.CodeInvalidPolicy},
		{"no actor", 72 * time.Hour, p1, domain.Actor{}, false, domain.CodeInvalidCommand},
	}
	for _, s := range steps {
		now = t0.Add(s.at)
		changed, err := commands.ChangePolicy(ctx, store, clock, s.p, s.actor)
		if got := codeOf(err); got != s.code || changed != s.changed {
			t.Fatalf("%s: changed %v, error %v; want %v, code %q", s.name, changed, err, s.changed, s.code)
		}
	}
	if err := h.Refresh(ctx, store); err != nil {
		t.Fatal(err)
	}
	at := []struct {
		t    time.Time
		want int
	}{
		{t0.Add(-time.Hour), 6}, {t0, 6}, {t0.Add(47 * time.Hour), 6}, {t0.Add(48 * time.Hour), 5}, {t0.Add(1000 * time.Hour), 5},
	}
	for _, c := range at {
		if got := h.At(c.t).LockoutThreshold; got != c.want {
			t.Errorf("At(%s) threshold %d, want %d", c.t, got, c.want)
		}
	}
	if h.Current().PasswordHistoryDepth != 8 || len(h.Versions()) != 2 {
		t.Errorf("current %+v, %d versions", h.Current(), len(h.Versions()))
	}
	if in := h.InForce(t0.Add(time.Hour), t0.Add(100*time.Hour)); len(in) != 2 || in[1].Summary.HistoryDepth8_3_7 != 8 {
		t.Errorf("in force: %+v", in)
	}
}

func codeOf(err error) domain.Code {
	if err == nil {
		return ""
	}
	var pe *domain.PolicyError
	if errors.As(err, &pe) {
		return pe.Code()
	}
	return domain.ErrorCode(err)
}
