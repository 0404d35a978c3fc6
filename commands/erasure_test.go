package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/memory"
	"accountd/eventstore/snapshot"
)

// shreddingStore stands in for the sealing store (eventstore/personal) and its key store:
// once an account's subject is destroyed, every read shows its events' personal values as
// domain.Erased, as the sealing store does when a key is gone. The subject of an event is
// its account stream's account, or the account_id its data names (reservations, claims).
type shreddingStore struct {
	eventstore.Store
	mu        sync.Mutex
	destroyed map[string]bool
	failNext  error // returned once by DestroySubject, as a crash before the key went
}

var personalMembers = map[string]bool{"email": true, "primary_contact_email": true, "ip": true, "user_agent": true, "device_id": true, "addresses": true, "devices": true}

func newShreddingStore() *shreddingStore {
	return &shreddingStore{Store: memory.New(), destroyed: map[string]bool{}}
}

func (s *shreddingStore) DestroySubject(_ context.Context, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.failNext; err != nil {
		s.failNext = nil
		return err
	}
	s.destroyed[subject] = true
	return nil
}

func (s *shreddingStore) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := s.Store.ReadStream(ctx, stream, from, limit)
	return s.open(recs), err
}

func (s *shreddingStore) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := s.Store.ReadAll(ctx, after, limit)
	return s.open(recs), err
}

func (s *shreddingStore) open(recs []eventstore.RecordedEvent) []eventstore.RecordedEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]eventstore.RecordedEvent, len(recs))
	for i, r := range recs {
		var m map[string]any
		if err := json.Unmarshal(r.Data, &m); err == nil {
			id, _ := strings.CutPrefix(r.Stream, "account-")
			if id == r.Stream {
				id, _ = m["account_id"].(string)
			}
			if s.destroyed["account."+id] {
				r.Data, _ = json.Marshal(erase(m))
			}
		}
		out[i] = r
	}
	return out
}

func erase(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if personalMembers[k] {
				switch val.(type) {
				case string:
					x[k] = domain.Erased
				case []any:
					x[k] = []any{domain.Erased}
				}
				continue
			}
			x[k] = erase(val)
		}
	case []any:
		for i := range x {
			x[i] = erase(x[i])
		}
	}
	return v
}

func newErasingService(t *testing.T, store *shreddingStore, clock *testClock, snaps snapshot.Store) *commands.Service {
	t.Helper()
	cfg := serviceConfig(t, store, clock)
	cfg.Shredder = store
	if snaps != nil {
		cfg.Snapshots, cfg.SnapshotKey, cfg.SnapshotEvery = snaps, make([]byte, 32), 2
	}
	svc, err := commands.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

var support = domain.Actor{Kind: domain.ActorSupport, Reference: "GDPR-42"}

// An erasure writes its event, releases the address and its skeleton claim, destroys the
// account's key and forgets its snapshots; afterwards the account's status answers
// (deleted), its address reads [erased], it can never log in, and the same address
// registers again as a new account.
func TestEraseAccount(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := newShreddingStore()
	snaps := snapshot.NewMemory()
	svc := newErasingService(t, store, clock, snaps)
	const email = "anna@hotel-lac.example"
	id := registerActive(t, ctx, svc, email, goodPassword)
	for _, ip := range []string{"203.0.113.9", "198.51.100.7"} {
		if res, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: email, Password: goodPassword, Origin: domain.Origin{IP: ip, UserAgent: "Firefox"}}); err != nil || res.Decision != domain.DecisionAllowed {
			t.Fatalf("login from %s: %+v %v", ip, res.LoginOutcome, err)
		}
	}
	if snaps.Count() == 0 {
		t.Fatal("no snapshot was saved: the test does not check their deletion")
	}

	done, err := svc.EraseAccount(ctx, commands.Meta{CommandID: "erase-1"}, id, commands.Erasure{Actor: support, Reason: "GDPR Art. 17 request"})
	if err != nil {
		t.Fatal(err)
	}
	want := commands.ErasureDone{AccountID: id, ReleasedReservations: 1, ReleasedSkeleton: true, ForgotCache: true, KeyDestroyed: true, Subject: "account." + id}
	if done.Positions = nil; !reflect.DeepEqual(done, want) {
		t.Fatalf("erasure did %+v, want %+v", done, want)
	}
	if !store.destroyed["account."+id] {
		t.Fatal("the account's key was not destroyed")
	}
	if snaps.Count() != 0 {
		t.Fatalf("%d snapshots left after the erasure", snaps.Count())
	}

	a, err := svc.LoadAccount(ctx, id)
	if err != nil || !a.Erased || a.Email != domain.Erased {
		t.Fatalf("erased account loads as %+v, %v", a, err)
	}
	st, err := svc.Status(ctx, id)
	if err != nil || st.Status != domain.StatusDeleted {
		t.Fatalf("status of an erased account: %+v %v", st, err)
	}
	if _, found, err := svc.AccountIDByEmail(ctx, email); found || err != nil {
		t.Fatalf("the erased address still resolves (%v)", err)
	}
	res, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: email, Password: goodPassword, Origin: domain.Origin{IP: "203.0.113.9"}})
	if err != nil || res.Decision == domain.DecisionAllowed || res.AccountID == id {
		t.Fatalf("login after the erasure: %+v on %q, %v", res.LoginOutcome, res.AccountID, err)
	}
	if _, err := svc.Account(ctx, commands.Meta{}, id, domain.UnlockByAdministrator{Actor: support}); domain.ErrorCode(err) != domain.CodeAccountErased {
		t.Fatalf("a command on the erased account: %v, want account_erased", err)
	}

	again := registerActive(t, ctx, svc, email, goodPassword)
	if again == id {
		t.Fatal("the address registered again as the erased account")
	}
	if got, found, _ := svc.AccountIDByEmail(ctx, email); !found || got != again {
		t.Fatalf("the address resolves to %q, want the new account %s", got, again)
	}
	if res, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: email, Password: goodPassword}); err != nil || res.Decision != domain.DecisionAllowed || res.AccountID != again {
		t.Fatalf("the new account's login: %+v %q %v", res.LoginOutcome, res.AccountID, err)
	}
	// A look-alike of the address is still refused: the new account claims the skeleton.
	if _, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: "аnna@hotel-lac.example", Password: goodPassword}); domain.ErrorCode(err) != domain.CodeEmailConfusable {
		t.Fatalf("a look-alike of the re-registered address: %v, want email_confusable", err)
	}
}

