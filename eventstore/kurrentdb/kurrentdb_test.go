package kurrentdb_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"accountd/eventstore"
	"accountd/eventstore/eventstoretest"
	"accountd/eventstore/kurrentdb"

	"github.com/google/uuid"
)

const urlEnv = "ACCOUNTD_TEST_KURRENTDB_URL"

func testURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv(urlEnv)
	if url == "" {
		t.Skip(urlEnv + " not set: KurrentDB tests skipped (no server here; see the README)")
	}
	return url
}

// open gives each test its own log on the shared server through a unique stream prefix.
func open(t *testing.T, url string) *kurrentdb.Store {
	t.Helper()
	s, err := kurrentdb.Open(context.Background(), url, kurrentdb.WithStreamPrefix("t"+uuid.NewString()[:8]+"-"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestConformance runs the shared suite, each case on its own stream prefix. ESDB's
// positions are commit offsets (not 1..N) and it has no hash chain nor cross-stream ID
// uniqueness, so the subtests asserting those fail by design (listed in the package
// comment); it is opt-in so that a KurrentDB run is not red for that.
func TestConformance(t *testing.T) {
	url := testURL(t)
	if os.Getenv("ACCOUNTD_TEST_KURRENTDB_CONFORMANCE") == "" {
		t.Skip("set ACCOUNTD_TEST_KURRENTDB_CONFORMANCE=1 too: the suite needs an empty server and gapless positions, which ESDB does not give")
	}
	// KurrentDB assigns positions itself, outside any transaction a client could extend:
	// no hash tree (README, "Verifying accountd's evidence").
	eventstoretest.TestWith(t, eventstoretest.Features{HashTree: false}, func(t *testing.T) eventstore.Store { return open(t, url) })
}

// TestSemantics checks what ESDB does guarantee, on stream names unique to the run, so it
// can run against a server that already holds data.
func TestSemantics(t *testing.T) {
	url := testURL(t)
	s := open(t, url)
	ctx := t.Context()
	stream := "accountd-test-" + uuid.NewString()

	if _, err := s.ReadStream(ctx, stream, 0, 10); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("read an absent stream: %v, want ErrStreamNotFound", err)
	}
	if _, err := s.Append(ctx, stream, eventstore.StreamExists, ev()); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
		t.Fatalf("StreamExists on an absent stream: %v, want ErrWrongExpectedVersion", err)
	}
	changes, stop := s.Changes()
	defer stop()
	before, err := s.HeadPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := []eventstore.EventData{ev(), ev()}
	res, err := s.Append(ctx, stream, eventstore.NoStream, first...)
	if err != nil || res.NextRevision != 1 || res.LastPosition() <= before {
		t.Fatalf("first append: %+v, %v", res, err)
	}
	if _, err := s.Append(ctx, stream, eventstore.Exact(0), ev()); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
		t.Fatalf("Exact(0) at revision 1: %v, want ErrWrongExpectedVersion", err)
	}
	if res2, err := s.Append(ctx, stream, eventstore.Exact(1), ev()); err != nil || res2.NextRevision != 2 || res2.LastPosition() <= res.LastPosition() {
		t.Fatalf("Exact(1): %+v, %v", res2, err)
	}
	retry, err := s.Append(ctx, stream, eventstore.NoStream, first...)
	if err != nil || retry.NextRevision != 1 {
		t.Fatalf("retry of the first append: %+v, %v; want its first result", retry, err)
	}
	<-changes
	got, err := s.ReadStream(ctx, stream, 0, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("read back: %d events, %v", len(got), err)
	}
	all, err := s.ReadAll(ctx, before, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mine int
	last := before
	for _, e := range all {
		if e.Position < last {
			t.Fatalf("ReadAll went backwards: %d after %d", e.Position, last)
		}
		last = e.Position
		if e.Stream == stream {
			mine++
		}
	}
	if mine != 3 {
		t.Fatalf("ReadAll after %d found %d of the stream's 3 events", before, mine)
	}
}

func ev() eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "Ticked", Data: []byte(`{}`)}
}
