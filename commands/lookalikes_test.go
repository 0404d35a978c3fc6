package commands_test

import (
	"context"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/memory"
)

const goodPassword = "Correct horse battery 42"

// appendLegacy writes events as a release before canonical addresses did.
func appendLegacy(t *testing.T, store eventstore.Store, stream string, at time.Time, payloads ...domain.Payload) {
	t.Helper()
	events := make([]domain.Event, len(payloads))
	for i, p := range payloads {
		events[i] = domain.Event{At: at, Data: p}
	}
	data, err := eventlog.Encode(stream, domain.Metadata{CommandID: eventlog.NewCommandID()}, events)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), stream, eventstore.NoStream, data...); err != nil {
		t.Fatal(err)
	}
}

// legacyAccount registers an address the way the old code did: reserved under its trimmed
// lower-case form, no skeleton claim.
func legacyAccount(t *testing.T, store eventstore.Store, hash, email, accountID string, at time.Time) {
	t.Helper()
	key := domain.LegacyEmailKey(email)
	// [canonical, as typed when it differs]: the old key is the form as typed.
	legacy := domain.LegacyEmailStreams(email)
	stream := legacy[len(legacy)-1]
	appendLegacy(t, store, stream, at, domain.EmailReserved{Email: key, AccountID: accountID})
	appendLegacy(t, store, domain.AccountStream(accountID), at, domain.AccountRegistered{AccountID: accountID, Email: key, PasswordHash: hash})
}

// Accounts stored before addresses were canonicalised are still found under any form of
// their address, still own it, and are protected from look-alikes like new ones: the first
// registration indexes their skeletons from the log, once for the whole log.
func TestAccountsStoredBeforeCanonicalAddressesKeepTheirIdentity(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := memory.New()
	hash, err := fastHasher(t).Hash(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	legacyAccount(t, store, hash, "anna@lac.example", "legacy-anna", clock.Now().Add(-48*time.Hour))
	legacyAccount(t, store, hash, "Élise@Café.example", "legacy-elise", clock.Now().Add(-48*time.Hour))
	svc := newService(t, store, clock, domain.DefaultPolicy())

	for email, want := range map[string]string{"anna@lac.example": "legacy-anna", "ＡＮＮＡ@lac.example": "legacy-anna", "élise@café.example": "legacy-elise", " ÉLISE@CAFÉ.EXAMPLE": "legacy-elise"} {
		id, found, err := svc.AccountIDByEmail(ctx, email)
		if err != nil || !found || id != want {
			t.Errorf("%q resolves to %q %v %v, want %s", email, id, found, err, want)
		}
	}
	if res, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: "Élise@café.example", Password: "wrong password"}); err != nil || res.AccountID != "legacy-elise" {
		t.Errorf("a wrong password on the legacy address counts on %q (%v), want legacy-elise", res.AccountID, err)
	}

	// The first registration indexes the legacy addresses' skeletons.
	if _, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: "carla@lac.example", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		email string
		code  domain.Code
	}{
		{"élise@café.example", domain.CodeEmailNotAvailable},
		{"élise@xn--caf-dma.example", domain.CodeEmailNotAvailable},
		{"аnna@lac.example", domain.CodeEmailConfusable},         // Cyrillic а
		{"е\u0301lise@café.example", domain.CodeEmailConfusable}, // Cyrillic е and a combining acute
	}
	for _, tc := range tests {
		before, _ := store.HeadPosition(ctx)
		_, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: tc.email, Password: goodPassword})
		if domain.ErrorCode(err) != tc.code {
			t.Errorf("register %q: %v, want %s", tc.email, err, tc.code)
		}
		after, _ := store.HeadPosition(ctx)
		if written := after - before; written > 0 {
			t.Errorf("register %q wrote %d events", tc.email, written)
		}
	}

	// A second process on the same log reads the index's completion instead of scanning.
	other := newService(t, store, clock, domain.DefaultPolicy())
	if _, err := other.Register(ctx, commands.Meta{}, commands.Registration{Email: "bruno@lac.example", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Register(ctx, commands.Meta{}, commands.Registration{Email: "brunо@lac.example", Password: goodPassword}); domain.ErrorCode(err) != domain.CodeEmailConfusable {
		t.Errorf("look-alike of an address registered on the other process: %v", err)
	}
	recs, err := store.ReadStream(ctx, domain.EmailSkeletonIndexStream, 0, 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("index stream: %d events, %v; want one completion", len(recs), err)
	}
	dec, _ := eventlog.Decode(recs[0])
	if got := dec.Event.Data.(domain.EmailSkeletonsIndexed).Claimed; got != 2 {
		t.Errorf("the index claimed %d skeletons, want the two legacy addresses", got)
	}
}

// Of two look-alike addresses registered at the same moment exactly one wins: the skeleton
// is claimed under optimistic concurrency like the address itself.
func TestConcurrentLookAlikeRegistrationsExactlyOneWins(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := memory.New()
	a := newService(t, store, clock, domain.DefaultPolicy())
	b := newService(t, store, clock, domain.DefaultPolicy())
	errs := make(chan error, 2)
	for i, svc := range []*commands.Service{a, b} {
		email := []string{"paul@lac.example", "pаul@lac.example"}[i]
		go func() {
			_, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: email, Password: goodPassword})
			errs <- err
		}()
	}
	var won, confusable int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			won++
		case domain.ErrorCode(err) == domain.CodeEmailConfusable:
			confusable++
		default:
			t.Fatal(err)
		}
	}
	if won != 1 || confusable != 1 {
		t.Fatalf("won %d, refused as confusable %d; want one each", won, confusable)
	}
}
