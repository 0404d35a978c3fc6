package lease_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"accountd/eventstore/lease"
)

// stallable is a lease store whose renewals can be made to fail, as a holder cut off from
// the database sees them.
type stallable struct {
	lease.Store
	cut atomic.Bool
}

func (s *stallable) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (lease.Lease, error) {
	if s.cut.Load() {
		return lease.Lease{}, errors.New("connection refused")
	}
	return s.Store.Acquire(ctx, name, holder, ttl)
}

func (s *stallable) Renew(ctx context.Context, l lease.Lease, ttl time.Duration) (lease.Lease, error) {
	if s.cut.Load() {
		<-ctx.Done() // the request hangs until the caller gives up
		return l, ctx.Err()
	}
	return s.Store.Renew(ctx, l, ttl)
}

// span is when one node ran the work.
type span struct {
	node       string
	start, end time.Time
}

type recorder struct {
	mu      sync.Mutex
	running map[string]bool
	spans   []span
	overlap atomic.Bool
}

func (r *recorder) work(node string) func(context.Context) error {
	return func(ctx context.Context) error {
		r.mu.Lock()
		for n, on := range r.running {
			if on && n != node {
				r.overlap.Store(true)
			}
		}
		r.running[node] = true
		i := len(r.spans)
		r.spans = append(r.spans, span{node: node, start: time.Now()})
		r.mu.Unlock()
		<-ctx.Done()
		r.mu.Lock()
		r.running[node] = false
		r.spans[i].end = time.Now()
		r.mu.Unlock()
		return ctx.Err()
	}
}

func (r *recorder) waitFor(t *testing.T, what string, ok func([]span) bool) []span {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		spans := append([]span(nil), r.spans...)
		r.mu.Unlock()
		if ok(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: spans %+v", what, spans)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two nodes compete for one work: it runs on one of them; when the holder is cut off from
// the lease table its work stops before the lease lapses, and the other node takes over
// within the failover bound; the holder's own shutdown hands over at once.
func TestElectorFailover(t *testing.T) {
	mem := lease.NewMemory(nil)
	const ttl, renew = 900 * time.Millisecond, 300 * time.Millisecond
	stores := map[string]*stallable{"a": {Store: mem}, "b": {Store: mem}}
	electors := map[string]*lease.Elector{}
	cancels := map[string]context.CancelFunc{}
	rec := &recorder{running: map[string]bool{}}
	var wg sync.WaitGroup
	for _, n := range []string{"a", "b"} {
		e := &lease.Elector{Store: stores[n], Holder: n, TTL: ttl, Renew: renew}
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
		electors[n] = e
		ctx, cancel := context.WithCancel(context.Background())
		cancels[n] = cancel
		wg.Go(func() { _ = e.Run(ctx, "outbox", rec.work(n)) })
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
		wg.Wait()
	}()
	first := rec.waitFor(t, "nobody runs the work", func(s []span) bool { return len(s) == 1 })[0]
	other := map[string]string{"a": "b", "b": "a"}[first.node]
	if h := electors[first.node].Held(); h["outbox"].Holder != first.node {
		t.Fatalf("holder %s reports held %+v", first.node, h)
	}

	// Cut the holder off: its work stops, then the other node runs it.
	cut := time.Now()
	stores[first.node].cut.Store(true)
	spans := rec.waitFor(t, "no takeover", func(s []span) bool { return len(s) == 2 })
	if spans[1].node != other {
		t.Fatalf("work ran again on %s, want %s", spans[1].node, other)
	}
	if spans[0].end.IsZero() || !spans[0].end.Before(spans[1].start) {
		t.Fatalf("the cut-off holder still ran when %s started: %+v", other, spans)
	}
	if took := spans[1].start.Sub(cut); took > electors[other].FailoverBound()+renew {
		t.Fatalf("takeover after %s, bound %s", took, electors[other].FailoverBound())
	}
	if _, takeovers, _ := electors[other].Counts(); takeovers["outbox"] != 1 {
		t.Fatalf("takeovers counted on %s: %v", other, takeovers)
	}
	if _, _, lost := electors[first.node].Counts(); lost["outbox"] != 1 {
		t.Fatalf("losses counted on %s: %v", first.node, lost)
	}

	// The first node is back: it does not take the work while the other holds it; a
	// graceful stop of the holder releases it and the first takes over without waiting.
	stores[first.node].cut.Store(false)
	stop := time.Now()
	cancels[other]()
	spans = rec.waitFor(t, "no handover after release", func(s []span) bool { return len(s) == 3 })
	// Within the other's polling interval, well before the lease would have lapsed.
	if spans[2].node != first.node || spans[2].start.Sub(stop) > ttl-100*time.Millisecond {
		t.Fatalf("after release: %+v (released at %s)", spans[2], stop)
	}
	if rec.overlap.Load() {
		t.Fatal("the work ran on two nodes at once")
	}
}

func TestElectorValidate(t *testing.T) {
	for _, e := range []*lease.Elector{{TTL: time.Second, Renew: time.Second}, {TTL: -1}, {TTL: 2 * time.Second, Renew: 700 * time.Millisecond}} {
		if err := e.Validate(); err == nil {
			t.Errorf("TTL %s renew %s accepted", e.TTL, e.Renew)
		}
	}
	if err := (&lease.Elector{}).Validate(); err != nil || (&lease.Elector{}).FailoverBound() > 15*time.Second {
		t.Fatalf("defaults: %v, bound %s", err, (&lease.Elector{}).FailoverBound())
	}
}
