package detectors_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/memory"
	"accountd/projections"
	"accountd/projections/detectors"
	"accountd/projections/timeline"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type world struct {
	t     *testing.T
	ctx   context.Context
	store eventstore.Store
	clock *clock
	svc   *commands.Service
	th    *commands.Throttles
	pd    *commands.PropertyDetections
	db    *sql.DB
	tl    *timeline.Timeline
}

func newWorld(t *testing.T) *world {
	key := make([]byte, 32)
	rand.Read(key)
	mfa, _ := credentials.NewMFA(key, "test")
	links, _ := credentials.NewLinkKey(key)
	hasher, err := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: context.Background(), store: memory.New(), clock: &clock{now: t0}, db: openDB(t)}
	policy := domain.DefaultPolicy()
	policy.MFARequired = false
	w.svc, err = commands.NewService(commands.Config{Store: w.store, Clock: w.clock.Now, Policy: func() domain.Policy { return policy }, Hasher: hasher, MFA: mfa, Links: links})
	if err != nil {
		t.Fatal(err)
	}
	w.th = commands.NewThrottles(w.store, w.clock.Now, links)
	w.pd = commands.NewPropertyDetections(w.store, w.clock.Now)
	return w
}

// restart builds a new runner with new detector and timeline instances on the same read
// database, as a process restart does, and catches up.
func (w *world) restart() *projections.Runner {
	w.t.Helper()
	det, err := detectors.New(detectors.Config{Policy: domain.DefaultDetectorPolicy(), Clock: w.clock.Now,
		Actions: commands.DetectionActions{Service: func() *commands.Service { return w.svc }, Throttles: w.th, Properties: w.pd}})
	if err != nil {
		w.t.Fatal(err)
	}
	w.tl = timeline.New()
	r, err := projections.NewRunner(w.ctx, w.store, w.db, nil, det, w.tl)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := r.CatchUp(w.ctx); err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) count(typ string) int {
	w.t.Helper()
	n := 0
	var after uint64
	for {
		recs, err := w.store.ReadAll(w.ctx, after, 1000)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, r := range recs {
			if r.Type == typ {
				n++
			}
		}
		if len(recs) < 1000 {
			return n
		}
		after = recs[len(recs)-1].Position
	}
}

// Detectors and the timeline restarted between every event neither miss nor repeat an
// action; a rebuild from the start of the log repeats none either.
func TestRestartBetweenEventsNeitherMissesNorRepeats(t *testing.T) {
	w := newWorld(t)
	reg, err := w.svc.Register(w.ctx, commands.Meta{}, commands.Registration{Email: "gina@lago.example", Password: "Correct horse battery 42"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Activate(w.ctx, commands.Meta{}, reg.ActivationToken); err != nil {
		t.Fatal(err)
	}
	w.restart()
	attempt := func(email, password, ip, device string) {
		if _, err := w.svc.Login(w.ctx, commands.Meta{}, commands.LoginAttempt{Email: email, Password: password, Origin: domain.Origin{IP: ip, DeviceID: device}}); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Second)
		w.restart()
	}
	attempt("gina@lago.example", "Correct horse battery 42", "192.0.2.1", "pc")
	attempt("gina@lago.example", "Correct horse battery 42", "192.0.2.2", "phone")
	attempt("gina@lago.example", "Correct horse battery 42", "192.0.2.3", "tablet") // refused: disabled
	for i := range 12 {
		attempt(fmt.Sprintf("ghost%d@lago.example", i), "nope nope nope", "203.0.113.5", "")
	}
	if n := w.count("suspicious_activity_detected.v1"); n != 1 {
		t.Fatalf("%d detections, want 1", n)
	}
	if n := w.count("address_throttled.v1"); n != 1 {
		t.Fatalf("%d throttles, want 1", n)
	}
	if _, throttled, _ := w.th.RetryAfter(w.ctx, "203.0.113.5"); !throttled {
		t.Fatal("address not throttled")
	}
	page, err := w.tl.Search(w.ctx, timeline.Query{})
	if err != nil || len(page.Entries) != 2 {
		t.Fatalf("timeline: %+v %v", page, err)
	}

	// Rebuild both from the start of the log.
	r := w.restart()
	for _, name := range []string{detectors.Name, timeline.Name} {
		if err := r.Reset(w.ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.CatchUp(w.ctx); err != nil {
		t.Fatal(err)
	}
	if a, b := w.count("suspicious_activity_detected.v1"), w.count("address_throttled.v1"); a != 1 || b != 1 {
		t.Fatalf("after a rebuild: %d detections, %d throttles", a, b)
	}
	if page, _ := w.tl.Search(w.ctx, timeline.Query{}); len(page.Entries) != 2 {
		t.Fatalf("timeline after a rebuild: %d entries", len(page.Entries))
	}
}
