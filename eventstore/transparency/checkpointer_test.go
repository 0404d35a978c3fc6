package transparency_test

import (
	"path/filepath"
	"testing"

	"accountd/eventstore/sqlite"
	"accountd/eventstore/transparency"
)

// A checkpoint signed on demand while the monitor has not yet audited the log (the server
// just started, an auditor asks for evidence) covers the whole log, audited first: signing
// the prefix verified so far would leave the newest events out of an evidence bundle
// without saying so.
func TestOnDemandCheckpointCoversTheLogNotTheAuditedPrefix(t *testing.T) {
	path, _ := attackLog(t)
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key, err := transparency.GenerateSigningKey("test")
	if err != nil {
		t.Fatal(err)
	}
	monitor, err := transparency.NewMonitor(t.Context(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := transparency.NewCheckpointer(s, transparency.CheckpointLog{Dir: filepath.Join(t.TempDir(), "checkpoints")}, key)
	if err != nil {
		t.Fatal(err)
	}
	signer.LimitTo(monitor.Verified, monitor.Check)
	if monitor.Verified() != 0 {
		t.Fatalf("the monitor verified %d events before any check", monitor.Verified())
	}
	signed, err := signer.Sign(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if signed.Size != attackEvents || monitor.Verified() != attackEvents {
		t.Fatalf("signed %d events with %d verified, want all %d", signed.Size, monitor.Verified(), attackEvents)
	}
}
