package transparency

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"accountd/eventstore"
)

// Checkpointer signs checkpoints of a store's tree and keeps them in a CheckpointLog. It
// never signs a tree that does not extend the last one it signed (it checks a consistency
// proof first), nor beyond what a Monitor has verified, so a log rewritten on disk does
// not get a fresh signature.
type Checkpointer struct {
	tree     Tree
	origin   string
	keys     []SigningKey
	log      CheckpointLog
	verified func() int64                // nil: the whole tree
	catchUp  func(context.Context) error // nil: verified is as far as it goes

	mu     sync.Mutex
	latest Signed
	have   bool
}

// NewCheckpointer signs with keys (the first names the origin; a second one during a
// rotation) and loads the latest kept checkpoint any of them verifies.
func NewCheckpointer(s eventstore.Store, log CheckpointLog, keys ...SigningKey) (*Checkpointer, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no signing key", ErrBadKey)
	}
	tree, err := NewTree(s)
	if err != nil {
		return nil, err
	}
	c := &Checkpointer{tree: tree, origin: keys[0].Signer.Name(), keys: keys, log: log}
	notes, err := log.List()
	if err != nil {
		return nil, err
	}
	for i := len(notes) - 1; i >= 0; i-- {
		if cp, _, err := OpenCheckpoint(notes[i], c.verifiers()...); err == nil && cp.Origin == c.origin {
			c.latest, c.have = Signed{Checkpoint: cp, Note: notes[i]}, true
			break
		}
	}
	return c, nil
}

func (c *Checkpointer) verifiers() []note.Verifier {
	v := make([]note.Verifier, len(c.keys))
	for i, k := range c.keys {
		v[i] = k.Verifier
	}
	return v
}

// Kept returns every kept checkpoint that the checkpointer's keys verify, smallest first.
func (c *Checkpointer) Kept() ([]Signed, error) {
	notes, err := c.log.List()
	if err != nil {
		return nil, err
	}
	var out []Signed
	for _, n := range notes {
		if cp, _, err := OpenCheckpoint(n, c.verifiers()...); err == nil && cp.Origin == c.origin {
			out = append(out, Signed{Checkpoint: cp, Note: n})
		}
	}
	return out, nil
}

// Verifiers are the keys' verifiers.
func (c *Checkpointer) Verifiers() []note.Verifier { return c.verifiers() }

// Origin is the origin line of every checkpoint signed here.
func (c *Checkpointer) Origin() string { return c.origin }

// LimitTo makes the checkpointer sign only what verified reports as verified. When
// catchUp is given, Sign first has it verify up to the tree's size whenever verified lags
// behind: a checkpoint signed on demand (an evidence export just after start, while the
// monitor is still auditing the log) then covers the log as it is, not the prefix audited
// so far, which would silently leave the latest events out of the bundle.
func (c *Checkpointer) LimitTo(verified func() int64, catchUp func(context.Context) error) {
	c.verified, c.catchUp = verified, catchUp
}

// Latest is the most recent checkpoint signed (or loaded at start).
func (c *Checkpointer) Latest() (Signed, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest, c.have
}

// Sign signs a checkpoint of the whole verified tree now (the evidence export calls it)
// and returns it; when the tree has not grown since the latest checkpoint it returns
// that one.
func (c *Checkpointer) Sign(ctx context.Context) (Signed, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size, err := c.tree.Size(ctx)
	if err != nil {
		return Signed{}, err
	}
	if c.verified != nil {
		if c.catchUp != nil && c.verified() < size {
			if err := c.catchUp(ctx); err != nil {
				return Signed{}, err
			}
		}
		size = min(size, c.verified())
	}
	if c.have {
		switch {
		case size < c.latest.Size:
			return Signed{}, &eventstore.TreeMismatchError{Position: uint64(size + 1),
				Reason: fmt.Sprintf("the tree holds %d events, the last signed checkpoint %d: the log was truncated", size, c.latest.Size)}
		case size == c.latest.Size:
			return c.latest, nil
		}
	}
	root, err := c.tree.Root(ctx, size)
	if err != nil {
		return Signed{}, err
	}
	if c.have {
		proof, err := c.tree.ProveConsistency(ctx, c.latest.Size, size)
		if err != nil {
			return Signed{}, err
		}
		if err := VerifyConsistency(proof, c.latest.Hash, root); err != nil {
			return Signed{}, &eventstore.TreeMismatchError{Position: uint64(c.latest.Size),
				Reason: fmt.Sprintf("the tree of %d events does not extend the last signed checkpoint (%d events): %v", size, c.latest.Size, err)}
		}
	}
	return c.signLocked(Checkpoint{Origin: c.origin, Size: size, Hash: root}, c.signers())
}

func (c *Checkpointer) signers() []note.Signer {
	s := make([]note.Signer, len(c.keys))
	for i, k := range c.keys {
		s[i] = k.Signer
	}
	return s
}

func (c *Checkpointer) signLocked(cp Checkpoint, signers []note.Signer) (Signed, error) {
	msg, err := SignCheckpoint(cp, signers...)
	if err != nil {
		return Signed{}, err
	}
	s := Signed{Checkpoint: cp, Note: msg}
	if err := c.log.Save(s); err != nil {
		return Signed{}, fmt.Errorf("transparency: keep checkpoint: %w", err)
	}
	c.latest, c.have = s, true
	return s, nil
}

// Rotate introduces next as the signing key: it signs the latest checkpoint's tree with
// both the current and the next key (the introduction an auditor follows from the old
// key to the new), then signs with next alone. Old checkpoints keep their old signatures
// and stay verifiable with the old verifier key.
func (c *Checkpointer) Rotate(ctx context.Context, next SigningKey) (Signed, error) {
	if next.Signer.Name() != c.origin {
		return Signed{}, fmt.Errorf("%w: the new key is named %q, the log's origin is %q", ErrBadKey, next.Signer.Name(), c.origin)
	}
	latest, err := c.Sign(ctx)
	if err != nil && !errors.Is(err, ErrBeyondTree) {
		return Signed{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	both := append(c.signers(), next.Signer)
	s, err := c.signLocked(latest.Checkpoint, both)
	if err != nil {
		return Signed{}, err
	}
	c.keys = []SigningKey{next}
	return s, nil
}
