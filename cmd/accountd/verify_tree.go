package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"accountd/eventstore"
	"accountd/eventstore/transparency"
	"accountd/http/serve"
)

type verifyFlags struct {
	checkpoint, verifierKey string
	keys                    checkpointFlags
}

func (f *verifyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.checkpoint, "checkpoint", "", "a signed checkpoint `file` saved earlier: prove the log extends it")
	fs.StringVar(&f.verifierKey, "verifier-key", "", "verifier `key` (name+hash+base64, or a file holding it) the checkpoint must be signed with; default: the local signing key's")
	f.keys.registerKey(fs)
}

// verifiers are the keys a checkpoint is checked with: the one given, or the local key.
func (f *verifyFlags) verifiers(data string) ([]note.Verifier, error) {
	if f.verifierKey != "" {
		text, err := readVerifierKey(f.verifierKey)
		if err != nil {
			return nil, err
		}
		v, err := transparency.ParseVerifierKey(text)
		if err != nil {
			return nil, usageError{err}
		}
		return []note.Verifier{v}, nil
	}
	k, err := transparency.LoadSigningKey(f.keys.keyPath(data))
	if err != nil {
		return nil, fmt.Errorf("no --verifier-key and no local signing key: %w", err)
	}
	return []note.Verifier{k.Verifier}, nil
}

// verifyTree audits the transparency tree and checks it against signed checkpoints.
func verifyTree(ctx context.Context, store eventstore.Store, sf *storeFlags, vf *verifyFlags, stdout io.Writer) error {
	auditor, err := transparency.NewAuditor(store)
	if errors.Is(err, transparency.ErrNoHashTree) {
		if vf.checkpoint != "" {
			return fmt.Errorf("the %s event log keeps no transparency tree: --checkpoint cannot be checked", sf.store)
		}
		fmt.Fprintf(stdout, "SKIPPED: the %s event log keeps no transparency tree\n", sf.store)
		return nil
	}
	verifiers, err := vf.verifiers(sf.data)
	if err != nil && vf.checkpoint != "" {
		return err
	}
	var checkpoints []transparency.Checkpoint
	source := "the server's kept checkpoints"
	if vf.checkpoint != "" {
		msg, err := os.ReadFile(vf.checkpoint)
		if err != nil {
			return err
		}
		cp, _, err := transparency.OpenCheckpoint(msg, verifiers...)
		if err != nil {
			return fmt.Errorf("%s: %w", vf.checkpoint, err)
		}
		checkpoints, source = []transparency.Checkpoint{cp}, vf.checkpoint
	} else if err == nil {
		notes, err := transparency.CheckpointLog{Dir: serve.CheckpointDir(sf.data)}.List()
		if err != nil {
			return err
		}
		for _, n := range notes {
			if cp, _, err := transparency.OpenCheckpoint(n, verifiers...); err == nil {
				checkpoints = append(checkpoints, cp)
			}
		}
	}
	var matched *transparency.Checkpoint
	for i := range checkpoints {
		cp := checkpoints[i]
		if cp.Size < auditor.Size() {
			continue
		}
		if err := auditor.Check(ctx, cp); err != nil {
			return treeBroken(stdout, err, matched, &cp)
		}
		matched = &checkpoints[i]
	}
	if err := auditor.Advance(ctx, -1); err != nil {
		return treeBroken(stdout, err, matched, nil)
	}
	root := auditor.Root()
	fmt.Fprintf(stdout, "OK: transparency tree intact: %d events, root %s\n", auditor.Size(), base64.StdEncoding.EncodeToString(root[:]))
	switch {
	case matched != nil:
		fmt.Fprintf(stdout, "OK: the log extends the signed checkpoint of %d events (%s, %s)\n", matched.Size, matched.Origin, source)
	case vf.checkpoint == "":
		fmt.Fprintln(stdout, "NOTE: no signed checkpoint to compare with; keep one outside the server (GET /v1/compliance/checkpoint)")
	}
	return nil
}

func treeBroken(stdout io.Writer, err error, matched, failed *transparency.Checkpoint) error {
	var m *eventstore.TreeMismatchError
	if !errors.As(err, &m) {
		return err
	}
	fmt.Fprintf(stdout, "BROKEN: transparency tree does not match the log at position %d: %s\n", m.Position, m.Reason)
	if failed != nil && failed.Size == int64(m.Position) && !isTruncation(m) {
		from := int64(1)
		if matched != nil {
			from = matched.Size + 1
		}
		fmt.Fprintf(stdout, "the events and the stored tree agree with each other but not with the signed root: the first rewritten position is between %d and %d\n", from, failed.Size)
	}
	return m
}

func isTruncation(m *eventstore.TreeMismatchError) bool {
	return strings.Contains(m.Reason, "truncated")
}
