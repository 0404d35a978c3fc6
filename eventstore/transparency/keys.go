package transparency

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// ErrBadKey: a signing or verifier key that does not parse, or a key file others can read.
var ErrBadKey = errors.New("transparency: bad key")

// SigningKeyFile is the name of the checkpoint signing key in the data directory's keys
// folder.
const SigningKeyFile = "checkpoint-signing.key"

// SigningKey is a note signing key (an Ed25519 private key in note's encoding,
// "PRIVATE+KEY+name+hash+base64") with its public verifier key ("name+hash+base64").
type SigningKey struct {
	Signer   note.Signer
	Verifier note.Verifier
	// VerifierKey is the text auditors pin: `accountd keys public` prints it.
	VerifierKey string
	private     string
}

// GenerateSigningKey makes a fresh key named name (the log's origin).
func GenerateSigningKey(name string) (SigningKey, error) {
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%w: generate: %v", ErrBadKey, err)
	}
	return ParseSigningKey(skey)
}

// ParseSigningKey reads a note private key and derives its verifier key.
func ParseSigningKey(skey string) (SigningKey, error) {
	skey = strings.TrimSpace(skey)
	signer, err := note.NewSigner(skey)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	// PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>
	// (the name and the hash hold no '+'; the base64 may).
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return SigningKey{}, fmt.Errorf("%w: not a note private key", ErrBadKey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return SigningKey{}, fmt.Errorf("%w: not an Ed25519 key", ErrBadKey)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return SigningKey{Signer: signer, Verifier: verifier, VerifierKey: vkey, private: skey}, nil
}

// ParseVerifierKey reads a verifier key as `accountd keys public` prints it.
func ParseVerifierKey(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("%w: verifier key: %v", ErrBadKey, err)
	}
	return v, nil
}

// LoadSigningKey reads a key file, refusing one that group or others may read.
func LoadSigningKey(path string) (SigningKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return SigningKey{}, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return SigningKey{}, fmt.Errorf("%w: %s is readable by others (mode %v); chmod 600 it", ErrBadKey, path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return SigningKey{}, err
	}
	k, err := ParseSigningKey(string(b))
	if err != nil {
		return SigningKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateSigningKey reads the key at path, or makes one named name there (mode
// 0600, its folder 0700) when there is none.
func LoadOrCreateSigningKey(path, name string) (SigningKey, error) {
	k, err := LoadSigningKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	k, err = GenerateSigningKey(name)
	if err != nil {
		return SigningKey{}, err
	}
	if err := WriteSigningKey(path, k); err != nil {
		return SigningKey{}, err
	}
	return k, nil
}

// WriteSigningKey writes k to a new file at path (mode 0600); it never overwrites one.
func WriteSigningKey(path string, k SigningKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(k.private + "\n"); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