// Re-sending an erasure (same ID: an exact retry; another ID: an erasure of an erased
// account) writes nothing more, and one interrupted before its key was destroyed is
// finished by the re-send.
func TestEraseAccountRetries(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := newShreddingStore()
	svc := newErasingService(t, store, clock, nil)
	id := registerActive(t, ctx, svc, "bruno@hotel-lac.example", goodPassword)
	head := func() uint64 {
		h, err := store.HeadPosition(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	store.failNext = errors.New("key store unreachable")
	if _, err := svc.EraseAccount(ctx, commands.Meta{CommandID: "erase-b"}, id, commands.Erasure{Actor: support, Reason: "ticket 9"}); err == nil {
		t.Fatal("an erasure whose key was not destroyed reported success")
	}
	if store.destroyed["account."+id] {
		t.Fatal("key destroyed")
	}
	written := head()

	tests := []struct {
		name      string
		commandID string
		already   bool
		released  int // releases the first attempt wrote, answered again by their command IDs
	}{
		{"exact retry finishes the erasure", "erase-b", false, 1},
		// Once the key is gone the address is unreadable: the releases, done before, are skipped.
		{"exact retry again", "erase-b", false, 0},
		{"another command on the erased account", "erase-c", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done, err := svc.EraseAccount(ctx, commands.Meta{CommandID: tc.commandID}, id, commands.Erasure{Actor: support, Reason: "ticket 9"})
			if err != nil {
				t.Fatal(err)
			}
			if !done.KeyDestroyed || done.AlreadyErased != tc.already || done.ReleasedReservations != tc.released || done.ReleasedSkeleton != (tc.released > 0) {
				t.Fatalf("did %+v", done)
			}
			if h := head(); h != written {
				t.Fatalf("the re-sent erasure wrote %d events", h-written)
			}
		})
	}
	if !store.destroyed["account."+id] {
		t.Fatal("the re-sent erasure did not destroy the key")
	}
}

// Refusals write nothing and carry stable codes.
func TestEraseAccountRefusals(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := newShreddingStore()
	svc := newErasingService(t, store, clock, nil)
	id := registerActive(t, ctx, svc, "carla@hotel-lac.example", goodPassword)
	before, _ := store.HeadPosition(ctx)
	tests := []struct {
		name    string
		account string
		e       commands.Erasure
		code    domain.Code
	}{
		{"no reason", id, commands.Erasure{Actor: support}, domain.CodeErasureReasonRequired},
		{"unknown account", "nobody", commands.Erasure{Actor: support, Reason: "r"}, domain.CodeAccountNotFound},
		{"unauthorised colleague", id, commands.Erasure{Actor: domain.Actor{Kind: domain.ActorAccount, AccountID: "x"}, Reason: "r"}, domain.CodeNotAuthorised},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := svc.EraseAccount(ctx, commands.Meta{}, tc.account, tc.e); domain.ErrorCode(err) != tc.code {
				t.Fatalf("%v, want %s", err, tc.code)
			}
		})
	}
	if after, _ := store.HeadPosition(ctx); after != before || len(store.destroyed) != 0 {
		t.Fatalf("refusals wrote %d events, destroyed %v", after-before, store.destroyed)
	}
}

