package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"accountd/eventstore"
	"accountd/eventstore/archive"
	"accountd/eventstore/eventstoretest"
	"accountd/eventstore/transparency"
)

func testKey(t testing.TB) transparency.SigningKey {
	t.Helper()
	k, err := transparency.GenerateSigningKey("archive.test")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sealing is a store that archives all but its last keep events after every append, in
// segments of a few events, so that the conformance suite's reads, chain and tree checks
// run mostly over segments.
type sealing struct {
	*Store
	t    testing.TB
	key  transparency.SigningKey
	keep uint64
}

func (s *sealing) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := s.Store.Append(ctx, stream, expected, events...)
	if err != nil {
		return res, err
	}
	opts := SealOptions{Before: time.Now().Add(time.Hour), Signers: []note.Signer{s.key.Signer}, Keep: s.keep, SegmentEvents: 5}
	if _, err := s.Seal(context.Background(), opts); err != nil && !errors.Is(err, eventstore.ErrClosed) {
		s.t.Errorf("seal after append: %v", err)
	}
	return res, nil
}

func TestConformanceArchived(t *testing.T) {
	key := testKey(t)
	eventstoretest.Test(t, func(t *testing.T) eventstore.Store {
		return &sealing{Store: openTemp(t, WithSynchronous(Normal)), t: t, key: key, keep: 8}
	})
}

