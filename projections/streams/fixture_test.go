package streams_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
	"accountd/eventstore/memory"
	"accountd/projections"
	"accountd/projections/streams"
)

// logFixture is a log written through the real command side, and a clock the test moves.
type logFixture struct {
	ctx   context.Context
	store eventstore.Store
	svc   *commands.Service
	now   time.Time
}

func newLog(t *testing.T) *logFixture {
	t.Helper()
	f := &logFixture{ctx: context.Background(), store: memory.New(), now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	t.Cleanup(func() { f.store.Close() })
	h, err := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	mfa, _ := credentials.NewMFA(key, "test")
	links, _ := credentials.NewLinkKey(key)
	pol := domain.DefaultPolicy()
	pol.MFARequired = false
	f.svc, err = commands.NewService(commands.Config{Store: f.store, Clock: func() time.Time { return f.now }, Policy: func() domain.Policy { return pol },
		Hasher: h, MFA: mfa, Links: links})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const password = "Correct horse battery 42"

// story writes two properties and their staff living through lockouts, unlocks, resets,
// disables and a billing suspension; it returns the account IDs.
func (f *logFixture) story(t *testing.T) []string {
	t.Helper()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	m := commands.Meta{CorrelationID: "req-story"}
	for _, p := range []string{"lac", "mer"} {
		must(f.svc.Property(f.ctx, m, p, domain.CreateProperty{PropertyID: p, Name: "Hôtel " + p, PrimaryContactEmail: "direction@" + p + ".example"}))
	}
	var ids []string
	for i := range 6 {
		prop := []string{"lac", "mer"}[i%2]
		reg, err := f.svc.Register(f.ctx, m, commands.Registration{Email: fmt.Sprintf("staff%d@%s.example", i, prop), Password: password, PropertyID: prop})
		if err != nil {
			t.Fatal(err)
		}
		must(f.svc.Activate(f.ctx, m, reg.ActivationToken))
		ids = append(ids, reg.AccountID)
	}
	f.now = f.now.Add(time.Minute)
	for range 6 { // staff0 locks itself out
		must(f.svc.Login(f.ctx, m, commands.LoginAttempt{Email: "staff0@lac.example", Password: "wrong", Origin: domain.Origin{IP: "203.0.113.7", DeviceID: "desk"}}))
	}
	link, err := f.svc.RequestUnlockLink(f.ctx, m, "staff0@lac.example")
	if err != nil {
		t.Fatal(err)
	}
	must(f.svc.Unlock(f.ctx, m, link.Token))
	must(f.svc.Login(f.ctx, m, commands.LoginAttempt{Email: "staff0@lac.example", Password: password, Origin: domain.Origin{IP: "203.0.113.7"}}))
	reset, err := f.svc.RequestPasswordReset(f.ctx, m, "staff1@mer.example")
	if err != nil {
		t.Fatal(err)
	}
	must(f.svc.ResetPassword(f.ctx, m, reset.Token, "A brand new passphrase 7"))
	support := domain.Actor{Kind: domain.ActorSupport, Reference: "ticket-1"}
	must(f.svc.Disable(f.ctx, m, ids[2], domain.DisableAccount{Kind: domain.DisableManual, Actor: support}))
	must(f.svc.Disable(f.ctx, m, ids[3], domain.DisableAccount{Kind: domain.DisableManual, Actor: support}))
	must(f.svc.Enable(f.ctx, m, ids[3], domain.EnableAccount{Kind: domain.DisableManual, Actor: support}))
	must(f.svc.Login(f.ctx, m, commands.LoginAttempt{Email: "nobody@lac.example", Password: "guess", Origin: domain.Origin{IP: "198.51.100.9"}}))
	for _, inv := range []string{"INV-1", "INV-2"} {
		must(f.svc.Property(f.ctx, m, "mer", domain.MarkInvoiceOverdue{InvoiceID: inv}))
	}
	f.now = f.now.Add(time.Hour)
	must(f.svc.Login(f.ctx, m, commands.LoginAttempt{Email: "staff4@lac.example", Password: password, Origin: domain.Origin{IP: "203.0.113.8"}}))
	return ids
}

// logins appends n sign-in failures straight to the log (fast, for volume): several accounts,
// so per-account order is checked across interleaved streams.
func logins(t testing.TB, store eventstore.Store, n int, at time.Time) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		stream := domain.AccountStream(fmt.Sprintf("bulk-%d", i%7))
		data, err := eventlog.Encode(stream, domain.Metadata{CommandID: eventlog.NewCommandID()},
			[]domain.Event{{At: at, Data: domain.LoginFailed{Origin: domain.Origin{IP: "192.0.2.1"}, Reason: "wrong_password", FailedAttempts: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, stream, eventstore.Any, data...); err != nil {
			t.Fatal(err)
		}
	}
}

// openSet opens streams on their own database in a temporary directory and runs them until
// the test ends.
func openSet(t testing.TB, store eventstore.Store, dir string, now func() time.Time, configs ...streams.Config) *streams.Set {
	t.Helper()
	return openSetWith(t, store, dir, streams.Options{Clock: now}, configs...)
}

// openSetWith is openSet with more options (the store, database and source are the test's).
func openSetWith(t testing.TB, store eventstore.Store, dir string, opts streams.Options, configs ...streams.Config) *streams.Set {
	t.Helper()
	db, err := projections.OpenDB(filepath.Join(dir, "streams.db"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.DB, opts.Source = store, db, "https://login.test"
	set, err := streams.Open(context.Background(), opts, configs...)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		set.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		db.Close()
	})
	return set
}

// caughtUp waits until a stream is done with the log's head.
func caughtUp(t testing.TB, set *streams.Set, name string, store eventstore.Store) {
	t.Helper()
	head, err := store.HeadPosition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := set.Stream(name)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.WaitFor(ctx, head); err != nil {
		list, _ := set.List(context.Background())
		t.Fatalf("%v; streams: %+v", err, list)
	}
}

// until polls cond (no fixed sleep decides anything: it only paces the polling).
func until(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
