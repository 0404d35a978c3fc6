package projections_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/domain/credentials"
	"accountd/eventstore"
	"accountd/eventstore/memory"
	"accountd/projections"
)

type fixture struct {
	ctx   context.Context
	store eventstore.Store
	svc   *commands.Service
	now   time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{ctx: context.Background(), store: memory.New(), now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	h, err := credentials.NewHasher(credentials.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	mfa, _ := credentials.NewMFA(key, "test")
	pol := domain.DefaultPolicy()
	pol.MFARequired = false
	links, _ := credentials.NewLinkKey(key)
	f.svc, err = commands.NewService(commands.Config{Store: f.store, Clock: func() time.Time { return f.now }, Policy: func() domain.Policy { return pol }, Hasher: h, MFA: mfa, Links: links})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// history writes a small but varied log: a property, accounts, a lockout, a billing suspension.
func (f *fixture) history(t testing.TB) []string {
	t.Helper()
	m := commands.Meta{}
	if _, err := f.svc.Property(f.ctx, m, "lac", domain.CreateProperty{PropertyID: "lac", Name: "Hôtel du Lac", PrimaryContactEmail: "direction@lac.example"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		reg, err := f.svc.Register(f.ctx, m, commands.Registration{Email: fmt.Sprintf("staff%d@lac.example", i), Password: "Correct horse battery 42", PropertyID: "lac"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Activate(f.ctx, m, reg.ActivationToken); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, reg.AccountID)
	}
	for range 6 {
		if _, err := f.svc.Login(f.ctx, m, commands.LoginAttempt{Email: "staff0@lac.example", Password: "wrong"}); err != nil {
			t.Fatal(err)
		}
	}
	f.now = f.now.Add(time.Hour)
	if _, err := f.svc.Login(f.ctx, m, commands.LoginAttempt{Email: "staff1@lac.example", Password: "Correct horse battery 42"}); err != nil {
		t.Fatal(err)
	}
	for _, inv := range []string{"INV-1", "INV-2"} {
		if _, err := f.svc.Property(f.ctx, m, "lac", domain.MarkInvoiceOverdue{InvoiceID: inv}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func openRunner(t *testing.T, f *fixture, path string) (*projections.Runner, *projections.Status, *sql.DB) {
	t.Helper()
	db, err := projections.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := projections.NewStatus()
	r, err := projections.NewRunner(f.ctx, f.store, db, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	return r, st, db
}

func views(st *projections.Status, ids []string, now time.Time) []projections.StatusView {
	var out []projections.StatusView
	for _, id := range ids {
		v, _ := st.AccountStatus(id, now, domain.DefaultPolicy())
		out = append(out, v)
	}
	return out
}

func dump(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{`SELECT account_id, email, position, state FROM status_accounts ORDER BY account_id`, `SELECT property_id, position, state FROM status_properties ORDER BY property_id`} {
		dumpRows(t, db, &b, q)
	}
	return b.String()
}

// dumpRows prints every row a query returns, one line each.
func dumpRows(t *testing.T, db *sql.DB, b *strings.Builder, query string) {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		rows.Scan(ptrs...)
		fmt.Fprintf(b, "%v\n", vals)
	}
}

func TestStatusProjectionAnswersFromTheLog(t *testing.T) {
	f := newFixture(t)
	ids := f.history(t)
	r, st, _ := openRunner(t, f, filepath.Join(t.TempDir(), "rm.db"))
	if err := r.CatchUp(f.ctx); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		want, err := f.svc.Status(f.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := st.AccountStatus(id, f.now, domain.DefaultPolicy())
		if !ok || !reflect.DeepEqual(got.Status, want) {
			t.Errorf("account %d: projection %+v, write model %+v", i, got.Status, want)
		}
	}
	v, _ := st.AccountStatus(ids[0], f.now, domain.DefaultPolicy())
	if v.Status.Status != domain.StatusDisabled || !v.Status.HasReason(domain.ReasonAccountLocked) || !v.Status.HasReason(domain.ReasonDisabledBilling) {
		t.Errorf("staff0 should be disabled for billing and locked: %+v", v.Status)
	}
	if id, ok := st.AccountIDByEmail("STAFF3@lac.example "); !ok || id != ids[3] {
		t.Errorf("lookup by e-mail = %q %v", id, ok)
	}
}

// Dropped and rebuilt, the projection holds exactly what it held: same answers, same rows.
func TestStatusProjectionRebuildIsIdentical(t *testing.T) {
	f := newFixture(t)
	ids := f.history(t)
	r, st, db := openRunner(t, f, filepath.Join(t.TempDir(), "rm.db"))
	if err := r.CatchUp(f.ctx); err != nil {
		t.Fatal(err)
	}
	before, beforeRows := views(st, ids, f.now), dump(t, db)
	if err := r.Reset(f.ctx, projections.StatusName); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Counts(); n != 0 {
		t.Fatalf("reset left %d accounts in memory", n)
	}
	if err := r.CatchUp(f.ctx); err != nil {
		t.Fatal(err)
	}
	if after := views(st, ids, f.now); !reflect.DeepEqual(before, after) {
		t.Fatalf("rebuild changed answers:\n%+v\n%+v", before, after)
	}
	if afterRows := dump(t, db); afterRows != beforeRows {
		t.Fatalf("rebuild changed rows:\n%s\n---\n%s", beforeRows, afterRows)
	}
}

// A restart resumes from the checkpoint stored with the rows: nothing is applied twice and
// nothing is missed, including events written while it was down.
func TestStatusProjectionResumesFromCheckpoint(t *testing.T) {
	f := newFixture(t)
	ids := f.history(t)
	path := filepath.Join(t.TempDir(), "rm.db")
	r, _, db := openRunner(t, f, path)
	if err := r.CatchUp(f.ctx); err != nil {
		t.Fatal(err)
	}
	head, _ := f.store.HeadPosition(f.ctx)
	if r.Position(projections.StatusName) != head {
		t.Fatalf("position %d, head %d", r.Position(projections.StatusName), head)
	}
	db.Close()

	// While "down": staff0 unlocks through a reset.
	link, err := f.svc.RequestPasswordReset(f.ctx, commands.Meta{}, "staff0@lac.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ResetPassword(f.ctx, commands.Meta{}, link.Token, "Another long passphrase 7"); err != nil {
		t.Fatal(err)
	}
	r2, st2, _ := openRunner(t, f, path)
	if v, _ := st2.AccountStatus(ids[0], f.now, domain.DefaultPolicy()); !v.Status.HasReason(domain.ReasonAccountLocked) {
		t.Fatal("state before catch-up should come from the stored rows")
	}
	if err := r2.CatchUp(f.ctx); err != nil {
		t.Fatal(err)
	}
	v, _ := st2.AccountStatus(ids[0], f.now, domain.DefaultPolicy())
	if v.Status.HasReason(domain.ReasonAccountLocked) || v.Status.FailedAttempts != 0 {
		t.Fatalf("after catch-up staff0 should be unlocked: %+v", v.Status)
	}
	want, _ := f.svc.Status(f.ctx, ids[0])
	if !reflect.DeepEqual(v.Status, want) {
		t.Fatalf("projection %+v != write model %+v", v.Status, want)
	}
}

func TestWaitForReadsYourWrites(t *testing.T) {
	f := newFixture(t)
	ids := f.history(t)
	r, st, _ := openRunner(t, f, filepath.Join(t.TempDir(), "rm.db"))
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	go r.Run(ctx)

	res, err := f.svc.Disable(f.ctx, commands.Meta{}, ids[2], domain.DisableAccount{Kind: domain.DisableManual, Actor: domain.Actor{Kind: domain.ActorSupport, Reference: "REQ-42"}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer wcancel()
	if err := r.WaitFor(wctx, projections.StatusName, res.LastPosition()); err != nil {
		t.Fatal(err)
	}
	if v, _ := st.AccountStatus(ids[2], f.now, domain.DefaultPolicy()); !v.Status.HasReason(domain.ReasonDisabledManually) {
		t.Fatalf("own write not visible after WaitFor: %+v", v.Status)
	}
	short, scancel := context.WithTimeout(f.ctx, 20*time.Millisecond)
	defer scancel()
	if err := r.WaitFor(short, projections.StatusName, res.LastPosition()+1000); err == nil {
		t.Fatal("waiting for a position never written should time out")
	}
}

// openReadDB opens an empty read-model database that is closed when the test ends, after
// whatever the test started later (a running runner) has stopped.
func openReadDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := projections.OpenDB(filepath.Join(tb.TempDir(), "read.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
