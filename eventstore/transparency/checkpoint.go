package transparency

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrBadCheckpoint: a checkpoint that does not parse, or whose signature no given key
// verifies.
var ErrBadCheckpoint = errors.New("transparency: bad checkpoint")

// Checkpoint is a tree head in the C2SP tlog-checkpoint format: the note text
//
//	<origin>\n<tree size, decimal>\n<root hash, standard base64>\n
//
// signed as a C2SP signed note with Ed25519 (golang.org/x/mod/sumdb/note).
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// Text is the checkpoint's note text, the bytes the signatures cover.
func (c Checkpoint) Text() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]))
}

// ParseCheckpoint reads a checkpoint's note text. Extension lines after the hash, which
// C2SP allows, are ignored.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitAfterN(text, "\n", 4)
	if len(lines) < 3 || !strings.HasSuffix(lines[2], "\n") {
		return Checkpoint{}, fmt.Errorf("%w: want origin, size and hash lines", ErrBadCheckpoint)
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	size, err := strconv.ParseInt(strings.TrimSuffix(lines[1], "\n"), 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != strings.TrimSuffix(lines[1], "\n") {
		return Checkpoint{}, fmt.Errorf("%w: tree size %q", ErrBadCheckpoint, strings.TrimSuffix(lines[1], "\n"))
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(raw) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: root hash %q", ErrBadCheckpoint, strings.TrimSuffix(lines[2], "\n"))
	}
	if origin == "" {
		return Checkpoint{}, fmt.Errorf("%w: empty origin", ErrBadCheckpoint)
	}
	c := Checkpoint{Origin: origin, Size: size}
	copy(c.Hash[:], raw)
	return c, nil
}

// SignCheckpoint signs c with every signer (two during a key rotation).
func SignCheckpoint(c Checkpoint, signers ...note.Signer) ([]byte, error) {
	msg, err := note.Sign(&note.Note{Text: c.Text()}, signers...)
	if err != nil {
		return nil, fmt.Errorf("transparency: sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint checks that at least one of verifiers signed msg and parses it. The
// note's other signatures (keys the caller does not know) are ignored, which is what
// keeps a checkpoint signed by an old and a new key verifiable with either.
func OpenCheckpoint(msg []byte, verifiers ...note.Verifier) (Checkpoint, *note.Note, error) {
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	return c, n, nil
}
