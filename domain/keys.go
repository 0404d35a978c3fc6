package domain

import (
	"crypto/sha256"
	"encoding/hex"
)

// Key purposes: the secret keys every node of one log must share, because what one node
// made with them another must read. The MFA key seals the TOTP secrets kept in the log;
// the link key is the HMAC key of the e-mailed links' tokens and of the pseudonymous
// stream names of unknown addresses. (The checkpoint signing key is not one of them: it
// signs the checkpoints of one node's own transparency log, may differ per node and is
// rotated by design; its public half is in every checkpoint it signs.)
const (
	KeyPurposeMFA  = "mfa"
	KeyPurposeLink = "link"
)

// KeyPurposes lists the shared keys' purposes, in the order a server checks them.
var KeyPurposes = []string{KeyPurposeMFA, KeyPurposeLink}

// KeyStream names the stream recording the fingerprint of the key of a purpose.
func KeyStream(purpose string) string { return "keys-" + purpose }

// keyFingerprintDomain separates key fingerprints from every other SHA-256 accountd takes
// (the hash chain, e-mail stream names, the transparency tree).
const keyFingerprintDomain = "accountd key fingerprint v1\x00"

// KeyFingerprint identifies a key without disclosing it: "sha256:" and the hex of
// SHA-256(domain || purpose || 0x00 || key). The keys are 256 random bits, so the hash
// cannot be inverted or guessed; the purpose in the input makes one byte string used for
// two purposes give two unrelated fingerprints.
func KeyFingerprint(purpose string, key []byte) string {
	h := sha256.New()
	h.Write([]byte(keyFingerprintDomain))
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(key)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// KeyFingerprintRecorded is the fingerprint of the key a purpose uses on this log, recorded
// by the first node that started with it (appended with NoStream: of two nodes starting at
// once, one records and the other compares), or by an operator who adopted a new key
// (`accountd keys adopt`, Replaces naming the fingerprint it replaces). The latest record
// is the key in force. Never the key itself.
type KeyFingerprintRecorded struct {
	Purpose     string `json:"purpose"`
	Fingerprint string `json:"fingerprint"`
	Replaces    string `json:"replaces,omitempty"`
}

func (KeyFingerprintRecorded) EventType() string { return "key_fingerprint_recorded.v1" }
