package projections_test

import (
	"accountd/eventstore/eventlog"
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"accountd/projections"
)

// counting is a projection whose rows mean something different in each version: version 1
// counts events, version 2 counts them ten times over.
type counting struct{ version int }

func (c counting) Name() string     { return "counting" }
func (c counting) Version() int     { return c.version }
func (c counting) Tables() []string { return []string{"counting"} }
func (c counting) Schema() []string {
	return []string{`CREATE TABLE IF NOT EXISTS counting (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)`}
}
func (c counting) Load(context.Context, *sql.DB) error { return nil }
func (c counting) Apply(ctx context.Context, tx *sql.Tx, events []eventlog.Decoded) (func(), error) {
	step := 1
	if c.version == 2 {
		step = 10
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO counting(id, n) VALUES(1, ?) ON CONFLICT(id) DO UPDATE SET n = n + excluded.n`, step*len(events))
	return nil, err
}

// An upgrade that changes what a projection's rows mean (a new Version) finds the old rows,
// drops them with the checkpoint, and replays the log into the new ones: the count is the
// new version's over the whole log, never old rows continued with the new meaning. The same
// version again keeps its rows and checkpoint.
func TestRunnerRebuildsAProjectionOfAnotherVersion(t *testing.T) {
	f := newFixture(t)
	f.history(t)
	path := filepath.Join(t.TempDir(), "read.db")
	head, err := f.store.HeadPosition(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	count := func(version int) (int, uint64) {
		t.Helper()
		db, err := projections.OpenDB(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		r, err := projections.NewRunner(f.ctx, f.store, db, nil, counting{version})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.CatchUp(f.ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(`SELECT n FROM counting`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n, r.Position("counting")
	}
	for _, step := range []struct {
		version int
		want    int
	}{{1, int(head)}, {1, int(head)}, {2, 10 * int(head)}, {2, 10 * int(head)}} {
		if n, pos := count(step.version); n != step.want || pos != head {
			t.Fatalf("version %d: count %d at %d, want %d at %d", step.version, n, pos, step.want, head)
		}
	}
}
