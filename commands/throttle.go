package commands

import (
	"context"
	"time"

	"accountd/domain"
	"accountd/eventstore"
)

// Throttles is the write and check side of address throttles (credential stuffing). It is
// apart from Service so the login path can check an address with one cached load and
// without touching the account aggregates.
type Throttles struct {
	repo  *Repository[domain.AddressThrottle]
	clock Clock
}

// NewThrottles builds the throttle repository on the log.
func NewThrottles(store eventstore.Store, clock Clock, opts ...RepositoryOption) *Throttles {
	return &Throttles{repo: NewRepository(store, domain.EvolveAddressThrottle, clock, opts...), clock: clock}
}

// Throttle refuses an address until c.Until, decided under optimistic concurrency on the
// address's stream. m.CommandID must be deterministic for a detector (see projections/detectors).
func (t *Throttles) Throttle(ctx context.Context, m Meta, c domain.ThrottleAddress) (Result[domain.AddressThrottle], error) {
	return t.repo.Update(ctx, domain.AddressStream(c.IP), m.metadata(""), func(st domain.AddressThrottle, now time.Time) ([]domain.Event, error) {
		return domain.DecideThrottle(st, c, now)
	})
}

// RetryAfter reports whether ip is throttled at the clock's now, and for how long still.
// The repository caches the fold and reads only the tail, so an unthrottled address costs one
// indexed read of an empty stream.
func (t *Throttles) RetryAfter(ctx context.Context, ip string) (time.Duration, bool, error) {
	if ip == "" {
		return 0, false, nil
	}
	st, _, err := t.repo.Load(ctx, domain.AddressStream(ip))
	if err != nil {
		return 0, false, err
	}
	d, ok := st.ThrottledAt(t.clock().UTC())
	return d, ok, nil
}
