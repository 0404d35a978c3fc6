package postgres_test

import (
	"context"
	"errors"
	"testing"

	"accountd/eventstore"

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
