package commands

import (
	"context"
	"slices"
	"strings"
	"time"

	"accountd/domain"
	"accountd/eventstore"
)

// PropertyDetections records detections about a property (password spraying) on the
// property's detection stream.
type PropertyDetections struct {
	repo *Repository[propertyDetections]
}

// propertyDetections remembers which triggering events were already recorded, so a replay
// whose command ID has left the repository's recent-command memory still writes nothing.
type propertyDetections struct {
	seen map[string]bool
}

func evolvePropertyDetections(s propertyDetections, e domain.Event) propertyDetections {
	if d, ok := e.Data.(domain.PropertyAttackDetected); ok && len(d.Evidence.EventIDs) > 0 {
		if s.seen == nil {
			s.seen = map[string]bool{}
		} else {
			s.seen = maps(s.seen)
		}
		s.seen[d.Rule+"/"+d.Evidence.EventIDs[len(d.Evidence.EventIDs)-1]] = true
	}
	return s
}

func maps(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// NewPropertyDetections builds the repository.
func NewPropertyDetections(store eventstore.Store, clock Clock, opts ...RepositoryOption) *PropertyDetections {
	return &PropertyDetections{repo: NewRepository(store, evolvePropertyDetections, clock, opts...)}
}

// Record appends one property detection for review.
func (p *PropertyDetections) Record(ctx context.Context, m Meta, d domain.PropertyAttackDetected) error {
	if strings.TrimSpace(d.PropertyID) == "" || strings.TrimSpace(d.Rule) == "" || len(d.Evidence.EventIDs) == 0 {
		return &domain.Error{Code: domain.CodeInvalidCommand, Message: "a property detection names its property, rule and triggering events"}
	}
	if d.Action == "" {
		d.Action = domain.ActionRecordedForReview
	}
	d.Accounts = slices.Clone(d.Accounts)
	_, err := p.repo.Update(ctx, domain.PropertyDetectionStream(d.PropertyID), m.metadata(""), func(st propertyDetections, now time.Time) ([]domain.Event, error) {
		if st.seen[d.Rule+"/"+d.Evidence.EventIDs[len(d.Evidence.EventIDs)-1]] {
			return nil, nil
		}
		return []domain.Event{{At: now, Data: d}}, nil
	})
	return err
}

// DetectionActions is the command side as the detectors act through it (their port,
// detectors.Actions). Service is looked up at each action because the server builds the
// detectors, with their runner, before the service.
type DetectionActions struct {
	Service    func() *Service
	Throttles  *Throttles
	Properties *PropertyDetections
}

// metaOf is the command metadata of a detection: its deterministic ID and the triggering event.
func metaOf(cause domain.Metadata) Meta {
	return Meta{CommandID: cause.CommandID, CorrelationID: cause.CorrelationID}
}

// RecordSuspiciousActivity records a detection on an account, disabling it when asked.
func (a DetectionActions) RecordSuspiciousActivity(ctx context.Context, cause domain.Metadata, accountID, rule string, evidence domain.Evidence, disable bool) error {
	_, err := a.Service().RecordSuspiciousActivity(ctx, metaOf(cause), accountID, rule, evidence, disable)
	return err
}

// ThrottleAddress slows sign-ins from an address.
func (a DetectionActions) ThrottleAddress(ctx context.Context, cause domain.Metadata, c domain.ThrottleAddress) error {
	_, err := a.Throttles.Throttle(ctx, metaOf(cause), c)
	return err
}

// RecordPropertyAttack records a detection about a property for review.
func (a DetectionActions) RecordPropertyAttack(ctx context.Context, cause domain.Metadata, d domain.PropertyAttackDetected) error {
	return a.Properties.Record(ctx, metaOf(cause), d)
}
