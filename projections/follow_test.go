package projections_test

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"accountd/eventstore/eventlog"
	"accountd/projections"
)

// flaky records every position it applies, once (its primary key refuses a second), and
// fails every batch until it is released.
type flaky struct{ released atomic.Bool }

func (*flaky) Name() string     { return "flaky" }
func (*flaky) Tables() []string { return []string{"flaky_applied"} }
func (*flaky) Schema() []string {
	return []string{`CREATE TABLE IF NOT EXISTS flaky_applied (position INTEGER PRIMARY KEY)`}
}
func (*flaky) Load(context.Context, *sql.DB) error { return nil }
func (f *flaky) Apply(ctx context.Context, tx *sql.Tx, events []eventlog.Decoded) (func(), error) {
	if !f.released.Load() {
		return nil, errors.New("flaky: not yet")
	}
	for _, e := range events {
		if _, err := tx.ExecContext(ctx, `INSERT INTO flaky_applied(position) VALUES(?)`, e.Recorded.Position); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// The projections share one reader of the log; one that keeps failing must not hold the
// others back, and once it works again it applies every event, none twice.
func TestAFailingProjectionDoesNotHoldTheOthersBack(t *testing.T) {
	f := newFixture(t)
	f.history(t)
	db := openReadDB(t)
	bad := &flaky{}
	r, err := projections.NewRunner(f.ctx, f.store, db, nil, bad, projections.NewStatus())
	if err != nil {
		t.Fatal(err)
	}
	running(t, f.ctx, r)
	head, err := f.store.HeadPosition(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	wait := func(name string) {
		t.Helper()
		wctx, stop := context.WithTimeout(f.ctx, 30*time.Second)
		defer stop()
		if err := r.WaitFor(wctx, name, head); err != nil {
			t.Fatal(err)
		}
	}
	wait(projections.StatusName)
	if got := r.Position("flaky"); got != 0 {
		t.Fatalf("the failing projection moved to %d", got)
	}
	bad.released.Store(true)
	wait("flaky")
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM flaky_applied`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if events, _ := f.store.ReadAll(f.ctx, 0, int(head)+1); n != len(events) {
		t.Fatalf("applied %d events of %d", n, len(events))
	}
}

// running runs r until the test ends, and returns the context it runs in.
func running(tb testing.TB, parent context.Context, r *projections.Runner) context.Context {
	ctx, cancel := context.WithCancel(parent)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	return ctx
}
