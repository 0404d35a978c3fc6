package postgres_test

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"accountd/eventstore"
	"accountd/eventstore/postgres"

	"github.com/jackc/pgx/v5"
)

// A contended turn holds the append lock in a transaction that its batch commits. Once the
// nodes have nothing to write, none of their connections may be left inside a transaction
// or holding an advisory lock: every other node would wait for it until its batch timed out.

func TestContendedTurnsLeaveNoLockBehind(t *testing.T) {
	base := testURL(t)
	schema := freshSchema(t, base)
	url := withApplicationName(t, base, schema)
	nodes := []*postgres.Store{open(t, url, schema), open(t, url, schema)}
	const writers, appends = 16, 40
	contend(t, nodes, "s", writers, appends)
	waitForNoLockBehind(t, connect(t, base), schema)
	for i, node := range nodes {
		head, err := node.VerifyChain(t.Context())
		if err != nil || head.Position != writers*appends {
			t.Fatalf("node %d verifies %+v, %v; want a gapless chain of %d", i, head, err, writers*appends)
		}
	}
}

// TestCancelledTurnReleasesTheLock: a contended turn takes the lock before its batch is
// made up; when every append of that batch has been given up meanwhile, the turn has
// nothing to commit and must still let the lock go.
func TestCancelledTurnReleasesTheLock(t *testing.T) {
	base := testURL(t)
	schema := freshSchema(t, base)
	url := withApplicationName(t, base, schema)
	nodes := []*postgres.Store{open(t, url, schema), open(t, url, schema)}
	holder := connect(t, base)
	// The turn is taken only while the node counts as contended, and whether it was is
	// seen afterwards: a batch decided before the lock wait is written although its caller
	// gave up. Try until one was not.
	for attempt := range 20 {
		contend(t, nodes, fmt.Sprintf("warm-%d", attempt), 8, 5)
		if _, err := holder.Exec(t.Context(), "SELECT pg_advisory_lock($1)", postgres.AppendLockKey(schema)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		given := event(`{}`)
		done := make(chan error, 1)
		go func() {
			_, err := nodes[0].Append(ctx, fmt.Sprintf("given-up-%d", attempt), eventstore.NoStream, given)
			done <- err
		}()
		waitFor(t, holder, "the node waiting for the append lock", `SELECT count(*) = 1 FROM pg_locks l
			JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = $1`, schema)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("given-up append: %v, want context.Canceled", err)
		}
		if _, err := holder.Exec(t.Context(), "SELECT pg_advisory_unlock_all()"); err != nil {
			t.Fatal(err)
		}
		waitForNoLockBehind(t, holder, schema)
		var written bool
		if err := holder.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM "+pgx.Identifier{schema, "events"}.Sanitize()+
			" WHERE event_id = $1)", given.ID).Scan(&written); err != nil {
			t.Fatal(err)
		}
		if !written {
			return // the turn had nothing to commit, and let the lock go
		}
	}
	t.Fatal("no attempt left a contended turn with nothing to commit")
}

// contend has writers append appends events each at once, dealt round the nodes, so that
// each node finds the others' commits.
func contend(t *testing.T, nodes []*postgres.Store, prefix string, writers, appends int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range writers {
		node := nodes[w%len(nodes)]
		wg.Go(func() {
			for range appends {
				if _, err := node.Append(t.Context(), fmt.Sprintf("%s-%d", prefix, w), eventstore.Any, event(`{}`)); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// waitForNoLockBehind waits until no session of the nodes is inside a transaction or holds
// an advisory lock. An idle turn ends after turnIdle: the test waits for that, not for a
// duration.
func waitForNoLockBehind(t *testing.T, conn *pgx.Conn, schema string) {
	t.Helper()
	waitFor(t, conn, "no session of the nodes in a transaction or holding an advisory lock", `SELECT
		NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle')
		AND NOT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND a.application_name = $1)`, schema)
}

// waitFor polls a query answering one boolean until it says true, for up to ten seconds.
func waitFor(t *testing.T, conn *pgx.Conn, what, query string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		var ok bool
		if err := conn.QueryRow(t.Context(), query, args...).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// withApplicationName tells the nodes' sessions apart from other tests' and runs'.
func withApplicationName(t *testing.T, base, name string) string {
	t.Helper()
	u, err := neturl.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
