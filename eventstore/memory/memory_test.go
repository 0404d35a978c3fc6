package memory_test

import (
	"testing"
	"time"

	"accountd/eventstore"
	"accountd/eventstore/eventstoretest"
	"accountd/eventstore/memory"
)

func TestConformance(t *testing.T) {
	eventstoretest.TestWith(t, eventstoretest.Features{HashTree: true}, func(t *testing.T) eventstore.Store {
		s := memory.New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestClock(t *testing.T) {
	at := time.Date(2024, 2, 29, 12, 30, 0, 123456789, time.FixedZone("CET", 3600))
	s := memory.New(memory.WithClock(func() time.Time { return at }))
	if _, err := s.Append(t.Context(), "acct", eventstore.NoStream, eventstore.EventData{ID: [16]byte{1}, Type: "Opened"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadAll(t.Context(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].RecordedAt.Equal(at) || got[0].RecordedAt.Location() != time.UTC {
		t.Fatalf("RecordedAt %v, want %v in UTC", got[0].RecordedAt, at)
	}
}
