package commands_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/memory"
)

// testClock is a settable clock shared by the service and the store.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fastHasher keeps argon2id but at a cost tests can afford thousands of times.
func fastHasher(t testing.TB) *credentials.Hasher {
	h, err := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newService(t testing.TB, store eventstore.Store, clock *testClock, policy domain.Policy) *commands.Service {
	return newServiceWith(t, store, clock, policy, fastHasher(t))
}

func newServiceWith(t testing.TB, store eventstore.Store, clock *testClock, policy domain.Policy, hasher commands.PasswordHasher) *commands.Service {
	cfg := serviceConfig(t, store, clock)
	cfg.Policy, cfg.Hasher = func() domain.Policy { return policy }, hasher
	svc, err := commands.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// testLinkKey is the link key of every test service: the services of one deployment share
// it (it signs links and names the reservation and throttle streams), so two services on
// one store in a test do too.
var testLinkKey = []byte("accountd test link key, 32 bytes")

// serviceConfig is a service's configuration with a fresh MFA key and the default policy.
func serviceConfig(t testing.TB, store eventstore.Store, clock *testClock) commands.Config {
	key := make([]byte, 32)
	rand.Read(key)
	mfa, err := credentials.NewMFA(key, "accountd-test")
	if err != nil {
		t.Fatal(err)
	}
	links, err := credentials.NewLinkKey(testLinkKey)
	if err != nil {
		t.Fatal(err)
	}
	policy := domain.DefaultPolicy()
	policy.MFARequired = false
	return commands.Config{
		Store: store, Clock: clock.Now, Policy: func() domain.Policy { return policy },
		Hasher: fastHasher(t), MFA: mfa, Links: links,
	}
}

func registerActive(t testing.TB, ctx context.Context, svc *commands.Service, email, password string) string {
	reg, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: email, Password: password})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	if _, err := svc.Activate(ctx, commands.Meta{}, reg.ActivationToken); err != nil {
		t.Fatalf("activate: %v", err)
	}
	return reg.AccountID
}

