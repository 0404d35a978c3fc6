package domain

import (
	"testing"
	"time"
)

func TestSessionClosesAfterMaxAgeOrIdle(t *testing.T) {
	p := DefaultPolicy()
	t0 := time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC)
	a := fold(
		Event{At: t0, Data: AccountRegistered{AccountID: "a", Email: "a@x.example", PasswordHash: "h"}},
		Event{At: t0, Data: SessionStarted{SessionID: "s", ExpiresAt: t0.Add(p.SessionMaxAge.Std()), IdleAfter: p.SessionIdleTimeout}},
	)
	cases := []struct {
		name   string
		touch  []time.Duration // uses recorded after t0
		at     time.Duration
		valid  bool
		reason SessionEnd
	}{
		{"fresh", nil, time.Hour, true, ""},
		{"idle six hours", nil, 6 * time.Hour, false, SessionIdle},
		{"used every 5 hours, 14h in", []time.Duration{5 * time.Hour, 10 * time.Hour}, 14 * time.Hour, true, ""},
		{"used all day, 15h hard limit", []time.Duration{5 * time.Hour, 10 * time.Hour, 14 * time.Hour}, 15 * time.Hour, false, SessionExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := a
			for _, d := range c.touch {
				s = EvolveAccount(s, Event{At: t0.Add(d), Data: SessionActive{SessionID: "s"}})
			}
			got := SessionValidity(s, nil, "s", t0.Add(c.at), p)
			if got.Valid != c.valid || got.Reason != c.reason {
				t.Fatalf("got %+v, want valid=%v reason=%q", got, c.valid, c.reason)
			}
		})
	}
	if got := SessionValidity(a, nil, "nope", t0, p); got.Reason != SessionUnknown {
		t.Fatalf("unknown session: %+v", got)
	}
}