// A sealed store reopens, appends on (to streams whose events are all archived too), and
// its chain, tree and archive verify; VACUUM returns the space; a changed byte in a
// segment fails VerifyArchive, naming the segment.
func TestSealReopenVerifyTamper(t *testing.T) {
	ctx := context.Background()
	key := testKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	archiveDir := filepath.Join(t.TempDir(), "elsewhere")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	s := openAt(t, path, WithSynchronous(Normal), WithClock(clock), WithArchiveDir(archiveDir))
	payload := []byte(`{"account_id":"a","note":"` + strings.Repeat("x", 300) + `"}`)
	for i := range 3000 {
		now = start.Add(time.Duration(i) * time.Hour)
		stream := fmt.Sprintf("account-%d", i%50)
		if _, err := s.Append(ctx, stream, eventstore.Any, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "t", Data: payload}); err != nil {
			t.Fatal(err)
		}
	}
	before, err := s.VerifyChain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cutoff := start.Add(2500 * time.Hour) // positions 1..2500 are older
	rep, err := s.Seal(ctx, SealOptions{Before: cutoff, Signers: []note.Signer{key.Signer}, SegmentEvents: 1000, Vacuum: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Through != 2500 || len(rep.Segments) != 3 {
		t.Fatalf("sealed through %d in %d segments, want 2500 in 3", rep.Through, len(rep.Segments))
	}
	if rep.FileAfter*3 > rep.FileBefore {
		t.Fatalf("file %d bytes before the seal, %d after: want at most a third", rep.FileBefore, rep.FileAfter)
	}
	t.Logf("events.db and WAL: %d bytes before, %d after sealing 2500 of 3000 events", rep.FileBefore, rep.FileAfter)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, WithSynchronous(Normal), WithClock(clock), WithArchiveDir(archiveDir))
	if got, err := s.VerifyChain(ctx); err != nil || got != before {
		t.Fatalf("chain after reopening: %+v, %v; want %+v", got, err, before)
	}
	// account-0's last event is at position 2951: live. account-0..49 all have live
	// events, so write to an archived-only stream made for it.
	if _, err := s.Append(ctx, "account-0", eventstore.Exact(59), eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "t"}); err != nil {
		t.Fatalf("append after the archived head: %v", err)
	}
	evs, err := s.ReadStream(ctx, "account-7", 3, 5)
	if err != nil || len(evs) != 5 || evs[0].Revision != 3 || evs[0].Position != 158 {
		t.Fatalf("read an archived stream: %d events, %v", len(evs), err)
	}
	tree, err := transparency.NewTree(s)
	if err != nil {
		t.Fatal(err)
	}
	a, err := transparency.NewAuditor(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Advance(ctx, 3001); err != nil {
		t.Fatalf("audit the tree over archive and live log: %v", err)
	}
	p, err := tree.ProveInclusion(ctx, 10, 3001)
	if err != nil {
		t.Fatal(err)
	}
	if err := transparency.VerifyInclusion(p, a.Root()); err != nil {
		t.Fatalf("inclusion of an archived event: %v", err)
	}
	if _, err := s.VerifyArchive(ctx, key.Verifier); err != nil {
		t.Fatalf("verify archive: %v", err)
	}

	// One byte of the middle segment changed.
	name := rep.Segments[1].File
	b, err := os.ReadFile(filepath.Join(archiveDir, name))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x20
	if err := os.WriteFile(filepath.Join(archiveDir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.VerifyArchive(ctx, key.Verifier)
	var se *archive.SegmentError
	if !errors.As(err, &se) || se.File != name {
		t.Fatalf("verify a changed segment: %v, want an error naming %s", err, name)
	}
}

// A stream with every event archived keeps its head: the writer refuses a stale
// expectation and continues its revisions.
func TestSealArchivedOnlyStream(t *testing.T) {
	ctx := context.Background()
	key := testKey(t)
	s := openTemp(t, WithSynchronous(Normal))
	for i := range 3 {
		if _, err := s.Append(ctx, "old", eventstore.Any, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "new", eventstore.Any, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seal(ctx, SealOptions{Before: time.Now().Add(time.Hour), Signers: []note.Signer{key.Signer}}); err != nil {
		t.Fatal(err)
	}
	if rev, ok := s.CommittedRevision("old"); !ok || rev != 2 {
		t.Fatalf("committed revision of an archived stream: %d, %v", rev, ok)
	}
	if _, err := s.Append(ctx, "old", eventstore.NoStream, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "x"}); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
		t.Fatalf("no-stream on an archived stream: %v", err)
	}
	res, err := s.Append(ctx, "old", eventstore.Exact(2), eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "x"})
	if err != nil || res.NextRevision != 3 {
		t.Fatalf("append after the archived head: %+v, %v", res, err)
	}
	all, err := s.ReadStream(ctx, "old", 0, 0)
	if err != nil || len(all) != 4 {
		t.Fatalf("read: %d, %v", len(all), err)
	}
}

// Reads of archived events give exactly what they gave before the seal, whatever the
// range: across blocks, segments and the live table.
func TestSealedReadsMatch(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, WithSynchronous(Normal))
	for i := range 2500 {
		// Streams of very different lengths: one event in 7 goes to "busy".
		stream := fmt.Sprintf("s-%d", i%40)
		if i%7 == 0 {
			stream = "busy"
		}
		if _, err := s.Append(ctx, stream, eventstore.Any, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "t", Data: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	type read struct {
		stream string
		from   uint64
		limit  int
		after  uint64 // ReadAll when stream is ""
	}
	reads := []read{
		{stream: "busy", from: 0}, {stream: "busy", from: 100, limit: 50}, {stream: "busy", from: 300},
		{stream: "s-3", from: 0, limit: 3}, {stream: "s-3", from: 40}, {stream: "s-39", from: 10, limit: 100},
		{stream: "nothing"}, {after: 0, limit: 700}, {after: 999, limit: 3}, {after: 1990, limit: 20}, {after: 2400},
	}
	do := func(r read) ([]eventstore.RecordedEvent, error) {
		if r.stream == "" {
			return s.ReadAll(ctx, r.after, r.limit)
		}
		return s.ReadStream(ctx, r.stream, r.from, r.limit)
	}
	var want [][]eventstore.RecordedEvent
	var wantErr []error
	for _, r := range reads {
		evs, err := do(r)
		want, wantErr = append(want, evs), append(wantErr, err)
	}
	if _, err := s.Seal(ctx, SealOptions{Before: time.Now().Add(time.Hour), Keep: 500, SegmentEvents: 900, Signers: []note.Signer{testKey(t).Signer}}); err != nil {
		t.Fatal(err)
	}
	if got := s.ArchivedThrough(); got != 2000 {
		t.Fatalf("archived through %d, want 2000", got)
	}
	for i, r := range reads {
		got, err := do(r)
		if (err == nil) != (wantErr[i] == nil) || len(got) != len(want[i]) {
			t.Fatalf("%+v: %d events, %v; before the seal %d, %v", r, len(got), err, len(want[i]), wantErr[i])
		}
		for k := range got {
			a, b := got[k], want[i][k]
			if a.Position != b.Position || a.Revision != b.Revision || a.Hash != b.Hash || string(a.Data) != string(b.Data) || !a.RecordedAt.Equal(b.RecordedAt) {
				t.Fatalf("%+v: event %d differs: %+v, before %+v", r, k, a, b)
			}
		}
	}
}

// A schema 2 file (before archival) gains the archive tables on open, its events intact.
func TestMigrateSchema2AddsArchiveTables(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path, WithSynchronous(Normal))
	if _, err := s.Append(ctx, "a", eventstore.NoStream, eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "t"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE archive_segments", "DROP TABLE archive_streams", "DROP TABLE archive_frontier", "PRAGMA user_version = 2"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s = openAt(t, path, WithSynchronous(Normal))
	if _, err := s.Seal(ctx, SealOptions{Before: time.Now().Add(time.Hour), Keep: 1, Signers: []note.Signer{testKey(t).Signer}}); err != nil {
		t.Fatalf("seal after migrating: %v", err)
	}
	if head, err := s.VerifyChain(ctx); err != nil || head.Position != 1 {
		t.Fatalf("chain after migrating: %+v, %v", head, err)
	}
}
