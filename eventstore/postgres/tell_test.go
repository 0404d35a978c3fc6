package postgres

import (
	"testing"
	"time"
)

func TestTellerTellsAtMostOncePerInterval(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(1_000, 0).Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		ms       int
		raise    bool // due, else trailing
		wantTell bool
		wantWait time.Duration // trailing only
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"the first raise is told", []step{{ms: 0, raise: true, wantTell: true}, {ms: 1, wantWait: 0}}},
		{"a raise inside the interval waits for the trailing notification", []step{
			{ms: 0, raise: true, wantTell: true},
			{ms: 3, raise: true},
			{ms: 4, wantWait: 9 * time.Millisecond},
			{ms: 12, wantWait: time.Millisecond},
			{ms: 13, wantTell: true},
			{ms: 14, wantWait: 0},
		}},
		{"the next raise after the interval tells it first", []step{
			{ms: 0, raise: true, wantTell: true},
			{ms: 5, raise: true},
			{ms: 10, raise: true, wantTell: true},
			{ms: 15, wantWait: 0},
		}},
		{"under load one raise in each interval is told", []step{
			{ms: 0, raise: true, wantTell: true},
			{ms: 4, raise: true}, {ms: 8, raise: true},
			{ms: 12, raise: true, wantTell: true},
			{ms: 16, raise: true}, {ms: 20, raise: true},
			{ms: 24, raise: true, wantTell: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := &teller{every: 10 * time.Millisecond}
			for i, s := range tc.steps {
				if s.raise {
					if got := tl.due(at(s.ms)); got != s.wantTell {
						t.Fatalf("step %d: raise at %d ms told %v, want %v", i, s.ms, got, s.wantTell)
					}
					continue
				}
				tell, wait := tl.trailing(at(s.ms))
				if tell != s.wantTell || wait != s.wantWait {
					t.Fatalf("step %d: trailing at %d ms = %v, %v; want %v, %v", i, s.ms, tell, wait, s.wantTell, s.wantWait)
				}
			}
		})
	}
}
