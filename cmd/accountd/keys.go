package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"accountd/eventstore/transparency"
	"accountd/http/serve"
)

const keysUsage = `Usage: accountd keys public|rotate [flags]

public  prints the verifier key of the checkpoint signing key (name+hash+base64): the
        key auditors pin to check checkpoints (accountd verify --verifier-key, evidence
        bundles). The key is DATA/keys/checkpoint-signing.key, or --signing-key.
rotate  introduces a new signing key (server stopped): the latest checkpoint is signed
        by the old and the new key, so an auditor who trusts the old key can follow the
        rotation; the old key is kept beside it as *.retired-HASH, and every old
        checkpoint stays verifiable with the old verifier key. Prints the new verifier key.

Flags (environment equivalent in brackets):
`

// checkpointFlags locate the checkpoint signing key, for serve and the offline tools.
type checkpointFlags struct {
	signingKey string
	every      int64
	interval   string
	origin     string
}

func (f *checkpointFlags) registerKey(fs *flag.FlagSet) {
	fs.StringVar(&f.signingKey, "signing-key", "", "checkpoint signing key `file` (default DATA/keys/checkpoint-signing.key, created on first start); keep it outside the data directory's backups")
}

func (f *checkpointFlags) register(fs *flag.FlagSet) {
	f.registerKey(fs)
	fs.Int64Var(&f.every, "checkpoint-every", serve.DefaultCheckpointEvery, "sign a checkpoint once this many events are verified since the last one")
	fs.StringVar(&f.interval, "checkpoint-interval", serve.DefaultCheckpointInterval.String(), "sign a checkpoint at least this often while the log grows (a Go duration)")
	fs.StringVar(&f.origin, "checkpoint-origin", serve.DefaultCheckpointOrigin, "origin line of the checkpoints and name of a new signing key")
}

func (f *checkpointFlags) keyPath(data string) string {
	if f.signingKey != "" {
		return f.signingKey
	}
	return serve.SigningKeyPath(data)
}

func runKeys(args, environ []string, stdout, stderr io.Writer) error {
	fs := newToolFlags("keys", keysUsage, stderr)
	var sf storeFlags
	sf.register(fs)
	var cf checkpointFlags
	cf.registerKey(fs)
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want one of: public, rotate")}
	}
	switch pos[0] {
	case "public":
		k, err := transparency.LoadSigningKey(cf.keyPath(sf.data))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, k.VerifierKey)
		return nil
	case "rotate":
		return rotateKey(&sf, &cf, stdout)
	}
	return usageError{fmt.Errorf("unknown keys command %q: want public or rotate", pos[0])}
}

func rotateKey(sf *storeFlags, cf *checkpointFlags, stdout io.Writer) error {
	path := cf.keyPath(sf.data)
	old, err := transparency.LoadSigningKey(path)
	if err != nil {
		return err
	}
	store, err := sf.openLog()
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := transparency.NewCheckpointer(store, transparency.CheckpointLog{Dir: serve.CheckpointDir(sf.data)}, old)
	if err != nil {
		return err
	}
	next, err := transparency.GenerateSigningKey(old.Signer.Name())
	if err != nil {
		return err
	}
	staged := path + ".new"
	if err := transparency.WriteSigningKey(staged, next); err != nil {
		return err
	}
	s, err := c.Rotate(context.Background(), next)
	if err != nil {
		os.Remove(staged)
		return err
	}
	retired := fmt.Sprintf("%s.retired-%08x", path, old.Signer.KeyHash())
	if err := os.Rename(path, retired); err != nil {
		return err
	}
	if err := os.Rename(staged, path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new verifier key: %s\nold verifier key: %s (kept at %s)\nintroduced by the checkpoint of %d events signed by both:\n%s",
		next.VerifierKey, old.VerifierKey, filepath.Base(retired), s.Size, s.Note)
	return nil
}

// readVerifierKey takes a verifier key as text, or the name of a file holding it.
func readVerifierKey(v string) (string, error) {
	if b, err := os.ReadFile(v); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	return v, nil // not a file: the text itself, and the parser says what is wrong with it
}
