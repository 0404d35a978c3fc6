package commands

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/google/uuid"

	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/eventlog"
)

// ChangePolicy validates p and records it as the policy in force from the clock's now.
// It writes nothing when p is already the current policy, so a server restarting with the
// same configuration does not fill the log with identical changes. The append expects the
// revision it read, so two concurrent changes cannot both claim to follow the same policy.
func ChangePolicy(ctx context.Context, store eventstore.Store, clock Clock, p domain.Policy, actor domain.Actor) (changed bool, err error) {
	if err := p.Validate(); err != nil {
		return false, err
	}
	if actor.Kind == "" {
		return false, &domain.Error{Code: domain.CodeInvalidCommand, Message: "a policy change names its actor"}
	}
	for attempt := 0; attempt < 8; attempt++ {
		h, err := eventlog.LoadPolicyHistory(ctx, store)
		if err != nil {
			return false, err
		}
		if h.Recorded() && reflect.DeepEqual(h.Current(), p) {
			return false, nil
		}
		expected := h.Expected()
		meta := domain.Metadata{CommandID: "policy-change/" + uuid.NewString()}
		data, err := eventlog.Encode(domain.PolicyStream, meta, []domain.Event{{At: clock().UTC(), Data: domain.PolicyChanged{Policy: p, Actor: actor}}})
		if err != nil {
			return false, err
		}
		_, err = store.Append(ctx, domain.PolicyStream, expected, data...)
		if errors.Is(err, eventstore.ErrWrongExpectedVersion) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("commands: append policy change: %w", err)
		}
		return true, nil
	}
	return false, fmt.Errorf("%w: %s", ErrTooManyConflicts, domain.PolicyStream)
}
