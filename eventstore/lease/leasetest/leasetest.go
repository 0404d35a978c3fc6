// Package leasetest is the contract every lease.Store keeps, run against each
// implementation (the memory table, PostgreSQL).
package leasetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"accountd/eventstore/lease"
)

// Test runs the contract against fresh stores from open. Every store open returns for one
// test shares one table (two nodes of one shared log), so open is called once per test.
func Test(t *testing.T, open func(t *testing.T) lease.Store) {
	long := time.Minute
	// short is the TTL of leases a test waits to see lapse: long enough to renew under a
	// loaded machine, short enough to wait for.
	short := 600 * time.Millisecond
	ctx := context.Background()

	t.Run("acquire is exclusive", func(t *testing.T) {
		s := open(t)
		a, err := s.Acquire(ctx, "outbox", "node-a", long)
		if err != nil || a.Holder != "node-a" || a.Token == 0 || a.Previous != "" {
			t.Fatalf("first acquire: %+v, %v", a, err)
		}
		cur, err := s.Acquire(ctx, "outbox", "node-b", long)
		if !errors.Is(err, lease.ErrHeld) || cur.Holder != "node-a" || cur.Token != a.Token {
			t.Fatalf("second holder: %+v, %v; want ErrHeld naming node-a", cur, err)
		}
		if _, err := s.Acquire(ctx, "stream:hooks", "node-b", long); err != nil {
			t.Fatalf("another work's lease: %v", err)
		}
		held, err := s.Leases(ctx)
		if err != nil || len(held) != 2 || held[0].Name != "outbox" || held[0].Holder != "node-a" || held[1].Holder != "node-b" {
			t.Fatalf("leases %+v, %v", held, err)
		}
		if !held[0].Expires.After(held[0].Since) {
			t.Fatalf("lease %+v expires before it starts", held[0])
		}
	})

	t.Run("concurrent acquires elect one", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		wins := make(chan string, 8)
		for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
			wg.Go(func() {
				if _, err := s.Acquire(ctx, "sweep", n, long); err == nil {
					wins <- n
				} else if !errors.Is(err, lease.ErrHeld) {
					t.Errorf("%s: %v", n, err)
				}
			})
		}
		wg.Wait()
		close(wins)
		if n := len(wins); n != 1 {
			t.Fatalf("%d winners, want 1", n)
		}
	})

	t.Run("renew keeps it", func(t *testing.T) {
		s := open(t)
		ttl := time.Second
		a, err := s.Acquire(ctx, "outbox", "node-a", ttl)
		if err != nil {
			t.Fatal(err)
		}
		// Renew for longer than several TTLs: the lease never lapses in between.
		until := time.Now().Add(3 * ttl)
		for time.Now().Before(until) {
			r, err := s.Renew(ctx, a, ttl)
			if err != nil || r.Token != a.Token || r.Holder != "node-a" {
				t.Fatalf("renew: %+v, %v", r, err)
			}
			if _, err := s.Acquire(ctx, "outbox", "node-b", ttl); !errors.Is(err, lease.ErrHeld) {
				t.Fatalf("node-b acquired a renewed lease: %v", err)
			}
			time.Sleep(ttl / 10) // the renewal cadence, not a wait for a condition
		}
	})

	t.Run("takeover after expiry has a larger token", func(t *testing.T) {
		s := open(t)
		a, err := s.Acquire(ctx, "outbox", "node-a", short)
		if err != nil {
			t.Fatal(err)
		}
		b := waitAcquire(t, s, "outbox", "node-b", long, 10*short)
		if b.Token <= a.Token || b.Previous != "node-a" || b.Holder != "node-b" {
			t.Fatalf("takeover %+v after %+v: want a larger token and node-a as previous", b, a)
		}
		if _, err := s.Renew(ctx, a, long); !errors.Is(err, lease.ErrLost) {
			t.Fatalf("the old holder renewed after the takeover: %v", err)
		}
	})

	t.Run("release hands over at once", func(t *testing.T) {
		s := open(t)
		a, err := s.Acquire(ctx, "outbox", "node-a", long)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, a); err != nil {
			t.Fatal(err)
		}
		b, err := s.Acquire(ctx, "outbox", "node-b", long)
		if err != nil || b.Token <= a.Token || b.Previous != "node-a" {
			t.Fatalf("acquire after release: %+v, %v", b, err)
		}
		if _, err := s.Renew(ctx, a, long); !errors.Is(err, lease.ErrLost) {
			t.Fatalf("renew of a released lease: %v", err)
		}
		if err := s.Release(ctx, a); err != nil {
			t.Fatalf("a stale release: %v", err)
		}
		if held, _ := s.Leases(ctx); len(held) != 1 || held[0].Holder != "node-b" {
			t.Fatalf("a stale release touched the new holder's lease: %+v", held)
		}
	})

	t.Run("a stale holder's fenced write is refused", func(t *testing.T) {
		s := open(t)
		a, err := s.Acquire(ctx, "stream:hooks", "node-a", short)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCheckpoint(ctx, a, lease.Checkpoint{Name: "stream:hooks", Position: 10, Detail: "https://x"}); err != nil {
			t.Fatal(err)
		}
		b := waitAcquire(t, s, "stream:hooks", "node-b", long, 10*short)
		c, err := s.LoadCheckpoint(ctx, "stream:hooks")
		if err != nil || c.Position != 10 || c.Detail != "https://x" {
			t.Fatalf("the new holder reads %+v, %v; want position 10", c, err)
		}
		if err := s.SaveCheckpoint(ctx, b, lease.Checkpoint{Name: "stream:hooks", Position: 20}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCheckpoint(ctx, a, lease.Checkpoint{Name: "stream:hooks", Position: 11}); !errors.Is(err, lease.ErrFenced) {
			t.Fatalf("stale write: %v, want ErrFenced", err)
		}
		if c, _ := s.LoadCheckpoint(ctx, "stream:hooks"); c.Position != 20 {
			t.Fatalf("checkpoint %d after a refused stale write, want 20", c.Position)
		}
		if c, err := s.LoadCheckpoint(ctx, "never-written"); err != nil || c.Position != 0 {
			t.Fatalf("unwritten checkpoint: %+v, %v", c, err)
		}
	})

	t.Run("reset revokes the holder", func(t *testing.T) {
		s := open(t)
		a, err := s.Acquire(ctx, "stream:hooks", "node-a", long)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCheckpoint(ctx, a, lease.Checkpoint{Name: "stream:hooks", Position: 50}); err != nil {
			t.Fatal(err)
		}
		if err := s.ResetCheckpoint(ctx, "stream:hooks", lease.Checkpoint{Name: "stream:hooks", Position: 4}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCheckpoint(ctx, a, lease.Checkpoint{Name: "stream:hooks", Position: 51}); !errors.Is(err, lease.ErrFenced) {
			t.Fatalf("write after a reset: %v, want ErrFenced", err)
		}
		if _, err := s.Renew(ctx, a, long); !errors.Is(err, lease.ErrLost) {
			t.Fatalf("renew after a reset: %v, want ErrLost", err)
		}
		b, err := s.Acquire(ctx, "stream:hooks", "node-b", long)
		if err != nil || b.Token <= a.Token {
			t.Fatalf("acquire after a reset: %+v, %v", b, err)
		}
		if c, _ := s.LoadCheckpoint(ctx, "stream:hooks"); c.Position != 4 {
			t.Fatalf("checkpoint %d after reset, want 4", c.Position)
		}
	})

	t.Run("nodes", func(t *testing.T) {
		s := open(t)
		started := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
		for i, id := range []string{"node-a", "node-b"} {
			if err := s.Heartbeat(ctx, lease.Node{ID: id, StartedAt: started.Add(time.Duration(i) * time.Second), Version: "v1", Position: uint64(7 + i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Heartbeat(ctx, lease.Node{ID: "node-a", StartedAt: started, Version: "v1", Position: 9}); err != nil {
			t.Fatal(err)
		}
		nodes, err := s.Nodes(ctx, time.Minute)
		if err != nil || len(nodes) != 2 || nodes[0].ID != "node-b" || nodes[1].ID != "node-a" || nodes[1].Position != 9 || nodes[1].Version != "v1" {
			t.Fatalf("nodes %+v, %v", nodes, err)
		}
		if !nodes[1].StartedAt.Equal(started) || nodes[1].LastSeen.Before(nodes[1].StartedAt) {
			t.Fatalf("node-a times: %+v", nodes[1])
		}
	})
}

// waitAcquire tries to acquire until it succeeds (the holder's lease lapsed) or within
// ends.
func waitAcquire(t *testing.T, s lease.Store, name, holder string, ttl, within time.Duration) lease.Lease {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		l, err := s.Acquire(context.Background(), name, holder, ttl)
		if err == nil {
			return l
		}
		if !errors.Is(err, lease.ErrHeld) {
			t.Fatalf("acquire: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s could not acquire %s within %s: held by %+v", holder, name, within, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
