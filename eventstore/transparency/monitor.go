package transparency

import (
	"context"
	"errors"
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
}

// NewMonitor audits s from the start of the log, or, when from is given, from that
// checkpoint (the latest one the server signed: its root is checked against the stored
// tree, and the events before it are trusted because that root is signed).
func NewMonitor(ctx context.Context, s eventstore.Store, from *Checkpoint) (*Monitor, error) {
	a, err := NewAuditor(s)
	if err != nil {
		return nil, err
	}
	m := &Monitor{auditor: a}
	if from != nil {
		if err := a.ResumeAt(ctx, *from); err != nil {
			if !errors.Is(err, eventstore.ErrTreeMismatch) {
				return nil, err
			}
			m.broken = err
		}
		m.verified = a.Size()
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
	err := m.auditor.Advance(ctx, -1)
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
