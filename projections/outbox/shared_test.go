package outbox_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"accountd/commands"
	"accountd/projections/outbox"
)

// sharedPosition is the shared store's checkpoint as the nodes of one log see it; fenced
// makes Save refuse, as a stale holder's write is refused.
type sharedPosition struct {
	mu     sync.Mutex
	pos    uint64
	saves  int
	fenced bool
}

var errFenced = errors.New("fenced")

func (s *sharedPosition) Load(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pos, nil
}

func (s *sharedPosition) Save(_ context.Context, pos uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fenced {
		return errFenced
	}
	s.pos, s.saves = pos, s.saves+1
	return nil
}

// A node taking the outbox over (or one restored from an old backup) goes on from the
// shared checkpoint: what the previous holder mailed is not mailed again, though its
// address tables learn from those events; a holder whose write is fenced stops.
func TestSharedCheckpointTakeover(t *testing.T) {
	e := newEnv(t)
	shared := &sharedPosition{}
	withShared := func(c *outbox.Config) { c.Shared = shared }
	e.createProperty(t, "p1", "Hôtel du Lac", "direction@hotel-lac.example")
	e.register(t, "anna@hotel-lac.example", "p1")
	e.register(t, "luca@hotel-lac.example", "p1")

	first := &recorder{}
	a := e.outbox(t, openDB(t, filepath.Join(t.TempDir(), "a.db")), first, withShared)
	if err := a.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	head, _ := e.store.HeadPosition(e.ctx)
	if n := len(first.messages()); n != 2 || shared.pos != head || a.Position() != head {
		t.Fatalf("first holder: %d mails, shared at %d, local at %d; want 2 mails and both at %d", n, shared.pos, a.Position(), head)
	}

	// Node b: its own, empty read models.
	e.register(t, "maria@hotel-lac.example", "p1")
	second := &recorder{}
	b := e.outbox(t, openDB(t, filepath.Join(t.TempDir(), "b.db")), second, withShared)
	if err := b.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := second.messages(); len(got) != 1 || got[0].To[0] != "maria@hotel-lac.example" {
		t.Fatalf("the new holder sent %+v, want maria's activation only", got)
	}
	// Anna's address came from an event b did not mail about.
	if _, err := e.svc.RequestPasswordReset(e.ctx, commands.Meta{}, "anna@hotel-lac.example"); err != nil {
		t.Fatal(err)
	}
	if err := b.CatchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := second.ofKind(outbox.KindPasswordReset); len(got) != 1 || got[0].To[0] != "anna@hotel-lac.example" {
		t.Fatalf("reset mail from the new holder: %+v", got)
	}

	// The old holder, fenced out, cannot move the shared checkpoint.
	e.register(t, "piero@hotel-lac.example", "p1")
	shared.fenced = true
	before := shared.pos
	if err := a.CatchUp(e.ctx); !errors.Is(err, errFenced) {
		t.Fatalf("a fenced holder's catch-up: %v, want the fencing error", err)
	}
	if shared.pos != before {
		t.Fatalf("shared checkpoint moved to %d under a stale token", shared.pos)
	}
}
