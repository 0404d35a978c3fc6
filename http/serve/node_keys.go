package serve

import (
	"context"
	"errors"
	"fmt"
	"os"
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

// KeyFile is the file of the key of a purpose (domain.KeyPurposes) in a keys directory.
func KeyFile(keysDir, purpose string) string { return filepath.Join(keysDir, keyNames[purpose].file) }

// KeyName says what the key of a purpose is for.
func KeyName(purpose string) string { return keyNames[purpose].name }

// ReadKey reads a key file (32 raw bytes or 64 hex digits) without ever creating it.
func ReadKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseKey(data, path)
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
		"the log is used with another key (another node's, or one this node lost), and what one key seals or signs the other cannot open. "+
		"Give every node the same keys: point each at one keys directory with --keys DIR (ACCOUNTD_KEYS), "+
		"or copy the key file of the nodes that start into this node's keys directory. "+
		"Only if the recorded key is lost for good, accountd keys adopt makes this node's keys the log's "+
		"(what the lost key sealed or signed is given up)",
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
