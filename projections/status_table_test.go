package projections

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"accountd/domain"
)

// The packed form must give back every account exactly as it was stored: Apply evolves the
// next event from it and writes it to SQLite.
func TestAccountTableGivesBackWhatItWasGiven(t *testing.T) {
	at := time.Date(2026, 6, 1, 9, 0, 0, 123456789, time.UTC)
	full := domain.Account{ID: "acc-1", Email: "Ada.Lovelace@Example.org", Registered: true, RegisteredAt: at, Activated: true,
		ActivatedAt: at.Add(time.Minute), Deleted: true, DeletedAt: at.Add(time.Hour), Erased: true, ErasedAt: at.Add(2 * time.Hour), Properties: []string{"p-1", "p-2"},
		PasswordChangedAt: at.Add(-time.Hour), ChangeRequired: true, ChangeRequiredAt: at.Add(2 * time.Hour),
		FailedAttempts: 4, LastFailureAt: at.Add(3 * time.Hour), Locked: true, LockedAt: at.Add(4 * time.Hour),
		Disabled: map[domain.DisableKind]domain.DisableRecord{
			domain.DisableManual:             {Since: at, Actor: domain.Actor{Kind: "support", AccountID: "acc-9", Reference: "REQ-7", Note: "on request"}, PropertyID: "p-1"},
			domain.DisableInactivity:         {Since: at.AddDate(0, 3, 0)},
			domain.DisableSuspiciousActivity: {Since: at.AddDate(0, 0, 1), Actor: domain.Actor{Kind: "system"}},
		},
		FirstLoginAt: at.AddDate(0, 0, -9), LastLoginAt: at.AddDate(0, 0, -1)}
	full.MFA = domain.MFAState{Enrolled: true, EnrolledAt: at, LastUsedStep: 59_000_000, FailedAttempts: 2, CooldownUntil: at.Add(time.Minute),
		DeferredUntil: at.AddDate(0, 0, 7), ResetAt: at.Add(-time.Minute), ResetPending: true}
	cases := []struct {
		name string
		id   string
		a    domain.Account
		wide bool // kept out of the packed form
	}{
		{"every field set", "acc-1", full, false},
		{"nothing set yet", "acc-2", domain.Account{}, false},
		{"empty, not nil, properties and disable records", "acc-3", domain.Account{ID: "acc-3", Properties: []string{}, Disabled: map[domain.DisableKind]domain.DisableRecord{}}, false},
		{"an ID of its own", "acc-4", domain.Account{ID: "other", Email: "x@example.org"}, false},
		{"the Unix epoch is not the zero time", "acc-5", domain.Account{ID: "acc-5", RegisteredAt: time.Unix(0, 0).UTC()}, false},
		{"an instant in another location", "acc-6", domain.Account{ID: "acc-6", LockedAt: at.In(time.FixedZone("CET", 3600))}, true},
		{"an instant with a monotonic reading", "acc-7", domain.Account{ID: "acc-7", LastLoginAt: time.Now()}, true},
		{"an instant beyond 2262", "acc-8", domain.Account{ID: "acc-8", MFA: domain.MFAState{DeferredUntil: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}}, true},
		{"a zero time in a location", "acc-9", domain.Account{ID: "acc-9", DeletedAt: time.Time{}.In(time.FixedZone("X", 60))}, true},
		{"a secret the status should not hold", "acc-10", domain.Account{ID: "acc-10", PasswordHash: "h"}, true},
		{"a disable record in another location", "acc-11", domain.Account{ID: "acc-11", Disabled: map[domain.DisableKind]domain.DisableRecord{domain.DisableManual: {Since: at.Local()}}}, true},
	}
	table := newAccountTable()
	for i, c := range cases {
		table.put(c.id, emailKey(c.a.Email), accountRecord{Account: c.a, Position: uint64(i)})
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := table.get(c.id)
			if want := (accountRecord{Account: c.a, Position: uint64(i)}); !ok || !reflect.DeepEqual(got, want) {
				t.Fatalf("get(%q) = %+v, %v; want %+v", c.id, got, ok, want)
			}
			if _, wide := table.wide[c.id]; wide != c.wide {
				t.Errorf("kept wide: %v, want %v", wide, c.wide)
			}
			if c.a.Email != "" {
				if id, ok := table.idByEmail(domain.NormaliseEmail(c.a.Email)); !ok || id != c.id {
					t.Errorf("idByEmail = %q, %v; want %q", id, ok, c.id)
				}
				if got := table.email(c.id); got != c.a.Email {
					t.Errorf("email = %q, want %q", got, c.a.Email)
				}
			}
		})
	}
	if table.len() != len(cases) {
		t.Errorf("len = %d, want %d", table.len(), len(cases))
	}
}

