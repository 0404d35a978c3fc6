package credentials

import (
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

// NewToken returns a link token for an account: "<account ID>.<256 random bits>". Naming the
// account in the token lets the write side load the one stream it concerns without an index;
// the random part is what makes it unguessable, and only its SHA-256 hash is ever stored.
func NewToken(accountID string) (token, hash string, err error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", "", fmt.Errorf("credentials: token: %w", err)
	}
	token = accountID + "." + base64.RawURLEncoding.EncodeToString(secret[:])
	return token, HashToken(token), nil
}

// HashToken is the stored form of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenAccount returns the account a token names.
func TokenAccount(token string) (string, error) {
	id, secret, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok || id == "" || len(secret) != 43 {
		return "", ErrMalformedToken
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return "", ErrMalformedToken
	}
	return id, nil
}
