package transparency

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"accountd/eventstore"
)

// Monitor follows a live log and audits every new event against the stored tree (an
// Auditor that never stops). Once it finds a mismatch it stays broken: the server then
// refuses compliance answers and reports itself not ready until someone looks.
type Monitor struct {
	mu       sync.Mutex
	auditor  *Auditor
	verified int64
	broken   error
	pending  []Checkpoint // signed checkpoints not yet reached, smallest first
}

// NewMonitor audits s from the start of the log, checking on its way the root of every
// given checkpoint (those the server signed): so a changed event, a changed tree hash, a
// stored tree rebuilt around a changed event, and a log cut below a signed checkpoint are
// all found, the last at once.
func NewMonitor(ctx context.Context, s eventstore.Store, checkpoints []Checkpoint) (*Monitor, error) {
	a, err := NewAuditor(s)
	if err != nil {
		return nil, err
	}
	m := &Monitor{auditor: a, pending: slices.SortedFunc(slices.Values(checkpoints), func(x, y Checkpoint) int { return cmp.Compare(x.Size, y.Size) })}
	if n := len(m.pending); n > 0 {
		head, err := s.HeadPosition(ctx)
		if err != nil {
			return nil, err
		}
		if last := m.pending[n-1]; int64(head) < last.Size {
			m.broken = &eventstore.TreeMismatchError{Position: head + 1,
				Reason: fmt.Sprintf("the log ends at position %d, a signed checkpoint covers %d events: it was truncated", head, last.Size)}
		}
	}
	return m, nil
}

// Check audits up to the head and returns the first mismatch ever found (nil while the
// log is intact). Errors reading the log are returned without marking it broken.
func (m *Monitor) Check(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.broken != nil {
		return m.broken
	}
	var err error
	for len(m.pending) > 0 && err == nil {
		if m.pending[0].Size >= m.auditor.Size() {
			err = m.auditor.Check(ctx, m.pending[0])
		}
		if err == nil {
			m.pending = m.pending[1:]
		}
	}
	if err == nil {
		err = m.auditor.Advance(ctx, -1)
	}
	m.verified = m.auditor.Size()
	if errors.Is(err, eventstore.ErrTreeMismatch) {
		m.broken = err
	}
	return err
}

// Verified is how many events are verified.
func (m *Monitor) Verified() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.verified
}

// Broken is the mismatch found, or nil.
func (m *Monitor) Broken() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.broken
}

// Follow checks after every change of the store until ctx ends, calling report after each
// check with the verified size and the mismatch, if any.
func (m *Monitor) Follow(ctx context.Context, s eventstore.Store, report func(verified int64, broken error)) {
	changes, stop := s.Changes()
	defer stop()
	for {
		err := m.Check(ctx)
		if report != nil && (err == nil || errors.Is(err, eventstore.ErrTreeMismatch)) {
			report(m.Verified(), m.Broken())
		}
		select {
		case <-ctx.Done():
			return
		case <-changes:
		}
	}
}
