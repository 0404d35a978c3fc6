package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"accountd/eventstore"
	"accountd/eventstore/eventstoretest"

	"github.com/google/uuid"
)

func TestConformanceFull(t *testing.T) {
	eventstoretest.TestWith(t, eventstoretest.Features{HashTree: true}, func(t *testing.T) eventstore.Store { return openTemp(t, WithSynchronous(Full)) })
}

func TestConformanceNormal(t *testing.T) {
	if testing.Short() {
		t.Skip("the Full run covers the same code; Normal only changes the fsync")
	}
	eventstoretest.TestWith(t, eventstoretest.Features{HashTree: true}, func(t *testing.T) eventstore.Store { return openTemp(t, WithSynchronous(Normal)) })
}

func openTemp(t *testing.T, opts ...Option) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "events.db"), opts...)
}

func openAt(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func withHooks(h testHooks) Option { return func(c *config) { c.hooks = h } }

func event(typ string) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: typ, Data: []byte(`{"amount":100}`)}
}

func mustAppend(t *testing.T, s *Store, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(t.Context(), stream, expected, events...)
	if err != nil {
		t.Fatalf("append to %q: %v", stream, err)
	}
	return res
}

func readAll(t *testing.T, s *Store) []eventstore.RecordedEvent {
	t.Helper()
	all, err := s.ReadAll(t.Context(), 0, 0)
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	return all
}

// gate holds the writer right after it picks up a batch's first request, so a test can
// queue exactly the requests it wants in that batch.
type gate struct {
	armed   atomic.Bool
	held    chan struct{}
	release chan struct{}
	once    sync.Once
	commits groupCommits
}

// groupCommits collects a store's group-commit reports; a test installs it with
// s.ReportGroupCommits(c.record).
type groupCommits struct {
	mu      sync.Mutex
	reports []eventstore.GroupCommit
}

func (c *groupCommits) record(gc eventstore.GroupCommit) {
	c.mu.Lock()
	c.reports = append(c.reports, gc)
	c.mu.Unlock()
}

func (c *groupCommits) all() []eventstore.GroupCommit {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reports)
}

