package postgres_test

import (
	"context"
	"errors"
	"testing"

	"accountd/eventstore"
	"accountd/eventstore/postgres"
	"accountd/eventstore/transparency"

	"github.com/jackc/pgx/v5"
)

// TestReadsStopAtDurableHead: rows past the durable head (committed, not yet flushed: here
// the head row is pulled back by hand) are invisible to every read, and the next append
// builds on them all the same and makes them readable, in order, with its own.
func TestReadsStopAtDurableHead(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	s := open(t, url, schema)
	ctx := t.Context()
	for range 3 {
		if _, err := s.Append(ctx, "acct", eventstore.Any, event(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "other", eventstore.NoStream, event(`{}`)); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "UPDATE "+pgx.Identifier{schema}.Sanitize()+".head SET position = 2"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  func() (int, error)
		want int
	}{
		{"HeadPosition", func() (int, error) { h, err := s.HeadPosition(ctx); return int(h), err }, 2},
		{"ReadAll", func() (int, error) { r, err := s.ReadAll(ctx, 0, 0); return len(r), err }, 2},
		{"ReadStream", func() (int, error) { r, err := s.ReadStream(ctx, "acct", 0, 0); return len(r), err }, 2},
		{"ReadStream past the durable end", func() (int, error) { r, err := s.ReadStream(ctx, "acct", 2, 0); return len(r), err }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if err != nil || got != tt.want {
				t.Fatalf("got %d (%v), want %d", got, err, tt.want)
			}
		})
	}
	if _, err := s.ReadStream(ctx, "other", 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("a stream whose only event is past the durable head: %v, want ErrStreamNotFound", err)
	}
	res, err := s.Append(ctx, "acct", eventstore.Exact(2), event(`{}`))
	if err != nil || res.Positions[0] != 5 {
		t.Fatalf("append after the pulled-back head: %+v, %v; want position 5", res, err)
	}
	recs, err := s.ReadAll(ctx, 0, 0)
	if err != nil || len(recs) != 5 {
		t.Fatalf("read all after the append: %d events, %v", len(recs), err)
	}
	for i, r := range recs {
		if r.Position != uint64(i+1) {
			t.Fatalf("event %d at position %d", i, r.Position)
		}
	}
	if head, err := s.VerifyChain(ctx); err != nil || head.Position != 5 {
		t.Fatalf("verify chain: %+v, %v", head, err)
	}
}

// TestMigrateFromSchema2: a log written before the durable head (schema 2, every commit
// synchronous) is durable as it stands: opening it makes all of it readable.
func TestMigrateFromSchema2(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	s := open(t, url, schema)
	ctx := t.Context()
	for range 3 {
		if _, err := s.Append(ctx, "acct", eventstore.Any, event(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	sch := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP TABLE "+sch+".head; UPDATE "+sch+".meta SET value = 2 WHERE key = 'schema_version'"); err != nil {
		t.Fatal(err)
	}
	s = open(t, url, schema)
	if head, err := s.HeadPosition(ctx); err != nil || head != 3 {
		t.Fatalf("head after the migration: %d, %v; want 3", head, err)
	}
	var version int
	if err := conn.QueryRow(ctx, "SELECT value FROM "+sch+".meta WHERE key = 'schema_version'").Scan(&version); err != nil || version != 3 {
		t.Fatalf("schema version %d (%v), want 3", version, err)
	}
}

// TestStaleHeadsAcrossNodes: node a knows the heads of the streams it wrote; node b moves
// them. Whatever a's one-round-trip path guesses from its cache, each append is decided
// as if a had read the stream under the lock, and the log stays one gapless chain.
func TestStaleHeadsAcrossNodes(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	a, b := open(t, url, schema), open(t, url, schema)
	ctx := t.Context()
	must := func(s *postgres.Store, stream string, want eventstore.ExpectedRevision) eventstore.AppendResult {
		t.Helper()
		res, err := s.Append(ctx, stream, want, event(`{}`))
		if err != nil {
			t.Fatalf("append to %s expecting %s: %v", stream, want, err)
		}
		return res
	}
	must(a, "x", eventstore.NoStream) // x at 0, known to a
	must(a, "x", eventstore.Exact(0)) // x at 1, a writes alone: its next batch may guess
	must(b, "x", eventstore.Exact(1)) // x at 2 behind a's back
	must(b, "y", eventstore.NoStream)
	tests := []struct {
		name     string
		stream   string
		expected eventstore.ExpectedRevision
		wantErr  error
		wantRev  uint64
	}{
		{"a's cached head is stale", "x", eventstore.Exact(1), eventstore.ErrWrongExpectedVersion, 0},
		{"the true head", "x", eventstore.Exact(2), nil, 3},
		{"a stream a never saw", "y", eventstore.NoStream, eventstore.ErrWrongExpectedVersion, 0},
		{"then moved again by b", "x", eventstore.Any, nil, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "then moved again by b" {
				must(a, "z", eventstore.NoStream) // a alone again, x cached at 3
				must(b, "x", eventstore.Exact(3))
			}
			res, err := a.Append(ctx, tt.stream, tt.expected, event(`{}`))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || res.NextRevision != tt.wantRev {
				t.Fatalf("%+v, %v; want revision %d", res, err, tt.wantRev)
			}
		})
	}
	// x moved by b, then a commits twice elsewhere: the second time a has written alone,
	// so it guesses again, with x still cached at 5, and the guard on the log's head
	// passes. The (stream, revision) key must refuse the guess.
	must(b, "x", eventstore.Exact(5)) // x at 6
	must(a, "w", eventstore.NoStream)
	must(a, "w", eventstore.Exact(0))
	if _, err := a.Append(ctx, "x", eventstore.Exact(5), event(`{}`)); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
		t.Fatalf("append on a stale cached head behind an unmoved log head: %v, want ErrWrongExpectedVersion", err)
	}
	if res := must(a, "x", eventstore.Exact(6)); res.NextRevision != 7 {
		t.Fatalf("x at %d, want 7", res.NextRevision)
	}
	// An append b stored, sent again through a while a guesses: the event_id key sends it
	// to the reading path, which answers it as the retry it is.
	e := event(`{"retry":true}`)
	orig, err := b.Append(ctx, "v", eventstore.NoStream, e)
	if err != nil {
		t.Fatal(err)
	}
	must(a, "w", eventstore.Exact(1))
	must(a, "w", eventstore.Exact(2))
	again, err := a.Append(ctx, "v", eventstore.NoStream, e)
	if err != nil || again.Positions[0] != orig.Positions[0] {
		t.Fatalf("retry through a: %+v, %v; want the original %+v", again, err, orig)
	}
	for _, s := range []*postgres.Store{a, b} {
		if head, err := s.VerifyChain(ctx); err != nil || head.Position != 15 {
			t.Fatalf("verify chain: %+v, %v; want 15 events", head, err)
		}
	}
}

