package projections_test

import (
	"context"
	"testing"

	"accountd/commands"
	"accountd/eventstore"
	"accountd/projections"
)

// spaced shows a gapless log with positions 1000 apart and declares no feature, as
// KurrentDB's byte-offset positions are: lag must still be counted in events.
type spaced struct{ eventstore.Store }

const spacing = 1000

func (s spaced) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.RecordedEvent, error) {
	recs, err := s.Store.ReadAll(ctx, after/spacing, limit)
	for i := range recs {
		recs[i].Position *= spacing
	}
	return recs, err
}

func (s spaced) HeadPosition(ctx context.Context) (uint64, error) {
	h, err := s.Store.HeadPosition(ctx)
	return h * spacing, err
}

// Readiness: not ready until the projections reach the head the log had when first asked;
// once there, a lag within the ready lag (a busy log, a rebuild's swap) keeps them ready,
// a larger one does not.
func TestCaughtUpLatchesThenToleratesLag(t *testing.T) {
	logs := []struct {
		name string
		view func(eventstore.Store) eventstore.Store
	}{
		{"gapless positions", func(s eventstore.Store) eventstore.Store { return s }},
		{"positions as byte offsets", func(s eventstore.Store) eventstore.Store { return spaced{s} }},
	}
	for _, l := range logs {
		t.Run(l.name, func(t *testing.T) { testCaughtUpLatchesThenToleratesLag(t, l.view) })
	}
}

func testCaughtUpLatchesThenToleratesLag(t *testing.T, view func(eventstore.Store) eventstore.Store) {
	f := newFixture(t)
	f.history(t)
	db := openReadDB(t)
	r, err := projections.NewRunner(f.ctx, view(f.store), db, nil, projections.NewStatus())
	if err != nil {
		t.Fatal(err)
	}
	r.SetReadyLag(3)
	ready := func() bool {
		t.Helper()
		ok, err := r.CaughtUp(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	wrong := func(n int) {
		t.Helper()
		for range n {
			if _, err := f.svc.Login(f.ctx, commands.Meta{}, commands.LoginAttempt{Email: "staff3@lac.example", Password: "wrong"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ready() {
		t.Fatal("ready before applying anything")
	}
	if err := r.CatchUp(f.ctx); err != nil {
		t.Fatal(err)
	}
	if !ready() {
		t.Fatal("not ready after catching up")
	}
	wrong(2) // two events behind: within the lag of 3
	if !ready() {
		t.Fatal("a lag of 2 events took readiness away")
	}
	wrong(2) // four behind
	if ready() {
		t.Fatal("still ready 4 events behind with a ready lag of 3")
	}
}
