package eventstoretest

import (
	"bytes"
	"fmt"
	"testing"

	"accountd/eventstore"

	"github.com/google/uuid"
)

func newEvent(typ string) eventstore.EventData {
	id := uuid.New()
	return eventstore.EventData{
		ID:       id,
		Type:     typ,
		Data:     []byte(fmt.Sprintf(`{"id":%q}`, id)),
		Metadata: []byte(`{"by":"eventstoretest"}`),
	}
}

func newEvents(typ string, n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = newEvent(typ)
	}
	return out
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(t.Context(), stream, expected, events...)
	if err != nil {
		t.Fatalf("append %d events to %q expecting %s: %v", len(events), stream, expected, err)
	}
	if len(res.Positions) != len(events) {
		t.Fatalf("append to %q returned %d positions for %d events", stream, len(res.Positions), len(events))
	}
	return res
}

func mustHead(t *testing.T, s eventstore.Store) uint64 {
	t.Helper()
	head, err := s.HeadPosition(t.Context())
	if err != nil {
		t.Fatalf("head position: %v", err)
	}
	return head
}

// mustReadAll pages through the whole log so that it does not depend on what a backend
// does with a limit below one.
func mustReadAll(t *testing.T, s eventstore.Store) []eventstore.RecordedEvent {
	t.Helper()
	var all []eventstore.RecordedEvent
	for {
		page, err := s.ReadAll(t.Context(), uint64(len(all)), 1000)
		if err != nil {
			t.Fatalf("read all after %d: %v", len(all), err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
	}
}

func mustReadStream(t *testing.T, s eventstore.Store, stream string) []eventstore.RecordedEvent {
	t.Helper()
	var all []eventstore.RecordedEvent
	for {
		page, err := s.ReadStream(t.Context(), stream, uint64(len(all)), 1000)
		if err != nil {
			t.Fatalf("read stream %q from %d: %v", stream, len(all), err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
	}
}

// assertRecorded checks that got is exactly sent, stored in stream from firstRevision at
// the given positions.
func assertRecorded(t *testing.T, got []eventstore.RecordedEvent, stream string, sent []eventstore.EventData, firstRevision uint64, positions []uint64) {
	t.Helper()
	if len(got) != len(sent) {
		t.Fatalf("got %d events, want %d", len(got), len(sent))
	}
	for i, g := range got {
		w := sent[i]
		if g.ID != w.ID || g.Stream != stream || g.Type != w.Type {
			t.Fatalf("event %d: got (%s, %q, %q), want (%s, %q, %q)", i, g.ID, g.Stream, g.Type, w.ID, stream, w.Type)
		}
		if g.Revision != firstRevision+uint64(i) {
			t.Fatalf("event %d: revision %d, want %d", i, g.Revision, firstRevision+uint64(i))
		}
		if positions != nil && g.Position != positions[i] {
			t.Fatalf("event %d: position %d, want %d", i, g.Position, positions[i])
		}
		if !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("event %d: data does not round-trip: got %d bytes %q, want %d bytes %q", i, len(g.Data), clip(g.Data), len(w.Data), clip(w.Data))
		}
		if !bytes.Equal(g.Metadata, w.Metadata) {
			t.Fatalf("event %d: metadata does not round-trip: got %q, want %q", i, clip(g.Metadata), clip(w.Metadata))
		}
		if g.RecordedAt.IsZero() {
			t.Fatalf("event %d: RecordedAt not set", i)
		}
	}
}

func assertHead(t *testing.T, s eventstore.Store, want uint64) {
	t.Helper()
	if got := mustHead(t, s); got != want {
		t.Fatalf("head position %d, want %d", got, want)
	}
}

func positionsFrom(first uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = first + uint64(i)
	}
	return out
}

func equalPositions(a, b []uint64) bool {
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

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
