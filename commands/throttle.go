package commands

import (
	"context"
	"time"

	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
)

// Throttles is the write and check side of address throttles (credential stuffing). It is
// apart from Service so the login path can check an address with one cached load and
// without touching the account aggregates.
type Throttles struct {
	repo  *Repository[domain.AddressThrottle]
	clock Clock
	links *credentials.LinkKey
}

// NewThrottles builds the throttle repository on the log. Streams are named by the
// address's pseudonym under links (the service's link key), never by the address.
//
// Throttles written before that, under the address in clear (domain.LegacyAddressStream),
// are not read: a throttle ends by itself within the detector's throttle duration (minutes
// to hours), so at the upgrade an address loses at most the rest of one throttle, and the
// detector throttles it again on its next burst; reading the old name too would cost every
// sign-in a second stream read, forever, for that.
func NewThrottles(store eventstore.Store, clock Clock, links *credentials.LinkKey, opts ...RepositoryOption) *Throttles {
	return &Throttles{repo: NewRepository(store, domain.EvolveAddressThrottle, clock, opts...), clock: clock, links: links}
}

func (t *Throttles) stream(ip string) string {
	return domain.AddressStream(t.links.AddressPseudonym(domain.CanonicalIP(ip)))
}

// Throttle refuses an address until c.Until, decided under optimistic concurrency on the
// address's stream. m.CommandID must be deterministic for a detector (see projections/detectors).
func (t *Throttles) Throttle(ctx context.Context, m Meta, c domain.ThrottleAddress) (Result[domain.AddressThrottle], error) {
	return t.repo.Update(ctx, t.stream(c.IP), m.metadata(""), func(st domain.AddressThrottle, now time.Time) ([]domain.Event, error) {
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
	st, _, err := t.repo.Load(ctx, t.stream(ip))
	if err != nil {
		return 0, false, err
	}
	d, ok := st.ThrottledAt(t.clock().UTC())
	return d, ok, nil
}