// An account registered before reservation and skeleton streams were named by pseudonym
// (unkeyed hashes) keeps its address and refuses its look-alikes; its erasure releases
// those legacy-named streams, and the address registers again.
func TestEraseAccountRegisteredUnderLegacyStreamNames(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := newShreddingStore()
	svc := newErasingService(t, store, clock, nil)
	hash, err := fastHasher(t).Hash(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	const email, lookalike = "paola@lac.example", "pаola@lac.example" // Cyrillic а
	at := clock.Now().Add(-48 * time.Hour)
	appendLegacy(t, store, domain.LegacyEmailStreams(email)[0], at, domain.EmailReserved{Email: email, AccountID: "legacy-paola"})
	appendLegacy(t, store, domain.LegacyEmailSkeletonStream(email), at, domain.EmailSkeletonClaimed{Email: email, AccountID: "legacy-paola"})
	appendLegacy(t, store, domain.AccountStream("legacy-paola"), at, domain.AccountRegistered{AccountID: "legacy-paola", Email: email, PasswordHash: hash})
	appendLegacy(t, store, domain.EmailSkeletonIndexStream, at, domain.EmailSkeletonsIndexed{})

	if _, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: lookalike, Password: goodPassword}); domain.ErrorCode(err) != domain.CodeEmailConfusable {
		t.Fatalf("a look-alike of a legacy-claimed address: %v, want email_confusable", err)
	}
	if _, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: email, Password: goodPassword}); domain.ErrorCode(err) != domain.CodeEmailNotAvailable {
		t.Fatalf("the legacy-reserved address: %v, want email_not_available", err)
	}
	done, err := svc.EraseAccount(ctx, commands.Meta{}, "legacy-paola", commands.Erasure{Actor: support, Reason: "GDPR"})
	if err != nil || done.ReleasedReservations != 1 || !done.ReleasedSkeleton {
		t.Fatalf("erasure did %+v, %v", done, err)
	}
	if id := registerActive(t, ctx, svc, email, goodPassword); id == "legacy-paola" {
		t.Fatal("the address registered again as the erased account")
	}
}

// Another node (another service on the shared log) that had the account cached and
// snapshotted, in clear, reads it erased after the erasure: a fold that meets an erasure
// is folded again from the log and is never cached or snapshotted.
func TestAnotherNodeForgetsAnErasedAccount(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := newShreddingStore()
	snaps := snapshot.NewMemory()
	node1, node2 := newErasingService(t, store, clock, snaps), newErasingService(t, store, clock, snaps)
	const email = "nodes@hotel-lac.example"
	id := registerActive(t, ctx, node1, email, goodPassword)
	for range 3 {
		if _, err := node2.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: email, Password: goodPassword, Origin: domain.Origin{IP: "203.0.113.40"}}); err != nil {
			t.Fatal(err)
		}
	}
	if a, err := node2.LoadAccount(ctx, id); err != nil || a.Email != email {
		t.Fatalf("node 2 before the erasure: %q %v", a.Email, err)
	}
	if _, err := node1.EraseAccount(ctx, commands.Meta{}, id, commands.Erasure{Actor: support, Reason: "GDPR"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		a, err := node2.LoadAccount(ctx, id)
		if err != nil || !a.Erased || a.Email != domain.Erased {
			t.Fatalf("node 2 after the erasure: erased %v, email %q, %v", a.Erased, a.Email, err)
		}
	}
	if n := snaps.Count(); n != 0 {
		t.Fatalf("%d snapshots after node 2 loaded the erased account", n)
	}
}
