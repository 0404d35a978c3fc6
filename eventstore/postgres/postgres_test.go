package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"accountd/eventstore"
	"accountd/eventstore/eventstoretest"
	"accountd/eventstore/lease"
	"accountd/eventstore/lease/leasetest"
	"accountd/eventstore/postgres"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

const urlEnv = "ACCOUNTD_TEST_POSTGRES_URL"

var skipOnce sync.Once

// testURL skips when no server is configured, saying why once per run rather than once
// per test.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(urlEnv)
	if url == "" {
		said := false
		skipOnce.Do(func() { said = true })
		if said {
			t.Skip(urlEnv + " not set: PostgreSQL tests skipped")
		}
		t.SkipNow()
	}
	return url
}

// freshSchema names a schema no other run uses and drops it when the test ends, so runs
// against one server (parallel CI jobs, a developer's leftovers) never see each other.
func freshSchema(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "accountd_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

func open(t testing.TB, url, schema string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	url := testURL(t)
	eventstoretest.Test(t, func(t *testing.T) eventstore.Store {
		return open(t, url, freshSchema(t, url))
	})
}

func TestTamperedEventIsNamed(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	s := open(t, url, schema)
	ctx := t.Context()
	for i := range 5 {
		if _, err := s.Append(ctx, "acct", eventstore.Any, event(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if head, err := s.VerifyChain(ctx); err != nil || head.Position != 5 {
		t.Fatalf("verify before tampering: %+v, %v", head, err)
	}
	exec(t, url, "UPDATE "+pgx.Identifier{schema}.Sanitize()+`.events SET data = '{"n":999}' WHERE position = 3`)
	head, err := s.VerifyChain(ctx)
	var broken *eventstore.ChainBrokenError
	if !errors.As(err, &broken) || !errors.Is(err, eventstore.ErrChainBroken) || broken.Position != 3 {
		t.Fatalf("verify after tampering with position 3: %+v, %v; want ChainBrokenError at 3", head, err)
	}
	if head.Position != 2 {
		t.Fatalf("verified head %d, want 2 (the last good event)", head.Position)
	}
}

// TestTwoNodesOneStream is two accountd nodes (two Stores, two pools, two writers taking
// the advisory lock in turn) racing on one stream's revisions.
func TestTwoNodesOneStream(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	nodes := []*postgres.Store{open(t, url, schema), open(t, url, schema)}
	const rounds, perNode = 25, 4
	for round := range rounds {
		expected := eventstore.NoStream
		if round > 0 {
			expected = eventstore.Exact(uint64(round - 1))
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 * perNode {
			node := nodes[i%2]
			wg.Go(func() {
				<-start
				res, err := node.Append(t.Context(), "contended", expected, event(`{}`))
				switch {
				case err == nil:
					wins.Add(1)
					if res.NextRevision != uint64(round) {
						t.Errorf("round %d: winner got revision %d", round, res.NextRevision)
					}
				case !errors.Is(err, eventstore.ErrWrongExpectedVersion):
					t.Errorf("round %d: %v", round, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d winners, want 1", round, n)
		}
	}
	// Free-running writers on distinct streams through both nodes, then one chain.
	var wg sync.WaitGroup
	for w := range 8 {
		node := nodes[w%2]
		wg.Go(func() {
			for range 20 {
				if _, err := node.Append(t.Context(), fmt.Sprintf("s-%d", w), eventstore.Any, event(`{}`)); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	const total = rounds + 8*20
	for i, node := range nodes {
		head, err := node.VerifyChain(t.Context())
		if err != nil || head.Position != total || head.Events != total {
			t.Fatalf("node %d verifies %+v, %v; want a gapless chain of %d", i, head, err, total)
		}
	}
}

// TestAnsweredAppendIsReadableOnEveryNode: once Append returns, the events are below the
// durable head every node reads up to, whichever way the batch was made durable (by the
// syncer, or, while the nodes contend, in the batch's own round trip).
func TestAnsweredAppendIsReadableOnEveryNode(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	nodes := []*postgres.Store{open(t, url, schema), open(t, url, schema)}
	var wg sync.WaitGroup
	for w := range 16 {
		writer, reader := nodes[w%2], nodes[(w+1)%2]
		wg.Go(func() {
			stream := fmt.Sprintf("s-%d", w)
			for i := range 30 {
				res, err := writer.Append(t.Context(), stream, eventstore.Any, event(`{}`))
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				got, err := reader.ReadStream(t.Context(), stream, res.NextRevision, 1)
				if err != nil || len(got) != 1 || got[0].Position != res.Positions[0] {
					t.Errorf("writer %d, append %d at position %d: the other node reads %v, %v", w, i, res.Positions[0], got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestChangesAcrossNodes checks that a follower on one node is woken by the other node's
// append through LISTEN/NOTIFY, well before Follow's one-second poll.
func TestChangesAcrossNodes(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	a, b := open(t, url, schema), open(t, url, schema)
	changes, stop := b.Changes()
	defer stop()
	// The listener connects asynchronously and announces itself with one wake-up.
	deadline := time.Now().Add(5 * time.Second)
	for {
		drain(changes)
		if _, err := a.Append(t.Context(), "probe", eventstore.Any, event(`{}`)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-changes:
			return
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("node b was never woken by node a's appends")
		}
	}
}

// TestUntoldRaiseIsToldLater: a node tells the others of its durable head at most once per
// interval (tell.go). An append inside the interval must still wake a follower on another
// node, though nothing is written after it: by the trailing notification once the interval
// is over, or when the node closes first.
func TestUntoldRaiseIsToldLater(t *testing.T) {
	url := testURL(t)
	for _, tc := range []struct {
		name  string
		every time.Duration // a's interval after b is known to listen
		then  func(t *testing.T, a *postgres.Store)
	}{
		{"after the interval", 2 * time.Second, func(*testing.T, *postgres.Store) {}},
		{"on close", time.Hour, func(t *testing.T, a *postgres.Store) {
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			schema := freshSchema(t, url)
			a, b := open(t, url, schema), open(t, url, schema)
			changes, stop := b.Changes()
			defer stop()
			deadline := time.Now().Add(30 * time.Second)
			for woken := false; !woken; {
				drain(changes)
				if _, err := a.Append(t.Context(), "probe", eventstore.Any, event(`{}`)); err != nil {
					t.Fatal(err)
				}
				select {
				case <-changes:
					woken = true
				case <-time.After(500 * time.Millisecond):
				}
				if !woken && time.Now().After(deadline) {
					t.Fatal("node b was never woken by node a's appends")
				}
			}
			// b listens, and a has just told a raise: the next one is left untold.
			postgres.SetTellEvery(a, tc.every)
			drain(changes)
			if _, err := a.Append(t.Context(), "probe", eventstore.Any, event(`{}`)); err != nil {
				t.Fatal(err)
			}
			tc.then(t, a)
			select {
			case <-changes:
			case <-time.After(20 * time.Second):
				t.Fatal("node b was not told of node a's last append")
			}
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	s := open(t, url, schema)
	_ = s.Close()
	exec(t, url, "UPDATE "+pgx.Identifier{schema}.Sanitize()+".meta SET value = 99 WHERE key = 'schema_version'")
	if _, err := postgres.Open(t.Context(), url, postgres.WithSchema(schema)); !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Fatalf("open a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

func event(data string) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "Ticked", Data: []byte(data)}
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestFollowAcrossNodesNeverSkips follows the log on one node while both nodes append:
// with commits in position order a follower can never move its checkpoint past a
// position that commits later, so it must see exactly 1..N in order.
func TestFollowAcrossNodesNeverSkips(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	a, b := open(t, url, schema), open(t, url, schema)
	const writers, perWriter = 8, 25
	total := writers * perWriter * 2
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	delivered := make(chan uint64, total+100)
	go func() {
		_ = eventstore.Follow(ctx, a, 0, 5, func(_ context.Context, events []eventstore.RecordedEvent) error {
			for _, e := range events {
				delivered <- e.Position
			}
			return nil
		})
	}()
	var wg sync.WaitGroup
	for w := range writers {
		node := []*postgres.Store{a, b}[w%2]
		wg.Go(func() {
			for range perWriter {
				if _, err := node.Append(t.Context(), fmt.Sprintf("s-%d", w), eventstore.Any, event(`{}`), event(`{}`)); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range total {
		select {
		case p := <-delivered:
			if p != uint64(i)+1 {
				t.Fatalf("delivery %d is position %d", i, p)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("follow delivered %d of %d", i, total)
		}
	}
}

// TestListenerReconnects kills the listener's connection server-side: the store must
// reconnect and go on waking followers for other nodes' appends.
func TestListenerReconnects(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	a, b := open(t, url, schema), open(t, url, schema)
	changes, stop := b.Changes()
	defer stop()
	woken := func() bool {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			drain(changes)
			if _, err := a.Append(t.Context(), "probe", eventstore.Any, event(`{}`)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-changes:
				return true
			case <-time.After(300 * time.Millisecond):
			}
		}
		return false
	}
	if !woken() {
		t.Fatal("not woken before the kill")
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	listening := func() bool {
		var n int
		err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE query LIKE 'LISTEN %' AND query LIKE '%' || $1 || '%'`, schema).Scan(&n)
		return err == nil && n == 2
	}
	waitListening := func(what string) {
		for deadline := time.Now().Add(30 * time.Second); !listening(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
		}
	}
	// b's listener is known to listen (it woke); a's may still be connecting: wait for it.
	waitListening("the listeners did not start")
	var killed int
	err = conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN %' AND query LIKE '%' || $1 || '%'`, schema).Scan(&killed)
	if err != nil || killed != 2 {
		t.Fatalf("terminated %d listener connections (%v), want 2 (one per store)", killed, err)
	}
	// Wait for both stores to listen again; then two probes in a row, so that the one
	// catch-up wake-up a reconnect gives cannot satisfy the check: only notifications
	// delivered on the new connection can.
	waitListening("the listeners did not reconnect")
	for probe := range 2 {
		if !woken() {
			t.Fatalf("probe %d: not woken by the other node's appends after the listener's connection was killed", probe+1)
		}
	}
}

// The lease contract: every store a test opens shares one schema, as nodes share a log.
func TestLeaseContract(t *testing.T) {
	url := testURL(t)
	leasetest.Test(t, func(t *testing.T) lease.Store {
		return open(t, url, freshSchema(t, url)).Leases()
	})
}
