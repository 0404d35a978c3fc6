package projections_test

import (
	"path/filepath"
	"testing"

	"accountd/commands"
	"accountd/projections"
)

// Readiness: not ready until the projections reach the head the log had when first asked;
// once there, a lag within the ready lag (a busy log, a rebuild's swap) keeps them ready,
// a larger one does not.
func TestCaughtUpLatchesThenToleratesLag(t *testing.T) {
	f := newFixture(t)
	f.history(t)
	db, err := projections.OpenDB(filepath.Join(t.TempDir(), "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := projections.NewRunner(f.ctx, f.store, db, nil, projections.NewStatus())
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
