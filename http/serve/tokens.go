package serve

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"accountd/http/api"
)

// loadOrCreateTokens returns the tokens in path, generating one per role the first time.
// The tokens themselves are never logged: only where to read them.
func loadOrCreateTokens(path string, logger *slog.Logger) ([]api.Token, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		tokens, text, err := generateTokens()
		if err != nil {
			return nil, false, err
		}
		if err := writeNew(path, []byte(text)); err != nil {
			return nil, false, err
		}
		return tokens, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read tokens: %w", err)
	}
	warnIfReadableByOthers(path, logger)
	tokens, err := api.ParseTokens(string(data))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	if len(tokens) == 0 {
		return nil, false, fmt.Errorf("%s: no token in the file", path)
	}
	return tokens, false, nil
}

func generateTokens() ([]api.Token, string, error) {
	var b strings.Builder
	b.WriteString("# accountd API tokens, one token:role per line (generated on first start).\n")
	b.WriteString("# Give each client only the token of its role. Delete this file to generate new ones.\n")
	var tokens []api.Token
	for _, role := range api.Roles {
		secret, err := NewToken()
		if err != nil {
			return nil, "", err
		}
		tokens = append(tokens, api.Token{Secret: secret, Roles: []api.Role{role}})
		fmt.Fprintf(&b, "%s:%s\n", secret, role)
	}
	return tokens, b.String(), nil
}

// NewToken makes a random client token: 192 bits, URL-safe, with a recognisable prefix so
// secret scanners can find a leaked one.
func NewToken() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return "acd_" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}
