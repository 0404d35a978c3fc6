package commands

import (
	"context"
	"fmt"
	"sync"
	"time"

	"accountd/domain"
	"accountd/eventstore/eventlog"
)

// Look-alike addresses (UTS #39): a registration claims its address's confusable skeleton
// before it reserves the address, and is refused with email_confusable when another
// address holds that skeleton. Addresses reserved before skeletons were claimed get their
// claims from one scan of the log, the first time a registration needs them.

// skeletonIndex remembers, per process, that the log's older reservations have claims.
type skeletonIndex struct {
	mu   sync.Mutex
	done bool
	repo *Repository[domain.EmailSkeletonIndex]
}

// claimSkeleton claims the skeleton of canonical for accountID, or refuses a look-alike.
// The claims on the skeleton's legacy-named stream (before streams were named by
// pseudonym) count as well: they are read, never written.
func (s *Service) claimSkeleton(ctx context.Context, m Meta, canonical, accountID string) error {
	if err := s.indexSkeletons(ctx); err != nil {
		return err
	}
	legacy, _, err := s.lookalikes.Load(ctx, domain.LegacyEmailSkeletonStream(canonical))
	if err != nil {
		return err
	}
	_, err = s.lookalikes.Update(ctx, s.skeletonStream(canonical), m.metadata("skeleton"), func(st domain.EmailLookalikes, now time.Time) ([]domain.Event, error) {
		if st.Claimed(canonical) || legacy.Claimed(canonical) {
			return nil, nil // the address itself: taken or not, the reservation decides
		}
		for _, c := range append(append([]domain.SkeletonClaim(nil), st.Claims...), legacy.Claims...) {
			live, err := s.claimHolds(ctx, c, now)
			if err != nil {
				return nil, err
			}
			if live {
				return nil, &domain.Error{Code: domain.CodeEmailConfusable, Message: "e-mail not available: it looks like the address of an existing account"}
			}
		}
		return []domain.Event{{At: now, Data: domain.EmailSkeletonClaimed{Email: canonical, AccountID: accountID}}}, nil
	})
	return err
}

// skeletonStream names the skeleton stream of an address by the skeleton's keyed pseudonym.
func (s *Service) skeletonStream(canonical string) string {
	return domain.EmailSkeletonStream(s.links.SkeletonPseudonym(domain.EmailSkeleton(canonical)))
}

// claimHolds reports whether a claim still stands: its account exists, or it is young
// enough that its registration may still be writing it. A claim left by a registration
// that failed after claiming frees the skeleton as an orphaned reservation frees an address.
func (s *Service) claimHolds(ctx context.Context, c domain.SkeletonClaim, now time.Time) (bool, error) {
	a, err := s.LoadAccount(ctx, c.AccountID)
	switch {
	case err == nil:
		return !a.Erased, nil // an erased account's claim is released, or about to be
	case domain.ErrorCode(err) != domain.CodeAccountNotFound:
		return false, err
	}
	return now.Sub(c.At) < orphanedClaimAfter, nil
}

// indexSkeletons gives every reservation made before skeletons were claimed its claim, once
// per log: the completion is recorded in the log, so later processes only read that record.
// Every claim has an ID derived from its reservation event, so nodes indexing at the same
// time, or a scan interrupted and run again, write each claim once.
func (s *Service) indexSkeletons(ctx context.Context) error {
	ix := &s.skeletons
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.done {
		return nil
	}
	st, _, err := ix.repo.Load(ctx, domain.EmailSkeletonIndexStream)
	if err != nil {
		return wrap("index e-mail skeletons", err)
	}
	if st.Indexed {
		ix.done = true
		return nil
	}
	var through uint64
	claimed := 0
	const page = 1024
	for {
		recs, err := s.store.ReadAll(ctx, through, page)
		if err != nil {
			return wrap("index e-mail skeletons", err)
		}
		for _, rec := range recs {
			through = rec.Position
			if rec.Type != (domain.EmailReserved{}).EventType() {
				continue
			}
			dec, err := eventlog.Decode(rec)
			if err != nil {
				return wrap("index e-mail skeletons", err)
			}
			r := dec.Event.Data.(domain.EmailReserved)
			canonical, err := domain.CanonicalEmail(r.Email)
			if err != nil {
				continue // an address no registration would accept now can be mistaken for none
			}
			res, err := s.lookalikes.Update(ctx, s.skeletonStream(canonical), domain.Metadata{CommandID: "skeleton-index:" + rec.ID.String()},
				func(st domain.EmailLookalikes, now time.Time) ([]domain.Event, error) {
					if st.Claimed(canonical) {
						return nil, nil
					}
					return []domain.Event{{At: dec.Event.At, Data: domain.EmailSkeletonClaimed{Email: canonical, AccountID: r.AccountID}}}, nil
				})
			if err != nil {
				return wrap("index e-mail skeletons", err)
			}
			claimed += len(res.Events)
		}
		if len(recs) < page {
			break
		}
	}
	_, err = ix.repo.Update(ctx, domain.EmailSkeletonIndexStream, domain.Metadata{CommandID: "skeleton-index"}, func(st domain.EmailSkeletonIndex, now time.Time) ([]domain.Event, error) {
		if st.Indexed {
			return nil, nil
		}
		return []domain.Event{{At: now, Data: domain.EmailSkeletonsIndexed{Through: through, Claimed: claimed}}}, nil
	})
	if err != nil {
		return fmt.Errorf("commands: index e-mail skeletons: %w", err)
	}
	ix.done = true
	return nil
}
