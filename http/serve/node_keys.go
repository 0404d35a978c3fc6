package serve

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"accountd/commands"
	"accountd/domain"
)

// The files of the keys every node of one log shares, in Config.KeysDir.
const (
	mfaKeyFile  = "mfa.key"
	linkKeyFile = "link.key"
)

// keyNames say what each shared key is for, in the refusal that names it.
var keyNames = map[string]struct{ name, file, env string }{
	domain.KeyPurposeMFA:  {"MFA secret sealing key", mfaKeyFile, "ACCOUNTD_MFA_KEY"},
	domain.KeyPurposeLink: {"link HMAC key", linkKeyFile, "ACCOUNTD_LINK_KEY"},
}

// KeyMismatchError is the refusal to start of a node whose key is not the one the log
// recorded: it names the key, where this node read it, both fingerprints and the fix.
type KeyMismatchError struct {
	*commands.KeyMismatchError
	Name   string // what the key is for
	Source string // where this node read it: a file, or the configuration
}

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("key mismatch: this node's %s (purpose %s, %s) has fingerprint %s, but the log recorded %s on %s: "+
		"another node uses a different key on this log, and what one seals or signs the other cannot open. "+
		"Give every node the same keys: point each at one keys directory with --keys DIR (ACCOUNTD_KEYS), "+
		"or copy the key file of the nodes that start into this node's keys directory; "+
		"do not replace the recorded key, or what was sealed or signed with it becomes unusable",
		e.Name, e.Purpose, e.Source, e.Got, e.Recorded, e.RecordedAt.UTC().Format("2006-01-02T15:04:05Z"))
}

func (e *KeyMismatchError) Unwrap() error { return e.KeyMismatchError }

// checkKeys compares each shared key with the fingerprint the log recorded for its
// purpose, recording it when the log has none (the first node to start on a log), and
// refuses the first key that differs.
func (s *Server) checkKeys(ctx context.Context, keys map[string][]byte) error {
	given := map[string]bool{domain.KeyPurposeMFA: len(s.cfg.MFAKey) > 0, domain.KeyPurposeLink: len(s.cfg.LinkKey) > 0}
	for _, purpose := range domain.KeyPurposes {
		fp := domain.KeyFingerprint(purpose, keys[purpose])
		recorded, err := commands.CheckKeyFingerprint(ctx, s.store, s.cfg.Clock, purpose, fp)
		var mismatch *commands.KeyMismatchError
		if errors.As(err, &mismatch) {
			n := keyNames[purpose]
			source := "file " + filepath.Join(s.cfg.KeysDir, n.file)
			if given[purpose] {
				source = "given in " + n.env
			}
			return &KeyMismatchError{KeyMismatchError: mismatch, Name: n.name, Source: source}
		}
		if err != nil {
			return err
		}
		if recorded {
			s.log.Info("recorded the key's fingerprint in the log", "purpose", purpose, "fingerprint", fp)
		}
	}
	return nil
}