// TestLostTailIsNotBuiltOn: PostgreSQL loses what it had not flushed when it crashes, and
// the node that wrote it lives on with the stream heads of its lost commits cached. Here the
// crash is simulated (the tail deleted, the head row pulled back) while node a still holds
// x at revision 2 in its cache; then b writes until the log's head is back where a left it,
// so only the chain hash at that position tells a that its commit is gone. a's next append
// to x must build on revision 0, the one x has, and leave no gap in it: whether a was
// writing alone (its one-round-trip path decides) or in turns with b (its turn begins by
// reading the log's head under the lock).
func TestLostTailIsNotBuiltOn(t *testing.T) {
	for _, tt := range []struct {
		name      string
		contended bool // b writes between a's appends before the loss
	}{
		{"writing alone", false},
		{"writing in turns with another node", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := testURL(t)
			schema := freshSchema(t, url)
			a, b := open(t, url, schema), open(t, url, schema)
			ctx := t.Context()
			appendTo := func(s *postgres.Store, stream string, want eventstore.ExpectedRevision, n int) eventstore.AppendResult {
				t.Helper()
				events := make([]eventstore.EventData, n)
				for i := range events {
					events[i] = event(`{}`)
				}
				res, err := s.Append(ctx, stream, want, events...)
				if err != nil {
					t.Fatalf("append to %s: %v", stream, err)
				}
				return res
			}
			kept := appendTo(a, "x", eventstore.NoStream, 1).Positions[0]
			if tt.contended {
				kept = appendTo(b, "y", eventstore.NoStream, 1).Positions[0]
			}
			appendTo(a, "x", eventstore.Exact(0), 1)
			last := appendTo(a, "x", eventstore.Exact(1), 1).Positions[0]
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			sch := pgx.Identifier{schema}.Sanitize()
			if _, err := conn.Exec(ctx, "DELETE FROM "+sch+".events WHERE position > $1", kept); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "UPDATE "+sch+".head SET position = $1", kept); err != nil {
				t.Fatal(err)
			}
			appendTo(b, "z", eventstore.NoStream, int(last-kept))
			res, err := a.Append(ctx, "x", eventstore.Any, event(`{}`))
			if err != nil || res.NextRevision != 1 || res.Positions[0] != last+1 {
				t.Fatalf("append to x after the lost tail: %+v, %v; want revision 1 at position %d", res, err, last+1)
			}
			if recs, err := a.ReadStream(ctx, "x", 0, 0); err != nil || len(recs) != 2 {
				t.Fatalf("x: %d events, %v; want 2", len(recs), err)
			}
			if head, err := a.VerifyChain(ctx); err != nil || head.Position != last+1 {
				t.Fatalf("verify chain: %+v, %v", head, err)
			}
			// The tree too: a's frontier was the lost log's, of the same size as the log b
			// rebuilt.
			au, err := transparency.NewAuditor(a)
			if err != nil {
				t.Fatal(err)
			}
			if err := au.Advance(ctx, -1); err != nil || au.Size() != int64(last+1) {
				t.Fatalf("audit the tree after the lost tail: %v (size %d)", err, au.Size())
			}
		})
	}
}
