package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"
)

// Defaults of an Elector: a dead holder's work moves within TTL + Renew (13 s).
const (
	DefaultTTL   = 10 * time.Second
	DefaultRenew = 3 * time.Second
)

// Elector runs singleton work on this node only while the node holds the work's lease.
type Elector struct {
	Store Store
	// Holder names this node in the lease table (unique per process).
	Holder string
	// TTL is how long a lease lasts without renewal; Renew how often the holder renews it
	// and the others try to take it. Renew must be at most TTL/3, so that at least two
	// renewals can fail before the holder gives up.
	TTL, Renew time.Duration
	Logger     *slog.Logger
	// Quiet logs acquisitions that are not takeovers at debug level (one node, where every
	// start acquires everything).
	Quiet bool

	mu        sync.Mutex
	held      map[string]Lease
	acquired  map[string]uint64
	takeovers map[string]uint64
	lost      map[string]uint64
}

// Validate checks the timings (zero values take the defaults).
func (e *Elector) Validate() error {
	ttl, renew := e.timings()
	if renew <= 0 || ttl <= 0 || renew*3 > ttl {
		return fmt.Errorf("lease: renew interval %s must be at most a third of the TTL %s", renew, ttl)
	}
	return nil
}

func (e *Elector) timings() (ttl, renew time.Duration) {
	ttl, renew = e.TTL, e.Renew
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if renew == 0 {
		renew = DefaultRenew
	}
	return ttl, renew
}

// FailoverBound is the longest a dead holder's work waits for another node: its lease
// lapses after TTL, and the others try every Renew.
func (e *Elector) FailoverBound() time.Duration {
	ttl, renew := e.timings()
	return ttl + renew
}

func (e *Elector) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// Held is the leases this node holds now, by work.
func (e *Elector) Held() map[string]Lease {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.held)
}

// Counts are how often each work's lease was acquired by this node, taken over from
// another node, and lost (taken away or not renewed in time), since start.
func (e *Elector) Counts() (acquired, takeovers, lost map[string]uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.acquired), maps.Clone(e.takeovers), maps.Clone(e.lost)
}

func (e *Elector) note(name string, l *Lease, takeover, lost bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.held == nil {
		e.held, e.acquired, e.takeovers, e.lost = map[string]Lease{}, map[string]uint64{}, map[string]uint64{}, map[string]uint64{}
	}
	switch {
	case l == nil:
		delete(e.held, name)
		if lost {
			e.lost[name]++
		}
	default:
		if _, had := e.held[name]; !had {
			e.acquired[name]++
			if takeover {
				e.takeovers[name]++
			}
		}
		e.held[name] = *l
	}
}

// Run competes for the lease name until ctx ends, and runs work while it holds it: work's
// context carries the lease (FromContext) and is cancelled when the lease is lost or not
// renewed within TTL minus Renew, and Run waits for work to return before competing again,
// so work never runs here once another node may have taken it. Run returns ctx's error.
func (e *Elector) Run(ctx context.Context, name string, work func(context.Context) error) error {
	ttl, renew := e.timings()
	log := e.logger().With("work", name, "node", e.Holder)
	wait := func() bool {
		t := time.NewTimer(renew)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	unreachable := false
	for ctx.Err() == nil {
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, ttl-renew)
		l, err := e.Store.Acquire(actx, name, e.Holder, ttl)
		cancel()
		if err != nil {
			if !errors.Is(err, ErrHeld) && ctx.Err() == nil && !unreachable {
				log.Warn("lease: cannot reach the lease table; retrying", "error", err)
				unreachable = true
			}
			if !wait() {
				break
			}
			continue
		}
		unreachable = false
		takeover := l.Previous != "" && l.Previous != e.Holder
		if takeover {
			log.Info("lease: took over singleton work", "from", l.Previous, "to", e.Holder, "token", l.Token)
		} else if e.Quiet {
			log.Debug("lease: acquired singleton work", "token", l.Token)
		} else {
			log.Info("lease: acquired singleton work", "token", l.Token)
		}
		e.note(name, &l, takeover, false)
		err = e.hold(ctx, log, l, start, ttl, renew, work)
		if ctx.Err() != nil {
			break
		}
		if err != nil && !errors.Is(err, ErrLost) {
			log.Error("lease: singleton work stopped; lease released", "error", err)
		}
		if !wait() {
			break
		}
	}
	return ctx.Err()
}

// hold runs work under l, renewing l, until ctx ends, l is lost or work returns.
func (e *Elector) hold(ctx context.Context, log *slog.Logger, l Lease, start time.Time, ttl, renew time.Duration, work func(context.Context) error) error {
	wctx, stop := context.WithCancel(NewContext(ctx, l))
	done := make(chan error, 1)
	go func() { done <- work(wctx) }()
	// The lease lapses ttl after the store stamped it, which is after start: stopping at
	// start + ttl - renew leaves the work renew to wind down before anyone may take over.
	deadline := start.Add(ttl - renew)
	giveUp := time.NewTimer(time.Until(deadline))
	defer giveUp.Stop()
	tick := time.NewTicker(renew)
	defer tick.Stop()
	end := func(cause error, lost bool) error {
		stop()
		werr := <-done
		if !lost {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renew)
			if err := e.Store.Release(rctx, l); err != nil {
				log.Warn("lease: release failed; it lapses on its own", "error", err)
			}
			cancel()
		}
		e.note(l.Name, nil, false, lost)
		if cause == nil {
			return werr
		}
		return cause
	}
	for {
		select {
		case err := <-done:
			done <- err
			return end(err, false)
		case <-ctx.Done():
			return end(nil, false)
		case <-giveUp.C:
			log.Warn("lease: not renewed in time; stopping the work before another node may take it", "ttl", ttl)
			return end(ErrLost, true)
		case <-tick.C:
			at := time.Now()
			rctx, cancel := context.WithDeadline(ctx, deadline)
			nl, err := e.Store.Renew(rctx, l, ttl)
			cancel()
			switch {
			case err == nil:
				nl.Previous = l.Previous
				l = nl
				e.note(l.Name, &l, false, false)
				deadline = at.Add(ttl - renew)
				giveUp.Reset(time.Until(deadline))
			case errors.Is(err, ErrLost):
				log.Warn("lease: lost singleton work to another node; stopping it")
				return end(ErrLost, true)
			case ctx.Err() == nil:
				log.Warn("lease: renewal failed; retrying", "error", err, "stop_in", time.Until(deadline).Round(time.Millisecond))
			}
		}
	}
}