// pack and unpack name every field of the account: a field added to domain.Account must be
// added there too (or to withoutSecrets), or this fails.
func TestAccountTableKnowsEveryAccountField(t *testing.T) {
	known := map[reflect.Type][]string{
		reflect.TypeFor[domain.Account](): {"ID", "Email", "Registered", "RegisteredAt", "Activated", "ActivatedAt", "Deleted", "DeletedAt", "Erased", "ErasedAt",
			"Properties", "PasswordHash", "PasswordChangedAt", "PasswordHistory", "ChangeRequired", "ChangeRequiredAt", "FailedAttempts",
			"LastFailureAt", "Locked", "LockedAt", "Links", "MFA", "Disabled", "FirstLoginAt", "LastLoginAt", "Sessions"},
		reflect.TypeFor[domain.MFAState](): {"Enrolled", "EnrolledAt", "Secret", "PendingSecret", "LastUsedStep", "FailedAttempts",
			"CooldownUntil", "DeferredUntil", "ResetAt", "ResetPending"},
		reflect.TypeFor[domain.DisableRecord](): {"Since", "Actor", "PropertyID"},
		reflect.TypeFor[domain.Actor]():         {"Kind", "AccountID", "Reference", "Note"},
	}
	for typ, want := range known {
		var got []string
		for f := range typ.Fields() {
			got = append(got, f.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s has fields %v; the packed status record knows %v", typ, got, want)
		}
	}
}

// Keys that share a hash are told apart by the key stored with the record; updates reuse an
// unchanged tail and compact the arena once most of it is garbage.
func TestAccountTableCollisionsUpdatesAndCompaction(t *testing.T) {
	cases := []struct {
		name string
		hash func(string) uint64
	}{
		{"every key the same hash", func(string) uint64 { return 7 }},
		{"neighbouring hashes", func(k string) uint64 { return uint64(len(k) % 3) }},
		{"the seeded hash", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			table := newAccountTable()
			if c.hash != nil {
				table.hash = c.hash
			}
			const n = 200
			pad := strings.Repeat("x", 300) // so that the garbage passes the 1 MiB that triggers compaction
			for round := range 40 {
				for i := range n {
					id := fmt.Sprintf("acc-%d", i)
					email := fmt.Sprintf("user%d@example.org", i)
					a := domain.Account{ID: id, Email: email, Registered: true, FailedAttempts: round,
						Properties: []string{fmt.Sprintf("p-%d-%d-%s", i, round, pad)}} // a new tail every round
					table.put(id, emailKey(email), accountRecord{Account: a, Position: uint64(round*n + i)})
				}
			}
			for i := range n {
				id := fmt.Sprintf("acc-%d", i)
				rec, ok := table.get(id)
				if !ok || rec.Account.ID != id || rec.Account.FailedAttempts != 39 || rec.Position != uint64(39*n+i) ||
					!slices.Equal(rec.Account.Properties, []string{fmt.Sprintf("p-%d-39-%s", i, pad)}) {
					t.Fatalf("get(%q) = %+v, %v", id, rec, ok)
				}
				if got, ok := table.idByEmail(fmt.Sprintf("user%d@example.org", i)); !ok || got != id {
					t.Fatalf("idByEmail(user%d) = %q, %v", i, got, ok)
				}
			}
			for _, missing := range []string{"acc-200", "", "user1@example.org"} {
				if _, ok := table.get(missing); ok {
					t.Errorf("get(%q) found an account", missing)
				}
			}
			if _, ok := table.idByEmail("nobody@example.org"); ok {
				t.Errorf("idByEmail(nobody) found an account")
			}
			if table.len() != n {
				t.Errorf("len = %d, want %d", table.len(), n)
			}
			if written := 40 * n * len(pad); len(table.arena) >= written/2 {
				t.Errorf("arena of %d bytes after %d bytes of tails: not compacted", len(table.arena), written)
			}
		})
	}
}

// An account that moves between the packed and the wide form is found in the one it is in.
func TestAccountTableMovesBetweenForms(t *testing.T) {
	table := newAccountTable()
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	forms := []domain.Account{
		{ID: "acc-1", Email: "a@example.org", LockedAt: at},
		{ID: "acc-1", Email: "a@example.org", LockedAt: at.In(time.FixedZone("CET", 3600))},
		{ID: "acc-1", Email: "a@example.org", LockedAt: at.Add(time.Hour)},
	}
	for i, a := range forms {
		table.put("acc-1", emailKey(a.Email), accountRecord{Account: a, Position: uint64(i)})
		got, ok := table.get("acc-1")
		if !ok || !reflect.DeepEqual(got.Account, a) || got.Position != uint64(i) {
			t.Fatalf("step %d: get = %+v, %v; want %+v", i, got, ok, a)
		}
		if id, ok := table.idByEmail("a@example.org"); !ok || id != "acc-1" {
			t.Fatalf("step %d: idByEmail = %q, %v", i, id, ok)
		}
	}
	if len(table.wide) != 0 || table.len() != 1 {
		t.Errorf("wide %d, len %d: want 0 and 1", len(table.wide), table.len())
	}
}

