package domain

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkDecideLogin measures the login decision without the password hash: the
// aggregate's decide and evolve for one sign-in on an account with a working history, the
// hash comparison replaced by a function that answers at once. It is the engine's share of
// POST /v1/logins before I/O (the read of the stream and the durable append).
// Nine right passwords for one typo, as at a front desk.
func BenchmarkDecideLogin(b *testing.B) {
	p := DefaultPolicy()
	p.MFARequired = false
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	var a Account
	for _, e := range []Event{
		{At: t0, Data: AccountRegistered{AccountID: "a", Email: "anna@lac.example", PropertyID: "lac", PasswordHash: "$argon2id$h", Policy: PolicyInForce{MinLength: 12, HistoryDepth: 4, MaxAge: Duration(90 * day)}}},
		{At: t0, Data: AccountActivated{TokenHash: "t"}},
	} {
		a = EvolveAccount(a, e)
	}
	props := []Property{{ID: "lac", Created: true, Members: []string{"a"}}}
	right := func(string) bool { return true }
	wrong := func(string) bool { return false }
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		check := right
		if i%10 == 9 {
			check = wrong
		}
		now = now.Add(time.Minute)
		evs, err := DecideAccount(a, Login{Origin: Origin{IP: "198.51.100.7", UserAgent: "front-desk", DeviceID: "pc-1"},
			SessionID: fmt.Sprint("s", i), PasswordMatches: check, Properties: props}, now, p)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range evs {
			a = EvolveAccount(a, e)
		}
		// Sessions end as at a front desk, so the account does not carry thousands of them.
		for k := range a.Sessions {
			if len(a.Sessions) <= 8 {
				break
			}
			delete(a.Sessions, k)
		}
		i++
	}
}
