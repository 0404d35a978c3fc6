package domain

import (
	"strings"
	"testing"
	"time"
)

func TestIsErased(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{{Erased, true}, {"[erased]", true}, {"", false}, {"[ERASED]", false}, {" [erased]", false}, {"a@x.example", false}} {
		if got := IsErased(tc.in); got != tc.want {
			t.Errorf("IsErased(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// The erasure's rules: a reason is required, the actor is authorised like a deletion, an
// erased account's erasure is a no-op (so re-sending it finishes an interrupted one), and
// an erased account refuses every other command with account_erased, writing nothing.
func TestDecideEraseAccount(t *testing.T) {
	p := DefaultPolicy()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	live := fold(
		Event{At: t0, Data: AccountRegistered{AccountID: "a", Email: "a@x.example", PropertyID: "p", PasswordHash: "h"}},
		Event{At: t0, Data: AccountActivated{}},
		Event{At: t0, Data: SessionStarted{SessionID: "s1", ExpiresAt: t0.Add(time.Hour), IdleAfter: Duration(time.Hour)}},
	)
	support := Actor{Kind: ActorSupport, Reference: "GDPR-7"}
	erased := EvolveAccount(live, Event{At: t0, Data: AccountErased{Actor: support, Reason: "GDPR Art. 17"}})
	manager := Actor{Kind: ActorAccount, AccountID: "m"}
	managed := Authority{
		Properties: []Property{{ID: "p", Created: true, Subscription: SubscriptionActive, Members: []string{"a", "m"}, UserManagers: []string{"m"}}},
		Actor:      ActorStanding{Account: fold(Event{At: t0, Data: AccountRegistered{AccountID: "m", Email: "m@x.example", PasswordHash: "h"}}, Event{At: t0, Data: AccountActivated{}}), Properties: nil},
	}
	now := t0.Add(time.Minute)
	tests := []struct {
		name  string
		state Account
		cmd   AccountCommand
		code  Code
		types []string
	}{
		{"support with a reason", live, EraseAccount{Actor: support, Reason: " GDPR Art. 17 "}, "", []string{"session_ended.v1", "account_erased.v1"}},
		{"system (admin API)", live, EraseAccount{Actor: Actor{Kind: ActorSystem}, Reason: "ticket 12"}, "", []string{"session_ended.v1", "account_erased.v1"}},
		{"no reason", live, EraseAccount{Actor: support, Reason: "  "}, CodeErasureReasonRequired, nil},
		{"reason too long", live, EraseAccount{Actor: support, Reason: strings.Repeat("é", ErasureReasonMax+1)}, CodeErasureReasonRequired, nil},
		{"support without reference", live, EraseAccount{Actor: Actor{Kind: ActorSupport}, Reason: "r"}, CodeNotAuthorised, nil},
		{"colleague without user management", live, EraseAccount{Actor: Actor{Kind: ActorAccount, AccountID: "x"}, Reason: "r"}, CodeNotAuthorised, nil},
		{"colleague with user management", live, EraseAccount{Actor: manager, Reason: "r", Authority: managed}, "", []string{"session_ended.v1", "account_erased.v1"}},
		{"never registered", Account{}, EraseAccount{Actor: support, Reason: "r"}, CodeAccountNotFound, nil},
		{"already erased: nothing to write", erased, EraseAccount{Actor: support, Reason: "again"}, "", nil},
		{"already erased still needs a reason", erased, EraseAccount{Actor: support}, CodeErasureReasonRequired, nil},
		{"erased: login refused, nothing recorded", erased, Login{PasswordMatches: func(string) bool { return true }, SessionID: "s2"}, CodeAccountErased, nil},
		{"erased: never restored", erased, RestoreAccount{Actor: support}, CodeAccountErased, nil},
		{"erased: reset link refused", erased, RequestPasswordReset{Link: NewLink{TokenHash: "t"}}, CodeAccountErased, nil},
		{"erased: detection refused", erased, RecordSuspiciousActivity{Rule: RuleSharedAccount}, CodeAccountErased, nil},
		{"erased: the inactivity sweep passes", erased, DisableIfInactive{}, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events, err := DecideAccount(tc.state, tc.cmd, now, p)
			if ErrorCode(err) != tc.code {
				t.Fatalf("error %v, want code %q", err, tc.code)
			}
			var types []string
			for _, e := range events {
				types = append(types, e.Data.EventType())
			}
			if strings.Join(types, ",") != strings.Join(tc.types, ",") {
				t.Fatalf("events %v, want %v", types, tc.types)
			}
			for _, e := range events {
				if d, ok := e.Data.(AccountErased); ok && d.Reason != strings.TrimSpace(d.Reason) {
					t.Errorf("reason %q kept untrimmed", d.Reason)
				}
			}
		})
	}
}

// An erased account answers its status: deleted, since the erasure (or its earlier
// deletion), with no session left.
func TestErasedAccountStatus(t *testing.T) {
	p := DefaultPolicy()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	reg := []Event{
		{At: t0, Data: AccountRegistered{AccountID: "a", Email: Erased, PasswordHash: "h"}},
		{At: t0, Data: AccountActivated{}},
		{At: t0, Data: SessionStarted{SessionID: "s1", ExpiresAt: t0.Add(time.Hour)}},
	}
	tests := []struct {
		name  string
		extra []Event
		since time.Time
	}{
		{"erased", []Event{{At: t0.Add(time.Hour), Data: AccountErased{Reason: "r"}}}, t0.Add(time.Hour)},
		{"deleted, then erased", []Event{{At: t0.Add(time.Minute), Data: AccountDeleted{}}, {At: t0.Add(time.Hour), Data: AccountErased{Reason: "r"}}}, t0.Add(time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := fold(append(append([]Event(nil), reg...), tc.extra...)...)
			if !a.Erased || !a.Deleted || len(a.Sessions) != 0 {
				t.Fatalf("state %+v", a)
			}
			st := EvaluateStatus(a, nil, t0.Add(2*time.Hour), p)
			if st.Status != StatusDeleted || !st.HasReason(ReasonAccountDeleted) || !st.Reasons[0].Since.Equal(tc.since) {
				t.Fatalf("status %+v, want deleted since %s", st, tc.since)
			}
		})
	}
}

// A release frees a reservation only for the account that holds it, and withdraws only
// that account's skeleton claim; an erased value claims nothing.
func TestReleasesOfReservationAndSkeleton(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		evs   []Payload
		owner string
	}{
		{"reserved", []Payload{EmailReserved{Email: "a@x.example", AccountID: "a"}}, "a"},
		{"released", []Payload{EmailReserved{Email: "a@x.example", AccountID: "a"}, EmailReleased{AccountID: "a"}}, ""},
		{"released by another account: no effect", []Payload{EmailReserved{Email: "a@x.example", AccountID: "a"}, EmailReleased{AccountID: "b"}}, "a"},
		{"released, then reserved again", []Payload{EmailReserved{Email: "a@x.example", AccountID: "a"}, EmailReleased{AccountID: "a"}, EmailReserved{Email: "a@x.example", AccountID: "c"}}, "c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r EmailReservation
			for _, p := range tc.evs {
				r = EvolveEmailReservation(r, Event{At: t0, Data: p})
			}
			if r.AccountID != tc.owner {
				t.Fatalf("owner %q, want %q", r.AccountID, tc.owner)
			}
		})
	}
	var l EmailLookalikes
	for _, p := range []Payload{EmailSkeletonClaimed{Email: "a@x.example", AccountID: "a"}, EmailSkeletonClaimed{Email: Erased, AccountID: "b"}, EmailSkeletonReleased{AccountID: "a"}} {
		l = EvolveEmailLookalikes(l, Event{At: t0, Data: p})
	}
	if l.HeldBy("a") || !l.HeldBy("b") || l.Claimed("a@x.example") || l.Claimed(Erased) {
		t.Fatalf("claims %+v", l.Claims)
	}
}

// Reservation streams are named by the pseudonym given, never by the address; the legacy
// names are the unkeyed hashes the log used before.
func TestEmailStreamNames(t *testing.T) {
	if got := EmailStream("0f1e"); got != "email-0f1e" {
		t.Fatalf("EmailStream = %q", got)
	}
	legacy := LegacyEmailStreams(" Anna@Lac.example ")
	if len(legacy) != 1 || legacy[0] != emailStreamOf("anna@lac.example") || strings.Contains(strings.Join(legacy, ","), "anna") {
		t.Fatalf("legacy names %v", legacy)
	}
	if got := LegacyEmailStreams("Élise@Café.example"); len(got) != 2 || got[0] != emailStreamOf(NormaliseEmail("élise@café.example")) {
		t.Fatalf("an address typed with its domain in Unicode has two legacy names, got %v", got)
	}
	if got := AddressStream("ab12"); got != "address-ab12" || LegacyAddressStream("::ffff:192.0.2.1") != "address-192.0.2.1" {
		t.Fatalf("address streams %q %q", got, LegacyAddressStream("::ffff:192.0.2.1"))
	}
}
