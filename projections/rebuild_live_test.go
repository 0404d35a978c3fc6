package projections_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/projections"
	"accountd/projections/compliance"
)

// liveRunner is a runner following the log in the background, as the server runs it.
func liveRunner(t *testing.T, f *fixture, path string) (*projections.Runner, *projections.Status) {
	t.Helper()
	db, err := projections.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := projections.NewStatus()
	r, err := projections.NewRunner(f.ctx, f.store, db, nil, st, compliance.New())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r, st
}

func waitHead(t *testing.T, f *fixture, r *projections.Runner, names ...string) uint64 {
	t.Helper()
	head, err := f.store.HeadPosition(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := r.WaitFor(f.ctx, n, head); err != nil {
			t.Fatal(err)
		}
	}
	return head
}

// Six wrong passwords, a lock, a suspension; a bad release then lost one account's rows from
// the read models (the server, restarted on them, no longer knows the account). A rebuild
// while sign-ins keep arriving repairs it: the server's status instance keeps answering
// throughout, afterwards it and the tables equal a database built from scratch at the same
// head, and the live projections carry on from the rebuilt checkpoint without missing the
// sign-ins made during the rebuild.
func TestRunnerRebuildWhileServing(t *testing.T) {
	dir := t.TempDir()
	f, _ := sqliteFixture(t, dir)
	ids := f.history(t)
	path := filepath.Join(dir, "readmodels.db")
	damage(t, f, path, ids[0])
	r, st := liveRunner(t, f, path)
	waitHead(t, f, r, projections.StatusName, compliance.Name)
	if _, ok := st.AccountStatus(ids[0], f.now, f.svc.Policy()); ok {
		t.Fatal("the damaged read model still knows the account: the test proves nothing")
	}

	// Sign-ins during the rebuild, on accounts whose status they change (failure counts).
	stop := make(chan struct{})
	var signIns sync.WaitGroup
	var attempts atomic.Int64
	signIns.Add(1)
	go func() {
		defer signIns.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := f.svc.Login(f.ctx, commands.Meta{}, commands.LoginAttempt{Email: "staff2@lac.example", Password: "wrong"}); err != nil {
				t.Error(err)
				return
			}
			if _, err := f.svc.Login(f.ctx, commands.Meta{}, commands.LoginAttempt{Email: "staff3@lac.example", Password: "Correct horse battery 42"}); err != nil {
				t.Error(err)
				return
			}
			attempts.Add(2)
		}
	}()

	var phases []projections.RebuildPhase
	var answeredDuring, refusedSecond bool
	progress := func(p projections.RebuildProgress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
		if p.Phase == projections.PhaseReplay {
			if v, ok := st.AccountStatus(ids[1], f.now, f.svc.Policy()); ok && v.AccountID == ids[1] {
				answeredDuring = true
			}
			_, err := r.Rebuild(f.ctx, path+".second", projections.RebuildOptions{}, projections.NewStatus())
			refusedSecond = errors.Is(err, projections.ErrRebuildRunning)
		}
	}
	res, err := r.Rebuild(f.ctx, path+projections.ScratchSuffix, projections.RebuildOptions{Progress: progress}, projections.NewStatus(), compliance.New())
	if err != nil {
		t.Fatal(err)
	}
	close(stop)
	signIns.Wait()
	if attempts.Load() == 0 {
		t.Fatal("no sign-in ran during the rebuild")
	}
	if !answeredDuring || !refusedSecond {
		t.Errorf("during the rebuild: status answered %v, second rebuild refused %v", answeredDuring, refusedSecond)
	}
	if want := []projections.RebuildPhase{projections.PhaseReplay, projections.PhaseCatchUp, projections.PhaseSwap}; !reflect.DeepEqual(phases, want) {
		t.Errorf("phases %v, want %v", phases, want)
	}
	if res.Head == 0 || res.Paused <= 0 || res.Paused > res.Elapsed {
		t.Errorf("result %+v", res)
	}
	for _, side := range []string{path + projections.ScratchSuffix, path + projections.ScratchSuffix + "-wal", path + ".second"} {
		if _, err := os.Stat(side); err == nil {
			t.Errorf("%s left behind", side)
		}
	}
	head := waitHead(t, f, r, projections.StatusName, compliance.Name)

	// The reference: the same projections built from nothing at the same head.
	refDB, err := projections.OpenDB(filepath.Join(dir, "reference.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer refDB.Close()
	ref := projections.NewStatus()
	rr, err := projections.NewRunner(f.ctx, f.store, refDB, nil, ref, compliance.New())
	if err != nil {
		t.Fatal(err)
	}
	if err := rr.CatchUp(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.HeadPosition(f.ctx); got != head {
		t.Fatalf("log moved after the sign-ins stopped: %d, then %d", head, got)
	}
	if got, want := views(st, ids, f.now), views(ref, ids, f.now); !reflect.DeepEqual(got, want) {
		t.Fatalf("the server's status instance after the rebuild:\n%+v\nfrom scratch:\n%+v", got, want)
	}
	liveDB, err := projections.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer liveDB.Close()
	if got, want := dumpAll(t, liveDB), dumpAll(t, refDB); got != want {
		t.Fatalf("rebuilt rows differ from a database built from scratch:\n%s\n---\n%s", got, want)
	}
}

// damage builds the read models at path and deletes an account's rows from them, as a buggy
// projection might have.
func damage(t *testing.T, f *fixture, path, accountID string) {
	t.Helper()
	db, err := projections.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := projections.NewRunner(f.ctx, f.store, db, nil, projections.NewStatus(), compliance.New())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(f.ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM status_accounts WHERE account_id = ?`, `DELETE FROM compliance_accounts WHERE account_id = ?`, `DELETE FROM compliance_access WHERE account_id = ?`} {
		if res, err := db.Exec(q, accountID); err != nil {
			t.Fatal(err)
		} else if n, _ := res.RowsAffected(); n == 0 {
			t.Fatalf("%s: nothing to damage", q)
		}
	}
}

// A rebuild that fails or is cancelled before its swap leaves the live projections exactly
// as they were, following the log, and removes its scratch file.
func TestRunnerRebuildFailureLeavesLiveModels(t *testing.T) {
	dir := t.TempDir()
	f, _ := sqliteFixture(t, dir)
	ids := f.history(t)
	path := filepath.Join(dir, "readmodels.db")
	r, st := liveRunner(t, f, path)
	waitHead(t, f, r, projections.StatusName)
	before := views(st, ids, f.now)

	if _, err := r.Rebuild(f.ctx, path+projections.ScratchSuffix, projections.RebuildOptions{}, projections.NewStatus(), projections.NewStatus()); err == nil {
		t.Error("a projection given twice was accepted")
	}
	cancelled, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := r.Rebuild(cancelled, path+projections.ScratchSuffix, projections.RebuildOptions{}, projections.NewStatus()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled rebuild: %v", err)
	}
	if _, err := os.Stat(path + projections.ScratchSuffix); err == nil {
		t.Error("the scratch file of the cancelled rebuild was left behind")
	}
	if got := views(st, ids, f.now); !reflect.DeepEqual(got, before) {
		t.Fatalf("a failed rebuild changed the answers:\n%+v\n%+v", before, got)
	}
	// Still following: a new lockout shows.
	for range 6 {
		if _, err := f.svc.Login(f.ctx, commands.Meta{}, commands.LoginAttempt{Email: "staff4@lac.example", Password: "wrong"}); err != nil {
			t.Fatal(err)
		}
	}
	waitHead(t, f, r, projections.StatusName)
	if v, _ := st.AccountStatus(ids[4], f.now, f.svc.Policy()); v.Status.FailedAttempts != 6 || !slices.ContainsFunc(v.Status.Reasons, func(r domain.Reason) bool { return r.Code == "account_locked" }) {
		t.Fatalf("after six wrong passwords the live status still says %+v", v)
	}
}

// MaxRate holds the replay back: at one event per second a log of dozens of events cannot
// be replayed within a short deadline, and the live projections are untouched by the
// abandoned rebuild. (Behaviour, not timing: the bound is two orders of magnitude away.)
func TestRebuildMaxRateHoldsTheReplayBack(t *testing.T) {
	dir := t.TempDir()
	f, _ := sqliteFixture(t, dir)
	ids := f.history(t)
	path := filepath.Join(dir, "readmodels.db")
	r, st := liveRunner(t, f, path)
	waitHead(t, f, r, projections.StatusName)
	before := views(st, ids, f.now)
	ctx, cancel := context.WithTimeout(f.ctx, 300*time.Millisecond)
	defer cancel()
	_, err := r.Rebuild(ctx, path+projections.ScratchSuffix, projections.RebuildOptions{MaxRate: 1}, projections.NewStatus())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a rebuild bounded to 1 event/s over %d events: %v, want the deadline", len(ids), err)
	}
	if got := views(st, ids, f.now); !reflect.DeepEqual(got, before) {
		t.Fatal("the abandoned rebuild changed the answers")
	}
	if _, err := r.Rebuild(f.ctx, path+projections.ScratchSuffix, projections.RebuildOptions{MaxRate: 1_000_000}, projections.NewStatus()); err != nil {
		t.Fatalf("a generous bound: %v", err)
	}
}
