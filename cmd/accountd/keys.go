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
	"time"

	"accountd/commands"
	"accountd/domain"
	"accountd/eventstore/transparency"
	"accountd/http/serve"
)

const keysUsage = `Usage: accountd keys public|rotate|adopt [flags]

public  prints the verifier key of the checkpoint signing key (name+hash+base64): the
        key auditors pin to check checkpoints (accountd verify --verifier-key, evidence
        bundles). The key is DATA/keys/checkpoint-signing.key, or --signing-key.
rotate  introduces a new signing key (server stopped): the latest checkpoint is signed
        by the old and the new key, so an auditor who trusts the old key can follow the
        rotation; the old key is kept beside it as *.retired-HASH, and every old
        checkpoint stays verifiable with the old verifier key. Prints the new verifier key.
adopt   makes the MFA and link keys of --keys (default DATA/keys; ACCOUNTD_MFA_KEY and
        ACCOUNTD_LINK_KEY win) the log's, for a recorded key lost for good: every node
        refuses to start with keys whose fingerprints differ from the log's. What the
        replaced key sealed (enrolled TOTP secrets: reset those accounts' MFA) or signed
        (links already mailed) is given up. Prints each key's fingerprint and what it replaced.

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
	keysDir := fs.String("keys", "", "`DIR` of the MFA and link keys, for adopt (default DATA/keys)")
	pos, err := parseInterleaved(fs, args, environ)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want one of: public, rotate, adopt")}
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
	case "adopt":
		dir := *keysDir
		if dir == "" {
			dir = filepath.Join(sf.data, "keys")
		}
		return adoptKeys(&sf, dir, envMap(environ), stdout)
	}
	return usageError{fmt.Errorf("unknown keys command %q: want public, rotate or adopt", pos[0])}
}

func rotateKey(sf *storeFlags, cf *checkpointFlags, stdout io.Writer) error {
	path := cf.keyPath(sf.data)
	old, err := transparency.LoadSigningKey(path)
	if err != nil {
		return err
	}
	store, err := sf.openRaw() // checkpoints commit to the log as stored
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

// adoptKeys records the fingerprints of this node's MFA and link keys as the log's.
func adoptKeys(sf *storeFlags, dir string, env map[string]string, stdout io.Writer) error {
	keys := map[string][]byte{}
	for _, k := range []struct{ purpose, env string }{{domain.KeyPurposeMFA, envMFAKey}, {domain.KeyPurposeLink, envLinkKey}} {
		var err error
		if v := strings.TrimSpace(env[k.env]); v != "" {
			keys[k.purpose], err = serve.ParseHexKey(v, k.env)
		} else {
			keys[k.purpose], err = serve.ReadKey(serve.KeyFile(dir, k.purpose))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", serve.KeyName(k.purpose), err)
		}
	}
	store, err := sf.openLog()
	if err != nil {
		return err
	}
	defer store.Close()
	for _, purpose := range domain.KeyPurposes {
		fp := domain.KeyFingerprint(purpose, keys[purpose])
		replaced, changed, err := commands.AdoptKeyFingerprint(context.Background(), store, time.Now, purpose, fp)
		switch {
		case err != nil:
			return err
		case !changed:
			fmt.Fprintf(stdout, "%s (%s): %s, already the log's\n", purpose, serve.KeyName(purpose), fp)
		case replaced == "":
			fmt.Fprintf(stdout, "%s (%s): %s recorded\n", purpose, serve.KeyName(purpose), fp)
		default:
			fmt.Fprintf(stdout, "%s (%s): %s recorded, replacing %s\n", purpose, serve.KeyName(purpose), fp, replaced)
		}
	}
	return nil
}

// readVerifierKey takes a verifier key as text, or the name of a file holding it.
func readVerifierKey(v string) (string, error) {
	if b, err := os.ReadFile(v); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	return v, nil // not a file: the text itself, and the parser says what is wrong with it
}
