package scenario_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"accountd/commands"
	"accountd/commands/scenario"
	"accountd/domain"
	"accountd/eventstore"
	"accountd/eventstore/snapshot"
	"accountd/projections/history"
)

// TestStoriesAnswerTheSameWithoutSnapshots plays every story with a snapshot every few
// events and no aggregate cache, so every command decides on a state restored from a
// snapshot (the story's own checks then prove the decisions unchanged); then it asks every
// account's status, every page of its history and its state at every instant its events
// happened, once with the snapshots and once after deleting them all, and wants the same
// answers.
func TestStoriesAnswerTheSameWithoutSnapshots(t *testing.T) {
	files, err := filepath.Glob("../../testdata/scenarios/*.story")
	if err != nil || len(files) == 0 {
		t.Fatal("no stories found in testdata/scenarios", err)
	}
	for _, every := range []int{1, 3} {
		for _, file := range files {
			t.Run(fmt.Sprintf("every-%d/%s", every, filepath.Base(file)), func(t *testing.T) {
				t.Parallel()
				story, err := scenario.ParseFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if story.Skip != "" {
					t.Skipf("skip: %s (TestStories checks it still fails)", story.Skip)
				}
				pl, err := scenario.RunWith(t.Context(), story, scenario.RunOptions{SnapshotEvery: every})
				if err != nil {
					t.Fatalf("the story fails with snapshots every %d events:\n%v", every, err)
				}
				if len(pl.Accounts) > 0 && pl.Snapshots.Count() == 0 {
					t.Fatal("no snapshot was saved: the story proved nothing about them")
				}
				with := answers(t, pl, true)
				if err := pl.Snapshots.DeleteAll(t.Context()); err != nil {
					t.Fatal(err)
				}
				without := answers(t, pl, false)
				if len(with) != len(without) {
					t.Fatalf("%d answers with snapshots, %d without", len(with), len(without))
				}
				for i := range with {
					if !reflect.DeepEqual(with[i], without[i]) {
						t.Errorf("answer %d differs\nwith snapshots:    %+v\nwithout snapshots: %+v", i, with[i], without[i])
					}
				}
			})
		}
	}
}

type answer struct {
	Question string
	Value    any
	Err      string
}

func answers(t *testing.T, pl *scenario.Played, snapshots bool) []answer {
	t.Helper()
	ctx := context.Background()
	r := &history.Reader{Store: pl.Store, Policy: func(time.Time) domain.Policy { return pl.Policy }}
	if snapshots {
		acc, prop, err := commands.SnapshotCodecs(pl.Key)
		if err != nil {
			t.Fatal(err)
		}
		r.Snapshots, r.AccountSnapshot, r.PropertySnapshot = pl.Snapshots, acc, prop
	}
	var out []answer
	add := func(q string, v any, err error) {
		a := answer{Question: q, Value: v}
		if err != nil {
			a.Err = err.Error()
		}
		out = append(out, a)
	}
	for _, id := range pl.Accounts {
		st, err := pl.Service.Status(ctx, id)
		add("status "+id, st, err)
		acc, err := pl.Service.LoadAccount(ctx, id)
		add("account "+id, acc, err)
		// History in pages of 3, each starting from the nearest snapshot before it.
		after := int64(-1)
		for range 1000 {
			page, err := r.Events(ctx, id, after, 3)
			add(fmt.Sprintf("history %s after %d", id, after), page, err)
			if err != nil || page.NextAfter == nil {
				break
			}
			after = int64(*page.NextAfter)
		}
		recs, err := pl.Store.ReadStream(ctx, domain.AccountStream(id), 0, 1<<20)
		if err != nil && err != eventstore.ErrStreamNotFound {
			t.Fatal(err)
		}
		instants := []time.Time{pl.Now}
		for _, rec := range recs {
			instants = append(instants, rec.RecordedAt.Add(-time.Nanosecond), rec.RecordedAt, rec.RecordedAt.Add(time.Second))
		}
		for _, at := range instants {
			st, err := r.StateAt(ctx, id, at)
			add(fmt.Sprintf("state %s at %s", id, at.Format(time.RFC3339Nano)), st, err)
		}
	}
	return out
}

// TestSnapshotsAreUsedByTheStories guards the test above against passing vacuously: with
// snapshots every event, cold loads find them.
func TestSnapshotsAreUsedByTheStories(t *testing.T) {
	story, err := scenario.ParseFile("../../testdata/scenarios/01-six-wrong-passwords-lock.story")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot.Stats.Hits.Load()
	if _, err := scenario.RunWith(t.Context(), story, scenario.RunOptions{SnapshotEvery: 1}); err != nil {
		t.Fatal(err)
	}
	if snapshot.Stats.Hits.Load() == before {
		t.Fatal("no cold load started from a snapshot")
	}
}