// R1.5: twenty simultaneous wrong passwords lock the account at exactly the threshold.
func TestConcurrentWrongPasswordsLockExactlyAtThreshold(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := memory.New()
	svc := newService(t, store, clock, domain.DefaultPolicy())
	id := registerActive(t, ctx, svc, "anna@hotel-lac.example", "Correct horse battery 42")

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: "anna@hotel-lac.example", Password: "wrong guess", Origin: domain.Origin{IP: "203.0.113.9"}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	recs, err := store.ReadStream(ctx, domain.AccountStream(id), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, r := range recs {
		counts[r.Type]++
	}
	if got := counts[domain.LoginFailed{}.EventType()]; got != 6 {
		t.Errorf("counted failures = %d, want exactly 6 (%v)", got, counts)
	}
	if got := counts[domain.AccountLocked{}.EventType()]; got != 1 {
		t.Errorf("locks = %d, want exactly 1", got)
	}
	if got := counts[domain.LoginRejected{}.EventType()]; got != 14 {
		t.Errorf("rejected while locked = %d, want 14", got)
	}
	st, err := svc.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != domain.StatusLocked || !st.HasReason(domain.ReasonAccountLocked) {
		t.Errorf("status = %+v, want locked", st)
	}
}

// Two services (two processes' worth of caches and locks) on one store still count exactly:
// the optimistic-concurrency check, not the in-process lock, is what makes it exact.
func TestLockoutExactAcrossIndependentWriters(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := memory.New()
	a := newService(t, store, clock, domain.DefaultPolicy())
	b := newService(t, store, clock, domain.DefaultPolicy())
	id := registerActive(t, ctx, a, "marco@albergo.example", "Correct horse battery 42")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		svc := a
		if i%2 == 1 {
			svc = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Login(ctx, commands.Meta{}, commands.LoginAttempt{Email: "marco@albergo.example", Password: "nope"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	recs, _ := store.ReadStream(ctx, domain.AccountStream(id), 0, 1000)
	failed, locked := 0, 0
	for _, r := range recs {
		switch r.Type {
		case domain.LoginFailed{}.EventType():
			failed++
		case domain.AccountLocked{}.EventType():
			locked++
		}
	}
	if failed != 6 || locked != 1 {
		t.Fatalf("failed=%d locked=%d, want 6 and 1", failed, locked)
	}
}

func TestConcurrentRegistrationsOfOneAddressExactlyOneWins(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := memory.New()
	svcs := []*commands.Service{newService(t, store, clock, domain.DefaultPolicy()), newService(t, store, clock, domain.DefaultPolicy())}
	var wg sync.WaitGroup
	results := make(chan error, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svcs[i%2].Register(ctx, commands.Meta{}, commands.Registration{Email: "Giulia@Hotel.example", Password: "Correct horse battery 42"})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	ok, taken := 0, 0
	for err := range results {
		switch domain.ErrorCode(err) {
		case "":
			if err != nil {
				t.Fatal(err)
			}
			ok++
		case domain.CodeEmailNotAvailable:
			taken++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 || taken != 9 {
		t.Fatalf("ok=%d email_not_available=%d, want 1 and 9", ok, taken)
	}
}

func TestRetriedCommandIsAppliedOnce(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := memory.New()
	svc := newService(t, store, clock, domain.DefaultPolicy())
	id := registerActive(t, ctx, svc, "lea@hotel.example", "Correct horse battery 42")
	m := commands.Meta{CommandID: "login-attempt-7"}
	first, err := svc.Login(ctx, m, commands.LoginAttempt{Email: "lea@hotel.example", Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.Login(ctx, m, commands.LoginAttempt{Email: "lea@hotel.example", Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	// A fresh service has an empty cache: the retry is recognised from the log itself.
	other := newService(t, store, clock, domain.DefaultPolicy())
	third, err := other.Login(ctx, m, commands.LoginAttempt{Email: "lea@hotel.example", Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if first.LastPosition() != again.LastPosition() || first.LastPosition() != third.LastPosition() {
		t.Fatalf("positions differ: %d %d %d", first.LastPosition(), again.LastPosition(), third.LastPosition())
	}
	st, _ := svc.Status(ctx, id)
	if st.FailedAttempts != 1 {
		t.Fatalf("failed attempts = %d, want 1", st.FailedAttempts)
	}
}

func TestMembershipIsKeptOnBothSides(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := memory.New()
	svc := newService(t, store, clock, domain.DefaultPolicy())
	system := domain.Actor{Kind: domain.ActorSystem}
	for _, id := range []string{"lac", "miramare"} {
		if _, err := svc.Property(ctx, commands.Meta{}, id, domain.CreateProperty{PropertyID: id, Name: id, PrimaryContactEmail: "direction@" + id + ".example"}); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: "anna@lac.example", Password: "Correct horse battery 42", PropertyID: "lac"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := svc.Register(ctx, commands.Meta{}, commands.Registration{Email: "marco@miramare.example", Password: "Blue lantern over water 5", PropertyID: "miramare"})
	if err != nil {
		t.Fatal(err)
	}
	// marco has no user management at lac: refused, and nothing written.
	head, _ := store.HeadPosition(ctx)
	_, err = svc.LinkMember(ctx, commands.Meta{}, "miramare", "anna@lac.example", domain.Actor{Kind: domain.ActorAccount, AccountID: other.AccountID})
	if domain.ErrorCode(err) != domain.CodeNotAuthorised {
		t.Fatalf("linking without user management: %v", err)
	}
	if after, _ := store.HeadPosition(ctx); after != head {
		t.Fatalf("a refused command wrote %d events", after-head)
	}
	if _, err := svc.LinkMember(ctx, commands.Meta{}, "miramare", "anna@lac.example", system); err != nil {
		t.Fatal(err)
	}
	a, _ := svc.LoadAccount(ctx, reg.AccountID)
	p, _ := svc.LoadProperty(ctx, "miramare")
	if !a.IsMember("miramare") || !p.HasMember(reg.AccountID) {
		t.Fatalf("link not on both sides: account %v, property %v", a.Properties, p.Members)
	}
	if _, err := svc.RemoveMember(ctx, commands.Meta{CommandID: "rm-1"}, "lac", reg.AccountID, system); err != nil {
		t.Fatal(err)
	}
	// The same command again (a client retry) changes nothing.
	if _, err := svc.RemoveMember(ctx, commands.Meta{CommandID: "rm-1"}, "lac", reg.AccountID, system); err != nil {
		t.Fatal(err)
	}
	a, _ = svc.LoadAccount(ctx, reg.AccountID)
	p, _ = svc.LoadProperty(ctx, "lac")
	if a.IsMember("lac") || p.HasMember(reg.AccountID) || !a.IsMember("miramare") {
		t.Fatalf("removal: account %v, lac members %v", a.Properties, p.Members)
	}
}
