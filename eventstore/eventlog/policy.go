package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"accountd/domain"
	"accountd/eventstore"
)

// PolicyVersion is one policy as it was in force from a moment on.
type PolicyVersion struct {
	From     time.Time      `json:"from"`
	Policy   domain.Policy  `json:"policy"`
	Actor    domain.Actor   `json:"actor"`
	Position uint64         `json:"position"`
	Revision uint64         `json:"revision"`
	Summary  PolicyEvidence `json:"pci"`
}

// PolicyEvidence names the thresholds PCI DSS asks the evidence to state, so an auditor
// does not have to map setting names to requirements.
type PolicyEvidence struct {
	LockoutThreshold8_3_4     int    `json:"pci_8_3_4_lockout_threshold"`
	MinLength8_3_6            int    `json:"pci_8_3_6_min_length"`
	HistoryDepth8_3_7         int    `json:"pci_8_3_7_history_depth"`
	MaxPasswordAge8_3_9       string `json:"pci_8_3_9_max_password_age"`
	InactivityDisableAfter826 string `json:"pci_8_2_6_inactivity_disable_after"`
}

func evidenceOf(p domain.Policy) PolicyEvidence {
	return PolicyEvidence{
		LockoutThreshold8_3_4: p.LockoutThreshold, MinLength8_3_6: p.PasswordMinLength, HistoryDepth8_3_7: p.PasswordHistoryDepth,
		MaxPasswordAge8_3_9: p.PasswordMaxAge.String(), InactivityDisableAfter826: p.InactivityDisableAfter.String(),
	}
}

// PolicyHistory is the fold of the policy stream. Both sides read it: the write side
// decides under the current policy and appends changes after the revision it read, the
// read side judges evidence under the policy in force at each moment. Before the first
// PolicyChanged the default policy is taken to have been in force: that is what a server
// without a recorded policy ran with.
type PolicyHistory struct {
	mu       sync.RWMutex
	versions []PolicyVersion // oldest first
	next     uint64          // next stream revision to read
}

// LoadPolicyHistory reads the whole policy stream.
func LoadPolicyHistory(ctx context.Context, store eventstore.Store) (*PolicyHistory, error) {
	h := &PolicyHistory{}
	return h, h.Refresh(ctx, store)
}

// Refresh reads what was appended to the policy stream since the last read.
func (h *PolicyHistory) Refresh(ctx context.Context, store eventstore.Store) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		recs, err := store.ReadStream(ctx, domain.PolicyStream, h.next, 256)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("eventlog: read policy stream: %w", err)
		}
		if err := h.fold(recs); err != nil {
			return err
		}
		if len(recs) < 256 {
			return nil
		}
	}
}

// PolicyHistoryOf folds policy-stream events already in hand, in revision order: how an
// evidence bundle's verifier rebuilds the policies in force from the events it carries,
// with the same fold the server uses.
func PolicyHistoryOf(recs []eventstore.RecordedEvent) (*PolicyHistory, error) {
	h := &PolicyHistory{}
	return h, h.fold(recs)
}

func (h *PolicyHistory) fold(recs []eventstore.RecordedEvent) error {
	for _, rec := range recs {
		d, err := Decode(rec)
		if err != nil {
			return fmt.Errorf("eventlog: %w", err)
		}
		h.next = rec.Revision + 1
		pc, ok := d.Event.Data.(domain.PolicyChanged)
		if !ok {
			continue
		}
		h.versions = append(h.versions, PolicyVersion{From: d.Event.At, Policy: pc.Policy, Actor: pc.Actor,
			Position: rec.Position, Revision: rec.Revision, Summary: evidenceOf(pc.Policy)})
	}
	return nil
}

// Current is the latest recorded policy, or the default when none was recorded.
func (h *PolicyHistory) Current() domain.Policy {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.versions) == 0 {
		return domain.DefaultPolicy()
	}
	return h.versions[len(h.versions)-1].Policy
}

// Recorded reports whether any policy was recorded in the log.
func (h *PolicyHistory) Recorded() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.versions) > 0
}

// At is the policy in force at t: the last one recorded at or before t.
func (h *PolicyHistory) At(t time.Time) domain.Policy {
	h.mu.RLock()
	defer h.mu.RUnlock()
	i := sort.Search(len(h.versions), func(i int) bool { return h.versions[i].From.After(t) })
	if i == 0 {
		return domain.DefaultPolicy()
	}
	return h.versions[i-1].Policy
}

// Versions lists every recorded policy, oldest first.
func (h *PolicyHistory) Versions() []PolicyVersion {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return append([]PolicyVersion(nil), h.versions...)
}

// InForce lists the policies that applied during [from, to]: the one in force at from
// (the default when nothing was recorded yet, shown with a zero position) and every change
// up to to.
func (h *PolicyHistory) InForce(from, to time.Time) []PolicyVersion {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []PolicyVersion
	i := sort.Search(len(h.versions), func(i int) bool { return h.versions[i].From.After(from) })
	if i == 0 {
		p := domain.DefaultPolicy()
		out = append(out, PolicyVersion{Policy: p, Actor: domain.Actor{Kind: domain.ActorSystem, Note: "default policy: none recorded yet"}, Summary: evidenceOf(p)})
	} else {
		out = append(out, h.versions[i-1])
	}
	for ; i < len(h.versions) && !h.versions[i].From.After(to); i++ {
		out = append(out, h.versions[i])
	}
	return out
}

// Expected is the revision an append to the policy stream must expect to follow what this
// history has read.
func (h *PolicyHistory) Expected() eventstore.ExpectedRevision {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.next == 0 {
		return eventstore.NoStream
	}
	return eventstore.Exact(h.next - 1)
}