// A status read evaluates an account against its properties' gates: the answer must be the
// one the full properties give, at instants before and after each of their time rules.
func TestPropertyGatesGiveTheStatusTheFullPropertiesGive(t *testing.T) {
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	policy := domain.DefaultPolicy()
	cases := []struct {
		name string
		p    domain.Property
		wide bool
	}{
		{"active", domain.Property{ID: "p", Created: true, Subscription: domain.SubscriptionActive, SubscriptionSince: at}, false},
		{"billing suspended", domain.Property{ID: "p", Created: true, AccessSuspended: true, SuspendedAt: at, OverdueInvoices: []string{"inv-1"}}, false},
		{"restore pending", domain.Property{ID: "p", Created: true, AccessSuspended: true, SuspendedAt: at, RestoredEffectiveAt: at.Add(time.Hour)}, false},
		{"subscription suspended", domain.Property{ID: "p", Created: true, Subscription: domain.SubscriptionSuspended, SubscriptionSince: at}, false},
		{"subscription cancelled and billing suspended", domain.Property{ID: "p", Created: true, Subscription: domain.SubscriptionCancelled, SubscriptionSince: at, AccessSuspended: true, SuspendedAt: at.Add(-time.Hour)}, false},
		{"some other subscription", domain.Property{ID: "p", Created: true, Subscription: "trial", SubscriptionSince: at}, false},
		{"not created yet", domain.Property{}, true},
		{"an instant in another location", domain.Property{ID: "p", Created: true, AccessSuspended: true, SuspendedAt: at.In(time.FixedZone("CET", 3600))}, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStatus()
			s.properties["p"] = propertyRecord{Property: c.p, Position: uint64(100 + i)}
			s.gates.put("p", s.properties["p"])
			a := domain.Account{ID: "acc", Email: "a@example.org", Registered: true, RegisteredAt: at.AddDate(0, -1, 0), Activated: true,
				ActivatedAt: at.AddDate(0, -1, 0), PasswordChangedAt: at.AddDate(0, 0, -1), Properties: []string{"p"}}
			s.accounts.put("acc", emailKey(a.Email), accountRecord{Account: a, Position: 1})
			if _, _, wide, ok := s.gates.get("p"); !ok || wide != c.wide {
				t.Errorf("gate found %v, wide %v; want wide %v", ok, wide, c.wide)
			}
			for _, now := range []time.Time{at.Add(-time.Minute), at.Add(time.Minute), at.Add(2 * time.Hour)} {
				got, ok := s.AccountStatus("acc", now, policy)
				want := domain.EvaluateStatus(a, []domain.Property{c.p}, now, policy)
				if !ok || !reflect.DeepEqual(got.Status, want) || got.Position != uint64(100+i) {
					t.Errorf("at %s: status %+v (position %d), want %+v (position %d)", now, got.Status, got.Position, want, 100+i)
				}
			}
		})
	}
}

// The record is 256 bytes (four cache lines, sixteen to a page); inlineTail is sized for it.
func TestPackedAccountIsFourCacheLines(t *testing.T) {
	if size := unsafe.Sizeof(packedAccount{}); size != 256 {
		t.Errorf("packedAccount is %d bytes, want 256: adjust inlineTail", size)
	}
}

// What get and idByEmail return outlives the next put of the same account, even though the
// record's inline bytes are overwritten.
func TestAccountTableAnswersOutliveUpdates(t *testing.T) {
	table := newAccountTable()
	table.put("acc-1", emailKey("a@example.org"), accountRecord{Account: domain.Account{ID: "acc-1", Email: "a@example.org", Properties: []string{"p-1"}}})
	before, _ := table.get("acc-1")
	id, _ := table.idByEmail("a@example.org")
	table.put("acc-1", emailKey("b@example.org"), accountRecord{Account: domain.Account{ID: "acc-1", Email: "b@example.org", Properties: []string{"p-2"}}})
	if before.Account.Email != "a@example.org" || before.Account.Properties[0] != "p-1" || id != "acc-1" {
		t.Errorf("an earlier answer changed: %+v, %q", before.Account, id)
	}
	if after, _ := table.get("acc-1"); after.Account.Email != "b@example.org" || after.Account.Properties[0] != "p-2" {
		t.Errorf("after the update: %+v", after.Account)
	}
	if _, ok := table.idByEmail("a@example.org"); ok {
		t.Errorf("the old address still finds the account")
	}
}
