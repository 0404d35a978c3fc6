package transparency_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
)

// BenchmarkLeaf is the per-event cost the tree adds to an append: the view (a JSON decode
// and encode, in the caller's goroutine), the leaf hash and the frontier (in the writer).
func BenchmarkLeaf(b *testing.B) {
	data := []byte(`{"origin":{"ip":"203.0.113.9","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)","device_id":"d-6f1c3b7e"},"session_id":"0190f5a8-7c1e-7c4b-9a2f-1b2c3d4e5f60","mfa_step":58812345}`)
	meta := []byte(`{"occurred_at":"2026-03-02T09:00:00Z","command_id":"0190f5a8-7c1e-7c4b-9a2f-1b2c3d4e5f61"}`)
	e := eventstore.RecordedEvent{ID: uuid.New(), Stream: "account-0190f5a8", Type: "LoginSucceeded", RecordedAt: time.Unix(1, 0)}
	var f transparency.Frontier
	var h transparency.LeafHasher
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.Position = uint64(i + 1)
		v := transparency.ViewOf(e.ID, data, meta)
		f.Append(h.Hash(e, v))
	}
}
