package credentials

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformedToken is returned for a link token that is not of the form accountd issues.
var ErrMalformedToken = errors.New("credentials: malformed link token")

// LinkKey issues the tokens of e-mailed links (activation, reset, unlock). A token is
// "<account ID>.<HMAC-SHA256(key, account ID, nonce)>": 256 bits only the key holder can
// produce. The log keeps the nonce and the token's SHA-256 hash, never the token, so the
// outbox (which holds the key) can write the mail from the log while a copy of the log alone
// cannot open any link. Naming the account in the token lets the write side load the one
// stream a link concerns without an index.
type LinkKey struct {
	key []byte
}

// Link is a freshly issued token with what the log stores about it.
type Link struct {
	Token string
	Hash  string
	Nonce string
}

// NewLinkKey wraps a 32-byte secret key.
func NewLinkKey(key []byte) (*LinkKey, error) {
	if len(key) != 32 {
		return nil, errors.New("credentials: link key must be 32 bytes")
	}
	return &LinkKey{key: append([]byte(nil), key...)}, nil
}

// Issue makes a new link token for an account.
func (k *LinkKey) Issue(accountID string) (Link, error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return Link{}, fmt.Errorf("credentials: nonce: %w", err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(n[:])
	token := k.Token(accountID, nonce)
	return Link{Token: token, Hash: HashToken(token), Nonce: nonce}, nil
}

// Token derives the token of a link from its nonce.
func (k *LinkKey) Token(accountID, nonce string) string {
	mac := hmac.New(sha256.New, k.key)
	mac.Write([]byte(accountID))
	mac.Write([]byte{0})
	mac.Write([]byte(nonce))
	return accountID + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Pseudonym is a keyed hash of an e-mail address: stable, so attempts on one unknown address
// can be counted, and not reversible by hashing a list of addresses without the key.
func (k *LinkKey) Pseudonym(normalisedEmail string) string {
	mac := hmac.New(sha256.New, k.key)
	mac.Write([]byte("unknown-email\x00"))
	mac.Write([]byte(normalisedEmail))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// SkeletonPseudonym is a keyed hash of an address's confusable skeleton, naming the stream
// of the addresses that share it; labelled apart from the address's own pseudonym.
func (k *LinkKey) SkeletonPseudonym(skeleton string) string {
	mac := hmac.New(sha256.New, k.key)
	mac.Write([]byte("email-skeleton\x00"))
	mac.Write([]byte(skeleton))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// AddressPseudonym is a keyed hash of a client address (in canonical form), naming its
// throttle stream: stable, so one address has one stream, and not reversible by hashing
// the (small) space of IPv4 addresses without the key. Its label keeps it apart from an
// e-mail pseudonym of the same string.
func (k *LinkKey) AddressPseudonym(canonicalIP string) string {
	mac := hmac.New(sha256.New, k.key)
	mac.Write([]byte("address\x00"))
	mac.Write([]byte(canonicalIP))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// HashToken is the stored form of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenAccount returns the account a token names.
func TokenAccount(token string) (string, error) {
	// The secret part is base64url, which has no '.', so the last one ends the account ID
	// (which may hold dots: path IDs allow them).
	token = strings.TrimSpace(token)
	dot := strings.LastIndexByte(token, '.')
	if dot < 0 {
		return "", ErrMalformedToken
	}
	id, secret := token[:dot], token[dot+1:]
	if id == "" || len(secret) != 43 {
		return "", ErrMalformedToken
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return "", ErrMalformedToken
	}
	return id, nil
}