func newGate() *gate {
	return &gate{held: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

func (g *gate) hooks() testHooks {
	return testHooks{
		pickedUp: func() {
			if g.armed.CompareAndSwap(true, false) {
				close(g.held)
				<-g.release
			}
		},
	}
}

type outcome struct {
	res eventstore.AppendResult
	err error
}

// queue submits appends one at a time, each only once the previous one is in the writer's
// queue, so their order in the batch is known.
type queue struct {
	t        *testing.T
	s        *Store
	wg       sync.WaitGroup
	outcomes []outcome
}

// hold submits the first append of a batch and waits until the writer holds it at the gate.
// The gate is opened at the end of the test whatever happens; registered after the store's
// Close, it runs before it, so a failing test does not leave Close waiting on a writer
// stuck at the gate.
func (q *queue) hold(ctx context.Context, g *gate, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) {
	q.t.Cleanup(g.open)
	g.armed.Store(true)
	q.start(ctx, stream, expected, events)
	select {
	case <-g.held:
	case <-time.After(10 * time.Second):
		q.t.Fatal("the writer never picked up the first append")
	}
}

func (q *queue) start(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) {
	i := len(q.outcomes)
	q.outcomes = append(q.outcomes, outcome{})
	q.wg.Add(1)
	out := &q.outcomes[i]
	go func() {
		defer q.wg.Done()
		res, err := q.s.Append(ctx, stream, expected, events...)
		*out = outcome{res, err}
	}()
}

func (q *queue) submit(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) {
	i := len(q.outcomes)
	queued := len(q.s.requests)
	q.start(ctx, stream, expected, events)
	deadline := time.Now().Add(10 * time.Second)
	for len(q.s.requests) == queued {
		if time.Now().After(deadline) {
			q.t.Fatalf("append %d never reached the writer's queue", i)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestGroupCommitFailsOnlyTheRefusedAppends(t *testing.T) {
	g := newGate()
	s := openTemp(t, withHooks(g.hooks()))
	s.ReportGroupCommits(g.commits.record)
	stored := event("Opened")
	mustAppend(t, s, "taken", eventstore.NoStream, stored) // position 1

	first, second := event("Opened"), event("Opened")
	q := &queue{t: t, s: s, outcomes: make([]outcome, 0, 16)}
	q.hold(t.Context(), g, "s0", eventstore.NoStream, first) // the rest queue up behind it
	q.submit(t.Context(), "s1", eventstore.NoStream, second)
	q.submit(t.Context(), "taken", eventstore.NoStream, event("Opened"))
	q.submit(t.Context(), "s3", eventstore.NoStream, event("Opened"), event("Deposited"), event("Deposited"))
	q.submit(t.Context(), "s4", eventstore.NoStream, event("Opened"), stored) // inserts one, then hits the stored ID
	q.submit(t.Context(), "s0", eventstore.Exact(0), event("Deposited"))      // sees request 0 of this batch
	q.submit(t.Context(), "s0", eventstore.NoStream, event("Opened"))         // so does this one
	q.submit(t.Context(), "s7", eventstore.Any, second)                       // ID stored earlier in the batch
	q.submit(t.Context(), "s1", eventstore.Exact(9), second)                  // retry of request 1, in the same batch
	q.submit(t.Context(), "s9", eventstore.NoStream, event("Opened"))
	g.open()
	q.wg.Wait()

	// Refusals and the retry count as appends of the batch, not as events.
	if got, want := g.commits.all(), []eventstore.GroupCommit{{Appends: 1, Events: 1}, {Appends: 10, Events: 7}}; !slices.Equal(got, want) {
		t.Fatalf("group commits %+v, want %+v: the setup append then one batch of 10", got, want)
	}
	type want struct {
		positions []uint64
		err       error
	}
	wants := []want{
		{[]uint64{2}, nil},
		{[]uint64{3}, nil},
		{nil, eventstore.ErrWrongExpectedVersion},
		{[]uint64{4, 5, 6}, nil},
		{nil, eventstore.ErrDuplicateEventID},
		{[]uint64{7}, nil},
		{nil, eventstore.ErrWrongExpectedVersion},
		{nil, eventstore.ErrDuplicateEventID},
		{[]uint64{3}, nil},
		{[]uint64{8}, nil},
	}
	for i, w := range wants {
		got := q.outcomes[i]
		if w.err != nil {
			if !errors.Is(got.err, w.err) {
				t.Errorf("append %d: got %v, want %v", i, got.err, w.err)
			}
			continue
		}
		if got.err != nil || !equal(got.res.Positions, w.positions) {
			t.Errorf("append %d: got %v %v, want positions %v", i, got.res.Positions, got.err, w.positions)
		}
	}
	all := readAll(t, s)
	if len(all) != 8 {
		t.Fatalf("log holds %d events, want 8", len(all))
	}
	head, err := s.VerifyChain(t.Context())
	if err != nil || head.Position != 8 || head.Hash != all[7].Hash {
		t.Fatalf("verify chain: %+v, %v", head, err)
	}
	if _, err := s.ReadStream(t.Context(), "s4", 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("the refused multi-event append left events behind: %v", err)
	}
}

func TestCancelledWhileQueuedIsNotWritten(t *testing.T) {
	g := newGate()
	s := openTemp(t, withHooks(g.hooks()))
	s.ReportGroupCommits(g.commits.record)
	q := &queue{t: t, s: s, outcomes: make([]outcome, 0, 4)}
	q.hold(t.Context(), g, "kept", eventstore.NoStream, event("Opened"))
	ctx, cancel := context.WithCancel(t.Context())
	q.submit(ctx, "dropped", eventstore.NoStream, event("Opened"))
	cancel()
	// Let the cancelled caller return before the writer looks at its request.
	time.Sleep(10 * time.Millisecond)
	g.open()
	q.wg.Wait()
	if q.outcomes[0].err != nil || !errors.Is(q.outcomes[1].err, context.Canceled) {
		t.Fatalf("outcomes %+v", q.outcomes)
	}
	if all := readAll(t, s); len(all) != 1 || all[0].Stream != "kept" {
		t.Fatalf("log holds %d events, want only the uncancelled one", len(all))
	}
	// The batch took both requests but decided only the one whose caller was still there.
	if got, want := g.commits.all(), []eventstore.GroupCommit{{Appends: 1, Events: 1}}; !slices.Equal(got, want) {
		t.Fatalf("group commits %+v, want %+v", got, want)
	}
}

func TestFailedCommitFailsTheBatchAndReloadsTheHead(t *testing.T) {
	injected := errors.New("injected commit failure")
	var fail atomic.Bool
	s := openTemp(t, withHooks(testHooks{beforeCommit: func() error {
		if fail.Swap(false) {
			return injected
		}
		return nil
	}}))
	var commits groupCommits
	s.ReportGroupCommits(commits.record)
	mustAppend(t, s, "acct", eventstore.NoStream, event("Opened"))
	fail.Store(true)
	lost := event("Deposited")
	if _, err := s.Append(t.Context(), "acct", eventstore.Exact(0), lost); !errors.Is(err, injected) {
		t.Fatalf("append in a failed commit: got %v, want the commit error", err)
	}
	// The head must come back to position 1; a writer that kept its in-memory head would
	// continue at 3 and leave a hole.
	res := mustAppend(t, s, "acct", eventstore.Exact(0), lost)
	if res.LastPosition() != 2 || res.NextRevision != 1 {
		t.Fatalf("append after a failed commit: %+v, want position 2 revision 1", res)
	}
	if _, err := s.VerifyChain(t.Context()); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// The failed batch is not reported.
	if got, want := commits.all(), []eventstore.GroupCommit{{Appends: 1, Events: 1}, {Appends: 1, Events: 1}}; !slices.Equal(got, want) {
		t.Fatalf("group commits %+v, want %+v", got, want)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	cases := []struct {
		name     string
		tamper   string
		position uint64
	}{
		{"FlippedDataByte", "", 37},
		{"DeletedEvent", "DELETE FROM events WHERE position = 50", 50},
		{"ChangedTimestamp", "UPDATE events SET recorded_at = recorded_at + 1 WHERE position = 12", 12},
		{"TruncatedID", "UPDATE events SET event_id = x'0102' WHERE position = 80", 80},
		{"SwappedType", "UPDATE events SET type = 'Withdrawn' WHERE position = 1", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.db")
			s := openAt(t, path)
			for i := range 100 {
				mustAppend(t, s, []string{"a", "b", "c"}[i%3], eventstore.Any, event("Deposited"))
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			if c.tamper == "" {
				var data []byte
				if err := db.QueryRow("SELECT data FROM events WHERE position = 37").Scan(&data); err != nil {
					t.Fatal(err)
				}
				data[3] ^= 0x01
				_, err = db.Exec("UPDATE events SET data = ? WHERE position = 37", data)
			} else {
				_, err = db.Exec(c.tamper)
			}
			if err != nil {
				t.Fatalf("tamper: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			s = openAt(t, path)
			_, err = s.VerifyChain(t.Context())
			var broken *eventstore.ChainBrokenError
			if !errors.Is(err, eventstore.ErrChainBroken) || !errors.As(err, &broken) || broken.Position != c.position {
				t.Fatalf("verify: got %v, want the chain broken at position %d", err, c.position)
			}
		})
	}
}

func TestReopenKeepsEventsAndChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path)
	for i := range 50 {
		mustAppend(t, s, []string{"a", "b"}[i%2], eventstore.Any, event("Deposited"))
	}
	before := readAll(t, s)
	headBefore, err := s.VerifyChain(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	after := readAll(t, s)
	if len(after) != len(before) {
		t.Fatalf("reopened log holds %d events, want %d", len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if a.ID != b.ID || a.Hash != b.Hash || a.Position != b.Position || !a.RecordedAt.Equal(b.RecordedAt) {
			t.Fatalf("event %d changed across reopen: %+v vs %+v", i, a, b)
		}
	}
	headAfter, err := s.VerifyChain(t.Context())
	if err != nil || headAfter != headBefore {
		t.Fatalf("chain head after reopen %+v, %v; want %+v", headAfter, err, headBefore)
	}
	res := mustAppend(t, s, "a", eventstore.Exact(24), event("Withdrawn"), event("Withdrawn"))
	if res.NextRevision != 26 || !equal(res.Positions, []uint64{51, 52}) {
		t.Fatalf("append after reopen: %+v, want revision 26 at positions [51 52]", res)
	}
	all := readAll(t, s)
	if eventstore.ChainHash(headBefore.Hash, all[50]) != all[50].Hash {
		t.Fatal("the first event after reopen does not chain to the head before it")
	}
	if head, err := s.VerifyChain(t.Context()); err != nil || head.Position != 52 {
		t.Fatalf("verify after reopen and append: %+v, %v", head, err)
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path)
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: got %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	openAt(t, path)
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("open: got %v, want ErrSchemaTooNew", err)
	}
	db, err = sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "delete" {
		t.Fatalf("journal mode %q, %v: the refused file was modified", mode, err)
	}
	// The refusal must release the lock, or the operator could not even retry.
	if _, err := lockWriter(path + ".lock"); err != nil {
		t.Fatalf("lock still held after a refused open: %v", err)
	}
}

func TestCloseFailsQueuedAppends(t *testing.T) {
	g := newGate()
	s := openTemp(t, withHooks(g.hooks()))
	q := &queue{t: t, s: s, outcomes: make([]outcome, 0, 4)}
	q.hold(t.Context(), g, "a", eventstore.NoStream, event("Opened"))
	q.submit(t.Context(), "b", eventstore.NoStream, event("Opened"))
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for !s.closed() {
		time.Sleep(100 * time.Microsecond)
	}
	g.open()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	q.wg.Wait()
	// The held batch holds only request 0; request 1 is still queued when Close lands, and
	// whether the writer serves it first is a race Close is allowed to win either way.
	if q.outcomes[0].err != nil {
		t.Fatalf("the batch in flight at Close failed: %v", q.outcomes[0].err)
	}
	if err := q.outcomes[1].err; err != nil && !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("queued append: got %v, want success or ErrClosed", err)
	}
	if _, err := s.ReadAll(t.Context(), 0, 0); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("read after close: got %v, want ErrClosed", err)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestClockSetsRecordedAtExactly(t *testing.T) {
	at := time.Date(2025, 3, 30, 2, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path, WithClock(func() time.Time { return at }))
	mustAppend(t, s, "acct", eventstore.NoStream, event("Opened"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	got := readAll(t, s)[0].RecordedAt
	if !got.Equal(at) || got.UnixNano() != at.UnixNano() || got.Location() != time.UTC {
		t.Fatalf("RecordedAt %v (%d), want %v (%d) in UTC", got, got.UnixNano(), at, at.UnixNano())
	}
}

func TestMaxBatchCapsAGroupCommit(t *testing.T) {
	g := newGate()
	s := openTemp(t, WithMaxBatch(2), withHooks(g.hooks()))
	s.ReportGroupCommits(g.commits.record)
	q := &queue{t: t, s: s, outcomes: make([]outcome, 0, 8)}
	q.hold(t.Context(), g, "a", eventstore.NoStream, event("Opened"))
	q.submit(t.Context(), "b", eventstore.NoStream, event("Opened"))
	q.submit(t.Context(), "c", eventstore.NoStream, event("Opened"))
	g.open()
	q.wg.Wait()
	for i, o := range q.outcomes {
		if o.err != nil {
			t.Fatalf("append %d: %v", i, o.err)
		}
	}
	// The held batch already has a; it takes one more, c goes into the next.
	if got, want := g.commits.all(), []eventstore.GroupCommit{{Appends: 2, Events: 2}, {Appends: 1, Events: 1}}; !slices.Equal(got, want) {
		t.Fatalf("group commits %+v, want %+v", got, want)
	}
}

// TestReportGroupCommitsWhileAppending: the callback may be swapped and removed while the
// writer is busy (the race detector watches), and nil stops the reports.
func TestReportGroupCommitsWhileAppending(t *testing.T) {
	s := openTemp(t, WithSynchronous(Normal))
	var a, b groupCommits
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := s.Append(t.Context(), fmt.Sprintf("acct-%d", w), eventstore.Any, event("Deposited")); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	for i := range 100 {
		switch i % 3 {
		case 0:
			s.ReportGroupCommits(a.record)
		case 1:
			s.ReportGroupCommits(b.record)
		default:
			s.ReportGroupCommits(nil)
		}
		time.Sleep(50 * time.Microsecond)
	}
	wg.Wait()

	s.ReportGroupCommits(nil)
	before := len(a.all()) + len(b.all())
	mustAppend(t, s, "after", eventstore.NoStream, event("Opened"))
	if after := len(a.all()) + len(b.all()); after != before {
		t.Fatalf("%d reports after ReportGroupCommits(nil)", after-before)
	}
	s.ReportGroupCommits(a.record)
	mustAppend(t, s, "after", eventstore.Exact(0), event("Deposited"), event("Deposited"))
	if got := a.all(); len(got) == 0 || got[len(got)-1] != (eventstore.GroupCommit{Appends: 1, Events: 2}) {
		t.Fatalf("last report %+v, want the two-event append", got)
	}
}
